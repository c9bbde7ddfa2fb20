"""What a Dask task runs on a worker: one Kedro node, or a fused chain of them,
each through Kedro's own ``Task`` (hooks, async loading, generator nodes)."""

from __future__ import annotations

import contextvars
import logging
import os
import threading
from collections.abc import Callable, Iterable
from contextlib import nullcontext, suppress
from typing import Any

import cloudpickle
from distributed import get_worker
from kedro.framework import project
from kedro.io import CatalogProtocol
from kedro.pipeline.node import Node
from kedro.runner.task import Task
from pluggy import PluginManager

from . import _kedro, checks, run_cache, watchdog
from .errors import NodeTimeoutError, OutputNotSerialisableError
from .logs import LOCAL_CLUSTER_OF, ChainProgress, forward_task_logs
from .run_spec import RunSpec
from .worker_catalog import node_catalog

logger = logging.getLogger(__name__)

# Set on a node's exception: the names of the nodes of its task that completed first.
COMPLETED_ATTRIBUTE = "kedro_completed_nodes"

_hook_managers: dict[tuple[str | None, bool], PluginManager] = {}
_hook_lock = threading.Lock()


def run_nodes(  # noqa: PLR0913, PLR0917 - Dask passes them positionally
    nodes: list[Node],
    spec: RunSpec,
    feed: dict[str, Any],
    timeout: float | None,
    exports: list[str],
    inputs: dict[str, dict],
    *after: Any,
) -> dict:
    """Run ``nodes`` (one, or a fused chain) in order; return the in-memory outputs
    other tasks use, ``{name: data}`` for each name in ``exports``.

    Each in-memory input arrives as its producer's ``{name: data}``; ``feed`` holds
    the parameters the nodes read. ``after`` only orders this task after nodes it
    depends on through persisted datasets. Each node has its own time limit,
    ``timeout``. If a node fails, its exception lists the nodes of the chain that
    completed before it (``COMPLETED_ATTRIBUTE``).
    """
    _kedro.remember_missing_copy_mode_imports()  # a worker runs nothing else
    worker = get_worker()
    key = worker.get_current_task()
    local = run_cache.local_run(spec.token)
    if local is not None:  # the client's own nodes, not copies
        nodes = [local.nodes[node.name] for node in nodes]
    values = {name: holder[name] for name, holder in inputs.items()}
    progress = ChainProgress(spec.token) if len(nodes) > 1 else None
    completed: list[str] = []
    # The position of the last node that reads each dataset: the chain holds its
    # in-memory data no longer than that (one pass; a chain can be thousands long).
    last_read = {name: i for i, node in enumerate(nodes) for name in node.inputs}
    remote = local is None and bool(spec.persisted)
    if remote and not run_cache.knows(spec.token):
        checks.check_same_code(spec)  # a worker that joined after the preflight
    persisted = (
        local.catalog.get if local else run_cache.checkout(spec) if remote else None
    )
    hook_manager = local.hook_manager if local else _hook_manager(spec)
    try:
        for position, node in enumerate(nodes):
            running = watchdog.RunningNode(
                node.name, key, worker, local is not None, spec.token
            )
            try:
                catalog = node_catalog(
                    persisted or _no_dataset, spec, node, values,
                    feed=None if local else feed, may_save=watchdog.refuse_stopped_save,
                )  # fmt: skip
                for path in remove_save_versions(catalog.get, node.outputs):
                    # A worker that died mid-save, or a retry: the new attempt must save.
                    logger.warning(
                        "Removed %s left by an earlier attempt of %s", path, node.name
                    )
                values.update(
                    _execute(
                        node,
                        catalog,
                        spec,
                        hook_manager=hook_manager,
                        running=running,
                        timeout=timeout,
                    )  # fmt: skip
                )
                if local is not None:
                    local.node_done(node)
            except BaseException as exc:
                with suppress(AttributeError):
                    setattr(exc, COMPLETED_ATTRIBUTE, completed)
                scrub_exception(exc, run_cache.scrubber(spec.token))
                raise
            completed.append(node.name)
            values = {
                k: v
                for k, v in values.items()
                if last_read.get(k, -1) > position or k in exports
            }
            if progress is not None and position < len(nodes) - 1:
                progress.completed(node.name)
    finally:
        if remote:
            run_cache.give_back(spec.token)
    outputs = {name: values[name] for name in exports}
    if local is None:
        _check_serialisable(nodes, outputs)
    return outputs


def _no_dataset(name: str) -> Any:
    raise KeyError(name)


def _execute(  # noqa: PLR0913
    node: Node,
    catalog: CatalogProtocol,
    spec: RunSpec,
    *,
    hook_manager: PluginManager,
    running: watchdog.RunningNode,
    timeout: float | None,
) -> dict[str, Any]:
    """Run the node through Kedro's Task, in this thread or, with a time limit, in
    a thread of its own; return the node's in-memory outputs."""
    result: dict[str, Any] = {}

    def execute() -> None:
        watchdog.set_current(running)
        # A cluster of threads inside the client already logs to its console.
        started_by_client = os.environ.get(LOCAL_CLUSTER_OF) == str(spec.client_pid)
        logs = (
            nullcontext()
            if running.in_client_process
            else forward_task_logs(
                spec.token,
                ("kedro", spec.package_name or "kedro"),
                run_cache.scrubber(spec.token),
                quiet_here=started_by_client,
            )
        )
        try:
            with logs:
                Task(
                    node=node,
                    catalog=catalog,
                    hook_manager=hook_manager,
                    is_async=spec.is_async,
                    run_id=spec.run_id,
                ).execute()
            # The saved (copied) objects, not the node's own: as MemoryDataset.save does.
            result.update(
                (name, _kedro.memory_data(catalog.get(name)))
                for name in node.outputs
                if name in spec.memory
            )
        except BaseException as exc:  # handed to the task's thread below
            result["__error__"] = exc
        finally:
            watchdog.set_current(None)
            if running.abandoned.is_set():  # timed out: its run has moved on
                running.discard_outputs()

    running.discard_outputs = lambda: remove_save_versions(catalog.get, node.outputs)
    watchdog.track(running)
    try:
        if timeout is None:
            execute()
        else:
            # A thread of its own, so that the task can give up on it at the limit.
            # The task's context goes along: get_worker() works in that thread too.
            running.thread = threading.Thread(
                target=contextvars.copy_context().run,
                args=(execute,),
                name=f"kedro-node-{node.name}",
                daemon=True,
            )
            running.thread.start()
            running.thread.join(timeout)
            if running.thread.is_alive():
                watchdog.abandon(running)
                raise NodeTimeoutError(
                    f"Node '{node.name}' ran longer than its limit of {timeout:g} s "
                    "(dask_client.node_timeout or tag_options.<tag>.timeout) and was "
                    "stopped; nothing it saves from now on is written. Its Dask "
                    f"worker {running.worker.address} restarts to free its thread."
                )
    finally:
        watchdog.untrack(running)
    error = result.pop("__error__", None)
    if error is not None:
        if not running.in_client_process:
            error.add_note(f"Raised by Kedro node '{node.name}' on a Dask worker.")
        raise error
    return result


def scrub_exception(error: BaseException, scrub: Callable[[str], str]) -> None:
    """Blank the run's credential values out of an exception (and its causes), whose
    text reaches the scheduler and the worker's logs."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        with suppress(AttributeError, TypeError):
            current.args = tuple(
                scrub(a) if isinstance(a, str) else a for a in current.args
            )
        notes = getattr(current, "__notes__", None)
        if isinstance(notes, list):
            notes[:] = [scrub(note) for note in notes]
        current = current.__cause__ or current.__context__


def pick_output(outputs: dict, name: str) -> dict:
    """One output of a node with several, so consumers fetch only what they use."""
    return {name: outputs[name]}


def node_done(outputs: dict) -> None:
    """A tiny stand-in for a finished node: tracking it holds no node data."""
    return None


def _hook_manager(spec: RunSpec) -> PluginManager:
    """The project's own hooks (settings.HOOKS), once per worker process. Plugins'
    hooks run on the client: they expect the session, which workers do not have."""
    with _hook_lock:
        key = (spec.package_name, spec.hooks)
        if key not in _hook_managers:
            if spec.hooks and spec.package_name:
                if project.PACKAGE_NAME != spec.package_name:
                    project.configure_project(spec.package_name)
                manager = _kedro.project_hook_manager(project.settings.HOOKS)
            else:
                manager = _kedro.empty_hook_manager()
            _hook_managers[key] = manager
        return _hook_managers[key]


def remove_save_versions(
    dataset: Callable[[str], Any], names: Iterable[str]
) -> list[str]:
    """Delete this run's save version of the versioned datasets among ``names``
    (``dataset`` gives each by name) where this process sees it; the folders removed."""
    removed = []
    for name in names:
        folder = _kedro.versioned_save_folder(dataset(name))
        if folder is not None and folder[0].exists(folder[1]):
            folder[0].rm(folder[1], recursive=True)
            removed.append(folder[1])
    return removed


def remove_unfinished_versions(spec: RunSpec, names: list[str]) -> list[str]:
    """On a failed run, on each worker: no later run may load a partial file of
    ``names`` as the latest version."""
    if run_cache.local_run(spec.token) is not None:
        return []  # the client removes them itself
    dataset = run_cache.checkout(spec)
    watchdog.ensure_started()
    try:
        return remove_save_versions(dataset, names)
    finally:
        run_cache.give_back(spec.token)


def _check_serialisable(nodes: list[Node], outputs: dict[str, Any]) -> None:
    for name, value in outputs.items():
        node = next(node for node in nodes if name in node.outputs)
        try:
            # Protocol 5 keeps large array buffers out of band: no copy of the data.
            cloudpickle.dumps(value, protocol=5, buffer_callback=lambda _: None)
        except Exception as exc:
            raise OutputNotSerialisableError(
                f"Node '{node.name}' returned '{name}', which Dask cannot send to "
                f"another worker ({type(exc).__name__}: {exc}). Return plain data, or "
                "save it with a persisted dataset that can store it."
            ) from None
