"""The runner on a real Dask LocalCluster: worker processes, and threads of this
process. Node functions live in this module so that worker processes import them."""

import _thread
import os
import pickle
import signal
import threading
import time

import pytest
from distributed import Client, LocalCluster
from kedro.framework.hooks import hook_impl
from kedro.io import DataCatalog, MemoryDataset
from kedro.pipeline import Pipeline, node
from kedro_datasets.json import JSONDataset
from kedro_datasets.pandas import CSVDataset

from {{ cookiecutter.python_package }}.runner import (
    CatalogNotPortableError,
    DaskRunner,
    NodeTimeoutError,
    _kedro,
    cluster,
    preflight,
)
from {{ cookiecutter.python_package }}.runner.graph import (
    build_graph,
)
from {{ cookiecutter.python_package }}.runner.hooks import (
    RunContext,
)
from {{ cookiecutter.python_package }}.runner.run_spec import (
    RunSpec,
    classify_datasets,
)


def double(x):
    return {"value": x["value"] * 2}


def explode(x):
    raise ValueError(f"cannot use {x}")


def slow(x):
    time.sleep(4)
    return x


RELEASE = threading.Event()


def held(x):
    RELEASE.wait(30)
    return x


@pytest.fixture(scope="module")
def processes():
    with LocalCluster(
        n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address=":0"
    ) as cluster:
        yield cluster.scheduler_address


@pytest.fixture(scope="module")
def threads():
    with LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, dashboard_address=":0"
    ) as cluster:
        yield cluster.scheduler_address


def test_a_dataset_made_in_code_is_written_where_it_says(processes, tmp_path):
    pipeline = Pipeline(
        [node(double, "start", "middle"), node(double, "middle", "end")]
    )
    catalog = DataCatalog(
        {
            "start": MemoryDataset({"value": 2}),
            "end": JSONDataset(filepath=str(tmp_path / "end.json")),
        }
    )
    DaskRunner(address=processes).run(pipeline, catalog)
    assert catalog.load("end") == {"value": 8}


def test_a_failing_node_is_named(processes):
    pipeline = Pipeline([node(explode, "start", "end", name="explode")])
    catalog = DataCatalog({"start": MemoryDataset(3)})
    with pytest.raises(ValueError, match="cannot use 3") as error:
        DaskRunner(address=processes).run(pipeline, catalog)
    assert "Raised by Kedro node 'explode' on a Dask worker." in error.value.__notes__


def test_a_node_past_its_time_limit_stops_the_run(processes):
    pipeline = Pipeline([node(slow, "start", "end", name="slow")])
    started = time.monotonic()
    with pytest.raises(
        NodeTimeoutError, match="Node 'slow' ran longer than its limit of 1 s"
    ):
        DaskRunner(address=processes, node_timeout=1).run(
            pipeline, DataCatalog({"start": MemoryDataset(1)})
        )
    assert time.monotonic() - started < 4


def test_ctrl_c_releases_the_runs_tasks_before_the_client_closes(
    processes, tmp_path, monkeypatch
):
    """However long closing the client takes (slowed here past the node's end), the
    node that was running when Ctrl-C came saves nothing."""
    real_close = cluster._close
    monkeypatch.setattr(
        cluster, "_close", lambda resource: time.sleep(6) or real_close(resource)
    )
    output = tmp_path / "end.json"
    catalog = DataCatalog(
        {"start": MemoryDataset(1), "end": JSONDataset(filepath=str(output))}
    )
    pipeline = Pipeline([node(slow, "start", "end", name="slow")])
    threading.Timer(1, _thread.interrupt_main).start()  # Ctrl-C, 1 s in
    with pytest.raises(KeyboardInterrupt):
        DaskRunner(address=processes).run(pipeline, catalog)
    time.sleep(1)  # the node would have saved 4 s in, during the close
    assert not output.exists()


def test_a_dataset_workers_cannot_rebuild_is_refused_before_any_node(
    processes, tmp_path
):
    class Unportable(MemoryDataset):  # defined here: no worker process can import it
        def _exists(self) -> bool:
            return False

    first = JSONDataset(filepath=str(tmp_path / "first.json"))
    pipeline = Pipeline([node(double, "start", "first"), node(double, "first", "last")])
    catalog = DataCatalog(
        {
            "start": MemoryDataset({"value": 1}),
            "first": first,
            "last": CSVDataset(filepath=str(tmp_path / "l.csv")),
        }
    )
    catalog.get("last")._filepath = (
        tmp_path / "elsewhere.csv"
    )  # changed after it was made
    with pytest.raises(
        CatalogNotPortableError, match="Dataset 'last' cannot be rebuilt"
    ):
        DaskRunner(address=processes).run(pipeline, catalog)
    assert not first.exists()  # no node ran


class RecordingHooks:
    def __init__(self):
        self.nodes = []

    @hook_impl
    def after_node_run(self, node):
        self.nodes.append(node.name)


def test_a_missing_input_is_kedros_error_not_an_empty_dataset(threads):
    pipeline = Pipeline([node(double, "absent", "out")])
    with pytest.raises(ValueError, match=r"Pipeline input\(s\) {'absent'} not found"):
        DaskRunner(address=threads).run(pipeline, DataCatalog())


def test_workers_in_this_process_use_its_hooks_and_catalog(threads):
    hooks = RecordingHooks()
    manager = _kedro.empty_hook_manager()
    manager.register(hooks)
    pipeline = Pipeline(
        [
            node(double, "start", "middle", name="a"),
            node(double, "middle", "end", name="b"),
        ]
    )
    catalog = DataCatalog({"start": MemoryDataset({"value": 1})})
    result = DaskRunner(address=threads).run(pipeline, catalog, manager)
    assert result["end"].load() == {"value": 4}
    assert hooks.nodes == ["a", "b"]


def test_no_credential_value_is_in_the_graph_sent_to_the_scheduler(tmp_path):
    secret = {"token": "s3cr3t-never-sent"}
    context = RunContext(env="dask", conf_source=None, credentials={"disk": secret})
    pipeline = Pipeline([node(double, "start", "saved")])
    catalog = DataCatalog(
        {
            "start": MemoryDataset({"value": 1}),
            "saved": JSONDataset(filepath=str(tmp_path / "s.json"), credentials=secret),
        }
    )
    data = classify_datasets(pipeline, catalog, context)
    spec = RunSpec(
        token="t", run_id=None, package_name=None, hooks=False, is_async=False,
        client_pid=0, env="dask", conf_source=None, persisted=data.persisted,
        memory=data.memory, fingerprint="f", version_check="error",
    )  # fmt: skip
    assert spec.credentials == {"disk"}
    graph = build_graph(
        pipeline,
        spec=spec,
        feed=data.feed,
        tag_options={},
        node_timeout=None,
        fuse=True,
    )
    sent = pickle.dumps(dict(graph.graph))
    assert b"s3cr3t-never-sent" not in sent and b"disk" in sent


def test_a_worker_that_does_not_answer_is_named_not_waited_for(processes):
    """A frozen worker (SIGSTOP) holds up neither the checks nor the other workers."""
    with Client(processes) as client:
        deadline = time.monotonic() + 30  # a time-out test's worker may be restarting
        while len(pids := client.run(os.getpid)) < 2:
            assert time.monotonic() < deadline, (
                "the cluster did not get back to 2 workers"
            )
            time.sleep(0.1)
        frozen, answering = sorted(pids)
        os.kill(pids[frozen], signal.SIGSTOP)
        try:
            started = time.monotonic()
            answers, silent = preflight._ask_every_worker(client, 1, os.getpid)
            took = time.monotonic() - started
        finally:
            os.kill(pids[frozen], signal.SIGCONT)
    assert silent == [frozen] and answers == {answering: pids[answering]}
    assert took < 1.5  # within dask_client.timeout (1 s here), not twice it


WIDE = Pipeline([node(held, "x", f"out_{i}", name=f"n{i}") for i in range(6)])
FAN_OUT = Pipeline(
    [node(double, "x", "start", name="start")]
    + [node(held, "start", f"out_{i}", name=f"n{i}") for i in range(6)]
)


@pytest.mark.parametrize("pipeline", [WIDE, FAN_OUT], ids=["wide", "fan-out"])
def test_side_by_side_nodes_are_all_handed_to_workers_at_once(pipeline):
    """Dask queues "root" tasks and hands them out one per freed thread (a round
    trip each): six nodes that can run side by side, with or without a parent, all
    go to the worker as soon as they may run, as plain Dask's do."""
    catalog = DataCatalog({"x": MemoryDataset({"value": 1})})
    with LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address=":0"
    ) as local:
        scheduler = local.scheduler
        RELEASE.clear()
        failures = []

        def run_pipeline():
            try:
                DaskRunner(address=local.scheduler_address).run(pipeline, catalog)
            except Exception as exc:  # noqa: BLE001  # the assertion below names it
                failures.append(exc)

        def waiting():  # the six held nodes, assigned to the worker or queued
            states = [task.state for task in tuple(scheduler.tasks.values())]
            return states.count("processing") + states.count("queued")

        run = threading.Thread(target=run_pipeline)
        run.start()
        try:
            deadline = time.monotonic() + 20
            while waiting() < 6 and time.monotonic() < deadline:
                time.sleep(0.05)
            processing = sum(len(ws.processing) for ws in scheduler.workers.values())
            assert (len(scheduler.queued), processing) == (0, 6)
        finally:
            RELEASE.set()
            run.join(30)
    assert not run.is_alive() and not failures
