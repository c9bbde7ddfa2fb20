from kedro.pipeline import Node, Pipeline

from ..model_selection.pipeline import CANDIDATES
from .nodes import compare_models, select_best_model


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                compare_models,
                inputs={candidate: f"{candidate}_metrics" for candidate in CANDIDATES},
                outputs="model_comparison",
                name="compare_models",
            ),
            Node(
                select_best_model,
                inputs="model_comparison",
                outputs="best_model",
                name="select_best_model",
            ),
        ]
    )
