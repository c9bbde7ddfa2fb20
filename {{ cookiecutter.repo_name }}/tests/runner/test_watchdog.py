"""The worker's watchdog: which nodes outlived their run, and what it lets go of."""

import time
from types import SimpleNamespace

from distributed.core import Status

from {{ cookiecutter.python_package }}.runner import (
    logs,
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
        assert watchdog._stuck_node(time.monotonic()) == (None, False)  # just stopped
        later = time.monotonic() + watchdog.ABORT_GRACE_SECONDS + 1
        assert watchdog._stuck_node(later) == (running, False)
    finally:
        watchdog.forget(running)
    assert watchdog.running_nodes() == []


def test_a_node_past_its_time_limit_is_stuck_once_its_task_has_reported_it():
    """No grace period: its worker restarts as soon as the scheduler knows of the
    time-out (retiring earlier would hand the node to another worker)."""
    on_worker = worker(state="executing")
    running = watchdog.RunningNode("n", "key", on_worker)
    watchdog._running["key"] = running
    try:
        watchdog.abandon(running)
        assert watchdog._stuck_node(time.monotonic()) == (None, True)  # reporting
        on_worker.state.tasks["key"].state = "error"
        assert watchdog._stuck_node(time.monotonic()) == (running, False)
    finally:
        watchdog.forget(running)


def test_a_timed_out_node_in_the_client_process_keeps_the_grace_period():
    """Threads of `kedro run` itself are never restarted: the node is only forgotten
    after the grace period, so its thread can still remove what it saved."""
    running = watchdog.RunningNode(
        "n", "key", worker(state="error"), in_client_process=True
    )
    watchdog._running["key"] = running
    try:
        watchdog.abandon(running)
        assert watchdog._stuck_node(time.monotonic()) == (None, False)
        later = time.monotonic() + watchdog.ABORT_GRACE_SECONDS + 1
        assert watchdog._stuck_node(later) == (running, False)
    finally:
        watchdog.forget(running)


def test_forgetting_a_node_lets_go_of_its_datasets():
    running = watchdog.RunningNode("n", "key", worker())
    running.discard_outputs = lambda: "holds the node's catalog"
    watchdog.forget(running)
    assert running.discard_outputs() is None


def test_other_runs_hear_which_worker_restarts_and_why():
    """Only the runs with a node there, on their own topic; not the causing run."""
    sent = []
    on_worker = worker()
    on_worker.address = "tcp://10.0.0.7:4000"
    on_worker.log_event = lambda topic, attrs: sent.append((topic, attrs))
    stuck = watchdog.RunningNode("slow", "k1", on_worker, token="mine")
    victim = watchdog.RunningNode("fit", "k2", on_worker, token="theirs")
    for running in (stuck, victim):
        watchdog._running[running.key] = running
    try:
        watchdog._warn_other_runs(stuck, "it ran past its time limit")
    finally:
        watchdog.forget(stuck)
        watchdog.forget(victim)
    ((topic, attrs),) = sent
    assert topic == logs.topic("theirs") and attrs["token"] == "theirs"
    assert attrs["levelname"] == "WARNING" and attrs["worker"] == on_worker.address
    assert "Dask worker tcp://10.0.0.7:4000 restarts" in attrs["msg"]
    assert (
        "after it ran past its time limit" in attrs["msg"] and "'fit'" in attrs["msg"]
    )
    assert "'slow'" not in attrs["msg"]  # another user's node name stays theirs
