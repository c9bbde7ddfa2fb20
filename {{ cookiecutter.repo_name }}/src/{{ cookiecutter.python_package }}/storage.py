"""Where a dataset lives: shared by `kedro deploy check` and the Dask runner's
check that workers can reach the datasets nodes exchange."""

from __future__ import annotations

from pathlib import Path

from kedro.io import CatalogProtocol
from kedro.io.core import get_protocol_and_path
from kedro.pipeline import Pipeline


def local_path(catalog: CatalogProtocol, dataset: str) -> Path | None:
    """The dataset's path when it is on local disk, else None (also for a catalog
    class that does not resolve configurations as Kedro's DataCatalog does)."""
    resolver = getattr(catalog, "config_resolver", None)
    if resolver is None:
        return None
    config = resolver.resolve_pattern(dataset)
    location = config.get("filepath") or config.get("path")
    if not location:
        return None  # a database table, an API...: not a file
    protocol, path = get_protocol_and_path(str(location))
    return Path(path).resolve() if protocol == "file" else None


def exchanged_on_local_disk(
    pipeline: Pipeline, catalog: CatalogProtocol, persisted: set[str]
) -> dict[str, tuple[Path, str, list[str]]]:
    """Persisted datasets on local disk that one node writes and others read:
    name -> (path, the writing node, the reading nodes)."""
    readers_of: dict[str, list[str]] = {}
    for node in pipeline.nodes:
        for name in node.inputs:
            readers_of.setdefault(name, []).append(node.name)
    found = {}
    for node in pipeline.nodes:
        for name in node.outputs:
            readers = readers_of.get(name, [])
            path = local_path(catalog, name) if name in persisted and readers else None
            if path is not None:
                found[name] = (path, node.name, readers)
    return found
