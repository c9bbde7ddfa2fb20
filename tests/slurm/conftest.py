"""The slurm tier: a real single-node Slurm (slurmctld, slurmd, munge; `.ci/slurm-up.sh`
starts one) runs the project's Dask workers as batch jobs through dask-jobqueue, and the
plan's tasks as sbatch scripts. The project is installed from requirements-slurm.txt."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.support import copy_project, create_project_venv, require, run

QUEUE_WAIT = 60


def squeue() -> list[str]:
    """The ids of the jobs Slurm knows (pending or running)."""
    return run(["squeue", "--noheader", "--format=%i"], timeout=30).stdout.split()


def wait_for_no_jobs(timeout: float) -> float:
    """Seconds until the queue is empty; fails after ``timeout``."""
    started = time.monotonic()
    while squeue():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"Slurm jobs still queued after {timeout} s: {squeue()}")
        time.sleep(0.5)
    return time.monotonic() - started


@pytest.fixture(scope="session")
def slurm_ready() -> None:
    require(shutil.which("sbatch") is not None, "Slurm is not installed (bash .ci/slurm-up.sh)")
    idle = subprocess.run(["sinfo", "--noheader", "--format=%T"], capture_output=True,
                          text=True, timeout=30, check=False)  # fmt: skip
    require(
        any(state in idle.stdout for state in ("idle", "mixed")),
        f"no idle Slurm node (sinfo: {idle.stdout.strip() or idle.stderr.strip()})",
    )


@pytest.fixture(scope="session")
def slurm_project(slurm_ready, installed_project, tmp_path_factory) -> tuple[Path, Path]:
    """A copy of the project in a venv made from requirements-slurm.txt with stock pip:
    the client, and (the same files and venv: one machine) the compute node."""
    project, _ = installed_project
    root = tmp_path_factory.mktemp("slurm")
    copy = copy_project(project, root / project.name)
    python = create_project_venv(copy, root / "venv", locks=("requirements-slurm.txt",))
    return copy, python


@pytest.fixture
def project(slurm_project):
    """The Slurm project with empty data folders and no job left from another test."""
    copy, python = slurm_project
    run(["scancel", "--full", "--user", "root"], check=False, timeout=30)
    wait_for_no_jobs(QUEUE_WAIT)
    for path in (copy / "data").rglob("*"):
        if path.is_file() and path.name != ".gitkeep":
            path.unlink()
    shutil.rmtree(copy / "logs" / "slurm", ignore_errors=True)
    return copy, python


OUTPUTS = (
    "01_raw/measurements.csv",
    "06_models/linear.json",
    "06_models/quadratic.json",
    "06_models/ridge.json",
    "08_reporting/model_comparison.csv",
    "08_reporting/best_model.json",
)


def outputs(project: Path) -> dict[str, str]:
    return {name: (project / "data" / name).read_text() for name in OUTPUTS}


@pytest.fixture(scope="session")
def plain_outputs(slurm_project, tmp_path_factory) -> dict[str, str]:
    """What a plain `kedro run` (SequentialRunner) makes."""
    project, python = slurm_project
    reference = copy_project(project, tmp_path_factory.mktemp("plain") / project.name)
    run([python.with_name("kedro"), "run"], cwd=reference, timeout=300)
    return outputs(reference)
