"""``DaskRunner``: run every node of a Kedro pipeline as a task on a Dask cluster."""

from __future__ import annotations

import copy
import os
import queue
import uuid
from typing import Any

from distributed import Client, Future
from kedro.framework import project
from kedro.framework.hooks.manager import _NullPluginManager
from kedro.io import CatalogProtocol, MemoryDataset
from kedro.pipeline import Pipeline
from kedro.pipeline.node import Node
from kedro.runner import AbstractRunner
from pluggy import PluginManager

from .cluster import LOCAL_CLUSTER, ClusterSettings, connect
from .graph import SubmittedPipeline, check_tag_options, submit_pipeline
from .logs import receive_task_logs
from .progress import NodeProgress
from .worker import RunSpec, spec_on_workers

# How often the wait for nodes checks that the scheduler is still there.
POLL_SECONDS = 2
# Bounds for the short client-side steps after the nodes have finished.
RESULT_TIMEOUT = 300


class DaskRunner(AbstractRunner):
    """Runs nodes on Dask workers; takes the keys of ``dask_client`` (conf/dask).

    Persisted datasets are loaded and saved on the workers, in-memory ones go
    worker to worker. Node and dataset hooks run on the workers, pipeline hooks
    once here. A run either connects to ``address`` (or $DASK_SCHEDULER_ADDRESS)
    or starts ``cluster_class`` and shuts it down at the end.
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
        is_async: bool = False,
    ):
        super().__init__(is_async=is_async)
        self._cluster = ClusterSettings(
            address=address,
            cluster_class=cluster_class,
            cluster_kwargs=cluster_kwargs or {},
            adapt=adapt,
            timeout=timeout,
            security=security,
        )
        self._tag_options = check_tag_options(tag_options)

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
        memory = _nodes_memory_datasets(pipeline, catalog)
        spec = RunSpec(
            catalog=_without(catalog, memory),
            memory=memory,
            package_name=project.PACKAGE_NAME,
            run_id=run_id,
            is_async=self._is_async,
            hooks=not isinstance(hook_manager, _NullPluginManager | None),
            token=uuid.uuid4().hex[:12],  # keeps concurrent runs' task keys apart
            client_pid=os.getpid(),
        )
        self._logger.info(
            "Running %d nodes on Dask (%s)",
            len(pipeline.nodes),
            self._cluster.describe(),
        )
        with (
            connect(self._cluster) as client,
            receive_task_logs(client, spec.token),
            spec_on_workers(client, spec),
        ):
            submitted = submit_pipeline(
                client,
                pipeline,
                memory=memory,
                token=spec.token,
                tag_options=self._tag_options,
            )
            self._wait_for_nodes(client, pipeline, catalog, submitted)
            for name, future in submitted.free_outputs.items():
                catalog.save(name, future.result(timeout=RESULT_TIMEOUT)[name])

    def _wait_for_nodes(
        self,
        client: Client,
        pipeline: Pipeline,
        catalog: CatalogProtocol,
        submitted: SubmittedPipeline,
    ) -> None:
        # Futures report here as they finish: one callback each, not a wait over
        # everything still pending after every node (quadratic in the node count).
        finished: queue.SimpleQueue[Future] = queue.SimpleQueue()
        pending = set(submitted.nodes) | set(submitted.free_outputs.values())
        for future in pending:
            future.add_done_callback(finished.put)
        done_nodes: list[Node] = []
        with NodeProgress(len(submitted.nodes), self._logger) as progress:
            while pending:
                try:
                    future = finished.get(timeout=POLL_SECONDS)
                except queue.Empty:
                    _check_connected(client)
                    continue
                pending.discard(future)
                if future.status != "finished":
                    client.cancel(list(pending))  # stop what has not started
                    self._suggest_resume_scenario(pipeline, done_nodes, catalog)
                    _raise_failure(future, client)
                # Dropping the node's future lets Dask free its in-memory outputs
                # once their consumers are done.
                node = submitted.nodes.pop(future, None)
                if node is not None:
                    done_nodes.append(node)
                    progress.node_completed(node.name)


def _nodes_memory_datasets(
    pipeline: Pipeline, catalog: CatalogProtocol
) -> dict[str, str | None]:
    """MemoryDatasets the nodes fill, or empty ones: name -> copy_mode.

    These never go to the workers inside the catalog: an empty MemoryDataset that
    was pickled loads as a bare ``object()`` instead of raising.
    """
    produced = {name for node in pipeline.nodes for name in node.outputs}
    return {
        name: dataset._copy_mode
        for name, dataset in catalog._datasets.items()
        if isinstance(dataset, MemoryDataset)
        and (name in produced or not dataset.exists())
    }


def _without(catalog: CatalogProtocol, names: dict[str, Any]) -> CatalogProtocol:
    shipped = copy.copy(catalog)
    shipped._datasets = {
        name: dataset
        for name, dataset in catalog._datasets.items()
        if name not in names
    }
    return shipped


def _check_connected(client: Client) -> None:
    if client.status not in {"running", "connecting"}:
        raise ConnectionError(
            f"Lost the Dask scheduler at {client.scheduler.address} during the run "
            f"(client status: {client.status})."
        )


def _raise_failure(future: Future, client: Client) -> None:
    if future.cancelled():
        _check_connected(client)
        raise RuntimeError(f"Dask cancelled task {future.key} of this run.")
    # Re-raises the node's own exception, with the traceback from the worker.
    future.result(timeout=RESULT_TIMEOUT)
