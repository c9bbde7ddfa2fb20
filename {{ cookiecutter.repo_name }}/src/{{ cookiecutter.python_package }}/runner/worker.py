"""What runs on a Dask worker: one Kedro node, through Kedro's own ``Task``."""

from __future__ import annotations

import copy
import os
import threading
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

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


def run_node(node: Node, spec: RunSpec, inputs: dict[str, Any], *after: Any) -> dict:
    """Run ``node`` with its in-memory ``inputs``; return its in-memory outputs.

    ``after`` only orders this task after nodes it depends on through persisted
    datasets: those are loaded from the catalog, here on the worker.
    """
    catalog = _node_catalog(spec, node, inputs)
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


def ship_spec(spec: RunSpec) -> RunSpec:
    """Makes the run's spec a task result, fetched by each worker once."""
    return spec


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
