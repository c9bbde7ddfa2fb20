"""The Argo Workflow: one DAG task per plan task, with its settings."""

import pytest

from {{ cookiecutter.python_package }}.deploy.argo import (
    dns_label,
    unique_labels,
    workflow,
)
from {{ cookiecutter.python_package }}.deploy.plan import (
    build_plan,
)
from {{ cookiecutter.python_package }}.deploy.project import (
    DeployError,
    load_project,
)

SETTINGS = {
    "project_dir": "/home/kedro_docker",
    "volume_claim": "data-claim",
    "defaults": {"retries": 1},
    "tags": {"model_selection": {"retries": 2, "resources": {"requests": {"cpu": 1}}}},
}


def test_labels_are_dns_labels_and_unique():
    assert dns_label("Orbit.Climb_Fast") == "orbit-climb-fast"
    labels = unique_labels(["a.b", "a_b"])
    assert labels["a.b"] == "a-b" and labels["a_b"].startswith("a-b-")


def test_workflow_follows_the_plan(project_path):
    plan = build_plan(load_project(env="deploy", project_path=project_path), "none")
    document = workflow(plan, "registry/img:1", SETTINGS, ["data"], name="Rocket")
    templates = {t["name"]: t for t in document["spec"]["templates"]}
    dag = templates["main"]["dag"]["tasks"]
    assert len(dag) == len(plan.tasks)
    for task, dag_task in zip(plan.tasks, dag, strict=True):
        template = templates[dag_task["template"]]
        assert template["container"]["command"] == task.command
        retries = "2" if "model_selection" in task.tags else "1"
        assert template["retryStrategy"]["limit"] == retries
        mount = template["container"]["volumeMounts"][0]
        assert mount["mountPath"] == "/home/kedro_docker/data"
    assert (
        document["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"]
        == "data-claim"
    )


def test_a_shared_volume_needs_the_project_folder(orbit):
    with pytest.raises(DeployError, match="argo.project_dir"):
        workflow(
            build_plan(orbit, "none"), "img", {"volume_claim": "c"}, ["data"], name="x"
        )
