"""Test-only hooks: each call leaves a marker file named after the process that ran it."""

import os
from pathlib import Path

from kedro.framework.hooks import hook_impl

MARKERS = Path(__file__).resolve().parents[2] / "data" / "hook_markers"


def _mark(kind: str, name: str) -> None:
    MARKERS.mkdir(parents=True, exist_ok=True)
    (MARKERS / f"{kind}@{name}@{os.getpid()}").touch()


class LabHooks:
    @hook_impl
    def before_pipeline_run(self) -> None:
        _mark("pipeline", "before")

    @hook_impl
    def before_node_run(self, node) -> None:
        _mark("before_node", node.name)

    @hook_impl
    def after_node_run(self, node) -> None:
        _mark("after_node", node.name)

    @hook_impl
    def after_dataset_loaded(self, dataset_name) -> None:
        _mark("loaded", dataset_name)

    @hook_impl
    def after_dataset_saved(self, dataset_name) -> None:
        _mark("saved", dataset_name)

    @hook_impl
    def on_node_error(self, node) -> None:
        _mark("node_error", node.name)
