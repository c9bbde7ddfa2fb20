"""What a run sends its workers, made on the client from the catalog it was given.

Workers rebuild each persisted dataset exactly as the client's catalog holds it:
from Kedro's own ``to_config()`` of that dataset, with local paths made absolute and
its credentials replaced by their configured name. No credential value travels:
each worker reads the named credentials from its own configuration. A dataset that
cannot be rebuilt exactly (made with objects Kedro cannot describe, changed after it
was made, or with credentials that exist only in this process) is not portable: only
workers inside the client's process may run it (they use the client's own objects),
and any other worker refuses the run before any node, naming it.
"""

from __future__ import annotations

import copy
import inspect
import re
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

from kedro.io import AbstractDataset, CatalogProtocol, DataCatalog, MemoryDataset
from kedro.io.core import TCopyMode, get_protocol_and_path, parse_dataset_definition
from kedro.pipeline import Pipeline

from . import _kedro
from .hooks import RunContext

CREDENTIALS_KEY = "credentials"
PATH_KEYS = ("filepath", "path")
# What Kedro's default runtime pattern makes of a dataset no pattern of the catalog names.
MEMORY_CONFIG = {"type": "kedro.io.MemoryDataset"}


@dataclass(frozen=True)
class DatasetSpec:
    """How a worker rebuilds one persisted dataset."""

    config: dict[str, Any]  # credentials by name only
    load_version: str | None = None
    save_version: str | None = None


@dataclass(frozen=True)
class RunSpec:
    """Everything a run's tasks share; holds no credential value. Each task
    carries its own copy, cut down to its own datasets (``for_nodes``)."""

    token: str  # keeps concurrent runs' task keys apart
    run_id: str | None
    package_name: str | None  # the Kedro project whose hooks run on workers
    hooks: bool
    is_async: bool
    client_pid: int
    env: str | None
    conf_source: str | None  # None: each worker's own project conf folder
    persisted: dict[str, DatasetSpec | None]  # None: not portable (see module)
    memory: dict[str, TCopyMode | None]  # datasets nodes fill in memory
    fingerprint: str  # digest of the client's code and package versions
    version_check: str  # "error" or "warn" when a worker's fingerprint differs

    @property
    def credentials(self) -> set[str]:
        """The names of the credentials the run's datasets use."""
        return {
            name
            for spec in self.persisted.values()
            if spec is not None
            for name in _credential_names(spec.config)
        }

    def for_nodes(self, names: set[str]) -> RunSpec:
        """What a task of the datasets ``names`` needs."""
        return replace(
            self,
            persisted={n: self.persisted[n] for n in names if n in self.persisted},
            memory={n: self.memory[n] for n in names if n in self.memory},
        )


@dataclass
class PipelineData:
    """How the client's catalog holds each dataset of the pipeline."""

    persisted: dict[str, DatasetSpec | None] = field(default_factory=dict)
    not_portable: dict[str, str] = field(default_factory=dict)  # name -> why
    memory: dict[str, TCopyMode | None] = field(default_factory=dict)
    feed: dict[str, Any] = field(default_factory=dict)  # parameters, given values


def add_memory_datasets(pipeline: Pipeline, catalog: CatalogProtocol) -> None:
    """Adds the MemoryDataset that Kedro's run() would make from its default runtime
    pattern for each dataset a node produces and the catalog does not have. Kedro
    would look ``kedro.io.MemoryDataset`` up through its package prefixes for each
    one, two failed imports every time: on a 1,000-node pipeline most of the cost
    of a run before its graph is sent. Anything a user pattern or another runtime
    pattern decides is left to Kedro, and so is a missing pipeline input."""
    if not isinstance(catalog, DataCatalog):
        return
    resolver = catalog.config_resolver
    for name in pipeline.datasets() - pipeline.inputs():
        if name not in catalog and resolver.resolve_pattern(name) == MEMORY_CONFIG:
            catalog[name] = MemoryDataset()


def classify_datasets(
    pipeline: Pipeline, catalog: CatalogProtocol, context: RunContext | None
) -> PipelineData:
    produced = {name for node in pipeline.nodes for name in node.outputs}
    data = PipelineData()
    for name in sorted(pipeline.datasets()):
        dataset = catalog.get(name, fallback_to_runtime_pattern=True)
        if isinstance(dataset, MemoryDataset):
            if name in produced or not dataset.exists():
                data.memory[name] = _kedro.memory_copy_mode(dataset)
            else:
                data.feed[name] = _kedro.memory_data(dataset)
        elif dataset is not None:
            spec = portable(name, dataset, context)
            if isinstance(spec, str):
                data.not_portable[name] = spec
            data.persisted[name] = spec if isinstance(spec, DatasetSpec) else None
    return data


def portable(name: str, dataset: Any, context: RunContext | None) -> DatasetSpec | str:
    """How a worker rebuilds ``dataset`` exactly, or why it cannot."""
    try:
        configs, credentials, _, _ = DataCatalog(datasets={name: dataset}).to_config()
        config = _keywords_flattened(type(dataset), configs[name])
    except Exception as exc:
        return (
            f"Kedro cannot describe it as configuration ({type(exc).__name__}: {exc})"
        )
    load_version, save_version = _kedro.dataset_versions(dataset)
    if config.get("versioned") and save_version is None:
        # Every worker saves under one version, as one process would.
        save_version = dataset.resolve_save_version()
    try:
        rebuilt = dataset_from_config(
            name, with_credentials(config, credentials), load_version, save_version
        )
    except Exception as exc:
        return f"it cannot be rebuilt from its configuration ({type(exc).__name__})"
    if _without_save_version(repr(rebuilt)) != _without_save_version(repr(dataset)):
        return "it was changed after it was made, so its configuration no longer describes it"
    for reference, value in credentials.items():
        known = context.credentials_name(value) if context else None
        if known is None:
            return (
                "its credentials are not among the configured ones: workers read "
                "credentials by name from their own conf/<env>/credentials*, so "
                "declare them there and refer to them by name (credentials: <name>)"
                + ("" if context else "; add DaskRunnerHooks() to HOOKS in settings.py")
            )
        config = _renamed(config, reference, known)
    inline = _inline_secret(config)
    if inline:
        return inline
    return DatasetSpec(_absolute_paths(config), load_version, save_version)


def dataset_from_config(
    name: str,
    config: dict[str, Any],
    load_version: str | None = None,
    save_version: str | None = None,
) -> AbstractDataset:
    """Kedro's ``AbstractDataset.from_config``, with the class its ``type`` names
    looked up once per process: Kedro tries each of its package prefixes in turn,
    failed imports included, for every dataset it builds."""
    kind = config.get("type")
    if isinstance(kind, str):
        with suppress(Exception):  # a type Kedro cannot find: its own error below
            config = config | {"type": _dataset_class(kind)}
    return AbstractDataset.from_config(name, config, load_version, save_version)


@cache
def _dataset_class(path: str) -> type[AbstractDataset]:
    return parse_dataset_definition({"type": path})[0]


def _keywords_flattened(kind: type, config: dict[str, Any]) -> dict[str, Any]:
    """Kedro records a subclass's ``**kwargs`` under their parameter's name (as
    ``kwargs: {...}``): pass them on as keywords, as they were given."""
    for parameter in inspect.signature(kind).parameters.values():
        given = config.get(parameter.name)
        if parameter.kind == parameter.VAR_KEYWORD and isinstance(given, Mapping):
            config = {k: v for k, v in config.items() if k != parameter.name} | dict(
                given
            )
            if config.pop("version", None):  # as Kedro does for its own keywords
                config["versioned"] = True
            config.pop("metadata", None)
    return config


def _without_save_version(description: str) -> str:
    """A dataset's repr, but for the save version (a new dataset makes its own)."""
    return re.sub(r"save=(None|'[^']*')", "save=", description)


def _credential_values(config: Any) -> list[Any]:
    """Every value under a ``credentials`` key, at any depth."""
    if not isinstance(config, Mapping):
        return []
    found = []
    for key, value in config.items():
        if key == CREDENTIALS_KEY:
            found.append(value)
        else:
            found += _credential_values(value)
    return found


# Keys whose text values are secrets wherever they are (s3fs's secret, passwords...).
SECRET_KEYS = (
    "secret", "password", "passwd", "token", "secret_access_key",
    "aws_secret_access_key", "client_secret", "sas_token", "account_key", "private_key",
)  # fmt: skip


def _inline_secret(config: dict[str, Any]) -> str | None:
    """Why ``config`` would carry a secret through the scheduler, if it would."""
    if any(
        v is not None and not isinstance(v, str) for v in _credential_values(config)
    ):
        return "it has credentials written inline in its configuration"
    inline = _secret_settings(config)
    if inline:
        return (
            f"it has a secret written inline ('{inline[0]}'), which would travel "
            "through the scheduler: move it to credentials.yml and name it there"
        )
    return None


def _secret_settings(config: Any, path: str = "") -> list[str]:
    """Where, outside ``credentials``, a configuration holds a secret-looking text."""
    if not isinstance(config, Mapping):
        return []
    found = []
    for key, value in config.items():
        where = f"{path}.{key}" if path else str(key)
        if key == CREDENTIALS_KEY:
            continue
        if str(key).lower() in SECRET_KEYS and isinstance(value, str) and value:
            found.append(where)
        found += _secret_settings(value, where)
    return found


def _credential_names(config: Any) -> list[str]:
    return [v for v in _credential_values(config) if isinstance(v, str)]


def _renamed(config: Any, reference: str, name: str) -> Any:
    """``config`` with the credentials ``reference`` renamed ``name``."""
    if not isinstance(config, Mapping):
        return config
    return {
        k: name
        if k == CREDENTIALS_KEY and v == reference
        else _renamed(v, reference, name)
        for k, v in config.items()
    }


def with_credentials(config: Any, values: Mapping[str, Any]) -> Any:
    """``config`` with each credentials name replaced by its value in ``values``;
    KeyError naming the name when ``values`` lacks it."""
    if not isinstance(config, Mapping):
        return config
    resolved = {}
    for key, value in config.items():
        if key == CREDENTIALS_KEY and isinstance(value, str):
            if value not in values:
                raise KeyError(value)
            resolved[key] = copy.deepcopy(values[value])
        else:
            resolved[key] = with_credentials(value, values)
    return resolved


def _absolute_paths(config: Any) -> Any:
    """Relative local paths made absolute, as this process reads them: a worker
    started in another folder must read and write the same files."""
    if not isinstance(config, Mapping):
        return config
    fixed = {}
    for key, value in config.items():
        if key in PATH_KEYS and isinstance(value, str) and value:
            protocol, path = get_protocol_and_path(value)
            relative = (
                protocol == "file"
                and "://" not in value
                and not Path(path).is_absolute()
            )
            fixed[key] = str(Path(path).absolute()) if relative else value
        else:
            fixed[key] = _absolute_paths(value)
    return fixed
