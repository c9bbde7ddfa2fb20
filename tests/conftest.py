"""Fixtures shared by every tier. Tiers are folders: tests/fast, tests/e2e,
tests/dask, tests/container, tests/deploy; each can run alone."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support import (
    QUIET_ENV,
    create_project_venv,
    kedro_new,
    make_starter_repo,
)

os.environ.update(QUIET_ENV)


@pytest.fixture(scope="session")
def starter_repo(tmp_path_factory) -> Path:
    """The starter as a real git repository (with a tag) for `kedro new`."""
    return make_starter_repo(tmp_path_factory.mktemp("starter-repo"))


@pytest.fixture(scope="session")
def installed_project(tmp_path_factory, starter_repo) -> tuple[Path, Path]:
    """(project folder, python of its own venv): made once per test session with
    `kedro new` from the starter's git URL and installed from its locked
    requirements, as a user would. Tests that write into it use their own copies
    or only its data/ folder."""
    root = tmp_path_factory.mktemp("installed")
    result = kedro_new(starter_repo, root, "--name", "Rocket Science")
    assert result.returncode == 0, result.stdout + result.stderr
    project = root / "rocket-science"
    python = create_project_venv(project, root / "venv")
    return project, python
