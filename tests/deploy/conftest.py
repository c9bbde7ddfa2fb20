"""Fixtures of the deploy tier: fresh copies of the installed project, a Prefect
environment (requirements-prefect.txt + the project) and a real Prefect server."""

from __future__ import annotations

import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from tests.support import (
    command_env,
    copy_project,
    create_project_venv,
    free_port,
    stop_group,
)

SERVER_START_TIMEOUT = 180


@pytest.fixture
def fresh_project(installed_project, tmp_path) -> tuple[Path, Path]:
    """(a fresh copy of the installed project, its venv's python)."""
    project, python = installed_project
    return copy_project(project, tmp_path / project.name), python


@pytest.fixture(scope="session")
def prefect_python(installed_project, tmp_path_factory) -> Path:
    """A venv with requirements-prefect.txt (the project's optional Prefect lock)
    and the project itself, as its README says to install it."""
    project, _ = installed_project
    venv_dir = tmp_path_factory.mktemp("prefect") / "venv"
    return create_project_venv(project, venv_dir, locks=("requirements-prefect.txt",))


def _healthy(api_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{api_url}/health", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.fixture(scope="session")
def prefect_env(prefect_python, tmp_path_factory) -> dict[str, str]:
    """A real `prefect server start` on 127.0.0.1; the environment that points
    flows and clients at it."""
    home = tmp_path_factory.mktemp("prefect-home")
    api_url = f"http://127.0.0.1:{free_port()}/api"
    env = {
        "PREFECT_HOME": str(home),
        "PREFECT_API_URL": api_url,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_UI_ENABLED": "false",
    }
    port = api_url.rsplit(":", 1)[1].split("/")[0]
    log = (home / "server.log").open("w")
    server = subprocess.Popen(
        [prefect_python.with_name("prefect"), "server", "start"]
        + ["--host", "127.0.0.1", "--port", port],
        env=command_env(**{k: v for k, v in env.items() if k != "PREFECT_API_URL"}),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while not _healthy(api_url):
            if server.poll() is not None or time.monotonic() > deadline:
                log.flush()
                pytest.fail(
                    "prefect server did not start:\n" + (home / "server.log").read_text()[-4000:]
                )
            time.sleep(1)
        yield env
    finally:
        stop_group(server)
        log.close()
