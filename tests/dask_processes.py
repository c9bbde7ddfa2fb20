"""Real `dask scheduler` and `dask worker` processes on loopback, for the test tiers
and the benchmarks alike: started from any Python environment, every wait bounded,
every process stopped (its whole process group) on close()."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

from tests.support import command_env

START_TIMEOUT = 60


class DaskStartError(AssertionError):
    """A Dask process exited or did not come up in time; carries its log's tail."""


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
        env: dict[str, str] | None = None,
    ):
        self._python = python
        # The scheduler may come from another environment (one without the project).
        self._scheduler_python = scheduler_python or python
        self._env = env
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
        python: Path | None = None,
    ) -> subprocess.Popen:
        log = open(self._workdir / log_name, "w")  # noqa: SIM115 - closed with the process
        role, *options = args
        command = [str(python or self._python), "-m", f"distributed.cli.dask_{role}", *options]
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
            env={**(self._env or command_env()), **(env or {})},
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
            python=self._scheduler_python,
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
            raise DaskStartError(
                f"dask process exited early ({process.returncode}):\n{text[-3000:]}"
            )
        if time.monotonic() > deadline:
            raise DaskStartError(f"dask process not ready in {START_TIMEOUT} s:\n{text[-3000:]}")

    def registrations(self) -> int:
        """How many times workers registered with the scheduler (a worker that its
        nanny restarts registers again, in the same log)."""
        return sum(
            path.read_text().count("Registered to:") for path in self._workdir.glob("worker-*.log")
        )

    def worker_addresses(self, index: int) -> list[str]:
        """The addresses worker ``index`` listened on, from its log: one more each
        time its nanny restarted it."""
        log = (self._workdir / f"worker-{index}.log").read_text()
        return re.findall(r"Start worker at:\s+(\S+)", log)

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
