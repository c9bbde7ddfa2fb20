"""What a worker process keeps for the runs it serves, and for how long.

A run's credentials (only those its datasets name) and the datasets built from them
stay while the run has tasks here and are dropped when it has had none for a while
(see watchdog.py), so nothing of a run outlives it, even if its client is killed.
A run whose client is this very process (a cluster of threads inside `kedro run`)
uses the client's own catalog and hooks instead, as Kedro's ThreadRunner does.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fsspec import AbstractFileSystem
from kedro.io import CatalogProtocol
from kedro.pipeline import Pipeline
from kedro.pipeline.node import Node
from pluggy import PluginManager

from .run_spec import RunSpec
from .worker_catalog import build_dataset, read_credentials

# A run's datasets and credentials are dropped this long after its last task here.
IDLE_SECONDS = 10
# Credential values shorter than this are not blanked out of messages.
MIN_SECRET_LENGTH = 6


@dataclass
class LocalRun:
    """A run whose client is this process: its catalog, hooks, and Kedro's
    release of datasets at the points its own runners release them."""

    catalog: CatalogProtocol
    hook_manager: PluginManager
    pipeline: Pipeline
    load_counts: Counter = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)
    nodes: dict[str, Node] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.load_counts.update(n for node in self.pipeline.nodes for n in node.inputs)
        self.nodes.update((node.name, node) for node in self.pipeline.nodes)

    def node_done(self, node: Node) -> None:
        inputs, outputs = self.pipeline.inputs(), self.pipeline.outputs()
        with self.lock:
            for name in node.inputs:
                self.load_counts[name] -= 1
                if self.load_counts[name] < 1 and name not in inputs:
                    self.catalog.release(name)
            for name in node.outputs:
                if self.load_counts[name] < 1 and name not in outputs:
                    self.catalog.release(name)


_local: dict[str, LocalRun] = {}


def register_local_run(token: str, run: LocalRun | None) -> None:
    """Set (or with None, forget) the run of ``token`` whose client is here."""
    if run is None:
        _local.pop(token, None)
    else:
        _local[token] = run


def local_run(token: str) -> LocalRun | None:
    return _local.get(token)


@dataclass
class _CachedRun:
    credentials: dict[str, Any]
    datasets: dict[str, Any] = field(default_factory=dict)
    users: int = 0
    last_used: float = field(default_factory=time.monotonic)


_lock = threading.Lock()
_runs: dict[str, _CachedRun] = {}  # run token -> what this worker built for it


def knows(token: str) -> bool:
    with _lock:
        return token in _runs


def checkout(spec: RunSpec) -> Callable[[str], Any]:
    """A function giving the run's persisted datasets by name, built here on first
    use with this worker's credentials. Give it back with ``give_back``."""
    with _lock:
        cached = _runs.get(spec.token)
        if cached is not None:
            cached.users += 1
    if cached is None:
        credentials = read_credentials(spec)  # reads conf/: outside the lock
        with _lock:
            cached = _runs.setdefault(spec.token, _CachedRun(credentials))
            cached.users += 1

    def dataset(name: str) -> Any:
        found = cached.datasets.get(name)
        if found is None:
            built = build_dataset(name, spec.persisted[name], cached.credentials)
            with _lock:
                found = cached.datasets.setdefault(name, built)
        return found

    return dataset


def scrubber(token: str) -> Callable[[str], str]:
    """Blanks the credential values of run ``token`` held here out of a text."""
    with _lock:
        cached = _runs.get(token)
    secrets = sorted(
        _secret_texts(cached.credentials if cached else {}), key=len, reverse=True
    )

    def scrub(text: str) -> str:
        for secret in secrets:
            text = text.replace(secret, "***")
        return text

    return scrub


def _secret_texts(value: Any) -> set[str]:
    if isinstance(value, dict):
        return (
            set().union(*(_secret_texts(v) for v in value.values())) if value else set()
        )
    if isinstance(value, list | tuple):
        return set().union(*(_secret_texts(v) for v in value)) if value else set()
    # Short values ("us-east-1", true) are settings more than secrets.
    return (
        {value} if isinstance(value, str) and len(value) >= MIN_SECRET_LENGTH else set()
    )


def give_back(token: str) -> None:
    with _lock:
        cached = _runs.get(token)
        if cached is not None:
            cached.users -= 1
            cached.last_used = time.monotonic()


def drop_idle(now: float) -> None:
    """Forget runs that have had no task here for IDLE_SECONDS, and the file
    system objects fsspec keeps (they hold the credentials they were made with)."""
    with _lock:
        idle = [
            token
            for token, cached in _runs.items()
            if cached.users <= 0 and now - cached.last_used > IDLE_SECONDS
        ]
        for token in idle:
            del _runs[token]
    if idle:
        _clear_filesystem_caches(AbstractFileSystem)


def _clear_filesystem_caches(kind: type[AbstractFileSystem]) -> None:
    kind.clear_instance_cache()
    for subclass in kind.__subclasses__():
        _clear_filesystem_caches(subclass)


def cached_runs() -> list[str]:
    """The runs this worker holds datasets of (for tests and debugging)."""
    with _lock:
        return sorted(_runs)
