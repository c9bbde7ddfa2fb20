"""`kedro deploy check` passes on the example with its deploy settings and fails,
naming the dataset and tasks, when data could not cross between tasks."""

from __future__ import annotations

from tests.deploy.helpers import CYCLE_PIPELINE, add_pipeline
from tests.support import kedro


def test_the_example_passes_with_its_deploy_settings(installed_project):
    project, python = installed_project
    for group_by in ("none", "namespace", "memory"):
        result = kedro(project, python, "deploy", "check", "--env=deploy", f"--group-by={group_by}")
        assert "OK" in result.stdout


def test_memory_data_crossing_tasks_fails_naming_dataset_and_tasks(installed_project):
    project, python = installed_project
    # conf/base keeps the train/test splits in memory; namespace grouping puts
    # their writer and readers in different tasks.
    result = kedro(project, python, "deploy", "check", "--group-by=namespace", check=False)
    assert result.returncode == 1
    problems = result.stderr
    assert (
        "dataset 'train_features' is in memory, but task 'split_measurements' "
        "writes it and tasks 'linear', 'quadratic', 'ridge' read it"
    ) in problems
    assert "dataset 'linear_metrics' is in memory" in problems
    assert "task 'linear' writes it and task 'compare_models' reads it" in problems


def test_local_paths_crossing_tasks_fail_unless_shared(installed_project):
    project, python = installed_project
    # Memory grouping keeps the in-memory data inside tasks, but without the
    # deploy env's shared_paths the CSV files between tasks are local-only.
    result = kedro(project, python, "deploy", "check", "--group-by=memory", check=False)
    assert result.returncode == 1
    assert "dataset 'measurements' is on local disk" in result.stderr
    assert "task 'generate_measurements' writes it" in result.stderr
    assert "shared_paths in conf/local/deploy.yml" in result.stderr


def test_unnamed_nodes_fail(fresh_project):
    project, python = fresh_project
    add_pipeline(project, "orbit", CYCLE_PIPELINE)
    result = kedro(project, python, "deploy", "check", "--env=deploy", check=False)
    assert result.returncode == 1
    assert "node 'copy__" in result.stderr
    assert "has no name" in result.stderr
    # Memory grouping keeps the new nodes' undeclared data in one task; one task
    # per node would pass it between tasks.
    assert "is in memory" not in result.stderr
    result = kedro(
        project, python, "deploy", "check", "--env=deploy", "--group-by=none", check=False
    )
    assert (
        "dataset 'orbit.trajectory' is in memory, but task 'orbit.climb' writes it "
        "and task 'plan_burn' reads it"
    ) in result.stderr
