"""Connect to a Dask scheduler, or start a cluster for one run, and clean up after."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from typing import Any
from urllib.parse import urlsplit

from distributed import Client
from distributed.security import Security

from .errors import NoWorkersError, SchedulerLostError, SchedulerUnreachableError
from .jobs import JobWatch
from .logs import LOCAL_CLUSTER_OF
from .settings import ADDRESS_ENV_VAR, LOCAL_CLUSTER, DaskSettings, import_cluster_class

QUIET_ENV_VAR = "DASK_LOGGING__DISTRIBUTED"
# Closing is best effort: a slow cluster must not keep a finished run waiting.
CLOSE_TIMEOUT = 10
# How often a wait for workers looks at what the cluster's jobs are doing.
WORKER_POLL_SECONDS = 1

logger = logging.getLogger(__name__)


class Connection:
    """The run's client, and the health of the cluster behind it."""

    def __init__(self, client: Client, settings: DaskSettings, jobs: JobWatch | None):
        self.client = client
        self._settings = settings
        self._jobs = jobs
        self._no_workers_since: float | None = None

    def wait_for_a_worker(self) -> None:
        """Bounded: a cluster that never gets a worker fails the run, not hangs it;
        a batch job that cannot start fails it at once, saying why."""
        client, wait = self.client, self._settings.worker_wait
        deadline = time.monotonic() + wait
        if not client.scheduler_info().get("workers"):
            logger.info("Waiting up to %g s for a Dask worker to join", wait)
        while not client.scheduler_info().get("workers"):
            problem = self._jobs.problem() if self._jobs else None
            if problem:
                raise NoWorkersError(problem)
            if time.monotonic() > deadline:
                raise NoWorkersError(
                    f"No Dask worker joined the scheduler at {client.scheduler.address} "
                    f"within {wait:g} s (dask_client.worker_wait). Start workers "
                    "(`dask worker <address>` from the project's image or folder), or "
                    f"check dask_client.cluster_kwargs.{self._job_logs()}"
                )
            with suppress(TimeoutError):
                client.wait_for_workers(1, timeout=WORKER_POLL_SECONDS)

    def check(self) -> None:
        """Between nodes: the scheduler is still there, and so are some workers
        (or replacements come within ``worker_wait``)."""
        client = self.client
        check_connected(client)
        if client.scheduler_info().get("workers"):
            self._no_workers_since = None
            return
        now = time.monotonic()
        self._no_workers_since = self._no_workers_since or now
        if now - self._no_workers_since > self._settings.worker_wait:
            raise NoWorkersError(
                f"Every Dask worker left the scheduler at {client.scheduler.address} "
                f"during the run and none came back within "
                f"{self._settings.worker_wait:g} s (dask_client.worker_wait). Batch jobs "
                "end at their walltime, when preempted or cancelled: raise the walltime, "
                f"or set dask_client.adapt so that replacements are submitted.{self._job_logs()}"
            )

    def _job_logs(self) -> str:
        return f" {self._jobs.logs()}" if self._jobs else ""


def check_connected(client: Client) -> None:
    """Raise SchedulerLostError if the client has lost its scheduler."""
    if client.status != "running":
        raise SchedulerLostError(
            f"Lost the Dask scheduler at {client.scheduler.address} during the run "
            f"(client status: {client.status}). Nodes that were running save "
            "nothing more; rerun when the scheduler is back."
        )


@contextmanager
def connect(settings: DaskSettings) -> Iterator[Connection]:
    """A connection for this run; a cluster started here is shut down on exit."""
    security = Security(**settings.security) if settings.security else None
    jobs = None
    with ExitStack() as stack:
        # SIGTERM (a job scheduler, `kill`, `docker stop`) ends the run as Ctrl-C
        # does: a cluster started here is shut down, and nothing is left behind.
        stack.enter_context(_exit_on_sigterm())
        if settings.address:
            client = _connect_to_scheduler(settings, security)
        else:
            stack.enter_context(_quiet_cluster_logs())
            # Worker processes the cluster starts, now or later (adaptive clusters,
            # batch jobs submitted in the background), read their log level and
            # whose cluster they are from the environment: keep it for its lifetime.
            stack.enter_context(
                _environment(
                    {QUIET_ENV_VAR: "warning", LOCAL_CLUSTER_OF: str(os.getpid())}
                )
            )
            cluster = _start_cluster(settings, security)
            stack.callback(_close, cluster)
            if hasattr(cluster, "job_cls"):  # dask-jobqueue
                jobs = JobWatch(cluster)
                stack.callback(jobs.close)
            client = Client(cluster, timeout=settings.timeout, set_as_default=False)
        stack.callback(_close, client)
        _log_connection(client)
        connection = Connection(client, settings, jobs)
        connection.wait_for_a_worker()
        yield connection


def _connect_to_scheduler(settings: DaskSettings, security: Security | None) -> Client:
    try:
        return Client(
            settings.address,
            timeout=settings.timeout,
            security=security,
            set_as_default=False,
        )
    # TypeError: distributed's complaint about a tls:// address without certificates.
    except (OSError, TimeoutError, TypeError) as exc:
        raise SchedulerUnreachableError(
            f"No Dask scheduler answered at {settings.address} within "
            f"{settings.timeout:g} s ({type(exc).__name__}).\n"
            f"Start one there (`dask scheduler`), check that this machine can reach it "
            f"and dask_client.security, or change the address: dask_client.address, "
            f"--params dask_client.address=..., or ${ADDRESS_ENV_VAR}. "
            "Leave it empty to start a local cluster."
        ) from None


def _start_cluster(settings: DaskSettings, security: Security | None) -> Any:
    cluster_class = import_cluster_class(settings.cluster_class)
    kwargs = dict(settings.cluster_kwargs)
    if security:
        kwargs.setdefault("security", security)
    if settings.cluster_class == LOCAL_CLUSTER:
        # Keep a developer's cluster and dashboard off the network by default
        # (a cluster of threads talks in-process and takes no host).
        if kwargs.get("processes", True):
            kwargs.setdefault("host", "127.0.0.1")
        kwargs.setdefault("dashboard_address", "127.0.0.1:8787")
    logger.info("Starting %s for this run", settings.cluster_class)
    cluster = cluster_class(**kwargs)
    if settings.adapt:
        cluster.adapt(**settings.adapt)
    return cluster


def _log_connection(client: Client) -> None:
    info = client.scheduler_info()
    workers = info.get("workers", {})
    address = info.get("address", client.scheduler.address)
    # Behind a port mapping or NAT (a container's scheduler) the scheduler's own
    # address is not the one reached here, and neither is its dashboard's port.
    link = client.dashboard_link
    direct = urlsplit(address).netloc == urlsplit(client.scheduler.address).netloc
    logger.info(
        "Connected to Dask scheduler %s (%d workers, %d threads)%s",
        address,
        len(workers),
        sum(worker.get("nthreads", 0) for worker in workers.values()),
        f"; dashboard: {link}" if direct else "",
    )


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """``values`` set in os.environ, and the previous values back afterwards."""
    previous = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextmanager
def _exit_on_sigterm() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may handle signals
        return

    def stop(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def _quiet_cluster_logs() -> Iterator[None]:
    """A cluster started here would log its whole life at INFO in this console;
    keep its warnings (the dashboard link is logged above anyway)."""
    distributed_logger = logging.getLogger("distributed")
    level = distributed_logger.level
    distributed_logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        distributed_logger.setLevel(level)


def _close(resource: Any) -> None:
    try:
        resource.close(timeout=CLOSE_TIMEOUT)
    except Exception as exc:  # a failed shutdown must not hide the run's result
        logger.warning("Could not close %r cleanly: %s", resource, exc)
