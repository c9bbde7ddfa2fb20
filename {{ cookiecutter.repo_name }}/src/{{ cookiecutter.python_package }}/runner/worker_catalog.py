"""How a worker rebuilds a run's datasets (run_spec.py makes what it rebuilds them
from): its own project, its own credentials, and one catalog per node."""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kedro.config import MissingConfigException
from kedro.framework.project import configure_project, settings
from kedro.io import AbstractDataset, DataCatalog, MemoryDataset
from kedro.pipeline.node import Node
from kedro.utils import find_kedro_project

from . import _kedro
from .errors import CatalogNotPortableError, WorkerSetupError
from .run_spec import DatasetSpec, RunSpec, dataset_from_config, with_credentials


def worker_project() -> Path | None:
    """The project this worker was started in (the image's WORKDIR, a checkout)."""
    found = find_kedro_project(Path.cwd())
    return Path(found) if found is not None else None


def _package_of(project: Path) -> str | None:
    """The package name a Kedro project's pyproject.toml declares."""
    try:
        metadata = tomllib.loads((project / "pyproject.toml").read_text())
    except (OSError, tomllib.TOMLDecodeError):
        return None
    return metadata.get("tool", {}).get("kedro", {}).get("package_name")


def read_credentials(spec: RunSpec) -> dict[str, Any]:
    """The credentials the run's datasets name, from this worker's own
    configuration (never from the client); WorkerSetupError naming a missing one."""
    wanted = spec.credentials
    if not wanted:
        return {}
    project = worker_project()
    if spec.conf_source:
        conf_source = Path(spec.conf_source)
        if not conf_source.exists():
            raise WorkerSetupError(
                f"The run reads its configuration from --conf-source {conf_source}, "
                "which this worker does not have: give workers the same path."
            )
    elif project is None:
        raise WorkerSetupError(
            f"This worker finds no Kedro project above its folder {Path.cwd()}, so no "
            "credentials: start workers from the project folder (the image's WORKDIR)."
        )
    else:
        conf_source = project / settings.CONF_SOURCE
        found_package = _package_of(project)
        if spec.package_name and found_package != spec.package_name:
            raise WorkerSetupError(
                f"This worker was started in the project of package '{found_package}' "
                f"({project}), but the run is of '{spec.package_name}': it would read "
                "another project's credentials. Start it in this project's folder."
            )
    if spec.package_name:
        configure_project(spec.package_name)
    loader = settings.CONFIG_LOADER_CLASS(
        conf_source=str(conf_source), env=spec.env, **settings.CONFIG_LOADER_ARGS
    )
    try:
        found = dict(loader["credentials"])
    except MissingConfigException:
        found = {}
    missing = sorted(wanted - set(found))
    if missing:
        envs = (loader.base_env, loader.env or loader.default_run_env)
        where = " and ".join(f"{conf_source}/{env}/credentials*" for env in envs)
        raise WorkerSetupError(
            f"Credentials '{missing[0]}' are not on this worker: it looked in {where}. "
            "Give every worker its credentials: a credentials.yml in its project's "
            "conf/, or environment variables that credentials.yml reads."
        )
    return {name: found[name] for name in wanted}


def build_dataset(
    name: str, spec: DatasetSpec | None, credentials: dict[str, Any]
) -> AbstractDataset:
    """The dataset as the client built it, with this worker's credentials."""
    if spec is None:
        raise CatalogNotPortableError(
            f"Dataset '{name}' exists only in the client's process and this worker "
            "is not in it."
        )
    return dataset_from_config(
        name,
        with_credentials(spec.config, credentials),
        spec.load_version,
        spec.save_version,
    )


class _GuardedCatalog(DataCatalog):
    """A node's catalog that asks ``may_save`` before every save."""

    def __init__(self, datasets: dict[str, Any], may_save: Callable[[str], None]):
        super().__init__(datasets=datasets)
        self._may_save = may_save

    def save(self, name: str, data: Any) -> None:
        self._may_save(name)
        super().save(name, data)


def node_catalog(  # noqa: PLR0913
    persisted: Callable[[str], Any],
    spec: RunSpec,
    node: Node,
    inputs: dict[str, Any],
    *,
    feed: dict[str, Any] | None,
    may_save: Callable[[str], None],
) -> DataCatalog:
    """A catalog of just the node's datasets: MemoryDatasets for in-memory data,
    the others from ``persisted``, and the parameters it reads from ``feed`` (None:
    ``persisted`` is the client's own catalog, which has them). ``may_save(name)``
    raises to refuse a save."""
    datasets: dict[str, Any] = {}
    for name in {*node.inputs, *node.outputs, *node.confirms}:
        if name in spec.memory:
            copy_mode = spec.memory[name]
            datasets[name] = (
                _kedro.memory_dataset_holding(inputs[name], copy_mode)
                if name in inputs
                else MemoryDataset(copy_mode=copy_mode)
            )
        elif feed is not None and name in feed:
            datasets[name] = MemoryDataset(data=feed[name])
        elif feed is None or name in spec.persisted:
            datasets[name] = persisted(name)
    return _GuardedCatalog(datasets, may_save)
