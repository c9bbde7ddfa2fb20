"""The real-cluster tier: `dask scheduler` and `dask worker` processes run from a
baked project's folder with that project's own virtual environment, and `kedro run`
drives them, as a user would. Every wait has a bound; every process is stopped."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.dask.helpers import LAB_FILES
from tests.support import command_env, copy_project, create_project_venv

START_TIMEOUT = 60


class DaskProcesses:
    """A scheduler and workers started as separate processes, stopped on close()."""

    def __init__(  # noqa: PLR0913
        self,
        python: Path,
        cwd: Path,
        workdir: Path,
        tls: dict | None = None,
        nanny: bool = False,
        scheduler_python: Path | None = None,
    ):
        self._bin = python.parent
        # The scheduler may come from another environment (one without the project).
        self._scheduler_bin = (scheduler_python or python).parent
        self._cwd = cwd
        self._workdir = workdir
        self._tls = tls or {}
        # Without a nanny the Popen pid is the worker itself, which tests can kill;
        # with one (as `dask worker` runs by default) a killed worker comes back.
        self._nanny = nanny
        self.scheduler: subprocess.Popen | None = None
        self.workers: list[subprocess.Popen] = []
        self.address = ""

    def _tls_args(self, role: str) -> list[str]:
        if not self._tls:
            return []
        return [
            "--tls-ca-file", self._tls["ca"],
            "--tls-cert", self._tls[f"{role}_cert"],
            "--tls-key", self._tls[f"{role}_key"],
        ]  # fmt: skip

    def _spawn(  # noqa: PLR0913
        self,
        args: list[str],
        log_name: str,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
        own_data: bool = False,
        bin_dir: Path | None = None,
    ) -> subprocess.Popen:
        log = open(self._workdir / log_name, "w")  # noqa: SIM115 - closed with the process
        command = [str((bin_dir or self._bin) / "dask"), *args]
        if own_data:
            # A process that shares no disk with the client: the same code and conf,
            # but an empty data/ of its own, in a mount namespace (needs root).
            data = (cwd or self._cwd) / "data"
            command = [
                "unshare", "--mount", "--propagation", "private", "sh", "-c",
                f'mount -t tmpfs tmpfs "{data}" && exec "$@"', "sh", *command,
            ]  # fmt: skip
        return subprocess.Popen(
            command,
            cwd=cwd or self._cwd,
            env=command_env(**(env or {})),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # so close() can stop its whole process group
        )

    def start_scheduler(self) -> str:
        scheduler_file = self._workdir / "scheduler.json"
        self.scheduler = self._spawn(
            [
                "scheduler",
                "--host", "127.0.0.1",
                "--port", "0",
                "--dashboard-address", "127.0.0.1:0",
                "--protocol", "tls" if self._tls else "tcp",
                "--scheduler-file", str(scheduler_file),
                *self._tls_args("scheduler"),
            ],
            "scheduler.log",
            bin_dir=self._scheduler_bin,
        )  # fmt: skip
        deadline = time.monotonic() + START_TIMEOUT
        while not scheduler_file.exists() or not scheduler_file.read_text().strip():
            self._check_alive(self.scheduler, "scheduler.log", deadline)
            time.sleep(0.1)
        self.address = json.loads(scheduler_file.read_text())["address"]
        return self.address

    def start_worker(
        self,
        *extra: str,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
        own_data: bool = False,
    ) -> subprocess.Popen:
        """A worker in the project folder, or in ``cwd`` (another copy of it), with
        ``env`` added to its environment and, with ``own_data``, a data/ folder the
        client cannot see."""
        index = len(self.workers)
        worker = self._spawn(
            [
                "worker", self.address,
                "--host", "127.0.0.1",
                "--nthreads", "1",
                "--nanny" if self._nanny else "--no-nanny",
                "--no-dashboard",
                "--name", f"worker-{index}",
                *self._tls_args("worker"),
                *extra,
            ],
            f"worker-{index}.log",
            cwd=cwd,
            env=env,
            own_data=own_data,
        )  # fmt: skip
        self.workers.append(worker)
        self.wait_for_workers(len(self.workers))
        return worker

    def wait_for_workers(self, count: int) -> None:
        """Poll the worker logs (no client needed, works with TLS too)."""
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            registered = sum(
                "Registered to:" in (self._workdir / f"worker-{i}.log").read_text()
                for i, worker in enumerate(self.workers)
                if worker.poll() is None
            )
            if registered >= count:
                return
            for i, worker in enumerate(self.workers):
                self._check_alive(worker, f"worker-{i}.log", deadline)
            time.sleep(0.1)

    def _check_alive(self, process: subprocess.Popen, log: str, deadline: float) -> None:
        text = (self._workdir / log).read_text()
        if process.poll() is not None:
            pytest.fail(f"dask process exited early ({process.returncode}):\n{text[-3000:]}")
        if time.monotonic() > deadline:
            pytest.fail(f"dask process not ready in {START_TIMEOUT} s:\n{text[-3000:]}")

    def logs(self) -> str:
        return "\n".join(
            f"--- {path.name} ---\n{path.read_text()[-4000:]}"
            for path in sorted(self._workdir.glob("*.log"))
        )

    def close(self) -> None:
        processes = [*self.workers, *([self.scheduler] if self.scheduler else [])]
        for process in processes:
            _signal_group(process, signal.SIGTERM)
        # A worker may linger trying to say goodbye to a scheduler that is gone.
        deadline = time.monotonic() + 10
        for process in processes:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(process, signal.SIGKILL)
                process.wait(timeout=10)


def _signal_group(process: subprocess.Popen, signum: int) -> None:
    if process.poll() is None:
        try:
            os.killpg(process.pid, signum)
        except ProcessLookupError:
            pass


@pytest.fixture(scope="session")
def cluster_factory(tmp_path_factory):
    """Start clusters on demand; all of them are stopped at the end."""
    started: list[DaskProcesses] = []

    def start(
        python: Path,
        cwd: Path,
        workers: list[list[str]],
        tls: dict | None = None,
        nanny: bool = False,
        scheduler_python: Path | None = None,
    ):
        cluster = DaskProcesses(
            python, cwd, tmp_path_factory.mktemp("dask"), tls, nanny, scheduler_python
        )
        started.append(cluster)
        cluster.start_scheduler()
        for extra in workers:
            cluster.start_worker(*extra)
        return cluster

    yield start
    for cluster in started:
        cluster.close()


@pytest.fixture(scope="session")
def example_cluster(installed_project, cluster_factory) -> DaskProcesses:
    """Two workers from the installed example project's folder and venv."""
    project, python = installed_project
    return cluster_factory(python, project, workers=[[], []])


@pytest.fixture(scope="session")
def lab_project(installed_project, tmp_path_factory) -> tuple[Path, Path]:
    """A copy of the project with test-only hooks, nodes and pipelines, installed in
    a venv of its own: workers import the project as an installed package, so test
    code must be installed too."""
    project, _ = installed_project
    root = tmp_path_factory.mktemp("lab")
    lab = copy_project(project, root / project.name)
    package = lab / "src" / "rocket_science"
    for name in ("hooks.py", "lab.py", "pipeline_registry.py"):
        shutil.copy(LAB_FILES / name, package / name)
    with (package / "settings.py").open("a") as settings:
        settings.write("\nfrom .hooks import LabHooks  # noqa: E402\n\nHOOKS = (LabHooks(),)\n")
    shutil.copy(LAB_FILES / "catalog_lab.yml", lab / "conf" / "base" / "catalog_lab.yml")
    shutil.copy(LAB_FILES / "parameters_lab.yml", lab / "conf" / "base" / "parameters_lab.yml")
    shutil.copy(LAB_FILES / "credentials_lab.yml", lab / "conf" / "dask" / "credentials.yml")
    python = create_project_venv(lab, root / "venv", locks=("requirements.txt",))
    return lab, python


@pytest.fixture(scope="session")
def lab_cluster(lab_project, cluster_factory) -> DaskProcesses:
    """Worker 0 offers GPU=1, worker 1 offers nothing."""
    lab, python = lab_project
    return cluster_factory(python, lab, workers=[["--resources", "GPU=1"], []])


@pytest.fixture
def lab(lab_project):
    """The lab project with empty data folders for one test."""
    project, python = lab_project
    for folder in ("lab", "hook_markers"):
        shutil.rmtree(project / "data" / folder, ignore_errors=True)
    return project, python
