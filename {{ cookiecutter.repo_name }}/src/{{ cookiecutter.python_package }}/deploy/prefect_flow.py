"""A Prefect 3 flow made from the plan: one Prefect task per plan task, each
running its ``kedro run --nodes=...`` as a subprocess once its upstream tasks
have completed.

Prefect is an optional extra (``requirements-prefect.txt``): only this module
imports it. Run the flow with ``kedro deploy prefect --run`` or
``python -m {{ cookiecutter.python_package }}.deploy.prefect_flow --env deploy``
from the project root; serve it with ``kedro deploy prefect --serve NAME``, or
deploy it to a work pool with ``prefect deploy
src/{{ cookiecutter.python_package }}/deploy/prefect_flow.py:kedro_flow``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from kedro.framework.startup import bootstrap_project
from prefect import flow, get_run_logger, task
from prefect.futures import PrefectFuture, wait

from .plan import GROUPINGS, build_plan
from .project import load_project

OUTPUT_TAIL = 3000


@task
def run_kedro(command: list[str], project_dir: str) -> None:
    """Run one plan task with this environment's Kedro; fail with its error."""
    # ``python -m kedro`` is the ``kedro`` of the interpreter running the flow.
    result = subprocess.run(
        [sys.executable, "-m", "kedro", *command[1:]],
        cwd=project_dir,
        capture_output=True,
        text=True,
        check=False,
    )
    logger = get_run_logger()
    logger.info("%s\n%s", " ".join(command), result.stdout[-OUTPUT_TAIL:])
    if result.returncode != 0:
        logger.error(result.stderr[-OUTPUT_TAIL:])
        lines = (result.stderr or result.stdout).strip().splitlines() or ["no output"]
        raise RuntimeError(
            f"`{' '.join(command)}` exited {result.returncode}: {lines[-1]}"
        )


@flow(name="{{ cookiecutter.repo_name }}")
def kedro_flow(
    project_dir: str = ".",
    pipeline: str | None = None,
    env: str | None = None,
    group_by: str | None = None,
) -> None:
    """Run the project's pipeline as the tasks of its deployment plan.

    Args:
        project_dir: The project's root folder.
        pipeline: A registered pipeline; None for ``__default__``.
        env: The configuration environment of every task.
        group_by: How nodes become tasks (see ``build_plan``).
    """
    path = Path(project_dir).resolve()
    bootstrap_project(path)
    plan = build_plan(load_project(pipeline, env, path), group_by)

    futures: dict[str, PrefectFuture] = {}
    for step in plan.tasks:  # the plan lists tasks in dependency order
        futures[step.name] = run_kedro.with_options(
            name=step.name, task_run_name=step.name
        ).submit(
            step.command,
            str(path),
            wait_for=[futures[upstream] for upstream in step.upstream],
        )
    wait(list(futures.values()))

    unfinished = {
        name: future.state
        for name, future in futures.items()
        if not future.state.is_completed()
    }
    if unfinished:
        failed = [s.message for s in unfinished.values() if s.is_failed()]
        raise RuntimeError(
            f"Tasks did not complete: {', '.join(unfinished)}.\n" + "\n".join(failed)
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=kedro_flow.description)
    parser.add_argument("--project-dir", default=".")
    parser.add_argument("--pipeline", "-p")
    parser.add_argument("--env", "-e")
    parser.add_argument("--group-by", choices=GROUPINGS)
    args = parser.parse_args(argv)
    state = kedro_flow(
        args.project_dir, args.pipeline, args.env, args.group_by, return_state=True
    )
    return 0 if state.is_completed() else 1


if __name__ == "__main__":
    sys.exit(main())
