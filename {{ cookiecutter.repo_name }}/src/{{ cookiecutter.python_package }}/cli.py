"""Project commands for the ``kedro`` CLI.

``kedro run`` is Kedro's own command, with three additions: in an environment whose
parameters have a ``dask_client`` block (``--env dask``) and without ``--runner``,
it runs on the DaskRunner, which reads those settings itself (``--runner-params``
update them key by key); an unknown ``--env`` is named with the ones that exist; and
the runner's own errors, and mistakes users often make, print as a short message
with the fix, not a traceback (``--verbose`` shows it).
"""

from __future__ import annotations

import fnmatch
import os
import re
import tarfile
from pathlib import Path
from typing import Any

import click
from kedro.framework.cli.project import package as kedro_package
from kedro.framework.cli.project import run as kedro_run
from kedro.framework.cli.utils import CONTEXT_SETTINGS
from kedro.framework.project import settings
from kedro.io import DatasetError
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
    except Exception as exc:
        explained = None if verbose else known_mistake(exc)
        if explained is None:
            raise
        raise click.ClickException(
            f"{explained}\n(kedro run --verbose shows the traceback)"
        ) from None


def known_mistake(error: BaseException) -> str | None:
    """What went wrong and the fix, in a few lines, for the runner's own errors and
    mistakes users often make; None for anything else (its traceback is shown)."""
    causes = [error]
    while causes[-1].__cause__ is not None and len(causes) < MAX_CAUSES:
        causes.append(causes[-1].__cause__)
    for cause in causes:
        if isinstance(cause, DaskRunError):  # its message says it all
            return str(cause)
        if type(cause).__name__ in ("NoCredentialsError", "ProfileNotFound"):
            return (
                f"No credentials for the object store ({error}). Set "
                "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_ENDPOINT_URL for "
                "an S3-compatible store) where the data is read and written, or name "
                "credentials in the catalog from conf/<env>/credentials.yml."
            )
        # From a worker the cause is gone (pickling drops it), but not its message.
        missing = re.search(r"No such file or directory: '([^']+)'", str(cause))
        if isinstance(error, DatasetError) and missing:
            dataset = str(error).split(":", 1)[0]
            return (
                f"Dataset '{dataset}' has no data at {missing[1]}. A run that "
                "starts part-way (--from-nodes, --nodes, --tags...) reads what earlier "
                "runs saved: run the nodes that make it first, or run the whole pipeline."
            )
    return None


# How far down an exception's causes to look for a mistake we can explain.
MAX_CAUSES = 10
# Never in a package: the files .dockerignore keeps out of the image.
SECRET_FILES = (
    "*credentials*", "*secret*", ".env", "*.pem", "*.key", "*.p12", "*.pfx",
    "*service_account*.json", "*-key.json",
)  # fmt: skip


@cli.command(help=kedro_package.help)
@click.pass_context
def package(ctx: click.Context) -> None:
    ctx.invoke(kedro_package)
    metadata = ctx.obj
    archive = (
        Path(metadata.project_path) / "dist" / f"conf-{metadata.package_name}.tar.gz"
    )
    for name in _drop_secret_files(archive):
        click.echo(
            f"Left out of {archive.name}: {name} (credentials stay on each machine)"
        )


def _drop_secret_files(archive: Path) -> list[str]:
    """Rewrite the configuration archive without credential and key files."""
    with tarfile.open(archive) as source:
        members = [(m, source.extractfile(m)) for m in source.getmembers()]
        kept = tarfile.open(archive.with_suffix(".part"), "w:gz")
        dropped = []
        with kept:
            for member, content in members:
                base = Path(member.name).name
                if any(fnmatch.fnmatch(base, pattern) for pattern in SECRET_FILES):
                    dropped.append(member.name)
                else:
                    kept.addfile(member, content)
    archive.with_suffix(".part").replace(archive)
    return dropped


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
