"""The generated project's one seam to Kedro's private names (src/<package>/_kedro.py):
each function is pinned here against the Kedro the project locks, so a Kedro release
that renames one fails this test, with the name, instead of a run on a cluster."""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path, PurePosixPath

import fsspec
import pytest
from kedro.io import AbstractVersionedDataset, DataCatalog, MemoryDataset, Version
from kedro.pipeline import Node

from tests.support import bake

PACKAGE = "rocket_science"


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    return bake(tmp_path_factory.mktemp("internals"))


@pytest.fixture(scope="module")
def seam(project):
    path = project / "src" / PACKAGE / "_kedro.py"
    spec = importlib.util.spec_from_file_location("project_kedro_seam", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_memory_dataset_internals(seam):
    dataset = MemoryDataset(data=[1, 2], copy_mode="deepcopy")
    assert seam.memory_copy_mode(dataset) == "deepcopy"
    assert seam.memory_data(dataset) == [1, 2]
    held = seam.memory_dataset_holding(data := [3], "copy")
    assert seam.memory_data(held) is data  # not copied when filled
    assert held.load() == [3] and held.load() is not data  # copied on load


def test_copy_mode_imports_the_seam_marks_missing(seam):
    """MemoryDataset still tries these imports on every copy-mode inference (else the
    shortcut is dead weight), and with one marked missing it still infers right."""
    import inspect
    import sys

    import pandas as pd
    from kedro.io import memory_dataset

    source = inspect.getsource(memory_dataset._infer_copy_mode)
    for name in seam.COPY_MODE_OPTIONAL_IMPORTS:
        assert f"import {name}" in source, name
    missing = [n for n in seam.COPY_MODE_OPTIONAL_IMPORTS if n not in sys.modules]
    try:
        seam.remember_missing_copy_mode_imports()
        assert all(sys.modules[n] is None for n in missing)
        frame, items = pd.DataFrame({"a": [1]}), [[1]]
        assert memory_dataset._infer_copy_mode(frame) == "copy"
        assert memory_dataset._infer_copy_mode(items) == "deepcopy"
        assert MemoryDataset(data=items).load() == items
    finally:
        for name in missing:
            sys.modules.pop(name, None)


def test_hook_managers(seam):
    from kedro.framework.hooks import hook_impl
    from kedro.framework.hooks.manager import _NullPluginManager

    class Hooks:
        @hook_impl
        def before_node_run(self, node):
            return None

    manager = seam.project_hook_manager((Hooks(),), ())
    assert any(isinstance(p, Hooks) for p in manager.get_plugins())
    assert seam.empty_hook_manager().get_plugins() == set()
    assert seam.is_null_hook_manager(_NullPluginManager())
    assert seam.is_null_hook_manager(None) and not seam.is_null_hook_manager(manager)


def test_absolute_paths(seam, tmp_path):
    config = {"a": {"type": "pandas.CSVDataset", "filepath": "data/a.csv"}}
    assert seam.absolute_paths(tmp_path, config)["a"]["filepath"] == (
        (tmp_path / "data/a.csv").as_posix()
    )


def test_catalog_versions(seam):
    catalog = DataCatalog(
        datasets={"a": MemoryDataset()}, load_versions={"a": "v1"}, save_version="v2"
    )
    assert seam.catalog_versions(catalog) == ({"a": "v1"}, "v2")


class _Versioned(AbstractVersionedDataset):
    def __init__(self, filepath: str, version: Version | None):
        protocol, path = fsspec.core.split_protocol(filepath)
        self._fs = fsspec.filesystem(protocol or "file")
        super().__init__(PurePosixPath(path), version, exists_function=self._fs.exists)

    def load(self):
        return None

    def save(self, data) -> None:
        return None

    def _describe(self) -> dict:
        return {}


def test_versioned_save_folder(seam, tmp_path):
    dataset = _Versioned(str(tmp_path / "out.csv"), Version(None, "2026-01-01T00.00.00.000Z"))
    filesystem, folder = seam.versioned_save_folder(dataset)
    assert folder == str(tmp_path / "out.csv" / "2026-01-01T00.00.00.000Z")
    assert filesystem is dataset._fs
    assert seam.versioned_save_folder(_Versioned(str(tmp_path / "x"), None)) is None
    assert seam.versioned_save_folder(MemoryDataset()) is None


def test_node_name(seam):
    assert seam.has_explicit_name(Node(len, "a", "b", name="count"))
    assert not seam.has_explicit_name(Node(len, "a", "b"))


def test_private_names_are_used_only_in_the_seam(project):
    """Every `from kedro... import _name` and every `._attribute` on a Kedro object
    lives in _kedro.py; elsewhere the project uses Kedro's public API. (The one
    private name of distributed, on the scheduler, is in runner/scheduler_side.py.)"""
    offenders = []
    for path in (project / "src" / PACKAGE).rglob("*.py"):
        if path.name == "_kedro.py":
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("kedro"):
                offenders += [
                    f"{path.name}: {alias.name}"
                    for alias in node.names
                    if alias.name.startswith("_")
                ]
            if (
                isinstance(node, ast.Attribute)
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
                and not (
                    isinstance(node.value, ast.Name)
                    and node.value.id in {"self", "os", "cls", "dask_scheduler"}
                )
            ):
                offenders.append(f"{path.name}:{node.lineno}: .{node.attr}")
    assert not offenders, offenders
