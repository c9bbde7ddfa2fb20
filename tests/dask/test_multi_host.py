"""Workers on other machines, made on this one: workers in mount namespaces of their
own (the same code and conf/, an empty data/ the client cannot see), a scheduler from
an environment with neither the project nor Kedro, a real S3 store (SeaweedFS), and a
worker that runs an older copy of the project."""

from __future__ import annotations

import re
import shutil
import uuid
import venv
from pathlib import Path

import pytest

from tests.object_store import ObjectStore, weed_binary
from tests.support import IN_CI, copy_project, kedro, require, run

BUCKET = "kedro-tests"
OUTPUTS = ("08_reporting/model_comparison.csv", "08_reporting/best_model.json")


@pytest.fixture(scope="module")
def object_store(installed_project, tmp_path_factory):
    _, python = installed_project
    store = ObjectStore(tmp_path_factory.mktemp("seaweedfs"), weed_binary()).start()
    try:
        s3(python, store, f"import s3fs; s3fs.S3FileSystem().mkdir('{BUCKET}')")
        yield store
    finally:
        store.stop()


def s3(python: Path, store: ObjectStore, code: str) -> str:
    """Run ``code`` with the project's python (it has s3fs) against the store."""
    return run([python, "-c", code], extra_env=store.env(), timeout=60).stdout


@pytest.fixture(scope="module")
def scheduler_without_project(installed_project, tmp_path_factory) -> Path:
    """A venv with only dask and distributed, at the versions of the project's lock:
    what `docker pull ghcr.io/dask/dask` gives a user."""
    project, _ = installed_project
    lock = (project / "requirements.txt").read_text()
    # A lock line is "name==version" or, with extras, "name[extra,...]==version".
    versions = {
        name: re.search(rf"^{name}(?:\[[^\]]*\])?==(\S+)", lock, re.MULTILINE).group(1)
        for name in ("dask", "distributed")
    }
    pins = [f"{name}=={version}" for name, version in versions.items()]
    root = tmp_path_factory.mktemp("scheduler-venv")
    venv.EnvBuilder(with_pip=True).create(root)
    python = root / "bin" / "python"
    run([python, "-m", "pip", "install", "--quiet", *pins], timeout=600)
    assert run([python, "-c", "import kedro"], check=False).returncode != 0
    assert run([python, "-c", "import rocket_science"], check=False).returncode != 0
    return python


@pytest.fixture(scope="module")
def far_cluster(installed_project, scheduler_without_project, object_store, cluster_factory):
    """A project-free scheduler and two workers that share no disk with the client."""
    require(shutil.which("unshare") is not None, "unshare (util-linux) is missing")
    require(not IN_CI or Path("/proc/self/ns/mnt").exists(), "no mount namespaces")
    project, python = installed_project
    cluster = cluster_factory(
        python, project, workers=[], scheduler_python=scheduler_without_project
    )
    for _ in range(2):
        cluster.start_worker(env=object_store.env(), own_data=True)
    return cluster


@pytest.fixture(scope="module")
def plain_outputs(plain_run) -> dict[str, str]:
    return {name: (plain_run / "data" / name).read_text() for name in OUTPUTS}


def test_local_disk_catalog_is_refused_when_workers_share_no_disk(installed_project, far_cluster):
    project, python = installed_project
    report = project / "data" / "08_reporting" / "best_model.json"
    report.unlink(missing_ok=True)  # an earlier tier may have run the project here
    result = kedro(
        project, python, "run", "--env", "dask", check=False,
        DASK_SCHEDULER_ADDRESS=far_cluster.address,
    )  # fmt: skip
    log = result.stdout + result.stderr
    assert result.returncode != 0
    assert "Dataset 'measurements' is on local disk" in log, log[-3000:]
    assert "2 of 2 workers" in log and "storage=s3://" in log
    assert not report.exists()


def test_object_storage_runs_on_workers_that_share_no_disk(
    installed_project, far_cluster, object_store, plain_outputs
):
    """One setting moves every persisted dataset to the store; the scheduler has
    neither the project nor Kedro."""
    project, python = installed_project
    prefix = f"s3://{BUCKET}/{uuid.uuid4().hex[:8]}"
    kedro(
        project, python, "run", "--env", "dask", "--params", f"storage={prefix}",
        DASK_SCHEDULER_ADDRESS=far_cluster.address, **object_store.env(),
    )  # fmt: skip
    for name in OUTPUTS:
        stored = s3(
            python,
            object_store,
            "import s3fs, sys; "
            f"sys.stdout.write(s3fs.S3FileSystem().cat('{prefix}/{name}').decode())",
        )
        assert stored == plain_outputs[name], name
    listing = s3(python, object_store, f"import s3fs; print(s3fs.S3FileSystem().find('{prefix}'))")
    assert "01_raw/measurements.csv" in listing and "06_models/ridge.json" in listing


def test_workers_use_their_own_store_credentials(installed_project, far_cluster, object_store):
    """The client holds no S3 credentials at all: the workers, which read and write
    the data, use the ones in their own environment."""
    project, python = installed_project
    prefix = f"s3://{BUCKET}/{uuid.uuid4().hex[:8]}"
    kedro(
        project, python, "run", "--env", "dask", "--params", f"storage={prefix}",
        DASK_SCHEDULER_ADDRESS=far_cluster.address,
        AWS_ACCESS_KEY_ID="", AWS_SECRET_ACCESS_KEY="", AWS_ENDPOINT_URL="",
    )  # fmt: skip
    listing = s3(python, object_store, f"import s3fs; print(s3fs.S3FileSystem().find('{prefix}'))")
    assert "08_reporting/best_model.json" in listing


@pytest.fixture(scope="module")
def stale_copy(installed_project, tmp_path_factory) -> Path:
    """A copy of the project whose reporting node has changed: an older image."""
    project, _ = installed_project
    copy = copy_project(project, tmp_path_factory.mktemp("stale") / project.name)
    nodes = copy / "src" / "rocket_science" / "pipelines" / "reporting" / "nodes.py"
    nodes.write_text(nodes.read_text() + "\n\ndef added_later() -> None:\n    return None\n")
    return copy


@pytest.fixture(scope="module")
def mixed_cluster(installed_project, stale_copy, cluster_factory):
    """One current worker and one that imports the changed copy of the project."""
    project, python = installed_project
    cluster = cluster_factory(python, project, workers=[[]])
    cluster.start_worker(env={"PYTHONPATH": str(stale_copy / "src")})
    return cluster


def test_stale_worker_stops_the_run_or_warns(installed_project, mixed_cluster, tmp_path):
    project, python = installed_project
    copy = copy_project(project, tmp_path / project.name)
    refused = kedro(
        copy, python, "run", "--env", "dask", check=False,
        DASK_SCHEDULER_ADDRESS=mixed_cluster.address,
    )  # fmt: skip
    log = refused.stdout + refused.stderr
    assert refused.returncode != 0
    assert "1 of 2 Dask workers run other code than this client" in log, log[-3000:]
    assert "the project's code differs" in log and "version_check: warn" in log
    assert not (copy / "data" / "08_reporting" / "best_model.json").exists()

    warned = kedro(
        copy, python, "run", "--env", "dask", "--params", "dask_client.version_check=warn",
        DASK_SCHEDULER_ADDRESS=mixed_cluster.address,
    )  # fmt: skip
    assert "run other code than this client" in warned.stdout + warned.stderr
    assert (copy / "data" / "08_reporting" / "best_model.json").exists()
