"""The real-cluster tier: `dask scheduler` and `dask worker` processes run from a
baked project's folder with that project's own virtual environment, and `kedro run`
drives them, as a user would. Every wait has a bound; every process is stopped."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.dask.helpers import LAB_FILES
from tests.dask_processes import DaskProcesses
from tests.support import copy_project, create_project_venv, kedro

collect_ignore = ["kedro_contract"]  # run by test_kedro_contract.py in a project's venv


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
        env: dict[str, str] | None = None,
    ):
        cluster = DaskProcesses(
            python, cwd, tmp_path_factory.mktemp("dask"), tls, nanny, scheduler_python, env
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
        settings.write(
            "\nfrom .hooks import LabHooks  # noqa: E402\n\nHOOKS = (*HOOKS, LabHooks())\n"
        )
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


@pytest.fixture(scope="session")
def plain_run(installed_project, tmp_path_factory) -> Path:
    """A copy of the example project after a plain `kedro run`: the reference that
    every distributed run's outputs are compared with."""
    project, python = installed_project
    reference = copy_project(project, tmp_path_factory.mktemp("plain-run") / project.name)
    kedro(reference, python, "run")
    return reference
