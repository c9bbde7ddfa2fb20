"""The runner's two seams to private names (runner/_kedro.py, runner/_dask.py): each
is pinned here against the versions the project locks, so an upgrade that renames
one fails here, naming it, instead of in a run on a cluster."""

import ast
import inspect
import sys
import time
from pathlib import Path, PurePosixPath

import dask
import fsspec
from dask._task_spec import Task
from distributed import Client, LocalCluster, Scheduler, as_completed, get_worker
from distributed.broker import Broker
from kedro.framework.hooks import hook_impl
from kedro.framework.hooks.manager import _NullPluginManager
from kedro.io import AbstractVersionedDataset, MemoryDataset, Version, memory_dataset
from kedro.pipeline import node

from {{ cookiecutter.python_package }}.runner import (
    _dask,
    _kedro,
)

PACKAGE = Path(_kedro.__file__).parents[1]
SEAMS = {"_kedro.py", "_dask.py"}


def test_memory_dataset_internals():
    dataset = MemoryDataset(data=[1, 2], copy_mode="deepcopy")
    assert _kedro.memory_copy_mode(dataset) == "deepcopy"
    assert _kedro.memory_data(dataset) == [1, 2]
    held = _kedro.memory_dataset_holding(data := [3], "copy")
    assert _kedro.memory_data(held) is data  # not copied when filled
    assert held.load() == [3] and held.load() is not data  # copied on load


def test_copy_mode_imports_still_happen_and_still_infer():
    source = inspect.getsource(memory_dataset._infer_copy_mode)
    for name in _kedro.COPY_MODE_OPTIONAL_IMPORTS:
        assert f"import {name}" in source, name
    missing = [n for n in _kedro.COPY_MODE_OPTIONAL_IMPORTS if n not in sys.modules]
    try:
        _kedro.remember_missing_copy_mode_imports()
        assert all(sys.modules[n] is None for n in missing)
        assert MemoryDataset(data=[[1]]).load() == [[1]]
    finally:
        for name in missing:
            sys.modules.pop(name, None)


def test_hook_managers():
    class Hooks:
        @hook_impl
        def before_node_run(self, node):
            return None

    manager = _kedro.project_hook_manager((Hooks(),))
    assert any(isinstance(p, Hooks) for p in manager.get_plugins())
    assert _kedro.empty_hook_manager().get_plugins() == set()
    assert _kedro.is_null_hook_manager(
        _NullPluginManager()
    ) and _kedro.is_null_hook_manager(None)
    assert not _kedro.is_null_hook_manager(manager)


class _Versioned(AbstractVersionedDataset):
    def __init__(self, filepath: str, version: Version | None):
        protocol, path = fsspec.core.split_protocol(filepath)
        self._fs = fsspec.filesystem(protocol or "file")
        super().__init__(PurePosixPath(path), version, exists_function=self._fs.exists)

    def load(self):
        return None

    def save(self, data) -> None:
        return None

    def _describe(self) -> dict:
        return {}


def test_versions(tmp_path):
    dataset = _Versioned(
        str(tmp_path / "out.csv"), Version("v1", "2026-01-01T00.00.00.000Z")
    )
    assert _kedro.dataset_versions(dataset) == ("v1", "2026-01-01T00.00.00.000Z")
    filesystem, folder = _kedro.versioned_save_folder(dataset)
    assert folder == str(tmp_path / "out.csv" / "2026-01-01T00.00.00.000Z")
    assert filesystem is dataset._fs
    assert _kedro.versioned_save_folder(_Versioned(str(tmp_path / "x"), None)) is None
    assert _kedro.dataset_versions(MemoryDataset()) == (None, None)


def test_node_name():
    assert _kedro.has_explicit_name(node(len, "a", "b", name="count"))
    assert not _kedro.has_explicit_name(node(len, "a", "b"))


def test_dask_internals():
    task = _dask.worker_task(("run", "x"), pow, 2, args=(5,))
    assert isinstance(task, Task) and task() == 32
    assert "self.thread_condition = threading.Condition()" in inspect.getsource(
        as_completed
    )
    assert _dask.finished_condition.__code__.co_names[-1] == "thread_condition"
    assert "self._broker = Broker(" in inspect.getsource(Scheduler.__init__)
    topics = Broker(10, None)._topics
    assert topics["x"].subscribers == set() and hasattr(topics["x"], "events")
    assert "topic" in inspect.signature(Broker.truncate).parameters


def _where() -> str:
    return get_worker().address


def test_leaving_out_a_worker_restricts_the_runs_tasks():
    """A task that would follow its input's data to the left-out worker goes to
    the other one."""
    with (
        LocalCluster(n_workers=2, processes=False, dashboard_address=None) as cluster,
        Client(cluster) as client,
    ):
        stale, other = sorted(client.scheduler_info()["workers"])
        data = client.submit(time.sleep, 1, workers=[stale])
        later = client.submit(lambda _: _where(), data, pure=False)
        while not client.run_on_scheduler(
            lambda dask_scheduler: later.key in dask_scheduler.tasks
        ):
            time.sleep(0.01)  # the submission and this call travel separately
        assert client.run_on_scheduler(
            _dask.leave_out_workers, keys=[later.key], workers=[stale]
        ) == [other]
        assert later.result(timeout=30) == other


def _children_workers(reads_storage: bool) -> list[str]:
    """Where four short tasks run that each follow one parent task, on two
    single-threaded workers (work stealing off: Dask's placement alone)."""
    with (
        dask.config.set({"distributed.scheduler.work-stealing": False}),
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        graph = {"parent": _dask.worker_task("parent", time.sleep, 0.01)}
        for i in range(4):
            graph[f"child-{i}"] = _dask.worker_task(
                f"child-{i}",
                lambda _: time.sleep(0.05) or _where(),
                args=(_dask.TaskRef("parent"),),
                reads_storage=reads_storage,
            )
        return client.get(graph, [f"child-{i}" for i in range(4)])


def test_a_task_that_reads_storage_goes_to_an_idle_worker():
    """Dask places a task on the worker holding its inputs; one whose parent only
    orders it (the data is in storage) is placed as a data producer: anywhere."""
    assert len(set(_children_workers(reads_storage=False))) == 1
    assert len(set(_children_workers(reads_storage=True))) == 2


def test_private_names_are_used_only_in_the_seams():
    """Every `from kedro|dask|distributed... import _name` and every `._attribute`
    on an object of theirs lives in a seam; elsewhere the project uses public APIs."""
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if path.name in SEAMS:
            continue
        for found in ast.walk(ast.parse(path.read_text())):
            if isinstance(found, ast.ImportFrom) and (found.module or "").split(".")[0] in {
                "kedro", "dask", "distributed",
            }:  # fmt: skip
                parts = (found.module or "").split(".") + [a.name for a in found.names]
                offenders += [f"{path.name}: {p}" for p in parts if p.startswith("_")]
            if (
                isinstance(found, ast.Attribute)
                and found.attr.startswith("_")
                and not found.attr.startswith("__")
                and not (
                    isinstance(found.value, ast.Name)
                    and found.value.id in {"self", "cls", "os"}
                )
            ):
                offenders.append(f"{path.name}:{found.lineno}: .{found.attr}")
    assert not offenders, offenders
