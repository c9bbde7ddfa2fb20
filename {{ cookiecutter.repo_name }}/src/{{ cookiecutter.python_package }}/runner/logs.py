"""Show the log records of nodes running on workers in the client's console.

``Client.forward_logging`` registers a cluster-wide plugin under a fixed name, so two
runs on one cluster would receive each other's logs. Instead each node task forwards
the records of its own thread on a topic of its run's own (named after the run's
random token), which only that run's client subscribes to and clears afterwards.
Credential values of the run are blanked out of every record before it leaves.
A task that runs a fused chain of nodes also reports there which nodes completed,
so the client's progress moves with each node, not only at the end of the chain.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from distributed import Client, get_worker

TOPIC_PREFIX = "kedro-dask-run-"
# Set in the environment of the processes of a LocalCluster a run starts: the pid of
# the client that started them (see cluster.py).
LOCAL_CLUSTER_OF = "KEDRO_DASK_LOCAL_CLUSTER_OF"
_PLAIN = (str, int, float, bool, type(None))
# A fused chain reports its completed nodes at most this often: one event per node
# would cost the scheduler what fusing saved.
PROGRESS_INTERVAL_SECONDS = 0.2


class _TaskLogForwarder(logging.Handler):
    """Sends the records logged by one task's thread to the client, as events."""

    def __init__(self, token: str, scrub: Callable[[str], str]):
        super().__init__()
        self._token = token
        self._scrub = scrub
        self._thread = threading.get_ident()
        self._worker = get_worker()

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread != self._thread:
            return  # another task, maybe of another run, on this worker
        try:
            _send(self._worker, self._token, record, self._scrub)
        except Exception:
            self.handleError(record)


def topic(token: str) -> str:
    """The event topic of the run ``token``."""
    return f"{TOPIC_PREFIX}{token}"


def warn_run(worker: Any, token: str, logger: logging.Logger, message: str) -> None:
    """From a worker, outside the run's tasks: a warning for the run's client."""
    record = logger.makeRecord(
        logger.name, logging.WARNING, __file__, 0, message, (), None
    )
    _send(worker, token, record, lambda text: text)


def _send(
    worker: Any, token: str, record: logging.LogRecord, scrub: Callable[[str], str]
) -> None:
    attrs = {k: v for k, v in vars(record).items() if isinstance(v, _PLAIN)}
    text = _exception_text(record)
    attrs.update(
        msg=scrub(record.getMessage()),
        args=None,
        exc_text=scrub(text) if text else None,
        token=token,
        worker=worker.address,
    )
    worker.log_event(topic(token), attrs)


def _exception_text(record: logging.LogRecord) -> str | None:
    if record.exc_info:
        return logging.Formatter().formatException(record.exc_info)
    return record.exc_text


@contextmanager
def forward_task_logs(
    token: str,
    logger_names: tuple[str, ...],
    scrub: Callable[[str], str],
    quiet_here: bool = False,
) -> Iterator[None]:
    """On a worker: forward what the given loggers record while the task runs.

    ``quiet_here``: the worker is a process of a LocalCluster that the run's client
    started, writing to the client's terminal. Its own console output of these
    loggers would print through the client's progress bar, so it stops; the client
    prints the forwarded records instead. (The process ends with the cluster.)
    """
    handler = _TaskLogForwarder(token, scrub)
    loggers = [logging.getLogger(name) for name in logger_names]
    for forwarded in loggers:
        if forwarded.level == logging.NOTSET:
            # Workers log at WARNING by default; Kedro reports nodes at INFO.
            forwarded.setLevel(logging.INFO)
        if quiet_here:
            forwarded.propagate = False
        forwarded.addHandler(handler)
    try:
        yield
    finally:
        for forwarded in loggers:
            forwarded.removeHandler(handler)


class ChainProgress:
    """On a worker: tells the client which nodes of a fused chain have completed."""

    def __init__(self, token: str):
        self._token = token
        self._worker = get_worker()
        self._unsent: list[str] = []
        self._sent_at = time.monotonic()

    def completed(self, name: str) -> None:
        self._unsent.append(name)
        if time.monotonic() - self._sent_at >= PROGRESS_INTERVAL_SECONDS:
            self._worker.log_event(
                topic(self._token), {"token": self._token, "completed": self._unsent}
            )
            self._unsent = []
            self._sent_at = time.monotonic()


@contextmanager
def receive_task_logs(
    client: Client, token: str, on_completed: Callable[[list[str]], None]
) -> Iterator[None]:
    """On the client: log this run's forwarded records through the local loggers,
    and pass the names of completed nodes of fused chains to ``on_completed``."""

    def handle(event: tuple[float, dict[str, Any]]) -> None:
        attrs = event[1]
        if not isinstance(attrs, dict) or attrs.get("token") != token:
            return
        if "completed" in attrs:
            on_completed(list(attrs["completed"]))
            return
        record = logging.makeLogRecord(attrs)
        target = logging.getLogger(record.name)
        if target.isEnabledFor(record.levelno):
            target.handle(record)

    client.subscribe_topic(topic(token), handle)
    try:
        yield
    finally:
        client.unsubscribe_topic(topic(token))
