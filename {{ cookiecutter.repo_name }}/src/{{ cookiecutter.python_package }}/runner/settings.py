"""The runner's settings: the ``dask_client`` block of the run's parameters, updated
key by key by the runner's own arguments (``--runner-params``), checked once, before
anything starts.

Every problem names the key in full (``dask_client.cluster_kwargs.n_workers``) and
what is allowed, so a typo fails at once instead of as a hang or a traceback deep
inside distributed.
"""

from __future__ import annotations

import inspect
import os
import signal
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from distributed import LocalCluster, Nanny, Worker
from distributed.comm.addressing import parse_address, parse_host_port
from distributed.comm.registry import backends
from distributed.security import Security
from kedro.utils import load_obj

from .errors import DaskSettingsError

PREFIX = "dask_client"
ADDRESS_ENV_VAR = "DASK_SCHEDULER_ADDRESS"
LOCAL_CLUSTER = "distributed.LocalCluster"


@dataclass(frozen=True)
class DaskSettings:
    """The checked settings; conf/dask/parameters.yml says what each one does."""

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


KEYS = tuple(f.name for f in fields(DaskSettings))


def merge(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` updated by ``overrides`` key by key, at every depth (as ``--params``
    updates parameters)."""
    merged = dict(base)
    for key, value in overrides.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def resolve(
    configured: Mapping[str, Any] | None,
    overrides: Mapping[str, Any],
    address_given: bool,
) -> DaskSettings:
    """The run's settings: ``configured`` (the parameters' block) updated by
    ``overrides``, then checked. The address: one given for this run
    (``address_given``: by ``overrides`` or ``--params``; empty means "start a
    cluster"), else $DASK_SCHEDULER_ADDRESS, else the configured one."""
    raw = merge(configured or {}, overrides)
    if not (address_given or "address" in overrides):
        raw["address"] = os.environ.get(ADDRESS_ENV_VAR) or raw.get("address")
    return check(raw)


def check(raw: Mapping[str, Any]) -> DaskSettings:
    """``raw`` as DaskSettings, or DaskSettingsError naming the first bad key."""
    unknown = sorted(set(raw) - set(KEYS))
    if unknown:
        raise _fail(unknown[0], f"unknown setting; the settings are {', '.join(KEYS)}.")
    # None (and an empty address) leave the default.
    values = {key: raw[key] for key in KEYS if raw.get(key) not in (None, "")}
    for key, checker in _CHECKS.items():
        if key in values:
            values[key] = checker(key, values[key])
    settings = DaskSettings(**values)
    _check_together(settings)
    return settings


def _fail(key: str, problem: str) -> DaskSettingsError:
    return DaskSettingsError(f"{PREFIX}.{key}: {problem}")


# Checkers: (key, value) -> the value to keep, or DaskSettingsError naming the key.
Checker = Callable[[str, Any], Any]


def _whole(minimum: int | None) -> Checker:
    def checked(key: str, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _fail(key, f"expected a whole number, got {value!r}.")
        if minimum is not None and value < minimum:
            raise _fail(key, f"expected a whole number >= {minimum}, got {value!r}.")
        return value

    return checked


def _seconds(key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise _fail(key, f"expected a positive number of seconds, got {value!r}.")
    return float(value)


def _flag(key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise _fail(key, f"expected true or false, got {value!r}.")
    return value


def _choice(*allowed: str) -> Checker:
    def checked(key: str, value: Any) -> str:
        if value not in allowed:
            raise _fail(key, f"expected one of {', '.join(allowed)}, got {value!r}.")
        return value

    return checked


def _mapping(key: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise _fail(key, f"expected a mapping of keys to values, got {value!r}.")
    return dict(value)


def _keys_of(table: Mapping[str, Checker], what: str) -> Checker:
    """A mapping whose keys are ``table``'s, each checked by its checker."""

    def checked(key: str, value: Any) -> dict[str, Any]:
        given = _mapping(key, value)
        for name, item in given.items():
            if name not in table:
                raise _fail(f"{key}.{name}", f"unknown key; {what} {', '.join(table)}.")
            given[name] = table[name](f"{key}.{name}", item)
        return given

    return checked


def _address(key: str, value: Any) -> str:
    hint = "for example tcp://scheduler:8786 or tls://scheduler:8786"
    if not isinstance(value, str):
        raise _fail(key, f"expected a text address ({hint}), got {value!r}.")
    try:
        scheme, location = parse_address(value)
        if scheme != "inproc":  # a cluster of threads in this process has no port
            parse_host_port(location)
    except ValueError as exc:
        raise _fail(
            key, f"{value!r} is not a scheduler address ({hint}): {exc}."
        ) from None
    if scheme not in backends:
        raise _fail(
            key, f"{value!r} uses the unknown protocol {scheme!r}; use one of "
            f"{', '.join(sorted(backends))}.",
        )  # fmt: skip
    return value


def _security(key: str, value: Any) -> dict[str, Any]:
    given = _mapping(key, value)
    allowed = sorted(Security.__slots__)
    for name, item in given.items():
        if name not in allowed:
            raise _fail(
                f"{key}.{name}",
                f"not a distributed.security.Security keyword; use {', '.join(allowed)}.",
            )
        if name.endswith(("_file", "_cert", "_key")) and item is not None:
            if not isinstance(item, str) or not Path(item).is_file():
                raise _fail(f"{key}.{name}", f"no file at {item!r}.")
    return given


def _dotted_path(key: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise _fail(key, f"expected a dotted class path, got {value!r}.")
    return value


def _resources(key: str, value: Any) -> dict[str, float]:
    given = _mapping(key, value)
    if not all(
        isinstance(v, int | float) and not isinstance(v, bool) and v > 0
        for v in given.values()
    ):
        raise _fail(key, f"expected resource names with amounts > 0, got {value!r}.")
    return given


def _workers(key: str, value: Any) -> list[str]:
    listed = [value] if isinstance(value, str) else value
    if not isinstance(listed, list | tuple) or not all(
        isinstance(w, str) for w in listed
    ):
        raise _fail(key, f"expected an address or a list of them, got {value!r}.")
    return list(listed)


# What a node tag may set for its nodes: Dask task options, a time limit, and
# whether they may share a task with their chain neighbours.
TAG_OPTIONS: dict[str, Checker] = {
    "resources": _resources,
    "retries": _whole(0),
    "priority": _whole(None),
    "workers": _workers,
    "allow_other_workers": _flag,
    "timeout": _seconds,
    "fuse": _flag,
}
# Counts that LocalCluster and most cluster classes take.
_COUNTS: dict[str, Checker] = {
    "n_workers": _whole(0),
    "threads_per_worker": _whole(1),
    "nthreads": _whole(1),
}


def _tag_options(key: str, value: Any) -> dict[str, dict[str, Any]]:
    per_tag = _keys_of(TAG_OPTIONS, "a tag sets")
    return {
        str(tag): per_tag(f"{key}.{tag}", opts)
        for tag, opts in _mapping(key, value).items()
    }


def _cluster_kwargs(key: str, value: Any) -> dict[str, Any]:
    given = _mapping(key, value)
    for name, count in given.items():
        if name in _COUNTS:
            _COUNTS[name](f"{key}.{name}", count)
    return given


_CHECKS: dict[str, Checker] = {
    "address": _address,
    "cluster_class": _dotted_path,
    "cluster_kwargs": _cluster_kwargs,
    "adapt": _keys_of({"minimum": _whole(1), "maximum": _whole(1)}, "adapt takes"),
    "timeout": _seconds,
    "security": _security,
    "tag_options": _tag_options,
    "node_timeout": _seconds,
    "worker_wait": _seconds,
    "version_check": _choice("error", "warn"),
    "fuse": _flag,
}


def _check_together(settings: DaskSettings) -> None:
    """What single keys cannot show: TLS needs certificates, and a cluster to start
    needs a class that exists and takes the keywords given."""
    if (
        settings.address
        and settings.address.startswith("tls://")
        and not settings.security
    ):
        raise _fail(
            "security",
            f"the address {settings.address} uses TLS, so set tls_ca_file, "
            "tls_client_cert and tls_client_key here.",
        )
    adapt = settings.adapt or {}
    if adapt.get("maximum", adapt.get("minimum", 1)) < adapt.get("minimum", 1):
        raise _fail("adapt.maximum", "must not be below adapt.minimum.")
    if settings.address:
        return  # nothing to start
    try:
        cluster_class = import_cluster_class(settings.cluster_class)
    except Exception as exc:  # ImportError, AttributeError, ValueError...
        raise _fail(
            "cluster_class",
            f"cannot import {settings.cluster_class!r} ({type(exc).__name__}: {exc}); "
            "install the package that provides it (dask-kubernetes, dask-jobqueue) "
            "or fix the path.",
        ) from None
    if not inspect.isclass(cluster_class):
        raise _fail("cluster_class", f"{settings.cluster_class!r} is not a class.")
    accepted = cluster_keywords(cluster_class)
    unknown = sorted(
        set(settings.cluster_kwargs) - (accepted or set(settings.cluster_kwargs))
    )
    if unknown and accepted:
        raise _fail(
            f"cluster_kwargs.{unknown[0]}",
            f"{settings.cluster_class} takes no such keyword. Did you mean "
            f"{_closest(unknown[0], accepted)}? It takes: {', '.join(sorted(accepted))}.",
        )


def import_cluster_class(path: str) -> Any:
    """The class at ``path``, keeping this process's Ctrl-C handler: importing
    dask_jobqueue 0.9 replaces it with one that exits with status 0."""
    handler = signal.getsignal(signal.SIGINT)
    try:
        return load_obj(path)
    finally:
        if signal.getsignal(signal.SIGINT) is not handler and handler is not None:
            if threading.current_thread() is threading.main_thread():
                signal.signal(signal.SIGINT, handler)


def cluster_keywords(cluster_class: type) -> set[str] | None:
    """The keywords a cluster class accepts, following the ``**kwargs`` it hands to
    its workers (LocalCluster) or jobs (dask-jobqueue's ``job_cls``); None when it
    takes any keyword."""
    own = _keywords(cluster_class)
    if issubclass(cluster_class, LocalCluster):
        targets: list[type] = [Nanny, Worker]
    elif isinstance(job_class := getattr(cluster_class, "job_cls", None), type):
        targets = [job_class]
    else:
        return own
    found = [own or set(), *(_keywords(target) for target in targets)]
    if any(names is None for names in found):
        return None
    return set().union(*found)  # type: ignore[arg-type]


def _keywords(target: type) -> set[str] | None:
    """Keywords of ``target``'s constructor, following ``**kwargs`` up its bases."""
    names: set[str] = set()
    for klass in inspect.getmro(target):
        init = vars(klass).get("__init__")
        if init is None or klass is object:
            continue
        parameters = inspect.signature(init).parameters.values()
        names |= {
            p.name
            for p in parameters
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name != "self"
        }
        if not any(p.kind == p.VAR_KEYWORD for p in parameters):
            return names
    return None


# What other tools call some cluster keywords (Slurm's partition is dask-jobqueue's queue).
_KNOWN_AS = {
    "partition": "queue",
    "time": "walltime",
    "mem": "memory",
    "workers": "n_workers",
}


def _closest(name: str, choices: set[str]) -> str:
    from difflib import get_close_matches  # noqa: PLC0415 - only on this error

    if _KNOWN_AS.get(name) in choices:
        return repr(_KNOWN_AS[name])
    found = get_close_matches(name, sorted(choices), n=1)
    return repr(found[0]) if found else "another one"
