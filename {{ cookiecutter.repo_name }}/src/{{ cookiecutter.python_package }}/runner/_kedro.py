"""Every use of Kedro's private names in this project, in one place.

Kedro 1.7 has no public API for these. Each is pinned by tests/runner/test_seams.py,
so a Kedro release that renames one fails there, naming it, instead of in a run.
"""

from __future__ import annotations

import importlib.util
import sys
from typing import Any

from kedro.framework.hooks import _create_hook_manager
from kedro.framework.hooks.manager import _NullPluginManager, _register_hooks
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
    tries ``import ibis``; where ibis is missing, each try searches the file system
    again (about 90% of a save and load). Mark it missing once."""
    for name in COPY_MODE_OPTIONAL_IMPORTS:
        if name not in sys.modules and importlib.util.find_spec(name) is None:
            sys.modules[name] = None  # type: ignore[assignment]


def is_null_hook_manager(hook_manager: Any) -> bool:
    """Kedro passes a do-nothing manager when a run has no hooks."""
    return hook_manager is None or isinstance(hook_manager, _NullPluginManager)


def project_hook_manager(hooks: tuple[Any, ...]) -> PluginManager:
    """A hook manager with the project's own hooks (settings.HOOKS)."""
    manager = _create_hook_manager()
    _register_hooks(manager, hooks)
    return manager


def empty_hook_manager() -> PluginManager:
    return _create_hook_manager()


def dataset_versions(dataset: Any) -> tuple[str | None, str | None]:
    """The (load, save) versions a versioned dataset was made with; None for
    "latest" and "new", and for a dataset that is not versioned."""
    version = getattr(dataset, "_version", None)
    if not isinstance(dataset, AbstractVersionedDataset) or version is None:
        return None, None
    return version.load, version.save


def versioned_save_folder(dataset: Any) -> tuple[Any, str] | None:
    """(filesystem, folder) holding this run's version of a versioned dataset;
    None when the dataset is not versioned or not on a filesystem."""
    if not isinstance(dataset, AbstractVersionedDataset) or not dataset._version:
        return None
    filesystem = getattr(dataset, "_fs", None)
    version = dataset.resolve_save_version()
    if filesystem is None or not version:
        return None
    return filesystem, str(dataset._get_versioned_path(version).parent)


def has_explicit_name(node: Node) -> bool:
    """Whether the node was given a name (``Node.name`` makes one up otherwise)."""
    return node._name is not None
