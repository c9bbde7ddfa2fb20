"""Helpers of the container tier: Docker and make with bounded waits, the local
base image and registry, and the names the tier's project is made with."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

from tests.support import command_env, kedro, kedro_in, run

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
# The image's project folder (WORKDIR), where kedro-docker mounts the project's folders.
PROJECT_ROOT = "/home/kedro_docker"
# Stands for a developer's own account: this machine runs the tests as root.
HOST_UID = 4321
# What `kedro` on the host must not leave behind as root in a project that HOST_UID owns.
KEDRO_DOCKER_ENV = {"PYTHONDONTWRITEBYTECODE": "1", "DOCKER_CLI_HINTS": "false"}


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


def docker_answers() -> bool:
    if not shutil.which("docker"):
        return False
    try:
        return docker("info", timeout=20, check=False).returncode == 0
    except subprocess.TimeoutExpired:
        return False


def registry_answers() -> bool:
    try:
        with urllib.request.urlopen(f"http://{REGISTRY}/v2/", timeout=5):
            return True
    except OSError:
        return False


def base_image_present() -> bool:
    return docker("image", "inspect", BASE_IMAGE, timeout=30, check=False).returncode == 0


def hadolint_path() -> str | None:
    beside_python = Path(sys.executable).with_name("hadolint")
    return str(beside_python) if beside_python.exists() else shutil.which("hadolint")


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


def kedro_docker_build_args(image: str, *build_args: str, uid: int | None = None) -> list[str]:
    """`kedro docker build` with the local base image and the proxy's CA (a path in it)."""
    extra = " ".join(f"--build-arg {arg}" for arg in (f"PIP_CERT={PIP_CERT}", *build_args))
    ids = ["--uid", str(uid), "--gid", str(uid)] if uid is not None else []
    return ["build", "--image", image, "--base-image", BASE_IMAGE, "--docker-args", extra, *ids]


def kedro_docker(  # noqa: PLR0913
    project: Path,
    python: Path,
    *args: str,
    terminal: bool = False,
    timeout: float = 300,
    check: bool = True,
    **env: str,
) -> subprocess.CompletedProcess[str]:
    """`kedro docker ...` with kedro-docker from the development lock in ``python``'s venv.
    ``terminal``: under script(1), for the commands that run `docker run -it`."""
    if not terminal:
        return kedro(project, python, "docker", *args, timeout=timeout, check=check,
                     **{**KEDRO_DOCKER_ENV, **env})  # fmt: skip
    command = shlex.join([str(kedro_in(python)), "docker", *args])
    return run(["script", "-qfec", command, "/dev/null"], cwd=project, timeout=timeout,
               env=command_env(COLUMNS="200", **KEDRO_DOCKER_ENV))  # fmt: skip
