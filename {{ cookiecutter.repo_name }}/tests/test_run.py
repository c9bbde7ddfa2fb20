"""Run the whole pipeline in a Kedro session, as `kedro run` does."""

import json

import pandas as pd
import pytest
from kedro.framework.session import KedroSession
from kedro.runner import ParallelRunner, SequentialRunner

from {{ cookiecutter.python_package }}.pipelines.model_selection.pipeline import (
    CANDIDATES,
)


@pytest.mark.parametrize("runner_class", [SequentialRunner, ParallelRunner])
def test_pipeline_runs_to_the_report(project_path, runner_class):
    report = project_path / "data/08_reporting/best_model.json"
    report.unlink(missing_ok=True)

    with KedroSession.create(
        project_path=project_path,
        runtime_params={"data_generation": {"n_rows": 600}},
    ) as session:
        session.run(runner=runner_class())

    comparison = pd.read_csv(project_path / "data/08_reporting/model_comparison.csv")
    assert sorted(comparison["model"]) == sorted(CANDIDATES)
    best = json.loads(report.read_text())
    assert best["best_model"] == "quadratic"
    assert best["candidates"] == len(CANDIDATES)
