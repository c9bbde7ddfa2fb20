"""Where a dataset lives: shared by the runner's check that workers see the files
of a run, and by `kedro deploy check`."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kedro.io import CatalogProtocol
from kedro.io.core import get_protocol_and_path


def config_path(config: Mapping[str, Any]) -> Path | None:
    """The local file or folder a dataset's configuration names, else None (object
    storage, a database table, an API...)."""
    location = config.get("filepath") or config.get("path")
    if not location:
        return None
    protocol, path = get_protocol_and_path(str(location))
    return Path(path).resolve() if protocol == "file" else None


def local_path(catalog: CatalogProtocol, dataset: str) -> Path | None:
    """The dataset's path when the catalog's configuration puts it on local disk
    (None also for a catalog class that does not resolve configurations as
    Kedro's DataCatalog does)."""
    resolver = getattr(catalog, "config_resolver", None)
    return config_path(resolver.resolve_pattern(dataset)) if resolver else None
