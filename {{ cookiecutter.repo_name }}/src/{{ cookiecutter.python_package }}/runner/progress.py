"""How a run is going: completed nodes out of the total (a progress bar on a terminal,
log lines elsewhere), and where its time went."""

from __future__ import annotations

import logging
import queue
import time
from collections.abc import Iterable
from types import TracebackType

from distributed import Client, Future, as_completed
from rich import get_console
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

from ._dask import finished_condition


class NodeProgress:
    def __init__(
        self, total: int, logger: logging.Logger, console: Console | None = None
    ):
        self._total = total
        self._done = 0
        self._logger = logger
        # The console Kedro's rich log handler writes to: log lines (the workers'
        # included) then print above the bar instead of through it.
        console = console or _logging_console() or get_console()
        self._bar = (
            Progress(
                "[progress.description]{task.description}",
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=console,
                transient=True,
            )
            if console.is_terminal
            else None
        )
        self._task = (
            self._bar.add_task("Dask nodes", total=total) if self._bar else None
        )

    def __enter__(self) -> NodeProgress:
        if self._bar:
            self._bar.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._bar:
            self._bar.stop()

    def node_completed(self, name: str) -> None:
        self._done += 1
        self._logger.info("Completed node: %s", name)
        if self._bar is not None and self._task is not None:
            self._bar.advance(self._task)
        else:
            self._logger.info("Completed %d out of %d nodes", self._done, self._total)


def _logging_console() -> Console | None:
    """The rich console of the first rich handler on the root or kedro logger."""
    for name in ("", "kedro"):
        for handler in logging.getLogger(name).handlers:
            console = getattr(handler, "console", None)
            if isinstance(console, Console):
                return console
    return None


class PhaseTimer:
    """Seconds spent in each phase of a run (``DaskRunner.phases``): time since the
    previous lap counts towards ``name``."""

    def __init__(self) -> None:
        self.phases: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.phases[name] = self.phases.get(name, 0.0) + now - self._last
        self._last = now


class CompletionReports:
    """Tasks that finished and nodes that completed inside fused chains, as they
    happen. ``as_completed`` follows the futures on the client's event loop and hands
    them over in batches: a done-callback per future would cost a coroutine and a
    hand-off to another thread each, most of the client's time on a wide pipeline."""

    def __init__(self, client: Client):
        self._finished = as_completed(loop=client.loop)
        self._wake = finished_condition(self._finished)
        self._names: queue.SimpleQueue[list[str]] = queue.SimpleQueue()

    def follow(self, futures: Iterable[Future]) -> None:
        self._finished.update(futures)

    def nodes_completed(self, names: list[str]) -> None:
        """From the event loop's thread: nodes a fused chain reports."""
        self._names.put(names)
        with self._wake:
            self._wake.notify()

    def wait(self, timeout: float) -> tuple[list[Future], list[str]]:
        """What arrived, waiting up to ``timeout`` seconds for anything at all."""
        with self._wake:
            if not self._finished.has_ready() and self._names.empty():
                self._wake.wait(timeout)
        names: list[str] = []
        while not self._names.empty():
            names += self._names.get()
        return self._finished.next_batch(block=False), names
