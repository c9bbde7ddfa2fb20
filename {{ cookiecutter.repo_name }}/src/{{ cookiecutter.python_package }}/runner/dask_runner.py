"""``DaskRunner``: run every node of a Kedro pipeline as a task on a Dask cluster."""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Mapping
from contextlib import suppress
from typing import Any

import cloudpickle
from distributed import Client, Future
from kedro.framework import project
from kedro.io import CatalogProtocol, MemoryDataset
from kedro.pipeline import Pipeline
from kedro.pipeline.node import Node
from kedro.runner import AbstractRunner
from pluggy import PluginManager

from . import _dask, _kedro, settings
from .cluster import Connection, check_connected, connect
from .errors import DaskSettingsError, StaleWorkerError
from .execution import (
    COMPLETED_ATTRIBUTE,
    remove_save_versions,
    remove_unfinished_versions,
)
from .fingerprint import fingerprint
from .graph import SubmittedPipeline, build_graph
from .hooks import run_context
from .logs import TOPIC_PREFIX, receive_task_logs, topic
from .preflight import preflight
from .progress import CompletionReports, NodeProgress, PhaseTimer
from .run_cache import LocalRun, register_local_run
from .run_spec import RunSpec, add_memory_datasets, classify_datasets

# Sent by value: the scheduler needs neither this project nor Kedro to run it.
cloudpickle.register_pickle_by_value(_dask)

# The run's parameters that hold the runner's settings (conf/dask/parameters.yml).
SETTINGS_PARAMETER = f"params:{settings.PREFIX}"
# How often the wait for nodes checks that the scheduler is still there.
POLL_SECONDS = 1
# Bounds for the short client-side steps around the nodes.
RESULT_TIMEOUT = 300
CLEANUP_TIMEOUT = 10


class DaskRunner(AbstractRunner):
    """Runs nodes as tasks on a Dask cluster: a new LocalCluster by default, an
    existing scheduler, or any cluster class (dask-kubernetes, dask-jobqueue).

    Its settings are the run's ``dask_client`` parameters (conf/<env>/parameters.yml,
    ``--params``), updated key by key by the keywords given here (``--runner-params``).
    Workers rebuild the client's persisted datasets exactly, reading credentials by
    name from their own configuration; in-memory data goes worker to worker. Node and
    dataset hooks run where the node runs, pipeline hooks once here. Workers that are
    threads of this process use this process's own catalog and hooks.
    """

    def __init__(
        self, address: str | None = None, *, is_async: bool = False, **options: Any
    ):
        """
        Args:
            address: An existing scheduler (``tcp://host:8786``); empty (``""``)
                starts a cluster for this run; None takes it from
                ``--params dask_client.address``, $DASK_SCHEDULER_ADDRESS or the
                parameters, in that order.
            is_async: Load and save each node's datasets asynchronously.
            **options: Any other ``dask_client`` key (``cluster_class``,
                ``cluster_kwargs``, ``adapt``, ``timeout``, ``security``,
                ``tag_options``, ``node_timeout``, ``worker_wait``,
                ``version_check``, ``fuse``); conf/dask/parameters.yml says what
                each does. Checked when the run starts, with the parameters.
        """
        super().__init__(is_async=is_async)
        self._options = options | ({} if address is None else {"address": address})
        self.settings: settings.DaskSettings | None = None  # the last run's
        self.phases: dict[str, float] = {}  # seconds per phase of the last run

    def run(
        self,
        pipeline: Pipeline,
        catalog: CatalogProtocol,
        hook_manager: PluginManager | None = None,
        run_id: str | None = None,
        only_missing_outputs: bool = False,
    ) -> dict[str, Any]:
        """Kedro's ``AbstractRunner.run``, with the in-memory datasets it would make
        from its default pattern made first, faster (``add_memory_datasets``)."""
        if not only_missing_outputs:  # that filter reads the catalog as given
            add_memory_datasets(pipeline, catalog)
        return super().run(
            pipeline, catalog, hook_manager, run_id, only_missing_outputs
        )

    def _get_executor(self, max_workers: int) -> None:
        return None  # Dask schedules the nodes; see _run

    def _run(
        self,
        pipeline: Pipeline,
        catalog: CatalogProtocol,
        hook_manager: PluginManager | None = None,
        run_id: str | None = None,
    ) -> None:
        if not pipeline.nodes:
            return
        timer = PhaseTimer()
        context = run_context(catalog)
        self.settings = run_settings = self._settings(
            catalog, context.runtime_params if context else None
        )
        _kedro.remember_missing_copy_mode_imports()  # for the outputs saved here
        data = classify_datasets(pipeline, catalog, context)
        spec = RunSpec(
            token=uuid.uuid4().hex[:12],
            run_id=run_id,
            package_name=project.PACKAGE_NAME,
            hooks=not _kedro.is_null_hook_manager(hook_manager),
            is_async=self._is_async,
            client_pid=os.getpid(),
            env=context.env if context else None,
            conf_source=context.conf_source if context else None,
            persisted=data.persisted,
            memory=data.memory,
            fingerprint=fingerprint().digest,
            version_check=run_settings.version_check,
        )
        self._logger.info(
            "Running %d nodes on Dask (%s)",
            len(pipeline.nodes),
            run_settings.describe(),
        )
        timer.lap("prepare")
        with connect(run_settings) as connection:
            client = connection.client
            timer.lap("connect")
            reports = CompletionReports(client)
            # Workers that are threads of this process use its catalog and hooks.
            register_local_run(spec.token, LocalRun(catalog, hook_manager, pipeline))  # type: ignore[arg-type]
            try:
                answered = preflight(client, spec, data, pipeline, run_settings.timeout)
                timer.lap("preflight")
                with receive_task_logs(client, spec.token, reports.nodes_completed):
                    graph = build_graph(
                        pipeline,
                        spec=spec,
                        feed=data.feed,
                        tag_options=run_settings.tag_options,
                        node_timeout=run_settings.node_timeout,
                        fuse=run_settings.fuse,
                    )
                    timer.lap("prepare")
                    submitted = graph.submit(client, answered)
                    timer.lap("submit")
                    try:
                        self._wait_for_nodes(
                            connection,
                            pipeline,
                            catalog,
                            submitted,
                            spec=spec,
                            reports=reports,
                        )
                    except (KeyboardInterrupt, SystemExit):
                        # Ctrl-C or SIGTERM: release the run's tasks at once (one
                        # message), so a node still running saves nothing more,
                        # however long closing the client takes then.
                        client.cancel(submitted.futures())
                        raise
                    timer.lap("execute")
                    # One request for them all (they have finished).
                    names = list(submitted.free_outputs)
                    values = client.gather([submitted.free_outputs[n] for n in names])
                    for name, value in zip(names, values, strict=True):
                        catalog.save(name, value[name])
            finally:
                register_local_run(spec.token, None)
                with suppress(Exception):
                    client.run_on_scheduler(
                        _dask.forget_client_events,
                        client_id=client.id,
                        topic=topic(spec.token),
                        prefix=TOPIC_PREFIX,
                        callback_timeout=CLEANUP_TIMEOUT,
                    )
        timer.lap("teardown")
        self.phases = timer.phases
        self._logger.debug("Dask run phases (seconds): %s", timer.phases)

    def _settings(
        self, catalog: CatalogProtocol, runtime_params: Mapping[str, Any] | None
    ) -> settings.DaskSettings:
        """The run's ``dask_client`` parameters updated by this runner's options."""
        found = (
            catalog.get(SETTINGS_PARAMETER) if SETTINGS_PARAMETER in catalog else None
        )
        configured = found.load() if isinstance(found, MemoryDataset) else None
        if configured is not None and not isinstance(configured, Mapping):
            raise DaskSettingsError(
                f"{settings.PREFIX}: expected a mapping of settings, got {configured!r}."
            )
        given = (runtime_params or {}).get(settings.PREFIX)
        return settings.resolve(
            configured, self._options, isinstance(given, Mapping) and "address" in given
        )

    def _wait_for_nodes(  # noqa: PLR0913
        self,
        connection: Connection,
        pipeline: Pipeline,
        catalog: CatalogProtocol,
        submitted: SubmittedPipeline,
        *,
        spec: RunSpec,
        reports: CompletionReports,
    ) -> None:
        client = connection.client
        pending = set(submitted.tasks) | set(submitted.free_outputs.values())
        reports.follow(pending)
        done: dict[str, Node] = {}
        by_name = {node.name: node for node in pipeline.nodes}
        with NodeProgress(len(pipeline.nodes), self._logger) as progress:

            def completed(names: list[str]) -> None:
                for name in names:  # a chain may report a node twice: count it once
                    if name not in done:
                        done[name] = by_name[name]
                        progress.node_completed(name)

            refusals: dict[Any, set[str]] = {}  # task key -> stale workers it met
            while pending:
                finished, names = reports.wait(POLL_SECONDS)
                completed(names)
                if not finished and not names:
                    connection.check()
                retried = _retry_without_stale_workers(
                    client, finished, pending, refusals, self._logger
                )
                reports.follow(retried)
                for future in finished:
                    if future in retried:
                        continue
                    pending.discard(future)
                    if future.status != "finished":
                        completed(_completed_before_failure(future))
                        client.cancel(list(pending))  # stop what has not started
                        unfinished = [n for n in pipeline.nodes if n.name not in done]
                        _remove_partial_versions(client, catalog, spec, unfinished)
                        self._suggest_resume_scenario(
                            pipeline, list(done.values()), catalog
                        )
                        _raise_failure(future, client)
                    # Dropping the task's future lets Dask free its in-memory
                    # outputs once their consumers are done.
                    nodes = submitted.tasks.pop(future, None)
                    if nodes is not None:
                        completed([node.name for node in nodes])
                del finished  # no future outlives its turn here


def _retry_without_stale_workers(
    client: Client,
    finished: list[Future],
    pending: set[Future],
    refusals: dict[Any, set[str]],
    logger: logging.Logger,
) -> list[Future]:
    """Tasks that a worker refused because it runs other code (one that joined
    after the checks): the run leaves that worker out and sends them again to the
    others. Returns them; with no other worker left, none (the run fails)."""
    refused: dict[Future, str] = {}
    for future in finished:
        worker = _stale_worker(future)
        if worker is not None and worker not in refusals.setdefault(future.key, set()):
            refused[future] = worker
    if not refused:
        return []
    known = set().union(*refusals.values())
    for future, worker in refused.items():
        refusals[future.key].add(worker)
    others = client.run_on_scheduler(
        _dask.leave_out_workers,
        keys=[future.key for future in pending],
        workers=sorted(known | set(refused.values())),
        callback_timeout=RESULT_TIMEOUT,
    )
    if not others:
        return []
    for worker in sorted(set(refused.values()) - known):
        logger.warning(
            "Dask worker %s runs other code than the client (it joined after the "
            "checks): it is left out of this run, which goes on on %d other workers.",
            worker,
            len(others),
        )
    client.retry(list(refused))
    return list(refused)


def _stale_worker(future: Future) -> str | None:
    """The worker that refused this task because it runs other code, if it did."""
    if future.status != "error":
        return None
    with suppress(Exception):
        error = future.exception(timeout=RESULT_TIMEOUT)
        if isinstance(error, StaleWorkerError):
            return error.worker
    return None


def _completed_before_failure(future: Future) -> list[str]:
    """The nodes of a failed fused chain that completed before the one that failed."""
    if future.status != "error":
        return []
    with suppress(Exception):
        return list(
            getattr(future.exception(timeout=RESULT_TIMEOUT), COMPLETED_ATTRIBUTE, [])
        )
    return []


def _remove_partial_versions(
    client: Client, catalog: CatalogProtocol, spec: RunSpec, unfinished: list[Node]
) -> None:
    """A failed run leaves no file under its save version for nodes that did not
    finish, so a later run never loads a partial file as the latest version."""
    names = [
        name
        for node in unfinished
        for name in node.outputs
        if name in spec.persisted
        and _kedro.versioned_save_folder(catalog.get(name)) is not None
    ]
    if not names:
        return
    with suppress(Exception):  # the cluster may be what failed
        client.run(
            remove_unfinished_versions,
            spec.for_nodes(set(names)),
            names,
            on_error="ignore",
            callback_timeout=CLEANUP_TIMEOUT,
        )
    with suppress(Exception):  # and where the client sees it (object storage)
        remove_save_versions(catalog.get, names)


def _raise_failure(future: Future, client: Client) -> None:
    if future.cancelled():
        check_connected(client)
        raise RuntimeError(f"Dask cancelled task {future.key} of this run.")
    # Re-raises the node's own exception, with the traceback from the worker.
    future.result(timeout=RESULT_TIMEOUT)
