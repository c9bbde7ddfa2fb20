"""On a worker: which nodes are running, whether their run still wants them, and what
to do when it does not.

A node whose run has stopped (aborted, failed, timed out, client gone) may not save
anything. Python cannot interrupt a running thread, so a node past its time limit at
once, or a node of a stopped run still running after a grace period, restarts the
worker process: it first retires from the scheduler, so that Dask moves the results
it holds and gives the tasks it was running (other runs' too) to other workers
without counting them as failures; then its nanny starts a fresh process. One thread
per process watches.
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
from .logs import warn_run

logger = logging.getLogger(__name__)

# A node that keeps running this long after its run stopped restarts its worker
# (a node past its time limit does at once: nothing it does can count any more).
ABORT_GRACE_SECONDS = 10
# Then the worker process has this long to retire and close before it is ended.
RESTART_DEADLINE_SECONDS = 15
WATCH_INTERVAL_SECONDS = 1
# How often to look while a timed-out node's error is on its way to the scheduler,
# and how long that may take at most.
REPORT_POLL_SECONDS = 0.05
REPORT_WAIT_SECONDS = 2
# Dask states in which a worker still runs its tasks (paused only takes no new ones).
_WORKING = {Status.running, Status.paused}
_LIVE_TASK_STATES = {"executing", "long-running"}


@dataclass
class RunningNode:
    name: str
    key: Any
    worker: Any
    in_client_process: bool = False
    token: str = ""  # the node's run
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
_wake = threading.Event()  # a node passed its time limit: look now


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


def abandon(running: RunningNode) -> None:
    """The node ran past its time limit: its worker restarts now (see _watch)."""
    running.abandoned.set()
    _wake.set()


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
    soon = False
    while True:
        _wake.wait(REPORT_POLL_SECONDS if soon else WATCH_INTERVAL_SECONDS)
        _wake.clear()
        run_cache.drop_idle(time.monotonic())
        stuck, soon = _stuck_node(time.monotonic())
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


def _stuck_node(now: float) -> tuple[RunningNode | None, bool]:
    """A node past its time limit, or still running ABORT_GRACE_SECONDS after its
    run stopped, if any; and whether a timed-out node's task is still reporting."""
    stuck, reporting = None, False
    with _lock:
        for key, running in list(_running.items()):
            if running.thread is not None and not running.thread.is_alive():
                del _running[key]
            elif running.abandoned.is_set() and not running.in_client_process:
                # At once, but only once the worker has reported the time-out:
                # retiring before would hand the node to another worker.
                running.stopped_since = running.stopped_since or now
                if _task_reported(running) or (
                    now - running.stopped_since > REPORT_WAIT_SECONDS
                ):
                    stuck = running
                else:
                    reporting = True
            elif stopped_reason(running) is None:
                running.stopped_since = None
            else:
                running.stopped_since = running.stopped_since or now
                if now - running.stopped_since > ABORT_GRACE_SECONDS:
                    stuck = running
    return stuck, reporting


def _task_reported(running: RunningNode) -> bool:
    task = running.worker.state.tasks.get(running.key)
    return task is None or task.state not in _LIVE_TASK_STATES


def forget(running: RunningNode) -> None:
    with _lock:
        _running.pop(running.key, None)
    running.discard_outputs = lambda: None  # let go of the node's datasets


def _restart_worker(stuck: RunningNode) -> None:
    worker = stuck.worker
    with suppress(Exception):
        stuck.discard_outputs()
    reason = stopped_reason(stuck)
    logger.error(
        "Node '%s' is still running after %s; restarting Dask worker %s to free its "
        "thread (its other tasks, of any run, move to other workers).",
        stuck.name,
        reason,
        worker.address,
    )
    _warn_other_runs(stuck, reason)
    leaving = asyncio.run_coroutine_threadsafe(
        _retire_and_close(worker), worker.loop.asyncio_loop
    )
    # A nanny starts a fresh worker when this process ends; end it if closing hangs.
    with suppress(Exception):
        leaving.result(RESTART_DEADLINE_SECONDS)
    with suppress(Exception):  # the thread may have written more meanwhile
        stuck.discard_outputs()
    os._exit(1)


def _warn_other_runs(stuck: RunningNode, reason: str | None) -> None:
    """Each other run with a node on this worker: its client hears which worker
    restarts and why, before its node starts again elsewhere."""
    with _lock:
        others = [r for r in _running.values() if r.token != stuck.token]
    for other in others:
        with suppress(Exception):
            warn_run(
                stuck.worker,
                other.token,
                logger,
                f"Dask worker {stuck.worker.address} restarts: a node of another run "
                f"is still running there after {reason}. Node '{other.name}' of this "
                "run was running there too and starts again on another worker.",
            )


async def _retire_and_close(worker: Any) -> None:
    # The time-out left on the worker's batched stream: let it reach the scheduler.
    await asyncio.sleep(0.2)
    # Retired, the worker leaves as Dask expects: its other tasks are not counted
    # as failures against their runs (allowed-failures, KilledWorker).
    with suppress(Exception):
        await asyncio.wait_for(
            worker.scheduler.retire_workers(
                workers=[worker.address],
                close_workers=False,
                remove=True,
                stimulus_id=f"kedro-node-outlived-its-run-{time.time()}",
            ),
            RESTART_DEADLINE_SECONDS / 2,
        )
    await worker.close(
        nanny=False, executor_wait=False, reason="kedro-node-outlived-its-run"
    )
