"""Run Kedro pipelines on a Dask cluster: ``kedro run --runner=<package>.runner.DaskRunner``."""

from .cluster import NoWorkersError, SchedulerLostError, SchedulerUnreachableError
from .dask_runner import DaskRunner
from .errors import DaskRunError
from .preflight import NoSharedDiskError
from .settings import DaskSettingsError
from .spec import WorkerSetupError
from .worker import (
    NodeTimeoutError,
    OutputNotSerialisableError,
    RunStoppedError,
    StaleWorkerError,
)

__all__ = [
    "DaskRunError",
    "DaskRunner",
    "DaskSettingsError",
    "NoSharedDiskError",
    "NoWorkersError",
    "NodeTimeoutError",
    "OutputNotSerialisableError",
    "RunStoppedError",
    "SchedulerLostError",
    "SchedulerUnreachableError",
    "StaleWorkerError",
    "WorkerSetupError",
]
