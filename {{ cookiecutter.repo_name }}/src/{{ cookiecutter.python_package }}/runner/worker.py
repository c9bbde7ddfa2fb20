"""What runs on a Dask worker: one Kedro node, through Kedro's own ``Task``.

A worker keeps only what the runs it serves need, and lets it go by itself: the
run's rebuilt catalog is dropped when the run has had no node here for a while,
and a node whose run has stopped (aborted, failed, timed out, client gone) may not
save anything. If such a node is still running after a grace period, the worker
process restarts to free its thread (Dask re-runs the other tasks it held).
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from contextlib import nullcontext, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cloudpickle
from distributed import get_worker
from distributed.core import Status
from kedro.framework import project
from kedro.framework.hooks import hook_impl
from kedro.io import CatalogProtocol
from kedro.pipeline.node import Node
from kedro.runner.task import Task
from pluggy import PluginManager

from .. import _kedro
from .errors import DaskRunError
from .fingerprint import fingerprint, locked_packages
from .logs import LOCAL_CLUSTER_OF, ChainProgress, forward_task_logs
from .spec import (
    RunSpec,
    WorkerCredentials,
    node_catalog,
    worker_catalog,
    worker_credentials,
    worker_project,
)

logger = logging.getLogger(__name__)

# A run's catalog is dropped this long after the run's last node on this worker.
CATALOG_IDLE_SECONDS = 10
# A node that keeps running this long after its run stopped restarts its worker.
ABORT_GRACE_SECONDS = 10
# Then the worker process has this long to close before it is ended outright.
RESTART_DEADLINE_SECONDS = 15
WATCH_INTERVAL_SECONDS = 1
_LIVE_TASK_STATES = {"executing", "long-running"}
# Set on a node's exception: the names of the nodes of its task that completed first.
COMPLETED_ATTRIBUTE = "kedro_completed_nodes"
# The client's marker files for the shared-disk check: MARKER_PREFIX + run token.
MARKER_PREFIX = ".kedro-dask-marker-"


class NodeTimeoutError(DaskRunError, TimeoutError):
    """A node ran past its time limit."""


class RunStoppedError(RuntimeError):
    """A node tried to save after its run had stopped."""


class StaleWorkerError(DaskRunError, RuntimeError):
    """A worker runs other code or package versions than the client."""


class OutputNotSerialisableError(DaskRunError, TypeError):
    """An in-memory output that Dask cannot move between processes."""


@dataclass
class _CachedRun:
    credentials: WorkerCredentials
    users: int = 0
    last_used: float = field(default_factory=time.monotonic)


@dataclass
class _RunningNode:
    name: str
    key: Any
    worker: Any
    in_client_process: bool = False
    thread: threading.Thread | None = None
    abandoned: threading.Event = field(default_factory=threading.Event)
    stopped_since: float | None = None


_lock = threading.Lock()
_runs: dict[str, _CachedRun] = {}  # run token -> what this worker read for it
_running: dict[Any, _RunningNode] = {}  # task key -> the node it runs
_hook_managers: dict[tuple[str | None, bool], PluginManager] = {}
_current = threading.local()  # .running: the _RunningNode this thread executes
_watchdog: list[threading.Thread] = []  # at most one, started on first use


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
    depends on through persisted datasets, which load here from the catalog. Each
    node has its own time limit, ``timeout``. If a node fails, its exception lists
    the nodes of the chain that completed before it (``COMPLETED_ATTRIBUTE``).
    """
    _kedro.remember_missing_copy_mode_imports()  # a worker runs nothing else
    worker = get_worker()
    key = worker.get_current_task()
    in_client_process = spec.client_pid == os.getpid()
    values = {name: holder[name] for name, holder in inputs.items()}
    progress = ChainProgress(spec.token) if len(nodes) > 1 else None
    completed: list[str] = []
    # The position of the last node that reads each dataset: the chain holds its
    # in-memory data no longer than that (one pass; a chain can be thousands long).
    last_read = {name: i for i, node in enumerate(nodes) for name in node.inputs}
    run_catalog = _checkout_catalog(spec, check_code=True)
    try:
        for position, node in enumerate(nodes):
            running = _RunningNode(node.name, key, worker, in_client_process)
            try:
                catalog = node_catalog(run_catalog, spec, node, values, feed)
                for path in remove_save_versions(catalog, node.outputs):
                    # A worker that died mid-save, or a retry: the new attempt must save.
                    logger.warning(
                        "Removed %s left by an earlier attempt of %s", path, node.name
                    )
                values.update(_execute(node, catalog, spec, running, timeout))
            except BaseException as exc:
                with suppress(AttributeError):
                    setattr(exc, COMPLETED_ATTRIBUTE, completed)
                raise
            completed.append(node.name)
            # Let go of what the rest of the chain no longer reads.
            values = {
                k: v
                for k, v in values.items()
                if last_read.get(k, -1) > position or k in exports
            }
            if progress is not None and position < len(nodes) - 1:
                progress.completed(node.name)
    finally:
        _return_catalog(spec.token)
    outputs = {name: values[name] for name in exports}
    _check_serialisable(nodes, outputs)
    return outputs


def _execute(
    node: Node,
    catalog: CatalogProtocol,
    spec: RunSpec,
    running: _RunningNode,
    timeout: float | None,
) -> dict[str, Any]:
    """Run the node through Kedro's Task, in this thread or, with a time limit, in
    a thread of its own; return the node's in-memory outputs."""
    hook_manager = _hook_manager(spec.package_name, spec.hooks)
    result: dict[str, Any] = {}

    def execute() -> None:
        _current.running = running
        # A cluster of threads inside the client already logs to its console.
        started_by_client = os.environ.get(LOCAL_CLUSTER_OF) == str(spec.client_pid)
        names = ("kedro", spec.package_name or "kedro")
        logs = (
            nullcontext()
            if running.in_client_process
            else forward_task_logs(spec.token, names, quiet_here=started_by_client)
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
            _current.running = None

    with _lock:
        _running[running.key] = running
    _start_watchdog()
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
                running.abandoned.set()
                raise NodeTimeoutError(
                    f"Node '{node.name}' ran longer than its limit of {timeout:g} s "
                    "(dask_client.node_timeout or tag_options.<tag>.timeout) and was "
                    "stopped; nothing it saves from now on is written."
                )
    finally:
        if running.thread is None or not running.thread.is_alive():
            with _lock:
                _running.pop(running.key, None)
    error = result.pop("__error__", None)
    if error is not None:
        error.add_note(f"Raised by Kedro node '{node.name}' on a Dask worker.")
        raise error
    return result


def pick_output(outputs: dict, name: str) -> dict:
    """One output of a node with several, so consumers fetch only what they use."""
    return {name: outputs[name]}


def node_done(outputs: dict) -> None:
    """A tiny stand-in for a finished node: tracking it holds no node data."""
    return None


def check_worker(spec: RunSpec, markers: dict[str, str]) -> dict[str, Any]:
    """Run on every worker before any node (see preflight.py): whether it can build
    the run's catalog (the problem, never a credential's value), what code it runs
    differently, and which of the client's ``markers`` (folder -> text) it cannot see."""
    problem = None
    try:
        _checkout_catalog(spec)
        _return_catalog(spec.token)
    except Exception as exc:
        problem = f"{type(exc).__name__}: {exc}"
    unseen = []
    for folder, text in markers.items():
        marker = Path(folder) / f"{MARKER_PREFIX}{spec.token}"
        try:
            if marker.read_text() != text:
                unseen.append(folder)
        except OSError:
            unseen.append(folder)
    return {"problem": problem, "differences": _differences(spec), "unseen": unseen}


def _differences(spec: RunSpec) -> list[str]:
    """Everything this worker runs differently (the preflight has the client's
    whole fingerprint)."""
    if spec.fingerprint is None:
        return []
    here = fingerprint(spec.package_name, tuple(spec.fingerprint.packages))
    return spec.fingerprint.differences(here)


def _check_same_code(spec: RunSpec) -> None:
    """For workers that join after the preflight, when they take up the run (see
    _checkout_catalog): tasks carry only the digest of the client's fingerprint,
    to compare with this worker's, over the packages of its own lock."""
    here = fingerprint(spec.package_name, locked_packages(worker_project(spec)))
    found = (
        []
        if here.digest == spec.fingerprint_digest
        else ["its project code or locked package versions differ from the client's"]
    )
    if found and spec.version_check != "warn":
        raise StaleWorkerError(
            f"Dask worker {get_worker().address} runs other code than the client: "
            f"{'; '.join(found)}. Rebuild and redeploy the image, or restart the workers."
        )
    if found:
        logger.warning(
            "This worker runs other code than the client: %s", "; ".join(found)
        )


def stopped_reason(running: _RunningNode) -> str | None:
    """Why the node's run no longer wants its results, or None while it does."""
    if running.abandoned.is_set():
        return "it ran past its time limit"
    if running.worker.status != Status.running:
        return "its worker lost the scheduler or is closing"
    task = running.worker.state.tasks.get(running.key)
    if task is None or task.state not in _LIVE_TASK_STATES:
        return "its run was aborted or its client went away"
    return None


class _SaveGuard:
    """Refuses every save of a node whose run has stopped: nothing of a run is
    written after `kedro run` has returned or died."""

    @hook_impl
    def before_dataset_saved(self, dataset_name: str, data: Any, node: Node) -> None:
        running = getattr(_current, "running", None)
        reason = running and stopped_reason(running)
        if reason:
            raise RunStoppedError(
                f"Not saving '{dataset_name}' of node '{node.name}': {reason}."
            )


def _hook_manager(package_name: str | None, hooks: bool) -> PluginManager:
    """The project's hooks (once per worker process, as ParallelRunner does) and
    the save guard."""
    with _lock:
        if (package_name, hooks) not in _hook_managers:
            if package_name and project.PACKAGE_NAME != package_name:
                project.configure_project(package_name)
            manager = (
                _kedro.project_hook_manager(
                    project.settings.HOOKS, project.settings.DISABLE_HOOKS_FOR_PLUGINS
                )
                if hooks
                else _kedro.empty_hook_manager()
            )
            manager.register(_SaveGuard(), name="kedro-dask-save-guard")
            _hook_managers[(package_name, hooks)] = manager
        return _hook_managers[(package_name, hooks)]


def _checkout_catalog(spec: RunSpec, check_code: bool = False) -> CatalogProtocol:
    """A catalog of the datasets of ``spec``, from the run's credentials on this
    worker, which are read on first use; with ``check_code``, a first use also
    compares this worker's code with the client's. Give it back with
    ``_return_catalog``."""
    with _lock:
        cached = _runs.get(spec.token)
        if cached is not None:
            cached.users += 1
            cached.last_used = time.monotonic()
    if cached is None:
        if check_code:
            _check_same_code(spec)
        credentials = worker_credentials(spec)  # reads conf/: outside the lock
        _start_watchdog()  # which forgets them once the run is done here
        with _lock:
            cached = _runs.setdefault(spec.token, _CachedRun(credentials))
            cached.users += 1
            cached.last_used = time.monotonic()
    try:
        return worker_catalog(spec, cached.credentials)
    except BaseException:
        _return_catalog(spec.token)
        raise


def _return_catalog(token: str) -> None:
    with _lock:
        cached = _runs.get(token)
        if cached is not None:
            cached.users -= 1
            cached.last_used = time.monotonic()


def cached_runs() -> list[str]:
    """The runs whose catalogs this worker holds (for tests and debugging)."""
    with _lock:
        return sorted(_runs)


def running_nodes() -> list[str]:
    """The nodes this worker process is running for any run (for tests and debugging)."""
    with _lock:
        return sorted(running.name for running in _running.values())


def remove_save_versions(catalog: CatalogProtocol, names: Iterable[str]) -> list[str]:
    """Delete this run's save version of the versioned datasets among ``names``
    where this process sees it; the folders removed."""
    removed = []
    for name in names:
        folder = _kedro.versioned_save_folder(catalog.get(name))
        if folder is not None and folder[0].exists(folder[1]):
            folder[0].rm(folder[1], recursive=True)
            removed.append(folder[1])
    return removed


def remove_unfinished_versions(spec: RunSpec, names: list[str]) -> list[str]:
    """On a failed run, on each worker: no later run may load a partial file of
    ``names`` as the latest version."""
    catalog = _checkout_catalog(spec)
    try:
        return remove_save_versions(catalog, names)
    finally:
        _return_catalog(spec.token)


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


def _start_watchdog() -> None:
    with _lock:
        if not _watchdog or not _watchdog[0].is_alive():
            _watchdog[:] = [
                threading.Thread(target=_watch, name="kedro-dask-watchdog", daemon=True)
            ]
            _watchdog[0].start()


def _watch() -> None:
    while True:
        time.sleep(WATCH_INTERVAL_SECONDS)
        now = time.monotonic()
        stuck = None
        with _lock:
            for token, cached in list(_runs.items()):
                if cached.users <= 0 and now - cached.last_used > CATALOG_IDLE_SECONDS:
                    del _runs[token]
            for key, running in list(_running.items()):
                if running.thread is not None and not running.thread.is_alive():
                    del _running[key]
                    continue
                if stopped_reason(running) is None:
                    running.stopped_since = None
                    continue
                running.stopped_since = running.stopped_since or now
                if now - running.stopped_since > ABORT_GRACE_SECONDS:
                    stuck = running
        if stuck is not None:
            _restart_worker(stuck)
            return


def _restart_worker(stuck: _RunningNode) -> None:
    if stuck.in_client_process:
        # A cluster of threads inside `kedro run` itself: never end the user's process.
        logger.error("Node '%s' is still running after its run stopped.", stuck.name)
        with _lock:
            _running.pop(stuck.key, None)
        _start_watchdog()
        return
    worker = stuck.worker
    logger.error(
        "Node '%s' is still running %d s after its run stopped; restarting this "
        "worker process to free its thread (Dask re-runs the other tasks it held).",
        stuck.name,
        ABORT_GRACE_SECONDS,
    )
    close: Callable[[], Any] = lambda: worker.close(  # noqa: E731
        nanny=False, executor_wait=False, reason="kedro-node-outlived-its-run"
    )
    asyncio.run_coroutine_threadsafe(close(), worker.loop.asyncio_loop)
    # A nanny starts a fresh worker when this process ends; end it if closing hangs.
    deadline = time.monotonic() + RESTART_DEADLINE_SECONDS
    while time.monotonic() < deadline:
        time.sleep(0.5)
    os._exit(1)
