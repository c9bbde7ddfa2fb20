"""The plan: a DAG of `kedro run --nodes=...` tasks, for each way of grouping."""

import re

import pytest

from {{ cookiecutter.python_package }}.deploy.plan import (
    build_plan,
)
from {{ cookiecutter.python_package }}.deploy.project import (
    DeployError,
    load_project,
)

CANDIDATES = ("linear", "ridge", "quadratic")


@pytest.fixture(scope="module")
def example(project_path):
    return load_project(env="deploy", project_path=project_path)


@pytest.mark.parametrize(
    ("group_by", "tasks"), [("none", 10), ("namespace", 7), ("memory", 10)]
)
def test_the_example_in_tasks(example, group_by, tasks):
    plan = build_plan(example, group_by)
    assert len(plan.tasks) == tasks
    seen: set[str] = set()
    for task in plan.tasks:
        assert set(task.upstream) <= seen  # in dependency order
        seen.add(task.name)
        assert task.command[:2] == ["kedro", "run"]
        assert (
            f"--nodes={','.join(task.nodes)}" in task.command
            and "--env=deploy" in task.command
        )
    assert sorted(n for t in plan.tasks for n in t.nodes) == sorted(
        n.name for n in example.pipeline.nodes
    )


def test_dependencies_are_the_node_dependencies(example):
    upstream = {task.name: task.upstream for task in build_plan(example, "none").tasks}
    assert upstream["split_measurements"] == ["generate_measurements"]
    for name in CANDIDATES:
        assert upstream[f"{name}.evaluate_model"] == [
            f"{name}.fit_model",
            "split_measurements",
        ]
    assert upstream["compare_models"] == sorted(
        f"{n}.evaluate_model" for n in CANDIDATES
    )


def test_namespaces_become_tasks(example):
    tasks = {task.name: task for task in build_plan(example, "namespace").tasks}
    for name in CANDIDATES:
        assert tasks[name].nodes == [f"{name}.fit_model", f"{name}.evaluate_model"]


def test_memory_data_keeps_its_nodes_together(orbit):
    (task,) = [t for t in build_plan(orbit, "memory").tasks if "plan_burn" in t.nodes]
    assert {"orbit.climb", "plan_burn", "orbit.circularise"} <= set(task.nodes)


def test_groups_that_would_wait_on_each_other_are_merged(orbit):
    plan = build_plan(orbit, "namespace")
    (merged,) = [t for t in plan.tasks if "plan_burn" in t.nodes]
    assert set(merged.nodes) == {"orbit.climb", "plan_burn", "orbit.circularise"}


def test_an_unknown_grouping_is_refused(orbit):
    with pytest.raises(DeployError, match="group_by must be one of"):
        build_plan(orbit, "tags")


def test_the_task_count_docs_deploy_md_gives_is_the_plans(project_path):
    """docs/deploy.md says how many tasks the example becomes with conf/base alone."""
    text = " ".join((project_path / "docs" / "deploy.md").read_text().split())
    claimed = re.search(r"it becomes (\d+) tasks", text)
    assert claimed, "docs/deploy.md no longer gives the example's task count"
    plan = build_plan(load_project(project_path=project_path), "memory")
    assert len(plan.tasks) == int(claimed[1])
