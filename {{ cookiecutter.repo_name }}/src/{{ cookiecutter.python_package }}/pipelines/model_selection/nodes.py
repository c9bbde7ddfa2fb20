"""Polynomial ridge regression in plain NumPy, so the project needs no ML library."""

import numpy as np
import pandas as pd


def _design_matrix(features: pd.DataFrame, degree: int) -> np.ndarray:
    """An intercept column, then each feature raised to the powers 1..degree."""
    values = features.to_numpy(dtype=float)
    powers = [values**power for power in range(1, degree + 1)]
    return np.column_stack([np.ones(len(values)), *powers])


def fit_model(features: pd.DataFrame, target: pd.Series, options: dict) -> dict:
    """Solve ridge regression in closed form; the intercept is not penalised."""
    design = _design_matrix(features, options["degree"])
    penalty = options["ridge_alpha"] * np.eye(design.shape[1])
    penalty[0, 0] = 0.0
    weights = np.linalg.solve(design.T @ design + penalty, design.T @ target.to_numpy())
    return {"degree": options["degree"], "weights": weights.tolist()}


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
