from kedro.pipeline import Node, Pipeline

from .nodes import evaluate_model, fit_model

# One namespace per candidate: the same nodes, each with its own parameters and
# outputs, and no data flowing between candidates, so they can run side by side.
# Each candidate's metrics leave its namespace as "<candidate>_metrics".
CANDIDATES = ("linear", "ridge", "quadratic")


def _candidate_template() -> Pipeline:
    return Pipeline(
        [
            Node(
                fit_model,
                inputs=[
                    "train_features",
                    "train_target",
                    "params:model_options",
                    "params:bootstrap",
                ],
                outputs="model",
                name="fit_model",
            ),
            Node(
                evaluate_model,
                inputs=["model", "test_features", "test_target"],
                outputs="metrics",
                name="evaluate_model",
            ),
        ]
    )


def create_pipeline(**kwargs) -> Pipeline:
    shared_inputs = {"train_features", "train_target", "test_features", "test_target"}
    return sum(
        Pipeline(
            _candidate_template(),
            namespace=candidate,
            inputs=shared_inputs,
            parameters={"params:bootstrap"},  # one setting for every candidate
            outputs={"metrics": f"{candidate}_metrics"},
            tags=["model_selection"],
        )
        for candidate in CANDIDATES
    )
