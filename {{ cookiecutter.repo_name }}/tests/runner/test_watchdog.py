"""The worker's watchdog: which nodes outlived their run, and what it lets go of."""

import time
from types import SimpleNamespace

from distributed.core import Status

from {{ cookiecutter.python_package }}.runner import (
    watchdog,
)


def worker(status=Status.running, state="executing"):
    tasks = {"key": SimpleNamespace(state=state)}
    return SimpleNamespace(status=status, state=SimpleNamespace(tasks=tasks))


def test_paused_workers_still_run_their_nodes():
    """Dask pauses a worker above its memory pause fraction: its nodes go on."""
    running = watchdog.RunningNode("n", "key", worker(Status.paused))
    assert watchdog.stopped_reason(running) is None


def test_a_node_whose_run_stopped_is_stuck_only_after_the_grace_period():
    running = watchdog.RunningNode("n", "key", worker(state="released"))
    watchdog._running["key"] = running  # as track() does, without starting the thread
    try:
        assert watchdog._stuck_node(time.monotonic()) is None  # it just stopped
        later = time.monotonic() + watchdog.ABORT_GRACE_SECONDS + 1
        assert watchdog._stuck_node(later) is running
    finally:
        watchdog.forget(running)
    assert watchdog.running_nodes() == []


def test_forgetting_a_node_lets_go_of_its_datasets():
    running = watchdog.RunningNode("n", "key", worker())
    running.discard_outputs = lambda: "holds the node's catalog"
    watchdog.forget(running)
    assert running.discard_outputs() is None
