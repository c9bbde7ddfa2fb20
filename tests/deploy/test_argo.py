"""`kedro deploy argo` writes a Workflow that Argo's own models (hera's) accept,
with one DAG task per plan task, the plan's dependencies, image and commands."""

from __future__ import annotations

import importlib.util
import re

import pytest
import yaml

from tests.deploy.helpers import load_plan
from tests.support import kedro, require

IMAGE = "127.0.0.1:5000/rocket-science:test"
DNS_1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


@pytest.fixture(scope="module")
def hera_models():
    require(
        importlib.util.find_spec("hera") is not None,
        "hera (7.1.0, Argo Workflows' models) is not installed in the test environment",
    )
    from hera.workflows import models  # noqa: PLC0415

    return models


@pytest.mark.parametrize("group_by", ["none", "namespace"])
def test_workflow_matches_the_plan(group_by, installed_project, tmp_path, hera_models):
    project, python = installed_project
    options = ("--env=deploy", f"--group-by={group_by}")
    plan = load_plan(python, project, *options)
    output = tmp_path / "workflow.yaml"
    kedro(project, python, "deploy", "argo", *options, "--image", IMAGE, "-o", output)

    document = yaml.safe_load(output.read_text())
    workflow = hera_models.Workflow.model_validate(document)
    # Nothing was dropped as unknown: the model gives back the same document.
    assert workflow.model_dump(by_alias=True, exclude_none=True, mode="json") == document

    spec = workflow.spec
    workdir = re.findall(r"^WORKDIR (\S+)$", (project / "Dockerfile").read_text(), re.M)[-1]
    templates = {template.name: template for template in spec.templates}
    dag = templates[spec.entrypoint].dag
    assert len(dag.tasks) == len(plan["tasks"])

    label = {
        task["name"]: dag_task.name for task, dag_task in zip(plan["tasks"], dag.tasks, strict=True)
    }
    for task, dag_task in zip(plan["tasks"], dag.tasks, strict=True):
        assert DNS_1123_LABEL.match(dag_task.name), dag_task.name
        assert sorted(dag_task.dependencies or []) == sorted(label[up] for up in task["upstream"])
        container = templates[dag_task.template].container
        assert container.image == IMAGE
        assert container.command == task["command"]
        retries = 2 if "model_selection" in task["tags"] else 1
        assert templates[dag_task.template].retry_strategy.limit.root == str(retries)
        # The shared volume is the data/ folder of the image's project (its WORKDIR).
        assert container.volume_mounts[0].mount_path == f"{workdir}/data"
    assert spec.volumes[0].persistent_volume_claim.claim_name == "rocket-science-data"
    assert document["metadata"]["generateName"] == "rocket-science-"
