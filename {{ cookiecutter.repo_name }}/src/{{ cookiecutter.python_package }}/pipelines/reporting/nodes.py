import pandas as pd


def compare_models(**metrics_by_model: dict[str, float]) -> pd.DataFrame:
    """One row per candidate, best (lowest test RMSE) first."""
    comparison = pd.DataFrame.from_dict(metrics_by_model, orient="index")
    comparison.index.name = "model"
    return comparison.sort_values("rmse").reset_index()


def select_best_model(comparison: pd.DataFrame) -> dict:
    """A small summary for humans and for downstream jobs."""
    best = comparison.iloc[0]
    return {
        "best_model": str(best["model"]),
        "rmse": float(best["rmse"]),
        "r2": float(best["r2"]),
        "candidates": len(comparison),
    }
