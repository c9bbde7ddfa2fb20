"""`kedro run --env slurm` on a real Slurm: dask-jobqueue submits the Dask workers as
batch jobs; whatever ends the run, its jobs leave the queue. And `kedro deploy slurm`:
the plan's tasks as sbatch scripts with their dependencies."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest

from tests.slurm.conftest import outputs, squeue, wait_for_no_jobs
from tests.support import command_env, kedro, run

# One machine: workers listen on loopback, and a worker whose client was killed
# (its scheduler lives in the client) exits soon, with its job.
ONE_MACHINE = "dask_client.cluster_kwargs.interface=lo,dask_client.cluster_kwargs.death_timeout=10"
MAX_LINES = 15


def slurm_run(project, *params: str, check: bool = True, timeout: float = 300):
    path, python = project
    extra = ",".join((ONE_MACHINE, *params))
    return kedro(path, python, "run", "--env", "slurm", "--params", extra,
                 check=check, timeout=timeout)  # fmt: skip


def start_slurm_run(project, *params: str) -> subprocess.Popen:
    path, python = project
    extra = ",".join((ONE_MACHINE, *params))
    return subprocess.Popen(
        [python.with_name("kedro"), "run", "--env", "slurm", "--params", extra],
        cwd=path, env=command_env(COLUMNS="200"), text=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip


def wait_for_jobs(process: subprocess.Popen, count: int = 1, timeout: float = 60) -> list[str]:
    deadline = time.monotonic() + timeout
    while len(jobs := squeue()) < count:
        if process.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"no worker jobs queued: {process.communicate()[0][-3000:]}")
        time.sleep(0.3)
    return jobs


def test_run_equals_the_plain_run_and_leaves_no_job(project, plain_outputs):
    path, _ = project
    running = start_slurm_run(project)
    try:
        jobs = wait_for_jobs(running, count=2)
        output, _ = running.communicate(timeout=300)
    finally:
        running.kill()
    assert running.returncode == 0, output[-3000:]
    assert len(jobs) == 2
    assert outputs(path) == plain_outputs
    # The workers' node logs reach this console, from both jobs.
    assert output.count("Running node:") >= 10, output[-3000:]
    wait_for_no_jobs(30)
    job_files = sorted(p.name for p in (path / "logs" / "slurm").iterdir())
    assert {f"kedro-dask-{job}.err" for job in jobs} <= set(job_files)
    assert not list(path.glob("slurm-*.out"))


def test_a_failing_run_leaves_no_job(project):
    """The node fails on a worker: nothing made its input (the data folders are empty)."""
    path, python = project
    failed = kedro(path, python, "run", "--env", "slurm", "--nodes", "split_measurements",
                   "--params", ONE_MACHINE, check=False, timeout=300)  # fmt: skip
    assert failed.returncode != 0
    assert "Dataset 'measurements' has no data at" in " ".join(
        (failed.stdout + failed.stderr).split()
    )
    wait_for_no_jobs(30)


@pytest.mark.parametrize(("sent", "status"), [(signal.SIGINT, 1), (signal.SIGTERM, 143)])
def test_interrupted_run_exits_non_zero_and_leaves_no_job(project, sent, status):
    """dask_jobqueue's import makes Ctrl-C exit with 0; SIGTERM would leave the jobs."""
    running = start_slurm_run(project, "data_generation.n_rows=5000000")
    try:
        wait_for_jobs(running, count=2)
        time.sleep(2)
        running.send_signal(sent)
        output, _ = running.communicate(timeout=60)
    finally:
        running.kill()
    assert running.returncode == status, output[-3000:]
    wait_for_no_jobs(20)


def test_killed_client_leaves_no_job_beyond_the_death_timeout(project):
    running = start_slurm_run(project, "data_generation.n_rows=5000000")
    try:
        wait_for_jobs(running, count=2)
        os.kill(running.pid, signal.SIGKILL)
        running.communicate(timeout=30)
    finally:
        running.kill()
    waited = wait_for_no_jobs(60)  # death_timeout is 10 s here
    assert waited < 45


def test_losing_every_job_fails_the_run_within_worker_wait(project):
    path, _ = project
    started = start_slurm_run(
        project, "data_generation.n_rows=5000000", "dask_client.worker_wait=15"
    )
    try:
        # Mid-run: the first node has saved its output, the others are to come.
        measurements = path / "data" / "01_raw" / "measurements.csv"
        deadline = time.monotonic() + 120
        while not measurements.exists():
            assert started.poll() is None and time.monotonic() < deadline, "no node ran"
            time.sleep(0.2)
        cancelled = time.monotonic()
        run(["scancel", "--user", "root"], timeout=30)
        output, _ = started.communicate(timeout=120)
        took = time.monotonic() - cancelled
    finally:
        started.kill()
    assert started.returncode != 0
    flat = " ".join(output.split())
    assert "Every Dask worker left the scheduler" in flat, output[-3000:]
    assert f"The jobs' output is in {path / 'logs' / 'slurm'}" in flat
    assert took < 45


KWARGS = "dask_client.cluster_kwargs"
CANNOT_START = {
    f"{KWARGS}.queue=nosuch": "sbatch: error: invalid partition specified: nosuch",
    f"{KWARGS}.python=/no/such/python": "/no/such/python: No such file or directory",
    f"{KWARGS}.partition=debug": "Did you mean 'queue'?",
}


@pytest.mark.parametrize("setting", list(CANNOT_START))
def test_a_job_that_cannot_start_fails_the_run_at_once(project, setting):
    expected = CANNOT_START[setting]
    started = time.monotonic()
    result = slurm_run(project, setting, check=False, timeout=120)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert expected in " ".join(output.split()), output[-3000:]
    assert len(output.splitlines()) <= MAX_LINES, output
    assert time.monotonic() - started < 15 + 10  # + Kedro's own start-up
    wait_for_no_jobs(30)


def test_deploy_slurm_scripts_run_the_plan(project, plain_outputs, tmp_path):
    """Each plan task as a batch job, submitted with its dependencies."""
    path, python = project
    kedro(path, python, "deploy", "slurm", "--env", "deploy", "-o", tmp_path / "jobs")
    submitted = run(["bash", tmp_path / "jobs" / "submit.sh"], timeout=60)
    assert submitted.stdout.count(" ") >= 10  # "Submitted jobs: <10 ids>"
    wait_for_no_jobs(240)
    assert outputs(path) == plain_outputs
    assert len(list((path / "logs" / "slurm").glob("*.out"))) == 10
