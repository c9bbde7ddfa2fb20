"""Every use of Kedro's private names in this project, in one place.

Kedro 1.7 has no public API for these. Each is pinned by a test in the starter
(tests/fast/test_kedro_internals.py in the starter), so a Kedro release that renames one fails
there, with the name, instead of somewhere in a run.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path, PurePosixPath
from typing import Any

from kedro.framework.context.context import _convert_paths_to_absolute_posix
from kedro.framework.hooks import _create_hook_manager
from kedro.framework.hooks.manager import (
    _NullPluginManager,
    _register_hooks,
    _register_hooks_entry_points,
)
from kedro.io import AbstractVersionedDataset, MemoryDataset
from kedro.io.core import TCopyMode
from kedro.pipeline.node import Node
from pluggy import PluginManager


def memory_copy_mode(dataset: MemoryDataset) -> TCopyMode | None:
    """How a MemoryDataset copies on load (None: Kedro picks by data type)."""
    return dataset._copy_mode


def memory_data(dataset: Any) -> Any:
    """What a MemoryDataset holds, without the copy that ``load`` makes."""
    return dataset._data


def memory_dataset_holding(data: Any, copy_mode: TCopyMode | None) -> MemoryDataset:
    """A MemoryDataset holding ``data`` as is: its loads copy, as in one process,
    but filling it does not (the constructor would copy once more)."""
    dataset = MemoryDataset(copy_mode=copy_mode)
    dataset._data = data
    return dataset


# What MemoryDataset imports, if it can, each time it infers a copy mode.
COPY_MODE_OPTIONAL_IMPORTS = ("ibis",)


def remember_missing_copy_mode_imports() -> None:
    """MemoryDataset infers its copy mode on every save and load, and each time
    tries ``import ibis``. Where ibis is not installed, each try searches the
    file system again: about 90% of a MemoryDataset's save and load. Mark it as
    missing once (a None entry in sys.modules fails the import at once)."""
    for name in COPY_MODE_OPTIONAL_IMPORTS:
        if name not in sys.modules and importlib.util.find_spec(name) is None:
            sys.modules[name] = None  # type: ignore[assignment]


def is_null_hook_manager(hook_manager: Any) -> bool:
    """Kedro passes a do-nothing manager when a run has no hooks."""
    return hook_manager is None or isinstance(hook_manager, _NullPluginManager)


def project_hook_manager(
    hooks: tuple[Any, ...], disabled_plugins: Any
) -> PluginManager:
    """A hook manager with the project's hooks and installed plugins, as a
    KedroSession makes it (and as ParallelRunner does in its subprocesses)."""
    manager = _create_hook_manager()
    _register_hooks(manager, hooks)
    _register_hooks_entry_points(manager, disabled_plugins)
    return manager


def empty_hook_manager() -> PluginManager:
    return _create_hook_manager()


def absolute_paths(
    project_path: Path, catalog_config: dict[str, Any]
) -> dict[str, Any]:
    """Relative local paths made absolute under the project, as KedroContext does."""
    return _convert_paths_to_absolute_posix(project_path, catalog_config)


def catalog_versions(catalog: Any) -> tuple[dict[str, str], str | None]:
    """The load versions and the save version a DataCatalog was made with."""
    return dict(getattr(catalog, "_load_versions", {}) or {}), getattr(
        catalog, "_save_version", None
    )


def versioned_save_folder(dataset: Any) -> tuple[Any, str] | None:
    """(filesystem, folder) holding this run's version of a versioned dataset;
    None when the dataset is not versioned or not on a filesystem."""
    if not isinstance(dataset, AbstractVersionedDataset) or not dataset._version:
        return None
    filesystem = getattr(dataset, "_fs", None)
    version = dataset.resolve_save_version()
    if filesystem is None or not version:
        return None
    path: PurePosixPath = dataset._get_versioned_path(version)
    return filesystem, str(path.parent)


def has_explicit_name(node: Node) -> bool:
    """Whether the node was given a name (``Node.name`` makes one up otherwise)."""
    return node._name is not None
