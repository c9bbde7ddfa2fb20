"""Functions that run on the scheduler. They are sent by value (see DaskRunner), so
the scheduler needs neither this project nor Kedro to run them."""

from __future__ import annotations

from typing import Any


def forget_client_events(dask_scheduler: Any, client_id: str) -> None:
    """Drop the per-client event topic the scheduler keeps for an hour after the
    client leaves (one event per submitted task), so runs leave no memory behind."""
    dask_scheduler._broker.truncate(client_id)
