"""Run Kedro pipelines on a Dask cluster: ``kedro run --runner=<package>.runner.DaskRunner``."""

from .cluster import SchedulerUnreachableError
from .dask_runner import DaskRunner

__all__ = ["DaskRunner", "SchedulerUnreachableError"]
