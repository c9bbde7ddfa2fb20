from pathlib import Path

import pytest
from kedro.framework.startup import bootstrap_project

PROJECT_PATH = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def project_path() -> Path:
    bootstrap_project(PROJECT_PATH)
    return PROJECT_PATH
