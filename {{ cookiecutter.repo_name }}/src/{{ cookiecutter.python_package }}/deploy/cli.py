"""``kedro deploy``: plan, check and generate distributed deployments."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

import click
from kedro.framework.cli.utils import env_option

from .plan import GROUPINGS, Plan, build_plan
from .project import DeployError, Project, load_project

PROJECT = "{{ cookiecutter.repo_name }}"
DEFAULT_IMAGE = PROJECT + ":latest"


@dataclass(frozen=True)
class PlanChoice:
    """What the plan options chose; ``load()`` reads the project and makes the plan."""

    project_path: Path
    pipeline: str | None
    group_by: str | None
    env: str | None

    def load(self) -> tuple[Project, Plan]:
        try:
            project = load_project(self.pipeline, self.env, self.project_path)
            return project, build_plan(project, self.group_by)
        except DeployError as error:
            raise click.ClickException(str(error)) from error


def plan_options(command):
    """Add the options that choose a plan; the command gets them as a PlanChoice."""

    @click.option(
        "--pipeline", "-p", default=None, help="Pipeline to deploy (default: all)."
    )
    @click.option(
        "--group-by",
        type=click.Choice(GROUPINGS),
        default=None,
        help="How nodes are grouped into tasks (default: group_by in "
        "deploy.yml, else memory).",
    )
    @env_option
    @click.pass_obj  # Kedro passes the project's metadata
    @functools.wraps(command)
    def wrapper(metadata, pipeline, group_by, env, **options):
        choice = PlanChoice(metadata.project_path, pipeline, group_by, env)
        return command(choice, **options)

    return wrapper


def _write(text: str, output: str | None) -> None:
    if output:
        Path(output).write_text(text, encoding="utf-8")
        click.echo(f"Wrote {output}", err=True)
    else:
        click.echo(text, nl=False)


@click.group(name="deploy")
def deploy() -> None:
    """Run the pipeline as a DAG of tasks on an orchestrator, each task a
    `kedro run --nodes=...` in the project's image."""


@deploy.command()
@plan_options
@click.option(
    "--output", "-o", type=click.Path(dir_okay=False), help="Write to a file."
)
def plan(choice: PlanChoice, output: str | None) -> None:
    """Print the tasks, their nodes, commands and upstream tasks as JSON."""
    _, the_plan = choice.load()
    _write(json.dumps(the_plan.to_dict(), indent=2) + "\n", output)


@deploy.command()
@plan_options
def check(choice: PlanChoice) -> None:
    """Fail when tasks of the plan could not exchange their data across machines."""
    from .check import find_problems  # noqa: PLC0415

    project, the_plan = choice.load()
    problems = find_problems(project, the_plan)
    if problems:
        click.echo(f"{len(problems)} problem(s) deploying this plan:", err=True)
        for problem in problems:
            click.echo(f"  - {problem}", err=True)
        raise SystemExit(1)
    click.echo(f"OK: {len(the_plan.tasks)} tasks exchange only shared, persisted data.")


@deploy.command()
@plan_options
@click.option(
    "--image", default=None, help="Image to run (default: argo.image in deploy.yml)."
)
@click.option(
    "--output", "-o", type=click.Path(dir_okay=False), help="Write to a file."
)
def argo(choice: PlanChoice, image: str | None, output: str | None) -> None:
    """Write an Argo Workflows Workflow (YAML) with one DAG task per plan task."""
    from .argo import to_yaml, workflow  # noqa: PLC0415

    project, the_plan = choice.load()
    settings = project.settings.get("argo") or {}
    try:
        document = workflow(
            the_plan,
            image or settings.get("image") or DEFAULT_IMAGE,
            settings,
            project.settings.get("shared_paths") or [],
            name=PROJECT,
        )
    except DeployError as error:
        raise click.ClickException(str(error)) from error
    _write(to_yaml(document), output)


@deploy.command()
@plan_options
@click.option(
    "--output", "-o", type=click.Path(file_okay=False), required=True,
    help="Folder for the batch scripts and submit.sh.",
)  # fmt: skip
def slurm(choice: PlanChoice, output: str) -> None:
    """Write one Slurm batch script per plan task and a submit.sh that submits them
    with their dependencies (sbatch --dependency=afterok)."""
    from .slurm import scripts  # noqa: PLC0415

    project, the_plan = choice.load()
    folder = Path(output)
    folder.mkdir(parents=True, exist_ok=True)
    files = scripts(the_plan, project.settings.get("slurm") or {}, project.path)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    (folder / "submit.sh").chmod(0o755)
    click.echo(
        f"Wrote {len(files) - 1} batch scripts; submit them with {folder}/submit.sh",
        err=True,
    )


@deploy.command()
@plan_options
@click.option("--run", "run_now", is_flag=True, help="Run the flow now.")
@click.option("--serve", metavar="DEPLOYMENT", help="Serve the flow as a deployment.")
def prefect(choice: PlanChoice, run_now: bool, serve: str | None) -> None:
    """Run or serve the pipeline as a Prefect 3 flow, one Prefect task per plan task."""
    try:
        from .prefect_flow import kedro_flow  # noqa: PLC0415
    except ImportError as error:
        raise click.ClickException(
            f"Prefect is not installed ({error}): "
            "pip install -r requirements-prefect.txt"
        ) from error
    parameters = {
        "project_dir": str(choice.project_path),
        "pipeline": choice.pipeline,
        "env": choice.env,
        "group_by": choice.group_by,
    }
    if serve:
        kedro_flow.serve(name=serve, parameters=parameters)
    elif run_now:
        state = kedro_flow(**parameters, return_state=True)
        if not state.is_completed():
            raise click.ClickException(f"Flow run {state.name}: {state.message}")
    else:
        _, the_plan = choice.load()
        click.echo(
            f"Flow '{kedro_flow.name}' would run {len(the_plan.tasks)} tasks: "
            f"{', '.join(task.name for task in the_plan.tasks)}.\n"
            "Run it with --run, or serve it with --serve NAME."
        )
