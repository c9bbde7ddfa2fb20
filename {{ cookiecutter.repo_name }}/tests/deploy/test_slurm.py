"""Slurm batch scripts: one per plan task, submitted after the tasks they need."""

import re

from {{ cookiecutter.python_package }}.deploy.plan import (
    build_plan,
)
from {{ cookiecutter.python_package }}.deploy.project import (
    load_project,
)
from {{ cookiecutter.python_package }}.deploy.slurm import (
    scripts,
)

SETTINGS = {
    "python": "/shared/venv/bin/python",
    "defaults": {"partition": "short", "time": "00:10:00"},
    "tags": {"model_selection": {"mem": "2G"}},
}


def test_one_script_per_task_and_dependencies_in_submit(orbit, tmp_path):
    plan = build_plan(orbit, "none")
    files = scripts(plan, SETTINGS, tmp_path)
    assert len(files) == len(plan.tasks) + 1
    climb = files["01-orbit-climb.sbatch"]
    assert "#SBATCH --partition=short" in climb and "#SBATCH --time=00:10:00" in climb
    assert f"#SBATCH --chdir={tmp_path}" in climb
    assert (
        "/shared/venv/bin/python -m kedro run --nodes=orbit.climb --env=deploy" in climb
    )
    submit = files["submit.sh"].splitlines()
    burn = next(line for line in submit if line.startswith("job[plan-burn]="))
    assert "--dependency=afterok:${job[orbit-climb]}" in burn
    assert "--kill-on-invalid-dep=yes" in burn
    first = next(line for line in submit if line.startswith("job[orbit-climb]="))
    assert "--dependency" not in first


def test_tag_settings_add_to_the_defaults(project_path, tmp_path):
    plan = build_plan(load_project(env="deploy", project_path=project_path), "none")
    files = scripts(plan, SETTINGS, tmp_path)
    fit = next(text for name, text in files.items() if "linear-fit-model" in name)
    assert "#SBATCH --mem=2G" in fit and "#SBATCH --partition=short" in fit
    generate = next(text for name, text in files.items() if "generate" in name)
    assert not re.search(r"--mem=", generate)
