"""The ``dask_client`` block of conf/<env>/parameters.yml, checked before anything starts.

Every problem names the key in full (``dask_client.cluster_kwargs.n_workers``) and
what is allowed, so a typo fails at once instead of as a hang or a traceback deep
inside distributed.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from distributed.comm.addressing import parse_address, parse_host_port
from distributed.comm.registry import backends
from distributed.security import Security
from kedro.utils import load_obj

from .errors import DaskRunError

PREFIX = "dask_client"
ADDRESS_ENV_VAR = "DASK_SCHEDULER_ADDRESS"
LOCAL_CLUSTER = "distributed.LocalCluster"
# What a node tag may set for its nodes: Dask task options, a time limit, and
# whether they may share a task with their chain neighbours.
TAG_OPTION_KEYS = (
    "resources",
    "retries",
    "priority",
    "workers",
    "allow_other_workers",
    "timeout",
    "fuse",
)
# What to do when a worker runs other code than the client.
VERSION_CHECKS = ("error", "warn")
# Keywords of LocalCluster and most cluster classes that count things.
_COUNT_KWARGS = ("n_workers", "threads_per_worker", "nthreads", "processes_per_worker")


class DaskSettingsError(DaskRunError, ValueError):
    """A ``dask_client`` setting that cannot work; the message names the key."""


@dataclass(frozen=True)
class DaskSettings:
    """The checked ``dask_client`` settings; see conf/dask/parameters.yml."""

    address: str | None = None
    cluster_class: str = LOCAL_CLUSTER
    cluster_kwargs: dict[str, Any] = field(default_factory=dict)
    adapt: dict[str, int] | None = None
    timeout: float = 10
    security: dict[str, Any] | None = None
    tag_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    node_timeout: float | None = None
    worker_wait: float = 60
    version_check: str = "error"
    fuse: bool = True

    def describe(self) -> str:
        return self.address or f"a new {self.cluster_class}"


KEYS = tuple(DaskSettings.__dataclass_fields__)


def scheduler_address(configured: str | None, overridden_by_params: bool) -> str | None:
    """The one place that orders the address sources: ``--params`` first, then
    $DASK_SCHEDULER_ADDRESS, then the YAML file."""
    if overridden_by_params:
        return configured or None
    return os.environ.get(ADDRESS_ENV_VAR) or configured or None


def check_settings(raw: Mapping[str, Any] | None) -> DaskSettings:
    """``raw`` as DaskSettings, or DaskSettingsError naming the first bad key."""
    raw = dict(raw or {})
    unknown = sorted(set(raw) - set(KEYS))
    if unknown:
        raise DaskSettingsError(
            f"{PREFIX}.{unknown[0]}: unknown setting; the settings are {', '.join(KEYS)}."
        )
    security = _optional_mapping(raw.get("security"), "security")
    _check_security(security)
    address = raw.get("address")
    if address is not None:
        _check_address(address, security)
    return DaskSettings(
        address=address or None,
        cluster_class=_cluster_class(raw.get("cluster_class", LOCAL_CLUSTER)),
        cluster_kwargs=_cluster_kwargs(raw.get("cluster_kwargs")),
        adapt=_adapt(raw.get("adapt")),
        timeout=_seconds(raw.get("timeout", 10), "timeout"),
        security=security,
        tag_options=_tag_options(raw.get("tag_options")),
        node_timeout=_optional_seconds(raw.get("node_timeout"), "node_timeout"),
        worker_wait=_seconds(raw.get("worker_wait", 60), "worker_wait"),
        version_check=_choice(
            raw.get("version_check", "error"), "version_check", VERSION_CHECKS
        ),
        fuse=_flag(raw.get("fuse", True), "fuse"),
    )


def _fail(key: str, problem: str) -> DaskSettingsError:
    return DaskSettingsError(f"{PREFIX}.{key}: {problem}")


def _choice(value: Any, key: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise _fail(key, f"expected one of {', '.join(allowed)}, got {value!r}.")
    return value


def _flag(value: Any, key: str) -> bool:
    if not isinstance(value, bool):
        raise _fail(key, f"expected true or false, got {value!r}.")
    return value


def _optional_mapping(value: Any, key: str) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise _fail(key, f"expected a mapping of keys to values, got {value!r}.")
    return dict(value)


def _seconds(value: Any, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise _fail(key, f"expected a positive number of seconds, got {value!r}.")
    return float(value)


def _optional_seconds(value: Any, key: str) -> float | None:
    return None if value is None else _seconds(value, key)


def _check_address(address: Any, security: dict[str, Any] | None) -> None:
    hint = "for example tcp://scheduler:8786 or tls://scheduler:8786"
    if not isinstance(address, str):
        raise _fail("address", f"expected a text address ({hint}), got {address!r}.")
    try:
        scheme, location = parse_address(address)
        parse_host_port(location)
    except ValueError as exc:
        raise _fail(
            "address", f"{address!r} is not a scheduler address ({hint}): {exc}."
        ) from None
    if scheme not in backends:
        raise _fail(
            "address",
            f"{address!r} uses the unknown protocol {scheme!r}; use one of "
            f"{', '.join(sorted(backends))}.",
        )
    if scheme == "tls" and not security:
        raise _fail(
            "security",
            f"the address {address} uses TLS, so set tls_ca_file, tls_client_cert "
            "and tls_client_key here.",
        )


def _check_security(security: dict[str, Any] | None) -> None:
    if not security:
        return
    allowed = set(Security.__slots__)
    unknown = sorted(set(security) - allowed)
    if unknown:
        raise _fail(
            f"security.{unknown[0]}",
            f"not a distributed.security.Security keyword; use {', '.join(sorted(allowed))}.",
        )
    for key, value in security.items():
        if key.endswith(("_file", "_cert", "_key")) and value is not None:
            if not isinstance(value, str) or not Path(value).is_file():
                raise _fail(f"security.{key}", f"no file at {value!r}.")


def _cluster_class(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise _fail("cluster_class", f"expected a dotted class path, got {value!r}.")
    try:
        loaded = load_obj(value)
    except Exception as exc:  # ImportError, AttributeError, ValueError...
        raise _fail(
            "cluster_class",
            f"cannot import {value!r} ({type(exc).__name__}: {exc}); install the "
            "package that provides it (dask-kubernetes, dask-jobqueue) or fix the path.",
        ) from None
    if not callable(loaded):
        raise _fail("cluster_class", f"{value!r} is not a class.")
    return value


def _cluster_kwargs(value: Any) -> dict[str, Any]:
    kwargs = _optional_mapping(value, "cluster_kwargs") or {}
    for key in _COUNT_KWARGS:
        if key in kwargs:
            count = kwargs[key]
            if isinstance(count, bool) or not isinstance(count, int) or count < 1:
                raise _fail(
                    f"cluster_kwargs.{key}",
                    f"expected a whole number >= 1, got {count!r}.",
                )
    return kwargs


def _adapt(value: Any) -> dict[str, int] | None:
    adapt = _optional_mapping(value, "adapt")
    if adapt is None:
        return None
    unknown = sorted(set(adapt) - {"minimum", "maximum"})
    if unknown:
        raise _fail(
            f"adapt.{unknown[0]}", "unknown key; adapt takes minimum and maximum."
        )
    for key, count in adapt.items():
        # At least one worker: the run checks the workers before any node starts.
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise _fail(f"adapt.{key}", f"expected a whole number >= 1, got {count!r}.")
    if adapt.get("maximum", adapt.get("minimum", 1)) < adapt.get("minimum", 1):
        raise _fail("adapt.maximum", "must not be below adapt.minimum.")
    return adapt


def _tag_options(value: Any) -> dict[str, dict[str, Any]]:
    tags = _optional_mapping(value, "tag_options") or {}
    checked: dict[str, dict[str, Any]] = {}
    for tag, given in tags.items():
        key = f"tag_options.{tag}"
        options = _optional_mapping(given, key) or {}
        unknown = sorted(set(options) - set(TAG_OPTION_KEYS))
        if unknown:
            raise _fail(
                f"{key}.{unknown[0]}",
                f"unknown option; a tag sets {', '.join(TAG_OPTION_KEYS)}.",
            )
        _check_tag_values(key, options)
        checked[str(tag)] = options
    return checked


def _check_tag_values(key: str, options: dict[str, Any]) -> None:
    resources = options.get("resources")
    if resources is not None:
        if not isinstance(resources, Mapping) or not all(
            isinstance(v, int | float) and not isinstance(v, bool) and v > 0
            for v in resources.values()
        ):
            raise _fail(
                f"{key}.resources",
                f"expected a mapping of resource names to amounts > 0, got {resources!r}.",
            )
    retries = options.get("retries")
    if retries is not None and (
        isinstance(retries, bool) or not isinstance(retries, int) or retries < 0
    ):
        raise _fail(f"{key}.retries", f"expected a whole number >= 0, got {retries!r}.")
    priority = options.get("priority")
    if priority is not None and (
        isinstance(priority, bool) or not isinstance(priority, int)
    ):
        raise _fail(f"{key}.priority", f"expected a whole number, got {priority!r}.")
    workers = options.get("workers")
    if workers is not None and not (
        isinstance(workers, str)
        or (
            isinstance(workers, list | tuple)
            and all(isinstance(w, str) for w in workers)
        )
    ):
        raise _fail(
            f"{key}.workers", f"expected an address or a list of them, got {workers!r}."
        )
    for flag in ("allow_other_workers", "fuse"):
        if flag in options:
            _flag(options[flag], f"{key}.{flag}")
    if "timeout" in options:
        _optional_seconds(options["timeout"], f"{key}.timeout")
