"""Load what a deployment is made from: a pipeline, the catalog of an environment
and that environment's deploy settings (``conf/<env>/deploy.yml``)."""

from __future__ import annotations

import contextlib
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kedro.config import MissingConfigException
from kedro.framework.project import pipelines
from kedro.framework.session import KedroSession
from kedro.io import DataCatalog
from kedro.pipeline import Pipeline

DEFAULT_PIPELINE = "__default__"
DEPLOY_CONFIG_PATTERNS = ["deploy*", "deploy*/**"]


class DeployError(Exception):
    """A deployment cannot be made as asked; the message says why."""


@dataclass(frozen=True)
class Project:
    path: Path
    pipeline_name: str
    pipeline: Pipeline
    catalog: DataCatalog
    env: str | None  # as given: None lets each task pick $KEDRO_ENV or the default
    run_env: str  # the environment this process loaded
    settings: dict[str, Any]


def load_project(
    pipeline_name: str | None = None,
    env: str | None = None,
    project_path: Path | None = None,
) -> Project:
    """Read the pipeline, catalog and deploy settings, as ``kedro run`` would.

    Args:
        pipeline_name: A registered pipeline; None for ``__default__``.
        env: The configuration environment; None for Kedro's default.
        project_path: The project's root folder; None for the current folder.

    Raises:
        DeployError: An unknown pipeline, or a catalog that is not a DataCatalog.
    """
    path = Path(project_path or Path.cwd()).resolve()
    name = pipeline_name or DEFAULT_PIPELINE
    # Kedro logs to stdout: send it to stderr so stdout carries only our output.
    with contextlib.redirect_stdout(sys.stderr):
        with KedroSession.create(project_path=path, env=env) as session:
            assert isinstance(session, KedroSession)
            context = session.load_context()
            loader = context.config_loader
            settings = _deploy_settings(loader)
            catalog = context.catalog
        if not isinstance(catalog, DataCatalog):
            raise DeployError(
                f"kedro deploy reads the catalog's configuration, which needs Kedro's "
                f"DataCatalog (or a subclass); settings.DATA_CATALOG_CLASS is "
                f"{type(catalog).__name__}."
            )
        run_env = loader.env or getattr(loader, "default_run_env", "") or "base"
        pipeline = pipelines.get(name)
    if pipeline is None:
        known = ", ".join(sorted(pipelines))
        raise DeployError(f"No pipeline named '{name}'. Known pipelines: {known}.")
    return Project(path, name, pipeline, catalog, env, run_env, settings)


def _deploy_settings(config_loader: Any) -> dict[str, Any]:
    config_loader.config_patterns.setdefault("deploy", DEPLOY_CONFIG_PATTERNS)
    try:
        return dict(config_loader["deploy"])
    except MissingConfigException:
        return {}
