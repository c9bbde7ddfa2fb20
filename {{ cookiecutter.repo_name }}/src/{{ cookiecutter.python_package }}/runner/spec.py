"""What a run sends to its workers, and how a worker rebuilds the run's catalog.

No credential travels. The client sends the catalog's configuration as its config
loader resolved it (credentials stay names such as ``credentials: my_s3``), the run's
versions, and the values of parameters; each worker reads the credentials themselves
from its own project configuration, the way a Kubernetes pod gets its own secrets.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

from kedro.config import MissingConfigException
from kedro.framework.project import configure_project, settings
from kedro.io import CatalogProtocol, DataCatalog, MemoryDataset
from kedro.io.core import TCopyMode
from kedro.pipeline import Pipeline
from kedro.utils import find_kedro_project

from .. import _kedro
from .errors import DaskRunError
from .fingerprint import Fingerprint

CREDENTIALS_KEY = "credentials"


class WorkerSetupError(DaskRunError, RuntimeError):
    """A worker cannot take part in the run: no project, a missing credential..."""


@dataclass(frozen=True)
class ProjectSource:
    """Where the run's configuration comes from, as ``kedro run`` was told."""

    project_path: str
    env: str | None = None
    conf_source: str | None = None
    runtime_params: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def current(cls, project_path: Path | None = None, **kwargs: Any) -> ProjectSource:
        path = project_path or find_kedro_project(Path.cwd()) or Path.cwd()
        return cls(project_path=str(Path(path).resolve()), **kwargs)

    def config_loader(self, project_path: Path | None = None) -> Any:
        root = project_path or Path(self.project_path)
        conf_source = self.conf_source
        if not conf_source or not Path(conf_source).exists():
            conf_source = str(root / settings.CONF_SOURCE)
        return settings.CONFIG_LOADER_CLASS(
            conf_source=conf_source,
            env=self.env,
            runtime_params=self.runtime_params,
            **settings.CONFIG_LOADER_ARGS,
        )


@dataclass(frozen=True)
class RunSpec:
    """Everything the run's node tasks share; holds no credential value."""

    token: str  # keeps concurrent runs' task keys apart
    run_id: str | None
    package_name: str | None
    hooks: bool
    is_async: bool
    client_pid: int
    source: ProjectSource
    catalog_config: dict[str, Any]  # credentials by name only
    load_versions: dict[str, str]
    save_version: str | None
    persisted: dict[str, str]  # dataset name -> its class on the client
    memory: dict[str, TCopyMode | None]  # datasets nodes fill in memory -> copy_mode
    fingerprint: Fingerprint | None  # the client's code and package versions
    fingerprint_digest: str  # what tasks carry instead: Fingerprint.digest
    version_check: str  # "error" or "warn" when a worker's fingerprint differs

    def for_nodes(self, names: set[str]) -> RunSpec:
        """What one task needs: the datasets ``names`` and the fingerprint's digest.
        Each task carries its own copy, so it stays small however big the run."""
        persisted = {n: self.persisted[n] for n in names if n in self.persisted}
        own = {n: self.catalog_config[n] for n in persisted if n in self.catalog_config}
        return replace(
            self,
            # Patterns resolve persisted datasets; in-memory data needs none.
            catalog_config={**self._entries_for_all, **own} if persisted else {},
            persisted=persisted,
            memory={n: self.memory[n] for n in names if n in self.memory},
            fingerprint=None,
        )

    @cached_property
    def _entries_for_all(self) -> dict[str, Any]:
        return {k: v for k, v in self.catalog_config.items() if _applies_to_all(k)}


def _applies_to_all(name: str) -> bool:
    """A catalog entry any dataset may need: a pattern, or a ``_`` anchor."""
    return "{" in name or name.startswith("_")


@dataclass
class PipelineData:
    """How the client's catalog holds each dataset of the pipeline."""

    persisted: dict[str, str] = field(default_factory=dict)
    memory: dict[str, TCopyMode | None] = field(default_factory=dict)
    feed: dict[str, Any] = field(
        default_factory=dict
    )  # parameters and other given values


def classify_datasets(pipeline: Pipeline, catalog: CatalogProtocol) -> PipelineData:
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
            data.persisted[name] = _class_path(dataset)
    return data


def catalog_config(source: ProjectSource, names: set[str]) -> dict[str, Any]:
    """The configuration of the datasets ``names`` (and of every pattern) for the
    run's catalog, refusing credentials written inline."""
    try:
        config = dict(source.config_loader()["catalog"])
    except MissingConfigException:
        config = {}
    config = {
        name: entry
        for name, entry in config.items()
        if name in names or _applies_to_all(name)
    }
    config = _kedro.absolute_paths(Path(source.project_path), config)
    for name, entry in config.items():
        _refuse_inline_credentials(name, entry)
    return config


def _refuse_inline_credentials(dataset: str, entry: Any) -> None:
    if not isinstance(entry, dict):
        return
    for key, value in entry.items():
        if key == CREDENTIALS_KEY and not isinstance(value, str):
            raise WorkerSetupError(
                f"Dataset '{dataset}' has its credentials written inline in the catalog. "
                "The catalog's configuration is sent to the Dask workers through the "
                "scheduler, so move them to conf/local/credentials.yml (or the "
                f"environment) and refer to them by name: `credentials: <name>`."
            )
        _refuse_inline_credentials(dataset, value)


@dataclass(frozen=True)
class WorkerCredentials:
    """A run's credentials as one worker reads them, and where it looked."""

    values: dict[str, Any]
    where: str


def worker_credentials(spec: RunSpec) -> WorkerCredentials:
    """The worker's own credentials for the run's environment."""
    if spec.package_name:
        configure_project(spec.package_name)
    loader = spec.source.config_loader(worker_project(spec))
    try:
        credentials = dict(loader["credentials"])
    except MissingConfigException:
        credentials = {}
    envs = (loader.base_env, loader.env or loader.default_run_env)
    where = " and ".join(f"{loader.conf_source}/{env}/credentials*" for env in envs)
    return WorkerCredentials(credentials, where)


def worker_catalog(spec: RunSpec, credentials: WorkerCredentials) -> CatalogProtocol:
    """The datasets of ``spec`` as a catalog on a worker, with its own credentials."""
    if not spec.persisted:
        return DataCatalog()  # a task of in-memory data only
    try:
        catalog = settings.DATA_CATALOG_CLASS.from_config(
            catalog=copy.deepcopy(spec.catalog_config),
            credentials=credentials.values,
            load_versions=spec.load_versions,
            save_version=spec.save_version,
        )
        for name, expected in spec.persisted.items():
            _check_same_dataset(catalog, name, expected)
    except KeyError as exc:
        raise WorkerSetupError(
            f"{exc.args[0] if exc.args else exc} The worker looked in "
            f"{credentials.where} and found the keys "
            f"{sorted(credentials.values) or 'none'}. Give every worker its "
            "credentials: a credentials.yml in its project's conf/, environment "
            "variables that credentials.yml reads, or the cloud provider's default chain."
        ) from None
    return catalog


def _check_same_dataset(catalog: CatalogProtocol, name: str, expected: str) -> None:
    dataset = catalog.get(name, fallback_to_runtime_pattern=True)
    found = _class_path(dataset) if dataset is not None else "missing"
    if found != expected:
        raise WorkerSetupError(
            f"Dataset '{name}' is a {expected} on the client but {found} on the worker: "
            "a hook or code that changes the catalog at run time cannot reach Dask "
            "workers. Declare the dataset in conf/ instead."
        )


def worker_project(spec: RunSpec) -> Path:
    """The worker's own project: the one it was started in (the image's WORKDIR, a
    checkout), else the client's path when this worker sees the same disk."""
    found = find_kedro_project(Path.cwd())
    if found is not None:
        return Path(found)
    client_path = Path(spec.source.project_path)
    if (client_path / "pyproject.toml").is_file():
        return client_path
    raise WorkerSetupError(
        f"This worker finds no Kedro project above its folder {Path.cwd()} or at "
        f"{client_path}: start workers from the project folder (the image's WORKDIR)."
    )


def node_catalog(
    catalog: CatalogProtocol,
    spec: RunSpec,
    node: Any,
    inputs: dict[str, Any],
    feed: dict[str, Any],
) -> DataCatalog:
    """A catalog of just the node's datasets: the run's persisted ones, fresh
    MemoryDatasets for in-memory data, and the parameters it reads."""
    datasets: dict[str, Any] = {}
    for name in (*node.inputs, *node.outputs):
        if name in feed:
            datasets[name] = MemoryDataset(data=feed[name])
        elif name in spec.memory:
            copy_mode = spec.memory[name]
            datasets[name] = (
                _kedro.memory_dataset_holding(inputs[name], copy_mode)
                if name in inputs
                else MemoryDataset(copy_mode=copy_mode)
            )
        else:
            datasets[name] = catalog.get(name, fallback_to_runtime_pattern=True)
    return DataCatalog(datasets=datasets)


def _class_path(dataset: Any) -> str:
    kind = type(dataset)
    return f"{kind.__module__}.{kind.__qualname__}"
