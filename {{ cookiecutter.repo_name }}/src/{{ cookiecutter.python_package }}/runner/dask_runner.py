"""``DaskRunner``: run every node of a Kedro pipeline as a task on a Dask cluster."""

from __future__ import annotations

import logging
import os
import uuid
from contextlib import suppress
from pathlib import Path
from typing import Any

import cloudpickle
from distributed import Client, Future
from kedro.framework import project
from kedro.io import CatalogProtocol
from kedro.pipeline import Pipeline
from kedro.pipeline.node import Node
from kedro.runner import AbstractRunner
from pluggy import PluginManager

from .. import _kedro
from . import scheduler_side
from .cluster import check_connected, connect
from .fingerprint import fingerprint, locked_packages
from .graph import SubmittedPipeline, build_graph
from .logs import receive_task_logs
from .preflight import preflight
from .progress import CompletionReports, NodeProgress, PhaseTimer
from .settings import LOCAL_CLUSTER, check_settings, scheduler_address
from .spec import (
    ProjectSource,
    RunSpec,
    catalog_config,
    classify_datasets,
)
from .worker import (
    COMPLETED_ATTRIBUTE,
    remove_save_versions,
    remove_unfinished_versions,
)

# Sent by value: the scheduler needs no project code to run them.
cloudpickle.register_pickle_by_value(scheduler_side)

# How often the wait for nodes checks that the scheduler is still there.
POLL_SECONDS = 1
# Bounds for the short client-side steps around the nodes.
RESULT_TIMEOUT = 300
CLEANUP_TIMEOUT = 10

logger = logging.getLogger(__name__)


class DaskRunner(AbstractRunner):
    """Runs nodes on Dask workers; takes the keys of ``dask_client`` (conf/dask).

    Persisted datasets are loaded and saved on the workers, which build the run's
    catalog from its configuration and their own credentials; in-memory data goes
    worker to worker. Node and dataset hooks run on the workers, pipeline hooks
    once here. No credential and no per-run state is left on the cluster.
    """

    def __init__(  # noqa: PLR0913
        self,
        address: str | None = None,
        *,
        cluster_class: str = LOCAL_CLUSTER,
        cluster_kwargs: dict[str, Any] | None = None,
        adapt: dict[str, int] | None = None,
        timeout: float = 10,
        security: dict[str, Any] | None = None,
        tag_options: dict[str, dict[str, Any]] | None = None,
        node_timeout: float | None = None,
        worker_wait: float = 60,
        version_check: str = "error",
        fuse: bool = True,
        project_source: dict[str, Any] | None = None,
        is_async: bool = False,
    ):
        """
        Args:
            address: An existing scheduler (``tcp://host:8786``); None starts
                ``cluster_class`` for this run. $DASK_SCHEDULER_ADDRESS is used
                when neither this nor ``--params`` sets one.
            cluster_class: Dotted path of the cluster to start without an address.
            cluster_kwargs: Keywords for ``cluster_class``.
            adapt: ``minimum`` and ``maximum`` workers for an adaptive cluster.
            timeout: Seconds to wait for the scheduler to answer.
            security: ``distributed.security.Security`` keywords (TLS files).
            tag_options: Per node tag: ``resources``, ``retries``, ``priority``,
                ``workers``, ``allow_other_workers``, ``timeout`` (seconds) and ``fuse``.
            node_timeout: Seconds any node may run; None for no limit.
            worker_wait: Seconds to wait for a first worker before failing.
            version_check: ``error`` stops a run whose workers run other code or
                package versions than this client; ``warn`` only logs it.
            fuse: Run each linear chain of nodes (each the only consumer of the
                one before) as one Dask task; a tag's ``fuse: false`` opts out.
            project_source: ``env``, ``conf_source`` and ``runtime_params`` of the
                run, which workers use to rebuild its catalog (set by cli.py).
            is_async: Load and save each node's datasets asynchronously.
        """
        super().__init__(is_async=is_async)
        self._settings = check_settings(
            {
                "address": scheduler_address(address, address is not None),
                "cluster_class": cluster_class,
                "cluster_kwargs": cluster_kwargs,
                "adapt": adapt,
                "timeout": timeout,
                "security": security,
                "tag_options": tag_options,
                "node_timeout": node_timeout,
                "worker_wait": worker_wait,
                "version_check": version_check,
                "fuse": fuse,
            }
        )
        self._project_source = dict(project_source or {})

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
        _kedro.remember_missing_copy_mode_imports()  # for the outputs saved here
        data = classify_datasets(pipeline, catalog)
        source = ProjectSource.current(
            env=self._project_source.get("env") or os.getenv("KEDRO_ENV"),
            conf_source=self._project_source.get("conf_source"),
            runtime_params=self._project_source.get("runtime_params") or {},
        )
        load_versions, save_version = _kedro.catalog_versions(catalog)
        here = fingerprint(
            project.PACKAGE_NAME, locked_packages(Path(source.project_path))
        )
        spec = RunSpec(
            token=uuid.uuid4().hex[:12],
            run_id=run_id,
            package_name=project.PACKAGE_NAME,
            hooks=not _kedro.is_null_hook_manager(hook_manager),
            is_async=self._is_async,
            client_pid=os.getpid(),
            source=source,
            catalog_config=catalog_config(source, pipeline.datasets()),
            load_versions=load_versions,
            save_version=save_version,
            persisted=data.persisted,
            memory=data.memory,
            fingerprint=here,
            fingerprint_digest=here.digest,
            version_check=self._settings.version_check,
        )
        self._logger.info(
            "Running %d nodes on Dask (%s)",
            len(pipeline.nodes),
            self._settings.describe(),
        )
        timer.lap("prepare")
        with connect(self._settings) as client:
            timer.lap("connect")
            reports = CompletionReports(client)
            try:
                preflight(client, spec, pipeline, catalog)
                timer.lap("preflight")
                with receive_task_logs(client, spec.token, reports.nodes_completed):
                    graph = build_graph(
                        pipeline,
                        spec=spec,
                        memory=data.memory,
                        feed=data.feed,
                        tag_options=self._settings.tag_options,
                        node_timeout=self._settings.node_timeout,
                        fuse=self._settings.fuse,
                    )
                    timer.lap("prepare")
                    submitted = graph.submit(client)
                    timer.lap("submit")
                    self._wait_for_nodes(
                        client, pipeline, catalog, submitted, spec=spec, reports=reports
                    )
                    timer.lap("execute")
                    # One request for all of them (they have finished): fetching one
                    # by one was most of a wide run's teardown.
                    names = list(submitted.free_outputs)
                    values = client.gather(
                        [submitted.free_outputs[name] for name in names]
                    )
                    for name, value in zip(names, values, strict=True):
                        catalog.save(name, value[name])
            finally:
                with suppress(Exception):
                    client.run_on_scheduler(
                        scheduler_side.forget_client_events,
                        client_id=client.id,
                        callback_timeout=CLEANUP_TIMEOUT,
                    )
        timer.lap("teardown")
        self._logger.debug("Dask run phases (seconds): %s", timer.phases)

    def _wait_for_nodes(  # noqa: PLR0913
        self,
        client: Client,
        pipeline: Pipeline,
        catalog: CatalogProtocol,
        submitted: SubmittedPipeline,
        *,
        spec: RunSpec,
        reports: CompletionReports,
    ) -> None:
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

            while pending:
                finished, names = reports.wait(POLL_SECONDS)
                completed(names)
                if not finished and not names:
                    check_connected(client)
                for future in finished:
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
            spec,
            names,
            on_error="ignore",
            callback_timeout=CLEANUP_TIMEOUT,
        )
    with suppress(Exception):  # and where the client sees it (object storage)
        remove_save_versions(catalog, names)


def _raise_failure(future: Future, client: Client) -> None:
    if future.cancelled():
        check_connected(client)
        raise RuntimeError(f"Dask cancelled task {future.key} of this run.")
    # Re-raises the node's own exception, with the traceback from the worker.
    future.result(timeout=RESULT_TIMEOUT)
