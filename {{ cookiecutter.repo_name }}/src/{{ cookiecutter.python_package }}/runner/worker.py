"""What runs on a Dask worker: one Kedro node, through Kedro's own ``Task``."""

from __future__ import annotations

import copy
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext, suppress
from dataclasses import dataclass
from typing import Any

from distributed import Client
from distributed.diagnostics.plugin import WorkerPlugin
from kedro.framework import project
from kedro.framework.hooks.manager import (
    _create_hook_manager,
    _NullPluginManager,
    _register_hooks,
    _register_hooks_entry_points,
)
from kedro.io import CatalogProtocol, MemoryDataset
from kedro.pipeline.node import Node
from kedro.runner.task import Task
from pluggy import PluginManager

from .logs import forward_task_logs

_hook_managers: dict[str | None, PluginManager] = {}
_hook_managers_lock = threading.Lock()
# The specs of the runs this worker takes part in, by run token (see RunSpecPlugin).
_run_specs: dict[str, RunSpec] = {}


@dataclass(frozen=True)
class RunSpec:
    """Everything node tasks share, sent to the workers once per run."""

    catalog: CatalogProtocol  # without the MemoryDatasets that nodes fill
    memory: dict[str, str | None]  # those MemoryDatasets: name -> copy_mode
    package_name: str | None
    run_id: str | None
    is_async: bool
    hooks: bool
    token: str
    client_pid: int


class RunSpecPlugin(WorkerPlugin):
    """Hands a run's spec to every worker, including workers that join or restart
    mid-run, without making it a task dependency: a dependency would tie every node
    to the workers holding it."""

    def __init__(self, spec: RunSpec):
        self.spec = spec

    def setup(self, worker: Any) -> None:
        _run_specs[self.spec.token] = self.spec

    def teardown(self, worker: Any) -> None:
        _run_specs.pop(self.spec.token, None)


@contextmanager
def spec_on_workers(client: Client, spec: RunSpec) -> Iterator[None]:
    name = f"kedro-run-{spec.token}"
    client.register_plugin(RunSpecPlugin(spec), name=name)
    try:
        yield
    finally:
        with suppress(Exception):  # a lost cluster has nothing left to clean
            client.unregister_worker_plugin(name)


def run_node(node: Node, token: str, inputs: dict[str, dict], *after: Any) -> dict:
    """Run ``node`` with its in-memory ``inputs``; return its in-memory outputs.

    Each input arrives as its producer's ``{name: data}``. ``after`` only orders
    this task after nodes it depends on through persisted datasets: those are
    loaded from the catalog, here on the worker.
    """
    spec = _run_specs[token]
    values = {name: holder[name] for name, holder in inputs.items()}
    catalog = _node_catalog(spec, node, values)
    # First: configuring the project resets its loggers, and with them our handler.
    hook_manager = _hook_manager(spec.package_name, spec.hooks)
    # The client's own process, or a LocalCluster worker it started, already
    # prints to the client's console.
    local = spec.client_pid in {os.getpid(), os.getppid()}
    logs = (
        nullcontext()
        if local
        else forward_task_logs(spec.token, ("kedro", spec.package_name or "kedro"))
    )
    with logs:
        try:
            Task(
                node=node,
                catalog=catalog,
                hook_manager=hook_manager,
                is_async=spec.is_async,
                run_id=spec.run_id,
            ).execute()
        except Exception as exc:
            exc.add_note(f"Raised by Kedro node '{node.name}' on a Dask worker.")
            raise
    # The saved (copied) objects, not the node's own: as MemoryDataset.save does.
    return {
        name: catalog.get(name)._data for name in node.outputs if name in spec.memory
    }


def pick_output(outputs: dict, name: str) -> dict:
    """One output of a node with several, so consumers fetch only what they use."""
    return {name: outputs[name]}


def node_done(outputs: dict) -> None:
    """A tiny stand-in for a finished node: tracking it holds no node data."""
    return None


def _node_catalog(spec: RunSpec, node: Node, inputs: dict[str, Any]) -> Any:
    """The run's catalog plus fresh MemoryDatasets for this node's in-memory data."""
    catalog = copy.copy(spec.catalog)  # shares the datasets, not their registry
    datasets = dict(catalog._datasets)
    for name in (*node.inputs, *node.outputs):
        if name in spec.memory:
            dataset = MemoryDataset(copy_mode=spec.memory[name])
            if name in inputs:
                # Stored as is: each load copies, as in one process.
                dataset._data = inputs[name]
            datasets[name] = dataset
    catalog._datasets = datasets
    return catalog


def _hook_manager(package_name: str | None, hooks: bool) -> Any:
    """The project's hooks, set up once per worker process, as ParallelRunner does."""
    if not hooks:
        return _NullPluginManager()
    with _hook_managers_lock:
        if package_name not in _hook_managers:
            if package_name and project.PACKAGE_NAME != package_name:
                project.configure_project(package_name)
            manager = _create_hook_manager()
            _register_hooks(manager, project.settings.HOOKS)
            _register_hooks_entry_points(
                manager, project.settings.DISABLE_HOOKS_FOR_PLUGINS
            )
            _hook_managers[package_name] = manager
        return _hook_managers[package_name]
