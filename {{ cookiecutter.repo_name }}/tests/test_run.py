"""The whole pipeline in a Kedro session, as `kedro run` does it, on each runner.
Every run writes to a temporary folder (--params storage=...): never to data/."""

import json

import pandas as pd
import pytest
from kedro.framework.session import KedroSession
from kedro.runner import ParallelRunner, SequentialRunner

from {{ cookiecutter.python_package }}.pipelines.model_selection.pipeline import (
    CANDIDATES,
)
from {{ cookiecutter.python_package }}.runner import (
    DaskRunner,
)


def _local_dask_runner() -> DaskRunner:
    # A LocalCluster of two worker processes, started and closed by the run.
    return DaskRunner(cluster_kwargs={"n_workers": 2, "threads_per_worker": 1})


@pytest.mark.parametrize(
    "make_runner",
    [SequentialRunner, ParallelRunner, _local_dask_runner],
    ids=["sequential", "parallel", "dask"],
)
def test_pipeline_runs_to_the_report(project_path, tmp_path, make_runner):
    data = project_path / "data"
    before = sorted(data.rglob("*"))
    with KedroSession.create(
        project_path=project_path,
        runtime_params={"storage": str(tmp_path), "data_generation": {"n_rows": 600}},
    ) as session:
        session.run(runner=make_runner())

    comparison = pd.read_csv(tmp_path / "08_reporting/model_comparison.csv")
    assert sorted(comparison["model"]) == sorted(CANDIDATES)
    best = json.loads((tmp_path / "08_reporting/best_model.json").read_text())
    assert best["best_model"] == "quadratic"
    assert best["candidates"] == len(CANDIDATES)
    assert sorted(data.rglob("*")) == before  # the project's own data is untouched
