"""The only function the scheduler sees in this runner's tasks.

The scheduler unpickles every task it is sent. A task that named the project's own
functions would need the project (and Kedro) installed on the scheduler, and an old
scheduler would fail on new code. So each task calls ``call`` with the real function
and its fixed arguments packed as bytes that only a worker unpickles. ``call`` is
made inside a function on purpose: plain pickle cannot refer to it by name, so Dask
sends it by value, and the scheduler needs nothing but Dask to unpickle it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import cloudpickle


def pack(function: Any, *fixed: Any) -> bytes:
    """``function`` and its first arguments, as bytes for ``call``."""
    return cloudpickle.dumps((function, fixed))


def _make_call() -> Callable[..., Any]:
    def call(payload: bytes, *args: Any) -> Any:
        """On a worker: the packed function with its fixed arguments, then ``args``
        (what Dask resolved for the task: results of other tasks)."""
        import cloudpickle  # noqa: PLC0415 - sent by value, so no module globals

        function, fixed = cloudpickle.loads(payload)
        return function(*fixed, *args)

    return call


call = _make_call()
