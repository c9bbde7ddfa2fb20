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


def test_memory_data_crossing_tasks_fails_naming_dataset_and_tasks(fresh_project):
    project, python = fresh_project
    # The orbit pipeline's datasets are not in the catalog, so they are in memory;
    # one task per node would pass them between tasks.
    add_pipeline(project, "orbit", CYCLE_PIPELINE)
    result = kedro(
        project, python, "deploy", "check", "--env=deploy", "--group-by=none", check=False
    )
    assert result.returncode == 1
    assert (
        "dataset 'orbit.trajectory' is in memory, but task 'orbit.climb' writes it "
        "and task 'plan_burn' reads it"
    ) in result.stderr
    assert "declare it in conf/deploy/catalog.yml with persistent storage" in result.stderr


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
    # Memory grouping keeps the new nodes' undeclared data in one task.
    assert "is in memory" not in result.stderr
