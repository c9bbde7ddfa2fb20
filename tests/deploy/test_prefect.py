"""The Prefect flow runs for real against a Prefect server started by the tests:
one Prefect task per plan task, all Completed; a failing node fails the flow run
with the node's error. Without Prefect installed the project still works."""

from __future__ import annotations

import json
import urllib.request

from tests.deploy.helpers import add_pipeline, load_plan, package_name
from tests.support import command_env, kedro, run

FLOW_TIMEOUT = 600
FAILED_AND_AFTER = {"launch", "splash_down"}

FAILING_PIPELINE = """
from kedro.pipeline import Node, Pipeline


def launch(model_comparison):
    raise RuntimeError("deliberate failure: the rocket exploded")


def splash_down(launch_report):
    return launch_report


def create_pipeline(**kwargs):
    return Pipeline([
        Node(launch, "model_comparison", "launch_report", name="launch"),
        Node(splash_down, "launch_report", "landing_report", name="splash_down"),
    ])
"""

# Persisted, so that launch and splash_down are two tasks in every grouping.
LAUNCH_CATALOG = """
launch_report:
  type: json.JSONDataset
  filepath: ${runtime_params:storage,data}/08_reporting/launch_report.json
"""


def api(env: dict[str, str], path: str, body: dict) -> list[dict]:
    request = urllib.request.Request(
        env["PREFECT_API_URL"] + path,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def latest_flow_run(env: dict[str, str]) -> tuple[dict, dict[str, dict]]:
    """The newest flow run on the server and its task runs by name."""
    flow_run = api(env, "/flow_runs/filter", {"sort": "START_TIME_DESC", "limit": 1})[0]
    task_runs = api(env, "/task_runs/filter", {"flow_runs": {"id": {"any_": [flow_run["id"]]}}})
    return flow_run, {task_run["name"]: task_run for task_run in task_runs}


def test_flow_runs_every_task_to_completed(fresh_project, prefect_python, prefect_env):
    project, python = fresh_project
    plan = load_plan(python, project, "--env=deploy", "--group-by=namespace")

    run(
        [prefect_python, "-m", f"{package_name(project)}.deploy.prefect_flow"]
        + ["--env", "deploy", "--group-by", "namespace"],
        cwd=project,
        timeout=FLOW_TIMEOUT,
        env=command_env(**prefect_env),
    )

    flow_run, task_runs = latest_flow_run(prefect_env)
    assert flow_run["state"]["type"] == "COMPLETED"
    assert sorted(task_runs) == sorted(task["name"] for task in plan["tasks"])
    assert {t["state"]["type"] for t in task_runs.values()} == {"COMPLETED"}
    assert (
        json.loads((project / "data/08_reporting/best_model.json").read_text())["best_model"]
        == "quadratic"
    )


def test_failing_node_fails_the_flow_run(fresh_project, prefect_python, prefect_env):
    project, _ = fresh_project
    add_pipeline(project, "launch", FAILING_PIPELINE)
    with (project / "conf/deploy/catalog.yml").open("a") as catalog:
        catalog.write(LAUNCH_CATALOG)

    result = kedro(
        project, prefect_python, "deploy", "prefect", "--run", "--env=deploy",
        check=False, **prefect_env,
    )  # fmt: skip

    assert result.returncode == 1
    assert "deliberate failure: the rocket exploded" in result.stderr
    flow_run, task_runs = latest_flow_run(prefect_env)
    assert flow_run["state"]["type"] == "FAILED"
    assert "deliberate failure: the rocket exploded" in flow_run["state"]["message"]
    assert task_runs["launch"]["state"]["type"] == "FAILED"
    assert "the rocket exploded" in task_runs["launch"]["state"]["message"]
    # The task after the failed one never ran; all the others completed.
    assert task_runs["splash_down"]["state"]["type"] == "PENDING"
    assert "did not reach a 'COMPLETED' state" in task_runs["splash_down"]["state"]["message"]
    others = {t["state"]["type"] for n, t in task_runs.items() if n not in FAILED_AND_AFTER}
    assert others == {"COMPLETED"}


def test_project_works_without_prefect(installed_project):
    project, python = installed_project
    assert run([python, "-c", "import prefect"], check=False).returncode != 0
    result = kedro(project, python, "deploy", "prefect", "--env=deploy", check=False)
    assert result.returncode == 1
    assert "Prefect is not installed" in result.stderr
    assert "pip install -r requirements-prefect.txt" in result.stderr
