"""Connect to a Dask scheduler, or start a cluster for one run, and clean up after."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any

from distributed import Client
from distributed.security import Security
from kedro.utils import load_obj

ADDRESS_ENV_VAR = "DASK_SCHEDULER_ADDRESS"
QUIET_ENV_VAR = "DASK_LOGGING__DISTRIBUTED"
LOCAL_CLUSTER = "distributed.LocalCluster"
# Closing is best effort: a slow cluster must not keep a finished run waiting forever.
CLOSE_TIMEOUT = 30

logger = logging.getLogger(__name__)


class SchedulerUnreachableError(ConnectionError):
    """No Dask scheduler answered at the configured address in time."""


@dataclass
class ClusterSettings:
    """The ``dask_client`` block of conf/<env>/parameters.yml, checked."""

    address: str | None = None
    cluster_class: str = LOCAL_CLUSTER
    cluster_kwargs: dict[str, Any] = field(default_factory=dict)
    adapt: dict[str, int] | None = None
    timeout: float = 10
    security: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        # An explicit address wins; otherwise the environment may point at a scheduler.
        self.address = self.address or os.environ.get(ADDRESS_ENV_VAR) or None
        self.cluster_kwargs = dict(self.cluster_kwargs or {})
        if float(self.timeout) <= 0:
            raise ValueError("dask_client.timeout must be a positive number of seconds")
        unknown = set(self.adapt or {}) - {"minimum", "maximum"}
        if unknown:
            raise ValueError(
                f"dask_client.adapt takes minimum and maximum, not {unknown}"
            )

    def describe(self) -> str:
        return self.address or f"a new {self.cluster_class}"


@contextmanager
def connect(settings: ClusterSettings) -> Iterator[Client]:
    """A client for this run; a cluster started here is shut down on exit."""
    security = Security(**settings.security) if settings.security else None
    with ExitStack() as stack:
        if settings.address:
            client = _connect_to_scheduler(settings, security)
        else:
            stack.enter_context(_quiet_cluster_logs())
            cluster = _start_cluster(settings, security)
            stack.callback(_close, cluster)
            client = Client(cluster, timeout=settings.timeout, set_as_default=False)
        stack.callback(_close, client)
        _log_connection(client)
        yield client


def _connect_to_scheduler(
    settings: ClusterSettings, security: Security | None
) -> Client:
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
            f"Could not connect to the Dask scheduler at {settings.address} within "
            f"{settings.timeout} s: {exc}\nStart one there (`dask scheduler`), check "
            f"that this machine can reach it and the TLS settings (dask_client."
            f"security), or fix the address: dask_client.address in "
            f"conf/<env>/parameters.yml, --params dask_client.address=..., or "
            f"{ADDRESS_ENV_VAR}. Leave the address empty to start a local cluster."
        ) from exc


def _start_cluster(settings: ClusterSettings, security: Security | None) -> Any:
    cluster_class = load_obj(settings.cluster_class)
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
    # Worker processes it spawns read their log level from the environment.
    previous = os.environ.get(QUIET_ENV_VAR)
    os.environ[QUIET_ENV_VAR] = "warning"
    try:
        cluster = cluster_class(**kwargs)
    finally:
        if previous is None:
            os.environ.pop(QUIET_ENV_VAR)
        else:
            os.environ[QUIET_ENV_VAR] = previous
    if settings.adapt:
        cluster.adapt(**settings.adapt)
    return cluster


def _log_connection(client: Client) -> None:
    info = client.scheduler_info()
    logger.info(
        "Connected to Dask scheduler %s (%d workers); dashboard: %s",
        info.get("address", client.scheduler.address),
        len(info.get("workers", {})),
        client.dashboard_link,
    )
    if not info.get("workers"):
        logger.warning("The scheduler has no workers yet: nodes wait until some join.")


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
