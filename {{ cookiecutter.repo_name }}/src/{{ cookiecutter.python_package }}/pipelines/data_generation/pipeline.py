from kedro.pipeline import Node, Pipeline

from .nodes import generate_measurements, split_measurements


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                generate_measurements,
                inputs="params:data_generation",
                outputs="measurements",
                name="generate_measurements",
            ),
            Node(
                split_measurements,
                inputs=["measurements", "params:split"],
                outputs=[
                    "train_features",
                    "train_target",
                    "test_features",
                    "test_target",
                ],
                name="split_measurements",
            ),
        ]
    )
