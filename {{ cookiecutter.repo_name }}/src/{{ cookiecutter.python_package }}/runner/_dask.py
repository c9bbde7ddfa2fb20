"""Every use of Dask's private or undocumented names in this project, in one place.

Each is pinned by tests/runner/test_seams.py, so a Dask release that changes one
fails there, naming it. This module is pickled by value when it reaches the
scheduler (see ``forget_client_events``), so it imports nothing of the project.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Hashable
from functools import partial
from threading import Condition
from typing import Any

import cloudpickle
from dask._task_spec import List, Task, TaskRef, parse_input
from dask.utils import apply
from distributed import as_completed

__all__ = [
    "TaskRef",
    "finished_condition",
    "forget_client_events",
    "leave_out_workers",
    "worker_task",
]


def worker_task(
    key: Hashable,
    function: Callable[..., Any],
    *fixed: Any,
    args: tuple = (),
    reads_storage: bool = False,
) -> Task:
    """A task that runs ``function(*fixed, *args)`` on a worker, which the
    scheduler can unpickle without the project or Kedro: ``dask.utils.apply`` of
    ``pickle.loads(<bytes>)``, a nested task only a worker evaluates. ``args`` may
    hold references to other tasks (``TaskRef``), which Dask resolves first.

    ``reads_storage``: the task takes no data from other tasks (it reads storage;
    its references only order it after them). Dask then places it as it places the
    tasks that read a dataset's files, on the least busy worker (``_data_producer``),
    not on the worker that ran the task before it."""
    packed = cloudpickle.dumps(partial(function, *fixed))
    return Task(
        key,
        apply,
        Task(None, pickle.loads, packed),
        List(*(parse_input(arg) for arg in args)),
        _data_producer=reads_storage,
    )


def finished_condition(finished: as_completed) -> Condition:
    """The condition ``as_completed`` notifies for every future that finishes."""
    return finished.thread_condition


def forget_client_events(
    dask_scheduler: Any, client_id: str, topic: str, prefix: str
) -> None:
    """On the scheduler: drop the per-client event topic it keeps for an hour after
    the client leaves (one event per task) and the run's log topic, so runs leave
    no memory and no log record behind; also the log topics (named ``prefix``...)
    of runs whose client is gone (killed before it could drop them itself)."""
    broker = dask_scheduler._broker
    broker.truncate(client_id)
    broker.truncate(topic)
    for name, events in list(broker._topics.items()):
        if name.startswith(prefix) and not events.subscribers & set(
            dask_scheduler.clients
        ):
            broker.truncate(name)


def leave_out_workers(
    dask_scheduler: Any, keys: list[Hashable], workers: list[str]
) -> list[str]:
    """On the scheduler: let the tasks ``keys`` run anywhere but on ``workers``
    (a task that is queued already may still go there once; it is then retried);
    return the workers they may still use. Dask's ``Client`` has no call for this."""
    left_out = set(workers)
    others = set(dask_scheduler.workers) - left_out
    for key in keys:
        task = dask_scheduler.tasks.get(key)
        if task is not None:
            task.worker_restrictions = (
                set(task.worker_restrictions) - left_out
                if task.worker_restrictions
                else set(others)
            )
    return sorted(others)
