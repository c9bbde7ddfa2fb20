"""The example pipelines, plus the test-only ones outside __default__."""

import warnings

from kedro.framework.project import find_pipelines
from kedro.pipeline import Pipeline

from .lab import lab_pipelines, shared_cluster_pipelines


def register_pipelines() -> dict[str, Pipeline]:
    with warnings.catch_warnings():
        # `kedro run --pipelines fail` makes Kedro look for a pipelines/fail module.
        warnings.simplefilter("ignore")
        pipelines = find_pipelines(raise_errors=False)
    pipelines["__default__"] = sum(pipelines.values(), Pipeline([]))
    pipelines.update(lab_pipelines())
    pipelines.update(shared_cluster_pipelines())
    return pipelines
