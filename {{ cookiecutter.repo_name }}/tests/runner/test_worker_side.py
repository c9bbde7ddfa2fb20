"""What a worker does with a run: its own project and credentials, and nothing of
them in what leaves it."""

import os
import pickle
import signal
import subprocess
import sys
import time

import pytest
from distributed import Client, LocalCluster

from {{ cookiecutter.python_package }}.runner import (
    checks,
    preflight,
    run_cache,
)
from {{ cookiecutter.python_package }}.runner.errors import (
    StaleWorkerError,
    WorkerSetupError,
)
from {{ cookiecutter.python_package }}.runner.execution import (
    scrub_exception,
)
from {{ cookiecutter.python_package }}.runner.run_spec import (
    DatasetSpec,
    RunSpec,
)
from {{ cookiecutter.python_package }}.runner.worker_catalog import (
    read_credentials,
)


def spec(**changes) -> RunSpec:
    values = dict(
        token="t0ken", run_id=None, package_name="{{ cookiecutter.python_package }}",
        hooks=False, is_async=False, client_pid=0, env="dask", conf_source=None,
        persisted={"a": DatasetSpec({"type": "x", "credentials": "store"})},
        memory={}, fingerprint="f", version_check="error",
    )  # fmt: skip
    return RunSpec(**(values | changes))


def project(
    folder,
    package="{{ cookiecutter.python_package }}",
    credentials="",
):
    (folder / "conf" / "dask").mkdir(parents=True)
    (folder / "conf" / "base").mkdir()
    (folder / "conf" / "dask" / "credentials.yml").write_text(credentials)
    (folder / "pyproject.toml").write_text(
        f'[tool.kedro]\npackage_name = "{package}"\n'
    )
    return folder


def test_credentials_come_from_the_workers_own_conf(tmp_path, monkeypatch):
    monkeypatch.chdir(
        project(
            tmp_path, credentials="store: {key: k, secret: s3cr3t}\nother: {x: 1}\n"
        )
    )
    assert read_credentials(spec()) == {"store": {"key": "k", "secret": "s3cr3t"}}


def test_a_missing_credential_is_named_with_where_it_was_looked_for(
    tmp_path, monkeypatch
):
    monkeypatch.chdir(project(tmp_path))
    with pytest.raises(
        WorkerSetupError,
        match=r"Credentials 'store' are not on this worker.*dask/credentials\*",
    ):
        read_credentials(spec())


def test_a_worker_started_in_another_project_refuses_the_run(tmp_path, monkeypatch):
    monkeypatch.chdir(
        project(tmp_path, package="someone_else", credentials="store: {}\n")
    )
    with pytest.raises(WorkerSetupError, match="package 'someone_else'.*the run is of"):
        read_credentials(spec())


def test_a_conf_source_the_worker_lacks_is_named(tmp_path, monkeypatch):
    monkeypatch.chdir(project(tmp_path, credentials="store: {}\n"))
    with pytest.raises(WorkerSetupError, match="--conf-source /no/such/conf"):
        read_credentials(spec(conf_source="/no/such/conf"))


def test_credential_values_never_leave_in_an_error():
    run_cache._runs["t0ken"] = run_cache._CachedRun(
        {"store": {"secret": "s3cr3t-value"}}
    )
    try:
        try:
            try:
                raise OSError("denied for s3cr3t-value")
            except OSError as cause:
                raise ValueError("load failed: s3cr3t-value") from cause
        except ValueError as error:
            error.add_note("note s3cr3t-value")
            scrub_exception(error, run_cache.scrubber("t0ken"))
            assert "s3cr3t" not in f"{error} {error.__notes__} {error.__cause__}"
            assert str(error) == "load failed: ***"
    finally:
        run_cache._runs.pop("t0ken")


def test_a_marker_a_killed_client_left_goes_with_the_next_check(tmp_path):
    """SIGKILL leaves the shared-disk check's marker; the next run removes it, and
    never a marker of a run checking now."""
    (tmp_path / "out").mkdir()
    left = tmp_path / "out" / f"{preflight.MARKER_PREFIX}killed"
    current = tmp_path / "out" / f"{preflight.MARKER_PREFIX}running"
    left.write_text("x")
    current.write_text("y")
    old = time.time() - preflight.STALE_MARKER_SECONDS - 1
    os.utime(left, (old, old))
    markers = preflight._write_markers({tmp_path / "out" / "model.json"}, "new")
    assert not left.exists() and current.exists()
    assert list(markers) == [str(tmp_path / "out")]


def test_a_client_killed_during_the_check_leaves_no_marker(tmp_path):
    """SIGKILL of `kedro run` while the workers read the markers: they still go."""
    folder = tmp_path / "out"
    folder.mkdir()
    killed = subprocess.run(
        [
            sys.executable, "-c",
            "import os, pathlib, signal\n"
            "from {{ cookiecutter.python_package }}.runner import preflight\n"
            f"folder = pathlib.Path({str(folder)!r})\n"
            "checking = preflight.shared_disk_markers({folder / 'model.json'}, 'kill')\n"
            "checking.__enter__()\n"
            "assert list(folder.iterdir()), 'no marker written'\n"
            "os.kill(os.getpid(), signal.SIGKILL)\n",
        ],
        check=False, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    deadline = time.monotonic() + 5
    while list(folder.iterdir()):
        assert time.monotonic() < deadline, list(folder.iterdir())
        time.sleep(0.05)


def test_a_late_worker_with_other_code_names_itself_to_the_client():
    """The client leaves that worker out of the run by the address in the error."""
    with (
        LocalCluster(n_workers=1, processes=False, dashboard_address=None) as cluster,
        Client(cluster) as client,
    ):
        (address,) = client.scheduler_info()["workers"]
        refused = client.submit(checks.check_same_code, spec(fingerprint="older"))
        error = refused.exception(timeout=30)
    assert isinstance(error, StaleWorkerError) and error.worker == address
    assert f"Dask worker {address} runs other code" in str(error)
    assert pickle.loads(pickle.dumps(error)).worker == address
