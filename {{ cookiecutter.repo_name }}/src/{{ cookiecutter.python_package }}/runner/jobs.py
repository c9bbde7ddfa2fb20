"""Clusters of batch jobs (dask-jobqueue: Slurm, PBS, SGE...). They submit their
worker jobs in the background, so a job that cannot be submitted, or that dies at
once, would only show as no worker ever joining. This watches them and says what
happened, with the job's own error output."""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path
from typing import Any

from distributed.core import Status

# How dask-jobqueue reports a failed submission (sbatch, qsub...), in the background.
SUBMIT_FAILED = "Command exited with non-zero exit code"
# Loggers that receive exceptions of the cluster's background tasks.
BACKGROUND_LOGGERS = ("tornado.application", "asyncio", "distributed.deploy.spec")
# Per job class: the command that prints a job's state while the queue knows it.
STATE_COMMANDS = {"SLURMJob": ["squeue", "--noheader", "--format=%T", "--jobs"]}
ERROR_LINES = 5
COMMAND_TIMEOUT = 10


class _Submissions(logging.Filter):
    """Keeps the error output of failed job submissions, instead of the background
    tracebacks they would print (the run reports them itself, in a few lines)."""

    def __init__(self) -> None:
        super().__init__()
        self.failures: list[str] = []

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        text = str(error) if error else record.getMessage()
        if SUBMIT_FAILED not in text:
            return True
        lines = text.split("stderr:", 1)[-1].strip().splitlines()
        self.failures.append(" ".join(lines[:ERROR_LINES]) or text)
        return False


class JobWatch:
    """What went wrong with a batch-job cluster's worker jobs, if anything."""

    def __init__(self, cluster: Any):
        self._cluster = cluster
        self._submissions = _Submissions()
        for name in BACKGROUND_LOGGERS:
            logging.getLogger(name).addFilter(self._submissions)

    def close(self) -> None:
        """Before the cluster closes: mark jobs that were never submitted as failed
        (the cluster refuses to shut down cleanly while one looks just created)."""
        for job in self._jobs():
            if getattr(job, "job_id", "") is None and job.status == Status.created:
                job.status = Status.failed
        for name in BACKGROUND_LOGGERS:
            logging.getLogger(name).removeFilter(self._submissions)

    def _jobs(self) -> list[Any]:
        return [job for job in getattr(self._cluster, "workers", {}).values() if job]

    def logs(self) -> str:
        # What each new job is made with (its jobs may be gone by now).
        options = (getattr(self._cluster, "new_spec", None) or {}).get("options", {})
        folders = {options.get("log_directory")}
        folders |= {getattr(job, "log_directory", None) for job in self._jobs()}
        found = sorted(str(Path(f).resolve()) for f in folders if f)
        return (
            f"The jobs' output is in {', '.join(found)}."
            if found
            else "Set dask_client.cluster_kwargs.log_directory to keep the jobs' output."
        )

    def problem(self) -> str | None:
        """Why no worker can join: a submission failed, or a job ended at once."""
        if self._submissions.failures:
            return (
                f"The cluster could not submit its worker jobs: "
                f"{self._submissions.failures[-1]} Check the job settings in "
                "dask_client.cluster_kwargs (queue, account, cores, memory, walltime)."
            )
        for job in self._jobs():
            job_id = getattr(job, "job_id", None)
            if job_id and _ended(job, job_id):
                return (
                    f"Worker job {job_id} ended before its Dask worker joined. "
                    f"{_error_output(job, job_id)} Check dask_client.cluster_kwargs "
                    "(python, interface, memory) and that the project and its venv are "
                    "at the same path on the compute nodes."
                )
        return None


def _ended(job: Any, job_id: str) -> bool:
    """Whether the queue no longer knows the job (False when it cannot tell)."""
    command = STATE_COMMANDS.get(type(job).__name__)
    if command is None:
        return False
    try:
        found = subprocess.run(
            [*command, str(job_id)],
            capture_output=True, text=True, timeout=COMMAND_TIMEOUT, check=False,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return False
    gone = found.returncode == 0 and not found.stdout.strip()
    return gone or "Invalid job id" in found.stderr


def _error_output(job: Any, job_id: str) -> str:
    folder = getattr(job, "log_directory", None)
    files = sorted(Path(folder).glob(f"*-{job_id}.err")) if folder else []
    if not files:
        return "It left no error output (set cluster_kwargs.log_directory to keep it)."
    lines = files[0].read_text(errors="replace").strip().splitlines()[-ERROR_LINES:]
    return f"Its error output ({files[0]}) ends: {' | '.join(lines) or '(empty)'}."
