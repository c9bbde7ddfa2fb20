"""Generate a synthetic regression problem and split it for training."""

import numpy as np
import pandas as pd


def generate_measurements(options: dict) -> pd.DataFrame:
    """Make ``n_rows`` noisy measurements of a known non-linear function.

    The same ``seed`` always gives the same data; raise ``n_rows`` to make the
    pipeline as big as you like without downloading anything.
    """
    rng = np.random.default_rng(options["seed"])
    n_rows, n_features = options["n_rows"], options["n_features"]
    features = rng.uniform(-2.0, 2.0, size=(n_rows, n_features))
    weights = np.linspace(1.0, -1.0, n_features)
    # A curved target, so that a quadratic model can beat the linear ones.
    target = (
        features @ weights
        + 0.5 * (features[:, 0] ** 2)
        + rng.normal(0.0, options["noise"], size=n_rows)
    )
    data = pd.DataFrame(features, columns=[f"x{i}" for i in range(n_features)])
    data["y"] = target
    return data


def split_measurements(
    measurements: pd.DataFrame, options: dict
) -> tuple[pd.DataFrame, pd.Series, pd.DataFrame, pd.Series]:
    """Shuffle and split into train and test features and targets."""
    shuffled = measurements.sample(frac=1.0, random_state=options["seed"])
    n_test = int(len(shuffled) * options["test_fraction"])
    test, train = shuffled.iloc[:n_test], shuffled.iloc[n_test:]
    features = [column for column in measurements.columns if column != "y"]
    return train[features], train["y"], test[features], test["y"]
