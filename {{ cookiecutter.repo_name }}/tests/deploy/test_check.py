"""`kedro deploy check`: what would break if each task ran on its own machine."""

from kedro.io import DataCatalog
from kedro_datasets.pickle import PickleDataset

from {{ cookiecutter.python_package }}.deploy.check import (
    find_problems,
)
from {{ cookiecutter.python_package }}.deploy.plan import (
    build_plan,
)

from .conftest import project_with


def test_memory_data_between_tasks_and_unnamed_nodes(orbit):
    problems = find_problems(orbit, build_plan(orbit, "none"))
    assert any(p.startswith("node 'copy__") and "has no name" in p for p in problems)
    assert (
        "dataset 'orbit.trajectory' is in memory, but task 'orbit.climb' writes it "
        "and task 'plan_burn' reads it: declare it in conf/deploy/catalog.yml"
    ) in "\n".join(problems)


def test_local_files_between_tasks_must_be_under_a_shared_path(tmp_path):
    catalog = DataCatalog.from_config(
        {
            "{name}": {
                "type": "pickle.PickleDataset",
                "filepath": str(tmp_path / "data" / "{name}.pkl"),
            }
        }
    )
    assert isinstance(catalog.get("burn_plan"), PickleDataset)
    unshared = project_with(catalog, {}, tmp_path)
    found = find_problems(unshared, build_plan(unshared, "none"))
    assert any("dataset 'burn_plan' is on local disk" in p for p in found)
    shared = project_with(catalog, {"shared_paths": ["data"]}, tmp_path)
    assert not [
        p
        for p in find_problems(shared, build_plan(shared, "none"))
        if "local disk" in p
    ]
