"""On a worker: which nodes are running, whether their run still wants them, and what
to do when it does not.

A node whose run has stopped (aborted, failed, timed out, client gone) may not save
anything. Python cannot interrupt a running thread, so if such a node is still
running after a grace period, the worker process restarts (its nanny starts a fresh
one; Dask re-runs the other tasks it held). One thread per process watches.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

from distributed.core import Status

from . import run_cache
from .errors import RunStoppedError

logger = logging.getLogger(__name__)

# A node that keeps running this long after its run stopped restarts its worker.
ABORT_GRACE_SECONDS = 10
# Then the worker process has this long to close before it is ended outright.
RESTART_DEADLINE_SECONDS = 15
WATCH_INTERVAL_SECONDS = 1
# Dask states in which a worker still runs its tasks (paused only takes no new ones).
_WORKING = {Status.running, Status.paused}
_LIVE_TASK_STATES = {"executing", "long-running"}


@dataclass
class RunningNode:
    name: str
    key: Any
    worker: Any
    in_client_process: bool = False
    thread: threading.Thread | None = None
    abandoned: threading.Event = field(default_factory=threading.Event)
    stopped_since: float | None = None
    # Removes what the node wrote under its run's save version: a node stopped in
    # the middle of a save must not leave a partial file as the latest version.
    discard_outputs: Callable[[], Any] = lambda: None


_lock = threading.Lock()
_running: dict[Any, RunningNode] = {}  # task key -> the node it runs
_current = threading.local()  # .running: the RunningNode this thread executes
_watchdog: list[threading.Thread] = []  # at most one, started on first use


def stopped_reason(running: RunningNode) -> str | None:
    """Why the node's run no longer wants its results, or None while it does."""
    if running.abandoned.is_set():
        return "it ran past its time limit"
    if running.worker.status not in _WORKING:
        return "its worker lost the scheduler or is closing"
    task = running.worker.state.tasks.get(running.key)
    if task is None or task.state not in _LIVE_TASK_STATES:
        return "its run was aborted or its client went away"
    return None


def refuse_stopped_save(dataset: str) -> None:
    """Raise RunStoppedError if the node this thread runs may no longer save."""
    running = getattr(_current, "running", None)
    reason = stopped_reason(running) if running is not None else None
    if running is not None and reason:
        raise RunStoppedError(
            f"Not saving '{dataset}' of node '{running.name}': {reason}."
        )


def set_current(running: RunningNode | None) -> None:
    _current.running = running


def track(running: RunningNode) -> None:
    with _lock:
        _running[running.key] = running
    ensure_started()


def untrack(running: RunningNode) -> None:
    """Forget the node unless its thread still runs (the watchdog keeps it)."""
    if running.thread is None or not running.thread.is_alive():
        forget(running)


def running_nodes() -> list[str]:
    """The nodes this worker process is running for any run (tests, debugging)."""
    with _lock:
        return sorted(running.name for running in _running.values())


def ensure_started() -> None:
    """Start this process's watchdog (it also drops idle runs: see run_cache.py)."""
    with _lock:
        if not _watchdog or not _watchdog[0].is_alive():
            _watchdog[:] = [
                threading.Thread(target=_watch, name="kedro-dask-watchdog", daemon=True)
            ]
            _watchdog[0].start()


def _watch() -> None:
    while True:
        time.sleep(WATCH_INTERVAL_SECONDS)
        run_cache.drop_idle(time.monotonic())
        stuck = _stuck_node(time.monotonic())
        if stuck is not None and stuck.in_client_process:
            # A cluster of threads inside `kedro run` itself: never end the user's
            # process; forget the node and keep watching.
            logger.error(
                "Node '%s' is still running after its run stopped.", stuck.name
            )
            forget(stuck)
        elif stuck is not None:
            _restart_worker(stuck)
            return
        # Nothing of a run stays referenced here between checks (its datasets
        # hold credentials).
        del stuck


def _stuck_node(now: float) -> RunningNode | None:
    """A node still running ABORT_GRACE_SECONDS after its run stopped, if any."""
    stuck = None
    with _lock:
        for key, running in list(_running.items()):
            if running.thread is not None and not running.thread.is_alive():
                del _running[key]
            elif stopped_reason(running) is None:
                running.stopped_since = None
            else:
                running.stopped_since = running.stopped_since or now
                if now - running.stopped_since > ABORT_GRACE_SECONDS:
                    stuck = running
    return stuck


def forget(running: RunningNode) -> None:
    with _lock:
        _running.pop(running.key, None)
    running.discard_outputs = lambda: None  # let go of the node's datasets


def _restart_worker(stuck: RunningNode) -> None:
    worker = stuck.worker
    with suppress(Exception):
        stuck.discard_outputs()
    logger.error(
        "Node '%s' is still running %d s after its run stopped; restarting this "
        "worker process to free its thread (Dask re-runs the other tasks it held).",
        stuck.name,
        ABORT_GRACE_SECONDS,
    )
    closing = worker.close(
        nanny=False, executor_wait=False, reason="kedro-node-outlived-its-run"
    )
    asyncio.run_coroutine_threadsafe(closing, worker.loop.asyncio_loop)
    # A nanny starts a fresh worker when this process ends; end it if closing hangs.
    time.sleep(RESTART_DEADLINE_SECONDS)
    with suppress(Exception):  # the thread may have written more meanwhile
        stuck.discard_outputs()
    os._exit(1)
