"""Polynomial ridge regression in plain NumPy, so the project needs no ML library."""

import numpy as np
import pandas as pd


def _design_matrix(features: pd.DataFrame, degree: int) -> np.ndarray:
    """An intercept column, then each feature raised to the powers 1..degree."""
    values = features.to_numpy(dtype=float)
    powers = [values**power for power in range(1, degree + 1)]
    return np.column_stack([np.ones(len(values)), *powers])


def _solve(design: np.ndarray, target: np.ndarray, ridge_alpha: float) -> np.ndarray:
    """Ridge regression in closed form; the intercept is not penalised."""
    penalty = ridge_alpha * np.eye(design.shape[1])
    penalty[0, 0] = 0.0
    return np.linalg.solve(design.T @ design + penalty, design.T @ target)


def fit_model(
    features: pd.DataFrame, target: pd.Series, options: dict, bootstrap: dict
) -> dict:
    """Fit the model, then refit it on ``bootstrap["rounds"]`` resamples of the
    training rows to tell how stable each weight is (its standard deviation across
    the refits): the pipeline's heavy part, which candidates run side by side."""
    design = _design_matrix(features, options["degree"])
    values = target.to_numpy()
    weights = _solve(design, values, options["ridge_alpha"])
    rng = np.random.default_rng(bootstrap["seed"])
    refits = [
        _solve(design[rows], values[rows], options["ridge_alpha"])
        for rows in (
            rng.integers(0, len(values), len(values))
            for _ in range(bootstrap["rounds"])
        )
    ]
    spread = np.std(refits, axis=0) if refits else np.zeros_like(weights)
    return {
        "degree": options["degree"],
        "weights": weights.tolist(),
        "weight_std": spread.tolist(),
        "bootstrap_rounds": bootstrap["rounds"],
    }


def evaluate_model(
    model: dict, features: pd.DataFrame, target: pd.Series
) -> dict[str, float]:
    """Score the model on held-out data."""
    predicted = _design_matrix(features, model["degree"]) @ np.asarray(model["weights"])
    errors = target.to_numpy() - predicted
    total = np.sum((target.to_numpy() - target.mean()) ** 2)
    return {
        "rmse": float(np.sqrt(np.mean(errors**2))),
        "mae": float(np.mean(np.abs(errors))),
        "r2": float(1.0 - np.sum(errors**2) / total),
    }
