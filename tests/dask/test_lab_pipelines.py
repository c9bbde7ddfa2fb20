"""Hooks, failures, lost workers, tag options and memory, on real processes, with the
test-only nodes of the lab project (see conftest.lab_project and lab/)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import psutil
import pytest

from tests.dask.helpers import lab_run, markers
from tests.support import command_env


def test_node_and_dataset_hooks_fire_on_the_workers(lab, lab_cluster):
    lab_run(lab, lab_cluster)
    found = markers(lab[0])
    client_pids = {pid for kind, _, pid in found if kind == "pipeline"}
    worker_pids = {worker.pid for worker in lab_cluster.workers}
    assert len(client_pids) == 1  # pipeline hooks: once, in the client
    assert client_pids.isdisjoint(worker_pids)
    by_kind: dict[str, dict[str, set[int]]] = {}
    for kind, name, pid in found:
        by_kind.setdefault(kind, {}).setdefault(name, set()).add(pid)
    assert len(by_kind["after_node"]) == 10
    for kind in ("before_node", "after_node", "loaded", "saved"):
        for name, pids in by_kind[kind].items():
            assert pids <= worker_pids, (kind, name, pids)
    assert {"measurements", "train_features", "linear.model"} <= by_kind["saved"].keys()


def _chain_tasks(project) -> dict[str, tuple[str, int]]:
    """The Dask task and process each link of the `chain` pipeline ran in."""
    record = json.loads((project / "data" / "lab" / "out" / "link_4.json").read_text())
    tasks = {}
    for number in (4, 3, 2, 1):
        tasks[f"link_{number}"] = (record["key"], record["pid"])
        record = record["seen"]
    return tasks


@pytest.mark.parametrize(
    ("params", "tasks"),
    [
        ([], [["link_1", "link_2", "link_3", "link_4"]]),
        (["dask_client.tag_options.solo.fuse=false"], [["link_1", "link_2", "link_3"], ["link_4"]]),
        (["dask_client.fuse=false"], [["link_1"], ["link_2"], ["link_3"], ["link_4"]]),
    ],
)
def test_a_linear_chain_runs_as_one_task_and_still_reports_each_node(
    lab, lab_cluster, params, tasks
):
    project, _ = lab
    result = lab_run(lab, lab_cluster, "--pipelines", "chain", *[f"--params={p}" for p in params])
    ran_in = _chain_tasks(project)
    assert [sorted(g) for g in _groups(ran_in)] == tasks, ran_in
    log = result.stdout + result.stderr
    for number in (1, 2, 3, 4):  # each node reported once, its hooks fired
        assert log.count(f"Completed node: link_{number}") == 1, log[-3000:]
    assert "Completed 4 out of 4 nodes" in log
    hooked = {(kind, name) for kind, name, _ in markers(project)}
    expected = {(kind, f"link_{n}") for kind in ("before_node", "after_node") for n in (1, 2, 3, 4)}
    assert expected <= hooked
    # The persisted dataset inside the chain was saved.
    assert (project / "data" / "lab" / "out" / "link_2.json").exists()


def _groups(ran_in: dict[str, tuple[str, int]]) -> list[list[str]]:
    groups: dict[tuple[str, int], list[str]] = {}
    for name, task in sorted(ran_in.items()):
        groups.setdefault(task, []).append(name)
    return sorted(groups.values())


def test_failing_node_stops_the_run_and_leaves_the_cluster_usable(lab, lab_cluster):
    project, _ = lab
    started = time.monotonic()
    result = lab_run(lab, lab_cluster, "--pipelines", "fail", check=False)
    log = result.stdout + result.stderr
    assert result.returncode != 0
    assert "ValueError" in log and "lab failure in boom" in log
    assert "Raised by Kedro node 'boom' on a Dask worker." in log
    assert "lab.py" in log  # the remote traceback reaches into the node's module
    # first, boom and never share a task: first completed and is not run again.
    assert "You can resume the pipeline run" in log
    hint = log[log.index("--from-nodes") :].splitlines()[0]
    assert "boom" in hint and "first" not in hint, hint
    out = project / "data" / "lab"
    assert (out / "out" / "first.json").exists()
    assert not (out / "never.json").exists()
    assert {kind for kind, *_ in markers(project)} >= {"node_error"}
    # `late` waited on a 3 s sleeper and was cancelled with the rest of the run.
    time.sleep(max(0.0, 4 - (time.monotonic() - started)))
    assert not (out / "late.json").exists()
    # The same cluster runs the next pipeline.
    lab_run(lab, lab_cluster, "--pipelines", "gpu", "--nodes", "gpu_0")
    assert all(worker.poll() is None for worker in lab_cluster.workers)


def test_tag_options_send_gpu_nodes_to_the_gpu_worker_with_retries(lab, lab_cluster):
    project, _ = lab
    result = lab_run(
        lab,
        lab_cluster,
        "--pipelines", "gpu",
        "--params",
        "dask_client.tag_options.gpu.resources.GPU=1,dask_client.tag_options.gpu.retries=2",
    )  # fmt: skip
    gpu_worker = lab_cluster.workers[0].pid  # started with --resources GPU=1
    out = project / "data" / "lab" / "out"
    pids = {json.loads((out / f"gpu_{i}.json").read_text())["pid"] for i in range(3)}
    assert pids == {gpu_worker}
    # flaky fails once, then Dask retries it.
    assert json.loads((out / "flaky.json").read_text())["pid"] == gpu_worker
    assert "flaky: first attempt fails" in result.stdout + result.stderr


def test_failure_without_retries_is_not_retried(lab, lab_cluster):
    result = lab_run(lab, lab_cluster, "--pipelines", "gpu", "--nodes", "flaky", check=False)
    assert result.returncode != 0
    assert "flaky: first attempt fails" in result.stdout + result.stderr


def test_scheduler_memory_does_not_hold_the_intermediate_data(lab, lab_cluster):
    """A 100 MB array goes from one node to the next, worker to worker."""
    project, _ = lab
    scheduler = psutil.Process(lab_cluster.scheduler.pid)
    lab_run(lab, lab_cluster, "--pipelines", "big", "--params", "lab_big_megabytes=1")
    before = scheduler.memory_info().rss
    lab_run(lab, lab_cluster, "--pipelines", "big")
    growth = scheduler.memory_info().rss - before
    result = json.loads((project / "data" / "lab" / "out" / "big_sum.json").read_text())
    assert result["sum"] == 100 * 2**20 / 8
    assert growth < 30 * 2**20, f"scheduler RSS grew by {growth / 2**20:.0f} MB"


def test_worker_killed_mid_node_is_recomputed_elsewhere(lab, cluster_factory):
    project, python = lab
    # A cluster of its own: this test kills one of its workers.
    cluster = cluster_factory(python, project, workers=[[], []])
    run = subprocess.Popen(
        [python.with_name("kedro"), "run", "--env", "dask", "--pipelines", "slow"],
        cwd=project,
        env=command_env(DASK_SCHEDULER_ADDRESS=cluster.address),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        attempt = project / "data" / "lab" / "slow-attempt-0.json"
        deadline = time.monotonic() + 60
        while not attempt.exists() or not attempt.read_text():
            assert run.poll() is None and time.monotonic() < deadline, "slow never started"
            time.sleep(0.1)
        victim = json.loads(attempt.read_text())["pid"]
        assert victim in {worker.pid for worker in cluster.workers}
        os.kill(victim, signal.SIGKILL)
        output, _ = run.communicate(timeout=120)
    finally:
        if run.poll() is None:
            run.kill()
    assert run.returncode == 0, output[-4000:]
    retried = json.loads((project / "data" / "lab" / "slow-attempt-1.json").read_text())
    assert retried["pid"] != victim
    assert json.loads((project / "data" / "lab" / "out" / "slow_result.json").read_text()) == {
        "value": 42
    }
