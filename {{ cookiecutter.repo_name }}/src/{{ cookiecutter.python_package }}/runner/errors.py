"""Every error the runner raises on purpose. Each message says what went wrong, the
value or setting involved and the fix, so `kedro run` prints it without a traceback
(see cli.py; ``--verbose`` shows the traceback)."""


class DaskRunError(Exception):
    """An error whose message is enough."""


class DaskSettingsError(DaskRunError, ValueError):
    """A ``dask_client`` setting that cannot work; the message names the key."""


class SchedulerUnreachableError(DaskRunError, ConnectionError):
    """No Dask scheduler answered at the configured address in time."""


class SchedulerLostError(DaskRunError, ConnectionError):
    """The run's scheduler went away while the run was going on."""


class NoWorkersError(DaskRunError, TimeoutError):
    """No Dask worker joined the scheduler in time."""


class CatalogNotPortableError(DaskRunError, ValueError):
    """A dataset that Dask workers cannot rebuild exactly as the client built it."""


class WorkerSetupError(DaskRunError, RuntimeError):
    """A worker cannot take part in the run: no project, a missing credential..."""


class NoSharedDiskError(DaskRunError, RuntimeError):
    """A dataset on local disk that some workers cannot see."""


class StaleWorkerError(DaskRunError, RuntimeError):
    """A worker runs other code or package versions than the client; ``worker`` is
    its address when a worker that joined after the checks found it out itself."""

    def __init__(self, message: str, worker: str | None = None):
        super().__init__(message)
        self.worker = worker

    def __reduce__(self) -> tuple:  # the worker's address survives the trip back
        return type(self), (str(self), self.worker)


class NodeTimeoutError(DaskRunError, TimeoutError):
    """A node ran past its time limit."""


class OutputNotSerialisableError(DaskRunError, TypeError):
    """An in-memory output that Dask cannot move between processes."""


class RunStoppedError(RuntimeError):
    """A node tried to save after its run had stopped."""
