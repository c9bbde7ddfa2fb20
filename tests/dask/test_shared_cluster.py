"""A cluster shared by many runs and people, and long-lived: one scheduler and two
workers with nannies (as `dask worker` starts them) stay up across this module's
tests, which interrupt, time out, kill and repeat runs on it and then check what
the cluster still holds and what was written."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import psutil
import pytest

from tests.dask.helpers import (
    LAB_FILES,
    inspect_cluster,
    lab_run,
    start_lab_run,
    stop_lab_run,
    wait_for,
    wait_for_json,
)
from tests.support import command_env, copy_project, run

SECRET = "PLANTED-SECRET-4c1e9a"  # lab/credentials_lab.yml
assert SECRET in (LAB_FILES / "credentials_lab.yml").read_text()
# The run's state must be gone this long after its client went away.
CLEANUP_SECONDS = 30


@pytest.fixture(scope="module")
def shared(lab_project, cluster_factory):
    project, python = lab_project
    return cluster_factory(python, project, workers=[[], []], nanny=True)


def lab_data(project: Path) -> Path:
    return project / "data" / "lab"


def cluster_state(lab, cluster, needle: str = SECRET) -> dict:
    project, python = lab
    return inspect_cluster(python, project, cluster.address, needle)


def wait_until_clean(lab, cluster) -> dict:
    """The cluster's state once no task, plugin or per-run state of any run is left."""
    deadline = time.monotonic() + CLEANUP_SECONDS
    while True:
        state = cluster_state(lab, cluster)
        leftovers = (
            state["tasks"]
            + [p for p in state["worker_plugins"] if p.startswith("kedro")]
            + [run for runs in state["worker_runs"].values() for run in runs]
            + state["run_topics"]  # a run's log records
            + [w for w, count in state["worker_filesystems"].items() if count]  # their keys
        )
        if not leftovers and state["workers"] == len(cluster.workers):
            return state
        assert time.monotonic() < deadline, f"left on the cluster: {state}"
        time.sleep(1)


def assert_full_width(lab, cluster) -> None:
    """Two 2-second nodes run at the same time on two different workers."""
    project, _ = lab
    lab_run(lab, cluster, "--pipelines", "wide")
    out = lab_data(project) / "out"
    first, second = (json.loads((out / f"wide_{i}.json").read_text()) for i in range(2))
    assert first["pid"] != second["pid"]
    assert first["start"] < second["end"] and second["start"] < first["end"], (first, second)


def test_no_credential_on_the_scheduler_during_or_after_a_run(lab, shared):
    project, python = lab
    running = start_lab_run(lab, shared, "--pipelines", "secret")
    try:
        wait_for_json(lab_data(project) / "abortable-started.json", running)
        during = cluster_state(lab, shared)
        # The scan does look into the run's tasks: it finds the node's name there.
        assert any("secret" in key for key in during["tasks"]), during
        assert cluster_state(lab, shared, needle="started_then_sleeps")["found"]
        output, _ = running.communicate(timeout=120)
    finally:
        if running.poll() is None:
            running.kill()
    assert running.returncode == 0, output[-3000:]
    # The workers resolved the credential themselves: the dataset that needs it saved.
    assert json.loads((lab_data(project) / "out" / "secret.json").read_text())
    after = wait_until_clean(lab, shared)
    assert during["found"] == [] and after["found"] == [], (during, after)
    assert SECRET not in output


def test_worker_without_the_credential_fails_the_run_before_any_node(
    lab, lab_project, cluster_factory, tmp_path
):
    project, python = lab
    elsewhere = copy_project(project, tmp_path / project.name)
    (elsewhere / "conf" / "dask" / "credentials.yml").unlink()
    cluster = cluster_factory(python, project, workers=[])
    cluster.start_worker(cwd=elsewhere)
    # Only the secret pipeline's output needs the credential.
    lab_run(lab, cluster, "--pipelines", "wide", timeout=120)
    result = lab_run(lab, cluster, "--pipelines", "secret", check=False, timeout=120)
    log = result.stdout + result.stderr
    assert result.returncode != 0
    assert "cannot run this project" in log and "lab_planted" in log, log[-3000:]
    assert str(elsewhere / "conf") in log  # where the worker looked
    assert SECRET not in log
    assert not (lab_data(project) / "abortable-started.json").exists()  # no node ran


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGKILL], ids=["SIGINT", "SIGKILL"])
def test_interrupted_run_writes_nothing_more_and_leaves_nothing(lab, shared, signum):
    project, _ = lab
    stop_lab_run(lab, shared, "abortable-started", signum, "--pipelines", "abortable")
    ended = time.monotonic()
    # The node sleeps 8 s: long after it would have saved, nothing has been saved.
    output = lab_data(project) / "out" / "abort_out.json"
    while time.monotonic() - ended < CLEANUP_SECONDS:
        assert not output.exists(), "a node saved after its run had ended"
        time.sleep(0.5)
    # The next run also drops the log records of a run whose client was killed.
    assert_full_width(lab, shared)
    wait_until_clean(lab, shared)


def run_past_its_time_limit(lab, cluster, seconds: int) -> str:
    """A run of the never-ending node with a time limit, which fails it: its output."""
    result = lab_run(
        lab,
        cluster,
        "--pipelines", "forever",
        "--params", f"dask_client.tag_options.capped.timeout={seconds}",
        check=False,
    )  # fmt: skip
    log = result.stdout + result.stderr
    assert result.returncode != 0
    assert f"Node 'never_returns' ran longer than its limit of {seconds} s" in log, log[-3000:]
    return log


def test_node_past_its_time_limit_fails_the_run_and_frees_its_worker(lab, shared):
    project, _ = lab
    started = time.monotonic()
    run_past_its_time_limit(lab, shared, 3)
    failed = time.monotonic()
    assert failed - started < 30
    stuck_pid = wait_for_json(lab_data(project) / "forever-started.json")["pid"]
    # The worker whose thread the node holds is restarted by its nanny.
    wait_for(lambda: not psutil.pid_exists(stuck_pid), "the stuck worker's restart", interval=0.5)
    wait_until_clean(lab, shared)
    assert_full_width(lab, shared)
    assert time.monotonic() - failed < 60
    assert not (lab_data(project) / "out" / "forever_out.json").exists()


def test_a_time_out_restarts_its_worker_at_once_and_fails_no_other_run(lab, cluster_factory):
    """Another run's node on the worker that a time-out restarts moves to the fresh
    worker without counting as a failure: with Dask's allowed-failures at 0, a worker
    that merely died would fail it with KilledWorker. The worker is back within 2 s
    of the time-out, not after a grace period."""
    project, python = lab
    cluster = cluster_factory(
        python,
        project,
        workers=[["--nthreads", "2"]],
        nanny=True,
        env=command_env(DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES="0"),
    )
    other = start_lab_run(
        lab, cluster, "--pipelines", "abortable", "--params", "lab_abort_seconds=15"
    )
    try:
        first = wait_for_json(lab_data(project) / "abortable-started.json", other)
        (lab_data(project) / "abortable-started.json").unlink()
        log = run_past_its_time_limit(lab, cluster, 2)
        assert "Its Dask worker tcp://" in log, log[-3000:]
        # The cluster is at full width again within 2 s.
        wait_for(lambda: cluster.registrations() >= 2, "the fresh worker", 2, interval=0.05)
        output, _ = other.communicate(timeout=120)
    finally:
        if other.poll() is None:
            other.kill()
    assert other.returncode == 0, output[-4000:]
    assert "KilledWorker" not in output
    # The other run says which worker restarted, why, and which of its nodes moved.
    restarted = cluster.worker_addresses(0)[0]
    assert f"Dask worker {restarted} restarts: a node of another run" in output, output[-4000:]
    assert "after it ran past its time limit. Node 'abort' of this run was running" in output
    rerun = json.loads((lab_data(project) / "abortable-started.json").read_text())
    assert rerun["pid"] != first["pid"] and not psutil.pid_exists(first["pid"])


def test_a_paused_worker_finishes_its_node(lab, cluster_factory):
    """Dask pauses a worker above its memory pause fraction: it starts no new task
    but finishes the one it runs, and saves its output; nothing restarts it."""
    project, python = lab
    cluster = cluster_factory(python, project, workers=[["--memory-limit", "1000MiB"]], nanny=True)
    lab_run(lab, cluster, "--pipelines", "hog")
    assert "Pausing worker" in cluster.logs(), cluster.logs()[-3000:]
    assert cluster.registrations() == 1
    held = json.loads((lab_data(project) / "out" / "hog.json").read_text())
    assert held["megabytes"] > 300


def test_a_frozen_worker_is_named_and_left_out(lab, shared):
    """A worker stopped with SIGSTOP answers nothing: the run names it after
    dask_client.timeout (the project's tests time that) and runs its nodes on the
    other worker."""
    frozen = psutil.Process(shared.workers[1].pid).children(recursive=True)
    assert frozen, "the nanny has no worker process"
    for process in frozen:
        process.suspend()
    try:
        started = time.monotonic()
        result = lab_run(lab, shared, "--pipelines", "wide", "--params", "dask_client.timeout=3")
        took = time.monotonic() - started
    finally:
        for process in frozen:
            process.resume()
    log = result.stdout + result.stderr
    assert "1 Dask workers did not answer within 3 s" in log, log[-3000:]
    assert took < 60
    project, _ = lab
    out = lab_data(project) / "out"
    pids = {json.loads((out / f"wide_{i}.json").read_text())["pid"] for i in range(2)}
    assert pids.isdisjoint(p.pid for p in frozen)
    wait_until_clean(lab, shared)
    assert_full_width(lab, shared)


def test_a_stale_worker_that_joins_mid_run_is_left_out_and_the_run_goes_on(
    lab, cluster_factory, tmp_path
):
    """A worker with an older copy of the project joins after the checks: its
    first task of the run is refused there, the run names the worker, leaves it
    out and finishes on the current worker."""
    project, python = lab
    cluster = cluster_factory(python, project, workers=[[]])
    older = copy_project(project, tmp_path / project.name)
    lab_module = older / "src" / "rocket_science" / "lab.py"
    lab_module.write_text(lab_module.read_text() + "\n\ndef added_later() -> None: ...\n")
    running = start_lab_run(lab, cluster, "--pipelines", "naps")
    try:
        wait_for(
            lambda: list(lab_data(project).glob("nap-*-started.json")),
            "a nap (the checks are over)",
            process=running,
        )
        stale = cluster.start_worker(env={"PYTHONPATH": str(older / "src")})
        output, _ = running.communicate(timeout=120)
    finally:
        if running.poll() is None:
            running.kill()
    assert running.returncode == 0, output[-4000:]
    (address,) = cluster.worker_addresses(1)
    assert f"Dask worker {address} runs other code" in output, output[-4000:]
    assert "left out of this run" in output
    out = lab_data(project) / "out"
    pids = {json.loads((out / f"nap_{i}.json").read_text())["pid"] for i in range(6)}
    assert stale.pid not in pids and len(pids) == 1


def test_a_client_killed_during_the_checks_leaves_no_marker(lab, shared):
    """SIGKILL of `kedro run` while it waits on a frozen worker's answer: the
    shared-disk check's markers are gone from the data folders all the same."""
    project, _ = lab
    frozen = psutil.Process(shared.workers[1].pid).children(recursive=True)
    for process in frozen:
        process.suspend()
    try:
        running = start_lab_run(
            lab, shared, "--pipelines", "wide", "--params", "dask_client.timeout=20"
        )

        def markers() -> list[Path]:
            return list((project / "data").rglob(".kedro-dask-marker-*"))

        wait_for(markers, "the shared-disk check's markers", process=running, interval=0.05)
        running.kill()
        running.communicate(timeout=30)
        wait_for(lambda: not markers(), "the markers' removal", 3, interval=0.05)
    finally:
        for process in frozen:
            process.resume()
    wait_until_clean(lab, shared)


def test_node_timeout_applies_to_every_node(lab, shared):
    result = lab_run(
        lab, shared, "--pipelines", "abortable", "--params", "dask_client.node_timeout=1",
        check=False,
    )  # fmt: skip
    assert result.returncode != 0
    assert "Node 'abort' ran longer than its limit of 1 s" in result.stdout + result.stderr
    wait_until_clean(lab, shared)


def test_worker_killed_during_a_versioned_save_leaves_one_complete_version(lab, shared):
    project, _ = lab
    running = start_lab_run(lab, shared, "--pipelines", "versioned")
    try:
        # rows_twice has saved lab_versioned_a and is half way through b's file.
        saving = wait_for_json(lab_data(project) / "slow-save-0.json", running)
        os.kill(saving["pid"], signal.SIGKILL)
        output, _ = running.communicate(timeout=180)
    finally:
        if running.poll() is None:
            running.kill()
    assert running.returncode == 0, output[-4000:]
    assert (lab_data(project) / "versioned-attempt-1.json").exists()  # Dask re-ran it
    for name in ("a.csv", "b.csv"):
        versions = list((lab_data(project) / "versioned" / name).iterdir())
        assert len(versions) == 1, versions
        lines = (versions[0] / name).read_text().splitlines()
        assert len(lines) == 200_000 + 1  # the header and every row
    wait_until_clean(lab, shared)


@pytest.mark.parametrize(
    "signum", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL], ids=["SIGINT", "SIGTERM", "SIGKILL"]
)
def test_a_run_stopped_during_a_versioned_save_leaves_no_partial_version(lab, shared, signum):
    """`kedro run` stopped while rows_twice is half way through b's file, paused for
    longer than the watchdog's grace period: the worker restarts mid-write, and no
    partial file is left to be loaded as the latest version."""
    project, _ = lab
    registrations = shared.registrations()
    stop_lab_run(
        lab, shared, "slow-save-0", signum, "--pipelines", "versioned", "--params", "lab_pause=30"
    )
    wait_for(
        lambda: shared.registrations() > registrations,
        "the restart of the stopped save's worker",
        CLEANUP_SECONDS,
        interval=0.2,
    )
    for name in ("a.csv", "b.csv"):
        # What Kedro would load: any version's file (an empty version folder is none).
        for saved in (lab_data(project) / "versioned" / name).glob(f"*/{name}"):
            lines = saved.read_text().splitlines()
            assert len(lines) == 200_000 + 1, f"{saved}: {len(lines)} lines"
    assert_full_width(lab, shared)
    wait_until_clean(lab, shared)


def test_a_credential_in_an_error_reaches_neither_the_scheduler_nor_the_client(lab, shared):
    """A driver's error that quotes the credentials: the run's credential values are
    blanked out on the worker, before the error reaches the scheduler, its logs and
    events, or the client."""
    result = lab_run(lab, shared, "--pipelines", "leaky", check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0 and "login refused for {'planted_secret': '***'}" in output
    assert SECRET not in output
    assert wait_until_clean(lab, shared)["found"] == []


def test_a_node_stopped_mid_save_by_its_time_limit_leaves_no_version(lab, shared):
    """rows_twice saves a, then half of b and pauses 8 s: its 3 s limit stops the run
    first; when its thread ends, what it wrote under the run's version goes too."""
    project, _ = lab
    result = lab_run(
        lab, shared, "--pipelines", "versioned", "--params", "dask_client.node_timeout=3",
        check=False,
    )  # fmt: skip
    assert result.returncode != 0
    assert "ran longer than its limit of 3 s" in result.stdout + result.stderr
    deadline = time.monotonic() + 30
    while True:
        left = [p for p in (lab_data(project) / "versioned").rglob("*") if p.is_file()]
        if not left:
            break
        assert time.monotonic() < deadline, f"a stopped node's files stay: {left}"
        time.sleep(1)
    wait_until_clean(lab, shared)


def test_failed_run_leaves_no_file_under_its_save_version(lab, shared):
    project, _ = lab
    result = lab_run(lab, shared, "--pipelines", "versioned_fails", check=False)
    assert result.returncode != 0
    assert "a sibling node fails" in result.stdout + result.stderr
    time.sleep(10)  # past the slow save's pause: nothing comes back
    for name in ("a.csv", "b.csv"):
        folder = lab_data(project) / "versioned" / name
        assert not folder.exists() or list(folder.iterdir()) == [], list(folder.rglob("*"))
    wait_until_clean(lab, shared)


def test_unserialisable_output_fails_the_run_naming_node_and_dataset(lab, shared):
    started = time.monotonic()
    result = lab_run(lab, shared, "--pipelines", "unpicklable", check=False, timeout=120)
    log = result.stdout + result.stderr
    assert result.returncode != 0
    assert "Node 'make_lock' returned 'mem_lock', which Dask cannot send" in log, log[-3000:]
    assert time.monotonic() - started < 60


def test_lost_scheduler_fails_the_run_naming_it_and_nothing_is_saved_after(
    lab, lab_project, cluster_factory
):
    project, python = lab
    cluster = cluster_factory(python, project, workers=[[], []], nanny=True)
    running = start_lab_run(lab, cluster, "--pipelines", "abortable")
    try:
        wait_for_json(lab_data(project) / "abortable-started.json", running)
        killed = time.monotonic()
        os.killpg(cluster.scheduler.pid, signal.SIGKILL)
        output, _ = running.communicate(timeout=60)
        ended = time.monotonic()
    finally:
        if running.poll() is None:
            running.kill()
    assert running.returncode != 0
    assert f"Lost the Dask scheduler at {cluster.address}" in output, output[-3000:]
    assert ended - killed < 20
    time.sleep(max(0.0, 12 - (time.monotonic() - killed)))  # the node slept 8 s
    assert not (lab_data(project) / "out" / "abort_out.json").exists()


def test_no_worker_fails_after_worker_wait(lab, cluster_factory):
    project, python = lab
    cluster = cluster_factory(python, project, workers=[])
    started = time.monotonic()
    result = lab_run(
        lab, cluster, "--pipelines", "wide", "--params", "dask_client.worker_wait=3",
        check=False,
    )  # fmt: skip
    assert result.returncode != 0
    assert "No Dask worker joined the scheduler" in result.stdout + result.stderr
    assert "dask_client.worker_wait" in result.stdout + result.stderr
    assert time.monotonic() - started < 30


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ("dask_client.adress=tcp://x:1", "dask_client.adress: unknown setting"),
        ("dask_client.timeout=abc", "dask_client.timeout: expected a positive number"),
        ("dask_client.worker_wait=0", "dask_client.worker_wait: expected a positive number"),
        ("dask_client.cluster_kwargs.n_workers=-1", "dask_client.cluster_kwargs.n_workers"),
        (
            "dask_client.security.tls_ca_file=/no/ca.pem",
            "dask_client.security.tls_ca_file: no file",
        ),
        ("dask_client.cluster_class=no_such.Cluster", "dask_client.cluster_class: cannot import"),
        ("dask_client.address=not-an-address", "'not-an-address' is not a scheduler address"),
        ("dask_client.address=tls://127.0.0.1:1", "dask_client.security: the address"),
        ("dask_client.tag_options.gpu.retries=-2", "dask_client.tag_options.gpu.retries"),
        ("dask_client.tag_options.gpu.timeuot=3", "dask_client.tag_options.gpu.timeuot"),
    ],
)
def test_bad_setting_fails_at_once_naming_the_key(lab, params, message):
    project, python = lab
    started = time.monotonic()
    result = run(
        [python.with_name("kedro"), "run", "--env", "dask", "--params", params],
        cwd=project,
        check=False,
        timeout=60,
    )
    log = (result.stdout + result.stderr).strip()
    assert result.returncode != 0
    assert message in log
    # Kedro's start-up lines come first; the error itself is short.
    assert len(log[log.index("Error") :].splitlines()) <= 15, log
    assert time.monotonic() - started < 15


def test_thirty_runs_leave_the_scheduler_memory_flat(lab, shared):
    project, python = lab
    scheduler = psutil.Process(shared.scheduler.pid)
    repeat = [python, LAB_FILES / "repeat_runs.py", shared.address]
    run([*repeat, "1"], cwd=project, timeout=120)
    after_first = scheduler.memory_info().rss
    run([*repeat, "29"], cwd=project, timeout=600)
    after_last = scheduler.memory_info().rss
    growth = (after_last - after_first) / after_first
    assert growth < 0.10, f"scheduler RSS {after_first / 2**20:.0f} -> {after_last / 2**20:.0f} MB"
