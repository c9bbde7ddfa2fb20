"""A project baked today takes the starter's later fixes: `make update-starter` (cruft)
merges them into the project, keeping the team's own edits, and its tests pass."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support import command_env, kedro_new, make_starter_repo, run

GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "tests", "GIT_AUTHOR_EMAIL": "tests@example.invalid",
    "GIT_COMMITTER_NAME": "tests", "GIT_COMMITTER_EMAIL": "tests@example.invalid",
}  # fmt: skip
RUNNER = "{{ cookiecutter.repo_name }}/src/{{ cookiecutter.python_package }}/runner/dask_runner.py"


def git(folder: Path, *args: str) -> str:
    return run(["git", *args], cwd=folder, extra_env=GIT_IDENTITY).stdout.strip()


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def test_update_brings_a_runner_fix_and_keeps_the_teams_edits(installed_project, tmp_path):
    _, python = installed_project
    starter = make_starter_repo(tmp_path / "starter")
    baked_at = git(starter, "rev-parse", "HEAD")
    assert kedro_new(starter, tmp_path, "--name", "Rocket Science").returncode == 0
    project = tmp_path / "rocket-science"
    state = json.loads((project / ".cruft.json").read_text())
    assert state["commit"] == baked_at and state["template"] == f"file://{starter}"

    # The team commits the project and makes it its own.
    git(project, "init", "-q", "-b", "main")
    git(project, "add", "-A")
    git(project, "commit", "-qm", "Baked")
    nodes = project / "src/rocket_science/pipelines/reporting/nodes.py"
    nodes.write_text(nodes.read_text() + "\n\ndef team_helper() -> int:\n    return 7\n")
    edit(project / "conf/base/parameters.yml", "n_rows: 5000", "n_rows: 3000")
    runtime = "FROM ${BASE_IMAGE} AS runtime\n"
    edit(project / "Dockerfile", runtime, runtime + "# team: our label\n")
    git(project, "commit", "-qam", "Our edits")

    # Later, the starter fixes its runner.
    edit(starter / RUNNER, "POLL_SECONDS = 1\n", "POLL_SECONDS = 0.5  # starter fix\n")
    git(starter, "commit", "-qam", "Runner: poll twice as often")
    fixed_at = git(starter, "rev-parse", "HEAD")

    tools = f"{python.parent}:{command_env()['PATH']}"
    result = run(["make", "update-starter"], cwd=project, extra_env={"PATH": tools}, timeout=300)
    assert "starter fix" in (project / "src/rocket_science/runner/dask_runner.py").read_text()
    assert "team_helper" in nodes.read_text()
    assert "n_rows: 3000" in (project / "conf/base/parameters.yml").read_text()
    assert "# team: our label" in (project / "Dockerfile").read_text()
    assert json.loads((project / ".cruft.json").read_text())["commit"] == fixed_at
    assert "with conflicts" not in result.stdout + result.stderr
    assert not git(project, "diff", "--name-only", "--diff-filter=U")  # nothing unmerged

    # The updated project's own tests pass (its code first on the path).
    tests = run(
        [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/runner", "tests/deploy"],
        cwd=project, timeout=600, extra_env={"PYTHONPATH": str(project / "src")},
    )  # fmt: skip
    assert " passed" in tests.stdout and "failed" not in tests.stdout


def test_update_says_how_to_link_a_project_that_does_not_know_its_starter(
    installed_project, tmp_path
):
    project, python = installed_project
    copy = tmp_path / "unlinked"
    copy.mkdir()
    (copy / "Makefile").write_text((project / "Makefile").read_text())
    result = run(["make", "update-starter"], cwd=copy, check=False, timeout=60)
    assert result.returncode != 0
    assert "cruft link" in result.stderr and len(result.stderr.splitlines()) <= 3
