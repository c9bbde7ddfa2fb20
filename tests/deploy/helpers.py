"""Helpers of the deploy tier, on top of tests/support.py."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from tests.support import kedro


def load_plan(python: Path, project: Path, *options: str) -> dict:
    """The plan as `kedro deploy plan` writes it (to a file: Kedro logs on stdout)."""
    with tempfile.TemporaryDirectory() as folder:
        output = Path(folder) / "plan.json"
        kedro(project, python, "deploy", "plan", *options, "--output", output)
        return json.loads(output.read_text())


# Namespace "orbit" runs before and after the un-namespaced plan_burn (grouped by
# namespace, two tasks would wait on each other), and its last node has no name.
CYCLE_PIPELINE = """
from kedro.pipeline import Node, Pipeline


def copy(value):
    return value


def create_pipeline(**kwargs):
    return Pipeline([
        Node(copy, "best_model", "orbit.trajectory", name="climb", namespace="orbit"),
        Node(copy, "orbit.trajectory", "burn_plan", name="plan_burn"),
        Node(copy, "burn_plan", "orbit.final", name="circularise", namespace="orbit"),
        Node(copy, "orbit.final", "telemetry"),
    ])
"""


def add_pipeline(project: Path, name: str, source: str) -> None:
    package = next((project / "src").glob("*/pipelines"))
    (package / name).mkdir()
    (package / name / "__init__.py").write_text(source)


def package_name(project: Path) -> str:
    return next((project / "src").glob("*/pipeline_registry.py")).parent.name
