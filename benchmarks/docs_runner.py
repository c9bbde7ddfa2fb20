"""The DaskRunner design from Kedro's Dask deployment page, ported minimally to Kedro 1.7.

https://docs.kedro.org/en/stable/deploy/distributed/dask/ : one ``client.submit`` per
node carrying the node and the whole catalog, the parents' futures as extra arguments
to order the tasks, and every in-memory dataset published to the scheduler under its
name (``publish_dataset``) and fetched from there (``get_dataset``). The page's code no
longer runs on Kedro 1.x (no ``run_node``, no ``create_default_dataset``), so this is
the smallest change that keeps the design: ``Task`` runs the node and ``_run`` swaps
the in-memory datasets for ``DaskDataset`` instead of ``create_default_dataset``.
This module is imported by the workers too.
"""

from __future__ import annotations

from collections import Counter
from itertools import chain
from typing import Any

from distributed import Client, as_completed, get_client
from kedro.framework.hooks.manager import (
    _create_hook_manager,
    _register_hooks,
    _register_hooks_entry_points,
)
from kedro.framework.project import settings
from kedro.io import AbstractDataset, MemoryDataset
from kedro.runner import AbstractRunner
from kedro.runner.task import Task


class DaskDataset(AbstractDataset):
    """Publishes data to the Dask scheduler and gets it from there (the page's _DaskDataset)."""

    def __init__(self, name: str):
        self._name = name

    def load(self) -> Any:
        return get_client().get_dataset(self._name)

    def save(self, data: Any) -> None:
        get_client().publish_dataset(data, name=self._name, override=True)

    def _exists(self) -> bool:
        return self._name in get_client().list_datasets()

    def _release(self) -> None:
        get_client().unpublish_dataset(self._name)

    def _describe(self) -> dict[str, Any]:
        return {"name": self._name}


class DocsDaskRunner(AbstractRunner):
    def __init__(self, client_args: dict[str, Any] | None = None, is_async: bool = False):
        super().__init__(is_async=is_async)
        self._client = Client(**(client_args or {}))

    def close(self) -> None:  # the page closes the client in __del__
        self._client.close()

    def _get_executor(self, max_workers: int) -> None:
        return None

    @staticmethod
    def _run_node(node, catalog, is_async=False, run_id=None, *dependencies):
        # A new hook manager for each node, as on the page.
        hook_manager = _create_hook_manager()
        _register_hooks(hook_manager, settings.HOOKS)
        _register_hooks_entry_points(hook_manager, settings.DISABLE_HOOKS_FOR_PLUGINS)
        return Task(node, catalog, is_async, hook_manager, run_id).execute()

    def _run(self, pipeline, catalog, hook_manager=None, run_id=None) -> None:
        for name in pipeline.datasets() - pipeline.inputs():
            if isinstance(catalog.get(name), MemoryDataset):
                catalog[name] = DaskDataset(name)  # was create_default_dataset
        nodes = pipeline.nodes
        load_counts = Counter(chain.from_iterable(n.inputs for n in nodes))
        node_dependencies = pipeline.node_dependencies
        node_futures = {}
        for node in nodes:
            dependencies = (node_futures[dependency] for dependency in node_dependencies[node])
            node_futures[node] = self._client.submit(
                DocsDaskRunner._run_node, node, catalog, self._is_async, run_id, *dependencies
            )
        for i, (_, node) in enumerate(as_completed(node_futures.values(), with_results=True)):
            self._logger.info("Completed node: %s", node.name)
            self._logger.info("Completed %d out of %d tasks", i + 1, len(nodes))
            for dataset in node.inputs:
                load_counts[dataset] -= 1
                if load_counts[dataset] < 1 and dataset not in pipeline.inputs():
                    catalog.release(dataset)
            for dataset in node.outputs:
                if load_counts[dataset] < 1 and dataset not in pipeline.outputs():
                    catalog.release(dataset)
