"""Dask tasks whose function the scheduler never has to import.

The scheduler unpickles every task it is sent. A task that named the project's own
functions would need the project (and Kedro) installed on the scheduler, and an old
scheduler would fail on new code. So the real function and its fixed arguments
travel as bytes, and the task itself is made of names every scheduler has:
``dask.utils.apply`` called with ``pickle.loads(<bytes>)``, a nested task that only
a worker evaluates. Nothing is sent by value, so the scheduler does not rebuild and
re-pickle a function for every task either.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Hashable
from functools import partial
from typing import Any

import cloudpickle
from dask._task_spec import List, Task, parse_input
from dask.utils import apply


def worker_task(
    key: Hashable, function: Callable[..., Any], *fixed: Any, args: tuple = ()
) -> Task:
    """A task that runs ``function(*fixed, *args)`` on a worker; ``args`` may hold
    references to other tasks (``TaskRef``), which Dask resolves first."""
    packed = cloudpickle.dumps(partial(function, *fixed))
    return Task(
        key,
        apply,
        Task(None, pickle.loads, packed),
        List(*(parse_input(arg) for arg in args)),
    )
