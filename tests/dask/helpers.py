"""Helpers of the dask tier: running the lab project against a cluster, waiting for
what a run leaves on disk, and asking the cluster what it holds."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.support import command_env, kedro, run

LAB_FILES = Path(__file__).parent / "lab"


def lab_run(lab, cluster, *args, check=True, timeout=180):
    """`kedro run --env dask` of the lab project on ``cluster``."""
    project, python = lab
    return kedro(
        project,
        python,
        "run",
        "--env", "dask",
        *args,
        check=check,
        timeout=timeout,
        DASK_SCHEDULER_ADDRESS=cluster.address,
    )  # fmt: skip


def start_lab_run(lab, cluster, *args: str) -> subprocess.Popen:
    """The same, in the background, for tests that interrupt it."""
    project, python = lab
    return subprocess.Popen(
        [python.with_name("kedro"), "run", "--env", "dask", *args],
        cwd=project,
        # Wide enough that the long warnings tests look for stay on one line.
        env=command_env(COLUMNS="400", DASK_SCHEDULER_ADDRESS=cluster.address),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        # Ctrl-C as at a terminal: a shell that runs these tests in the background
        # (`make test &`) ignores SIGINT, and a child would inherit that.
        preexec_fn=_default_sigint,
    )


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def stop_lab_run(lab, cluster, marker: str, signum: int, *args: str) -> dict:
    """Start a lab run, send ``signum`` to `kedro run` once a node has written
    ``marker`` (data/lab/<marker>.json), wait for it to end; the marker's content."""
    project, _ = lab
    running = start_lab_run(lab, cluster, *args)
    try:
        found = wait_for_json(project / "data" / "lab" / f"{marker}.json", running)
        os.kill(running.pid, signum)
        running.communicate(timeout=60)
    finally:
        if running.poll() is None:
            running.kill()
    return found


def wait_for(
    condition: Callable[[], Any],
    what: str,
    timeout: float = 60,
    process: subprocess.Popen | None = None,
    interval: float = 0.1,
) -> Any:
    """The first true value of ``condition()``, asked every ``interval`` seconds; fails
    naming ``what`` after ``timeout`` seconds, or as soon as ``process`` has ended."""
    deadline = time.monotonic() + timeout
    while not (found := condition()):
        if process is not None and process.poll() is not None:
            raise AssertionError(f"the run ended before {what}:\n{process.stdout.read()}")
        assert time.monotonic() < deadline, f"{what}: not within {timeout} s"
        time.sleep(interval)
    return found


def wait_for_json(path: Path, process: subprocess.Popen | None = None, timeout=60) -> dict:
    """The content of a marker file a node writes, once it is there."""
    wait_for(lambda: path.exists() and path.read_text(), path.name, timeout, process)
    return json.loads(path.read_text())


def inspect_cluster(python: Path, project: Path, address: str, needle: str) -> dict:
    """What a second client finds: see lab/inspect_cluster.py."""
    result = run(
        [python, LAB_FILES / "inspect_cluster.py", address, needle], cwd=project, timeout=60
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def markers(project: Path) -> list[tuple[str, str, int]]:
    folder = project / "data" / "hook_markers"
    return [
        (kind, name, int(pid))
        for kind, name, pid in (path.name.split("@") for path in folder.iterdir())
    ]
