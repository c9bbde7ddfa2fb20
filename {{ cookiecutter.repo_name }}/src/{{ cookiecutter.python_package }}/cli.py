"""Project commands for the ``kedro`` CLI.

``kedro run`` is Kedro's own command, with three additions: in an environment whose
parameters have a ``dask_client`` block (``--env dask``) and without ``--runner``,
it runs on the DaskRunner, which reads those settings itself (``--runner-params``
update them key by key); an unknown ``--env`` is named with the ones that exist; and
the runner's own errors print as their message, not a traceback (``--verbose`` shows
it).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click
from kedro.framework.cli.project import run as kedro_run
from kedro.framework.cli.utils import CONTEXT_SETTINGS
from kedro.framework.project import settings
from kedro.utils import find_kedro_project

from .deploy.cli import deploy
from .runner import DaskRunError, DaskRunner


@click.group(context_settings=CONTEXT_SETTINGS, name=__file__)
def cli() -> None:
    """Commands of this project."""


cli.add_command(deploy)


VERBOSE = click.Option(
    ["--verbose", "-v"], is_flag=True, help="Show the full traceback of an error."
)


@cli.command(params=[*kedro_run.params, VERBOSE], help=kedro_run.help)
def run(verbose: bool, **options: Any) -> Any:
    _check_env(options.get("env"), options.get("conf_source"))
    options["runner"] = _choose_runner(
        options.get("runner"),
        options.get("env"),
        options.get("conf_source"),
        options["params"],
    )
    assert kedro_run.callback is not None  # Kedro's own `kedro run`
    try:
        return kedro_run.callback(**options)
    except DaskRunError as exc:  # its message says what went wrong and the fix
        if verbose:
            raise
        raise click.ClickException(
            f"{exc}\n(kedro run --verbose shows the traceback)"
        ) from None


def _check_env(env: str | None, conf_source: str | None) -> None:
    """Name the environments that exist when --env names none of them."""
    project_path = find_kedro_project(Path.cwd()) or Path.cwd()
    conf = Path(conf_source) if conf_source else project_path / settings.CONF_SOURCE
    if env and conf.is_dir() and not (conf / env).is_dir():
        known = sorted(path.name for path in conf.iterdir() if path.is_dir())
        raise click.BadParameter(
            f"no environment '{env}' in {conf}; the environments are: {', '.join(known)}.",
            param_hint="--env",
        )


def _choose_runner(
    runner: str | None, env: str | None, conf_source: str | None, params: dict[str, Any]
) -> str | None:
    """The DaskRunner when no --runner is given and the environment's parameters
    have a ``dask_client`` block; the runner reads its settings itself."""
    if runner:
        return runner
    project_path = find_kedro_project(Path.cwd()) or Path.cwd()
    loader = settings.CONFIG_LOADER_CLASS(
        conf_source=conf_source or str(project_path / settings.CONF_SOURCE),
        env=env or os.getenv("KEDRO_ENV"),
        runtime_params=params,
        **settings.CONFIG_LOADER_ARGS,
    )
    if "dask_client" not in loader["parameters"]:
        return None
    return f"{DaskRunner.__module__.rsplit('.', 1)[0]}.{DaskRunner.__name__}"
