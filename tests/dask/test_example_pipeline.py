"""The example pipeline through `kedro run --env dask` on real scheduler and workers."""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest

from tests.support import command_env, copy_project, free_port, kedro

OUTPUTS = [
    "data/01_raw/measurements.csv",
    "data/06_models/linear.json",
    "data/06_models/ridge.json",
    "data/06_models/quadratic.json",
    "data/08_reporting/model_comparison.csv",
    "data/08_reporting/best_model.json",
]


def read_outputs(project: Path) -> dict[str, object]:
    outputs = {}
    for name in OUTPUTS:
        path = project / name
        if path.suffix == ".csv":
            outputs[name] = pd.read_csv(path).round(9).to_dict("list")
        else:
            outputs[name] = json.loads(path.read_text())
    return outputs


@pytest.fixture(scope="module")
def sequential_outputs(plain_run) -> dict[str, object]:
    return read_outputs(plain_run)


def test_example_pipeline_equals_sequential_run(
    installed_project, example_cluster, sequential_outputs, tmp_path
):
    project, python = installed_project
    copy = copy_project(project, tmp_path / project.name)
    result = kedro(
        copy, python, "run", "--env", "dask", DASK_SCHEDULER_ADDRESS=example_cluster.address
    )
    log = result.stdout + result.stderr
    assert f"Connected to Dask scheduler {example_cluster.address}" in log
    assert "dashboard: http://127.0.0.1:" in log
    assert "Completed 10 out of 10 nodes" in log
    # Worker logs reach the client's console.
    assert "Running node: generate_measurements" in log
    # Plugins' hooks (kedro-viz's, from the development lock) stay on the client.
    assert "Unable to create statistics" not in log
    assert read_outputs(copy) == sequential_outputs


def test_params_override_the_environment_variable(installed_project, example_cluster, tmp_path):
    project, python = installed_project
    copy = copy_project(project, tmp_path / project.name)
    result = kedro(
        copy,
        python,
        "run",
        "--env", "dask",
        "--params", f"dask_client.address={example_cluster.address}",
        "--nodes", "generate_measurements",
        DASK_SCHEDULER_ADDRESS="tcp://127.0.0.1:1",
    )  # fmt: skip
    assert f"Connected to Dask scheduler {example_cluster.address}" in result.stdout + result.stderr
    assert (copy / OUTPUTS[0]).exists()


def test_only_missing_outputs_runs_only_what_is_missing(
    installed_project, example_cluster, tmp_path
):
    project, python = installed_project
    copy = copy_project(project, tmp_path / project.name)
    address = {"DASK_SCHEDULER_ADDRESS": example_cluster.address}
    kedro(copy, python, "run", "--env", "dask", **address)
    measurements = copy / OUTPUTS[0]
    measured_at = measurements.stat().st_mtime_ns
    (copy / "data/08_reporting/best_model.json").unlink()

    result = kedro(copy, python, "run", "--env", "dask", "--only-missing-outputs", **address)

    log = result.stdout + result.stderr
    assert "Running 1 out of 10 nodes" in log
    assert "Completed 1 out of 1 nodes" in log
    assert (copy / "data/08_reporting/best_model.json").exists()
    assert measurements.stat().st_mtime_ns == measured_at


def test_two_concurrent_runs_share_one_cluster(installed_project, example_cluster, tmp_path):
    project, python = installed_project
    runs = {}
    for n_rows in (700, 900):
        copy = copy_project(project, tmp_path / str(n_rows) / project.name)
        # Not --params: with an env that has parameters of its own, Kedro 1.7 lets
        # --params data_generation.n_rows replace the whole data_generation block.
        parameters = copy / "conf" / "base" / "parameters.yml"
        parameters.write_text(parameters.read_text().replace("n_rows: 5000", f"n_rows: {n_rows}"))
        runs[n_rows] = (
            copy,
            subprocess.Popen(
                [python.with_name("kedro"), "run", "--env", "dask"],
                cwd=copy,
                env=command_env(DASK_SCHEDULER_ADDRESS=example_cluster.address),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            ),
        )  # fmt: skip
    for n_rows, (copy, process) in runs.items():
        output, _ = process.communicate(timeout=180)
        assert process.returncode == 0, output[-4000:]
        # Each run saw only its own data, although both used the same dataset names.
        assert len(pd.read_csv(copy / OUTPUTS[0])) == n_rows
        assert json.loads((copy / OUTPUTS[-1]).read_text())["candidates"] == 3


def test_unreachable_scheduler_fails_fast_and_clearly(installed_project, tmp_path):
    project, python = installed_project
    address = f"tcp://127.0.0.1:{free_port()}"  # nothing listens there
    started = time.monotonic()
    result = kedro(
        project,
        python,
        "run",
        "--env", "dask",
        "--params", f"dask_client.address={address},dask_client.timeout=3",
        check=False,
        timeout=60,
    )  # fmt: skip
    elapsed = time.monotonic() - started
    log = result.stdout + result.stderr
    assert result.returncode != 0
    error = log[log.index("Error: ") :]
    assert f"No Dask scheduler answered at {address} within 3 s" in error
    assert "DASK_SCHEDULER_ADDRESS" in error
    # A short message, not a traceback; the traceback is one flag away.
    assert len(error.splitlines()) <= 15 and "Traceback" not in log, log[-3000:]
    # The 3 s timeout, Kedro's start-up, and no wait on the dead client at exit.
    assert elapsed < 15, f"took {elapsed:.0f} s"
    verbose = kedro(
        project, python, "run", "--env", "dask", "--verbose",
        "--params", f"dask_client.address={address},dask_client.timeout=3",
        check=False, timeout=60,
    )  # fmt: skip
    assert "SchedulerUnreachableError" in verbose.stdout + verbose.stderr


def test_unknown_env_names_the_environments_that_exist(installed_project):
    project, python = installed_project
    result = kedro(project, python, "run", "--env", "dsak", check=False, timeout=60)
    assert result.returncode != 0
    log = result.stdout + result.stderr
    assert "no environment 'dsak'" in log
    assert "the environments are: base, dask, deploy, local" in log


def test_runner_option_alone_starts_and_stops_a_local_cluster(installed_project, tmp_path):
    project, python = installed_project
    copy = copy_project(project, tmp_path / project.name)
    result = kedro(
        copy,
        python,
        "run",
        "--runner", "rocket_science.runner.DaskRunner",
        "--params", "data_generation.n_rows=500",
        DASK_SCHEDULER_ADDRESS="",
    )  # fmt: skip
    log = result.stdout + result.stderr
    assert "Starting distributed.LocalCluster for this run" in log
    assert "Completed 10 out of 10 nodes" in log
    assert "Traceback" not in log
    assert len(pd.read_csv(copy / OUTPUTS[0])) == 500


def test_runner_params_and_node_filters(installed_project, example_cluster, tmp_path):
    project, python = installed_project
    copy = copy_project(project, tmp_path / project.name)
    result = kedro(
        copy,
        python,
        "run",
        "--runner", "rocket_science.runner.DaskRunner",
        "--runner-params", f"address={example_cluster.address},timeout=5",
        "--to-nodes", "ridge.fit_model",
    )  # fmt: skip
    log = result.stdout + result.stderr
    assert f"Connected to Dask scheduler {example_cluster.address}" in log
    assert "Completed 3 out of 3 nodes" in log
    assert (copy / "data/06_models/ridge.json").exists()
    assert not (copy / "data/06_models/linear.json").exists()


def test_runner_option_writes_where_the_params_say(installed_project, example_cluster, tmp_path):
    """`--runner <pkg>.runner.DaskRunner` runs the catalog `--params` made: the workers
    write to the run's storage folder, not to the project's data/."""
    project, python = installed_project
    copy = copy_project(project, tmp_path / project.name)
    storage = tmp_path / "elsewhere"
    kedro(
        copy, python, "run", "--runner", "rocket_science.runner.DaskRunner",
        "--params", f"storage={storage}", "--nodes", "generate_measurements",
        DASK_SCHEDULER_ADDRESS=example_cluster.address,
    )  # fmt: skip
    assert (storage / "01_raw/measurements.csv").is_file()
    assert not (copy / OUTPUTS[0]).exists()


def test_runner_params_update_cluster_kwargs_key_by_key(installed_project, tmp_path):
    """`--runner-params cluster_kwargs.n_workers=1` keeps conf's threads_per_worker, and
    an empty address given for the run starts a cluster whatever the environment says."""
    project, python = installed_project
    copy = copy_project(project, tmp_path / project.name)
    dask_params = copy / "conf" / "dask" / "parameters.yml"
    conf = dask_params.read_text()
    dask_params.write_text(conf.replace("threads_per_worker: 1", "threads_per_worker: 3"))
    result = kedro(
        copy, python, "run", "--env", "dask", "--nodes", "generate_measurements",
        "--runner-params", "cluster_kwargs.n_workers=1",
        "--params", "dask_client.address=",
        DASK_SCHEDULER_ADDRESS="tcp://127.0.0.1:1",
    )  # fmt: skip
    log = result.stdout + result.stderr
    assert "Starting distributed.LocalCluster for this run" in log
    assert re.search(r"scheduler tcp://127\.0\.0\.1:\d+ \(1 workers, 3 threads\)", log), log
    assert (copy / OUTPUTS[0]).exists()
