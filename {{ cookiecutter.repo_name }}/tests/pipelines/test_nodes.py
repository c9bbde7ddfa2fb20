import pandas as pd
import pytest

from {{ cookiecutter.python_package }}.pipelines.data_generation.nodes import (
    generate_measurements,
    split_measurements,
)
from {{ cookiecutter.python_package }}.pipelines.model_selection.nodes import (
    evaluate_model,
    fit_model,
)
from {{ cookiecutter.python_package }}.pipelines.reporting.nodes import (
    compare_models,
    select_best_model,
)

OPTIONS = {"n_rows": 400, "n_features": 3, "noise": 0.1, "seed": 1}
NO_BOOTSTRAP = {"rounds": 0, "seed": 0}


@pytest.fixture
def measurements() -> pd.DataFrame:
    return generate_measurements(OPTIONS)


def test_generation_is_seeded_and_sized(measurements):
    assert measurements.shape == (400, 4)
    pd.testing.assert_frame_equal(measurements, generate_measurements(OPTIONS))
    other_seed = generate_measurements({**OPTIONS, "seed": 2})
    assert not measurements.equals(other_seed)


def test_split_keeps_every_row_once(measurements):
    train_x, train_y, test_x, test_y = split_measurements(
        measurements, {"test_fraction": 0.25, "seed": 0}
    )
    assert (len(train_x), len(test_x)) == (300, 100)
    assert list(train_x.columns) == ["x0", "x1", "x2"]
    assert sorted([*train_y.index, *test_y.index]) == list(measurements.index)


def test_quadratic_model_beats_linear_on_curved_data(measurements):
    train_x, train_y, test_x, test_y = split_measurements(
        measurements, {"test_fraction": 0.25, "seed": 0}
    )
    linear = fit_model(
        train_x, train_y, {"degree": 1, "ridge_alpha": 0.0}, NO_BOOTSTRAP
    )
    quadratic = fit_model(
        train_x, train_y, {"degree": 2, "ridge_alpha": 0.0}, NO_BOOTSTRAP
    )
    linear_score = evaluate_model(linear, test_x, test_y)
    quadratic_score = evaluate_model(quadratic, test_x, test_y)
    assert quadratic_score["rmse"] < linear_score["rmse"]
    assert quadratic_score["r2"] > 0.9


def test_report_ranks_by_rmse():
    comparison = compare_models(
        a={"rmse": 2.0, "mae": 1.0, "r2": 0.5}, b={"rmse": 1.0, "mae": 0.5, "r2": 0.8}
    )
    assert list(comparison["model"]) == ["b", "a"]
    assert select_best_model(comparison) == {
        "best_model": "b",
        "rmse": 1.0,
        "r2": 0.8,
        "candidates": 2,
    }


def test_bootstrap_tells_how_stable_each_weight_is(measurements):
    train_x, train_y, _, _ = split_measurements(
        measurements, {"test_fraction": 0.25, "seed": 0}
    )
    options = {"degree": 2, "ridge_alpha": 1.0}
    model = fit_model(train_x, train_y, options, {"rounds": 30, "seed": 3})
    assert model["bootstrap_rounds"] == 30
    assert len(model["weight_std"]) == len(model["weights"])
    assert all(spread > 0 for spread in model["weight_std"])
    assert model == fit_model(
        train_x, train_y, options, {"rounds": 30, "seed": 3}
    )  # seeded
