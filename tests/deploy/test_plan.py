"""Running every task of the plan as its own `kedro run --nodes=...` process, in
dependency order, gives the same outputs as one `kedro run`, for every grouping."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.deploy.helpers import CYCLE_PIPELINE, add_pipeline, load_plan
from tests.support import command_env, copy_project, kedro, kedro_in, run

CANDIDATES = ("linear", "ridge", "quadratic")
TASK_TIMEOUT = 300


def outputs(project: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(project)): path.read_bytes()
        for path in sorted((project / "data").rglob("*"))
        if path.is_file() and path.name != ".gitkeep"
    }


@pytest.fixture(scope="module")
def reference_outputs(installed_project, tmp_path_factory) -> dict:
    """What one plain `kedro run` makes, per environment."""
    project, python = installed_project
    made = {}
    for env in ("deploy", "local"):
        copy = copy_project(project, tmp_path_factory.mktemp(f"ref-{env}") / "project")
        kedro(copy, python, "run", f"--env={env}")
        made[env] = outputs(copy)
    return made


def run_plan(plan: dict, project: Path, python: Path) -> None:
    """Run each task once all its upstream tasks are done, two at a time, as an
    orchestrator would; each is a separate `kedro run` process."""
    done: set[str] = set()
    pending = list(plan["tasks"])
    with ThreadPoolExecutor(max_workers=2) as pool:
        while pending:
            ready = [t for t in pending if set(t["upstream"]) <= done]
            assert ready, f"tasks wait on each other: {pending}"
            commands = [[kedro_in(python), *t["command"][1:]] for t in ready]
            # run() raises, with the task's output, if a task fails.
            list(
                pool.map(
                    lambda command: run(
                        command, cwd=project, timeout=TASK_TIMEOUT, env=command_env()
                    ),
                    commands,
                )
            )
            done |= {t["name"] for t in ready}
            pending = [t for t in pending if t["name"] not in done]


def assert_is_a_dag_covering_every_node_once(plan: dict) -> None:
    seen_tasks: set[str] = set()
    nodes = []
    for task in plan["tasks"]:
        assert set(task["upstream"]) <= seen_tasks, "tasks are not in dependency order"
        seen_tasks.add(task["name"])
        nodes += task["nodes"]
        assert task["command"][:2] == ["kedro", "run"]
        assert f"--nodes={','.join(task['nodes'])}" in task["command"]
    assert len(nodes) == len(set(nodes)) == 10


EXPECTED_TASKS = {
    ("deploy", "none"): 10,
    ("deploy", "namespace"): 7,
    ("local", "memory"): 10,  # the catalog persists every exchanged dataset
}


@pytest.mark.parametrize(("env", "group_by"), list(EXPECTED_TASKS))
def test_tasks_run_one_by_one_make_what_one_run_makes(
    env, group_by, fresh_project, reference_outputs
):
    project, python = fresh_project
    plan = load_plan(python, project, f"--env={env}", f"--group-by={group_by}")
    assert plan["group_by"] == group_by
    assert len(plan["tasks"]) == EXPECTED_TASKS[env, group_by]
    assert_is_a_dag_covering_every_node_once(plan)
    assert all(f"--env={env}" in task["command"] for task in plan["tasks"])

    run_plan(plan, project, python)

    assert outputs(project) == reference_outputs[env]


def test_dependencies_are_the_node_dependencies(fresh_project):
    project, python = fresh_project
    plan = load_plan(python, project, "--env=deploy", "--group-by=none")
    upstream = {task["name"]: task["upstream"] for task in plan["tasks"]}
    assert upstream["generate_measurements"] == []
    assert upstream["split_measurements"] == ["generate_measurements"]
    for name in CANDIDATES:
        assert upstream[f"{name}.fit_model"] == ["split_measurements"]
        assert upstream[f"{name}.evaluate_model"] == [
            f"{name}.fit_model",
            "split_measurements",
        ]
    assert upstream["compare_models"] == sorted(f"{n}.evaluate_model" for n in CANDIDATES)
    assert upstream["select_best_model"] == ["compare_models"]


def test_namespace_and_memory_groupings(fresh_project):
    project, python = fresh_project
    by_namespace = load_plan(python, project, "--env=deploy", "--group-by=namespace")
    tasks = {task["name"]: task for task in by_namespace["tasks"]}
    for name in CANDIDATES:
        assert tasks[name]["nodes"] == [f"{name}.fit_model", f"{name}.evaluate_model"]
        assert tasks[name]["upstream"] == ["split_measurements"]
    assert tasks["compare_models"]["upstream"] == sorted(CANDIDATES)

    # The catalog persists every dataset the example's nodes exchange, so memory
    # grouping is one task per node; nodes joined by in-memory data share a task.
    by_memory = load_plan(python, project, "--group-by=memory")
    assert [t["nodes"] for t in by_memory["tasks"]] == [
        t["nodes"] for t in load_plan(python, project, "--group-by=none")["tasks"]
    ]
    add_pipeline(project, "orbit", CYCLE_PIPELINE)
    joined = load_plan(python, project, "--group-by=memory")["tasks"]
    orbit = [t for t in joined if "plan_burn" in t["nodes"]]
    assert len(orbit) == 1
    assert {"orbit.climb", "plan_burn", "orbit.circularise"} <= set(orbit[0]["nodes"])


def test_groups_that_would_form_a_cycle_are_merged(fresh_project):
    """Namespace 'orbit' runs before and after the un-namespaced plan_burn: as
    two tasks they would wait on each other, so the plan merges them."""
    project, python = fresh_project
    add_pipeline(project, "orbit", CYCLE_PIPELINE)
    plan = load_plan(python, project, "--group-by=namespace")
    merged = [t for t in plan["tasks"] if "plan_burn" in t["nodes"]]
    assert len(merged) == 1
    assert set(merged[0]["nodes"]) == {"orbit.climb", "plan_burn", "orbit.circularise"}
    seen: set[str] = set()
    for task in plan["tasks"]:
        assert set(task["upstream"]) <= seen
        seen.add(task["name"])
