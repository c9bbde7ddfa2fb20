"""Run Kedro pipelines on a Dask cluster: ``kedro run --env dask``, or
``kedro run --runner {{ cookiecutter.python_package }}.runner.DaskRunner``.

This package is the project's own copy, taken from the kedro-dask starter (see
``__version__``); `make update-starter` brings the starter's later fixes.
"""

from .dask_runner import DaskRunner
from .errors import (
    CatalogNotPortableError,
    DaskRunError,
    DaskSettingsError,
    NodeTimeoutError,
    NoSharedDiskError,
    NoWorkersError,
    OutputNotSerialisableError,
    RunStoppedError,
    SchedulerLostError,
    SchedulerUnreachableError,
    StaleWorkerError,
    WorkerSetupError,
)
from .hooks import DaskRunnerHooks

__version__ = "{{ cookiecutter._starter_version }}"

__all__ = [
    "CatalogNotPortableError",
    "DaskRunError",
    "DaskRunner",
    "DaskRunnerHooks",
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
