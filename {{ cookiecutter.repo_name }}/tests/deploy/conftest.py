from pathlib import Path

import pytest
from kedro.io import DataCatalog
from kedro.pipeline import Pipeline, node

from {{ cookiecutter.python_package }}.deploy.project import (
    Project,
)


def copy(value):
    return value


# Namespace "orbit" runs before and after the un-namespaced plan_burn, and its last
# node has no name.
ORBIT = Pipeline(
    [
        node(copy, "start", "orbit.trajectory", name="climb", namespace="orbit"),
        node(copy, "orbit.trajectory", "burn_plan", name="plan_burn"),
        node(copy, "burn_plan", "orbit.final", name="circularise", namespace="orbit"),
        node(copy, "orbit.final", "telemetry"),
    ]
)


@pytest.fixture
def orbit(tmp_path) -> Project:
    """The orbit pipeline with nothing in its catalog: all data in memory."""
    return Project(
        tmp_path, "__default__", ORBIT, DataCatalog(), "deploy", "deploy", {}
    )


def project_with(catalog: DataCatalog, settings: dict, path: Path) -> Project:
    return Project(path, "__default__", ORBIT, catalog, None, "local", settings)
