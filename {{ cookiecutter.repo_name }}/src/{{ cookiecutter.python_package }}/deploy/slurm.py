"""Slurm batch scripts made from a plan: one ``sbatch`` script per plan task, each
running its ``kedro run --nodes=...`` in the project folder, and a ``submit.sh`` that
submits them in dependency order (``--dependency=afterok:<upstream jobs>``). The HPC
counterpart of the Argo workflow: the project, its venv and its data sit on a file
system every node shares, at the same path.

Settings come from the ``slurm`` block of ``deploy.yml``: ``project_dir`` and
``python`` (where the compute nodes find the project and its venv; by default this
folder and this Python), ``log_directory``, and ``defaults`` / per-tag ``tags``
entries of ``#SBATCH`` options (``partition``, ``time``, ``cpus-per-task``, ``mem``...),
merged as for Argo: the defaults, then the entries of the task's tags in order.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Any

from .argo import task_settings, unique_labels
from .plan import Plan


def scripts(plan: Plan, settings: dict[str, Any], project_dir: Path) -> dict[str, str]:
    """The batch scripts and ``submit.sh``, by file name.

    Args:
        plan: The tasks, each a ``kedro run --nodes=...``.
        settings: The ``slurm`` block of deploy.yml.
        project_dir: The project's folder, when settings do not name one.

    Returns:
        File name -> content: ``NN-<task>.sbatch`` per task, and ``submit.sh``.
    """
    folder = str(settings.get("project_dir") or project_dir)
    python = str(settings.get("python") or sys.executable)
    logs = str(settings.get("log_directory") or "logs/slurm")
    labels = unique_labels([task.name for task in plan.tasks])
    files: dict[str, str] = {}
    submit = [
        "#!/usr/bin/env bash",
        "# Submits every task of the plan, each after the tasks it depends on.",
        "set -euo pipefail",
        'cd "$(dirname "$0")"',
        f"mkdir -p {shlex.quote(str(Path(folder, logs)))}",
        "declare -A job",
    ]
    for number, task in enumerate(plan.tasks, start=1):
        label = labels[task.name]
        name = f"{number:02d}-{label}.sbatch"
        options = {
            "job-name": label,
            "chdir": folder,
            "output": str(Path(folder, logs, "%x-%j.out")),
        }
        options |= {str(k): str(v) for k, v in task_settings(task, settings).items()}
        files[name] = "\n".join(
            [
                "#!/usr/bin/env bash",
                *(f"#SBATCH --{key}={value}" for key, value in options.items()),
                f"# Plan task {task.name}: nodes {', '.join(task.nodes)}",
                "set -euo pipefail",
                f"cd {shlex.quote(folder)}",
                shlex.join([python, "-m", *task.command]),
                "",
            ]
        )
        after = ":".join(_job_id(labels[up]) for up in task.upstream)
        # A failed upstream task cancels its dependants instead of leaving them queued.
        dependency = (
            f"--dependency=afterok:{after} --kill-on-invalid-dep=yes " if after else ""
        )
        submit.append(f"job[{label}]=$(sbatch --parsable {dependency}{name})")
    submit.append('echo "Submitted jobs: ${job[*]}"')
    files["submit.sh"] = "\n".join(submit) + "\n"
    return files


def _job_id(label: str) -> str:
    """The shell expression of the job id submit.sh recorded for ``label``."""
    return "${job[" + label + "]}"
