"""Fast tier: bake with cookiecutter's API into temporary folders and inspect."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
import yaml

from tests.support import STARTER, bake, run

# Files whose braces are orchestrator syntax, copied verbatim on purpose.
COPIED_VERBATIM = json.loads((STARTER / "cookiecutter.json").read_text())["_copy_without_render"]

EXPECTED_FILES = {
    ".cruft.json",
    ".dive-ci",
    ".dockerignore",
    ".gitignore",
    "Dockerfile",
    "Makefile",
    "README.md",
    "conf/base/catalog.yml",
    "conf/base/parameters.yml",
    "conf/dask/parameters.yml",
    "conf/deploy/deploy.yml",
    "conf/local/.gitkeep",
    "conf/slurm/parameters.yml",
    "data/01_raw/.gitkeep",
    "data/02_intermediate/.gitkeep",
    "data/05_model_input/.gitkeep",
    "data/06_models/.gitkeep",
    "data/07_model_output/.gitkeep",
    "data/08_reporting/.gitkeep",
    "docker-compose.s3.yml",
    "docker-compose.yml",
    "docker/kedro-docker-entrypoint.sh",
    "docs/containers.md",
    "docs/dask.md",
    "docs/deploy.md",
    "logs/.gitkeep",
    "notebooks/first_look.ipynb",
    "pyproject.toml",
    "references/.gitkeep",
    "requirements-dev.in",
    "requirements-dev.txt",
    "requirements-prefect.in",
    "requirements-prefect.txt",
    "requirements-slurm.in",
    "requirements-slurm.txt",
    "requirements.in",
    "requirements.txt",
    "results/.gitkeep",
    "src/rocket_science/__init__.py",
    "src/rocket_science/__main__.py",
    "src/rocket_science/cli.py",
    "src/rocket_science/deploy/__init__.py",
    "src/rocket_science/deploy/argo.py",
    "src/rocket_science/deploy/check.py",
    "src/rocket_science/deploy/cli.py",
    "src/rocket_science/deploy/plan.py",
    "src/rocket_science/deploy/prefect_flow.py",
    "src/rocket_science/deploy/project.py",
    "src/rocket_science/deploy/slurm.py",
    "src/rocket_science/pipeline_registry.py",
    "src/rocket_science/pipelines/__init__.py",
    "src/rocket_science/pipelines/data_generation/__init__.py",
    "src/rocket_science/pipelines/data_generation/nodes.py",
    "src/rocket_science/pipelines/data_generation/pipeline.py",
    "src/rocket_science/pipelines/model_selection/__init__.py",
    "src/rocket_science/pipelines/model_selection/nodes.py",
    "src/rocket_science/pipelines/model_selection/pipeline.py",
    "src/rocket_science/pipelines/reporting/__init__.py",
    "src/rocket_science/pipelines/reporting/nodes.py",
    "src/rocket_science/pipelines/reporting/pipeline.py",
    "src/rocket_science/runner/__init__.py",
    "src/rocket_science/runner/_dask.py",
    "src/rocket_science/runner/_kedro.py",
    "src/rocket_science/runner/checks.py",
    "src/rocket_science/runner/cluster.py",
    "src/rocket_science/runner/dask_runner.py",
    "src/rocket_science/runner/errors.py",
    "src/rocket_science/runner/execution.py",
    "src/rocket_science/runner/fingerprint.py",
    "src/rocket_science/runner/fusion.py",
    "src/rocket_science/runner/graph.py",
    "src/rocket_science/runner/hooks.py",
    "src/rocket_science/runner/jobs.py",
    "src/rocket_science/runner/logs.py",
    "src/rocket_science/runner/preflight.py",
    "src/rocket_science/runner/progress.py",
    "src/rocket_science/runner/run_cache.py",
    "src/rocket_science/runner/run_spec.py",
    "src/rocket_science/runner/settings.py",
    "src/rocket_science/runner/storage.py",
    "src/rocket_science/runner/watchdog.py",
    "src/rocket_science/runner/worker_catalog.py",
    "src/rocket_science/settings.py",
    "tests/__init__.py",
    "tests/conftest.py",
    "tests/deploy/__init__.py",
    "tests/deploy/conftest.py",
    "tests/deploy/test_argo.py",
    "tests/deploy/test_check.py",
    "tests/deploy/test_plan.py",
    "tests/deploy/test_slurm.py",
    "tests/pipelines/__init__.py",
    "tests/pipelines/test_nodes.py",
    "tests/runner/__init__.py",
    "tests/runner/test_fingerprint.py",
    "tests/runner/test_graph.py",
    "tests/runner/test_jobs.py",
    "tests/runner/test_local_cluster.py",
    "tests/runner/test_run_spec.py",
    "tests/runner/test_seams.py",
    "tests/runner/test_settings.py",
    "tests/runner/test_watchdog.py",
    "tests/runner/test_worker_side.py",
    "tests/test_run.py",
}

NAMES = {
    "Rocket Science": ("rocket-science", "rocket_science"),
    "x2": ("x2", "x2"),
    "Mixed_Case-Name 42": ("mixed-case-name-42", "mixed_case_name_42"),
    "A Very Long Project Name That Pushes Import Lines Past Eighty Eight": (
        "a-very-long-project-name-that-pushes-import-lines-past-eighty-eight",
        "a_very_long_project_name_that_pushes_import_lines_past_eighty_eight",
    ),
}


def _files(project: Path) -> set[str]:
    return {p.relative_to(project).as_posix() for p in project.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    return bake(tmp_path_factory.mktemp("bake"))


def test_file_set(project):
    """Exactly these files, as cookiecutter-data-science checks its own."""
    files = _files(project)
    assert not EXPECTED_FILES - files, f"missing: {sorted(EXPECTED_FILES - files)}"
    assert not files - EXPECTED_FILES, f"unexpected: {sorted(files - EXPECTED_FILES)}"
    assert not any("{{" in name or "cookiecutter" in name for name in files)
    assert not any(name.startswith("docs_") for name in files), "merge notes leaked"


def test_ships_what_kedro_docker_reads(project):
    """kedro-docker mounts these folders (Docker would create missing ones owned by
    root) and reads .dive-ci's three rules for `kedro docker dive`."""
    for folder in ("conf/local", "data", "logs", "notebooks", "references", "results"):
        assert (project / folder).is_dir(), folder
    rules = yaml.safe_load((project / ".dive-ci").read_text())["rules"]
    assert set(rules) == {"lowestEfficiency", "highestWastedBytes", "highestUserWastedPercent"}
    assert 0 < rules["lowestEfficiency"] <= 1 and 0 < rules["highestUserWastedPercent"] <= 1


def test_conf_local_is_empty_but_kept(project):
    assert sorted(p.name for p in (project / "conf/local").iterdir()) == [".gitkeep"]


def test_no_template_syntax_left(project):
    leftovers = []
    for path in project.rglob("*"):
        relative = path.relative_to(project).as_posix()
        if not path.is_file() or any(Path(relative).match(p) for p in COPIED_VERBATIM):
            continue
        text = path.read_text(encoding="utf-8")
        if "{{" in text or "{%" in text:
            leftovers.append(relative)
    assert not leftovers


def test_project_metadata_is_rendered(project):
    import tomllib

    meta = tomllib.loads((project / "pyproject.toml").read_text())
    assert meta["project"]["name"] == "rocket_science"
    assert meta["tool"]["kedro"]["package_name"] == "rocket_science"
    assert meta["tool"]["kedro"]["project_name"] == "Rocket Science"
    assert meta["tool"]["kedro"]["kedro_init_version"] == "1.7.0"
    assert meta["project"]["scripts"]["rocket-science"] == "rocket_science.__main__:main"


@pytest.mark.parametrize("name", sorted(NAMES))
def test_names_render_and_output_is_ruff_clean(tmp_path, name):
    repo_name, package = NAMES[name]
    project = bake(tmp_path, project_name=name)
    assert project.name == repo_name
    assert (project / "src" / package / "pipeline_registry.py").is_file()
    ruff = [sys.executable, "-m", "ruff"]
    run([*ruff, "check", "--no-cache", "."], cwd=project)
    run([*ruff, "format", "--check", "--no-cache", "."], cwd=project)


def test_generated_project_and_starter_hooks_type_check(project):
    """mypy over what the project's [tool.mypy] names (runner, deploy and their
    seams), and over the starter's own hook and answer guard."""
    mypy = [sys.executable, "-m", "mypy", "--no-incremental"]
    run([*mypy], cwd=project, timeout=300)
    run([*mypy, "--ignore-missing-imports", "hooks/pre_gen_project.py",
         "hooks/post_gen_project.py", "answer_guard.py"],
        cwd=STARTER, timeout=300)  # fmt: skip


def test_readme_is_a_short_first_read_whose_make_targets_exist(project):
    readme = (project / "README.md").read_text()
    assert len(readme.splitlines()) <= 100
    targets = set(re.findall(r"^([a-z][\w-]*):", (project / "Makefile").read_text(), re.M))
    named = set(re.findall(r"\bmake ([a-z][\w-]*)", readme))
    assert named and named <= targets, named - targets
    for doc in re.findall(r"\]\((docs/[\w.]+)\)", readme):
        assert (project / doc).is_file(), doc


def test_cookiecutter_json_asks_only_what_changes_the_project():
    """The answers are the three names; the versions the locks were made for are
    private (a user cannot pick a Python or Kedro the shipped locks do not match)."""
    declared = json.loads((STARTER / "cookiecutter.json").read_text())
    public = {key for key in declared if not key.startswith("_")}
    assert public == {"project_name", "repo_name", "python_package"}
    assert declared["_kedro_version"] == "1.7.0" and declared["_python_version"] == "3.11"


def test_prompts_follow_kedros_format():
    prompts = yaml.safe_load((STARTER / "prompts.yml").read_text())
    assert set(prompts) == {"project_name"}
    for prompt in prompts.values():
        assert {"title", "text", "regex_validator", "error_message"} <= set(prompt)


BAD_ANSWERS = [
    ({"project_name": "1 rocket"}, "project_name"),
    ({"project_name": "R"}, "project_name"),
    ({"project_name": "Rocket/Science"}, "project_name"),
    ({"project_name": 'Rocket "quoted" \\ name'}, "project_name"),
    ({"repo_name": "Rocket Science"}, "repo_name"),
    ({"repo_name": "../escape"}, "repo_name"),
    ({"repo_name": "trailing-"}, "repo_name"),
    ({"python_package": "class"}, "python_package"),
    ({"python_package": "match"}, "python_package"),
    ({"python_package": "json"}, "python_package"),
    ({"python_package": "pandas"}, "python_package"),
    ({"python_package": "kedro"}, "python_package"),
    ({"python_package": "my-package"}, "python_package"),
    ({"python_package": "2fast"}, "python_package"),
]


@pytest.mark.parametrize(("answers", "field"), BAD_ANSWERS)
def test_bad_answers_are_rejected_and_leave_nothing(tmp_path, answers, field):
    out = tmp_path / "out"
    out.mkdir()
    context = [f"{key}={value}" for key, value in answers.items()]
    result = run(
        [sys.executable, "-m", "cookiecutter", "--no-input", "-o", out, STARTER, *context],
        check=False,
        timeout=120,
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert field in output, output
    assert "Cannot create the project" in output
    assert list(out.iterdir()) == [], "a failed bake must leave no folder behind"
    # The escape attempt must not have written next to the output folder either.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_hook_reads_answers_as_data(tmp_path):
    """Quotes and backslashes in an answer cannot break out of the hook's code."""
    out = tmp_path / "out"
    out.mkdir()
    payload = "x'''\"\"\"; import os; os._exit(0) #\\"
    result = run(
        [
            sys.executable,
            "-m",
            "cookiecutter",
            "--no-input",
            "-o",
            out,
            STARTER,
            f"project_name={payload}",
            "repo_name=safe",
            "python_package=safe_pkg",
        ],
        check=False,
        timeout=120,
    )
    assert result.returncode != 0
    assert "project_name" in result.stderr
    assert list(out.iterdir()) == []


def test_rebaking_into_a_fresh_folder_is_repeatable(tmp_path):
    first = bake(tmp_path / "a")
    second = bake(tmp_path / "b")
    assert _files(first) == _files(second)
    for name in _files(first):
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


def test_lock_matches_whatever_kedro_runs_kedro_new(tmp_path):
    """`kedro new` passes its own version; the shipped lock pins 1.7, so the
    project's requirements must keep asking for 1.7 whatever kedro made it."""
    project = bake(tmp_path, kedro_version="1.9.3")
    assert "kedro~=1.7.0" in (project / "requirements.in").read_text()
    assert "kedro==1.7.0" in (project / "requirements.txt").read_text()
    assert '"kedro~=1.7.0"' in (project / "pyproject.toml").read_text()
