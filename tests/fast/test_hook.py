"""The pre-generation hook's rules, called directly (as cookiecutter-django tests its
hooks): hooks/pre_gen_project.py is plain Python until cookiecutter renders it."""

from __future__ import annotations

import importlib.util
import json

import pytest

from tests.support import STARTER

GOOD = {
    "project_name": "Rocket Science",
    "repo_name": "rocket-science",
    "python_package": "rocket_science",
}


def load_hook(name: str):
    spec = importlib.util.spec_from_file_location(name, STARTER / "hooks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def hook():
    return load_hook("pre_gen_project")


@pytest.fixture(scope="module")
def post_gen():
    return load_hook("post_gen_project")


def test_good_answers_pass(hook):
    assert hook.problems(GOOD) == []
    assert hook.main(json.dumps(GOOD)) == 0


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("project_name", "1 rocket", "must start with a letter"),
        ("repo_name", "Rocket", "lowercase letters and digits"),
        ("repo_name", "a--", "lowercase letters and digits"),
        ("python_package", "class", "keyword"),
        ("python_package", "match", "keyword"),
        ("python_package", "json", "standard-library"),
        ("python_package", "distributed", "depends on"),
        ("python_package", "my-package", "identifier"),
    ],
)
def test_each_rule_names_the_field(hook, field, value, reason):
    (problem,) = hook.problems({**GOOD, field: value})
    assert problem.startswith(f"{field} {value!r}") and reason in problem


def test_several_problems_are_reported_together(hook, capsys):
    answers = {"project_name": "1", "repo_name": "X", "python_package": "json"}
    assert len(hook.problems(answers)) == 3
    assert hook.main(json.dumps(answers)) == 1
    assert "Cannot create the project" in capsys.readouterr().err


def test_installed_packages_do_not_matter(hook):
    """Only the standard library and the project's own dependencies could shadow:
    what happens to be installed where `kedro new` runs is not the project's."""
    assert importlib.util.find_spec("cookiecutter") is not None  # installed here
    assert hook.problems({**GOOD, "python_package": "cookiecutter"}) == []


def test_the_project_records_its_starter_for_cruft(post_gen, tmp_path):
    """cruft's .cruft.json: a source git can clone, the starter's commit, and the
    answers without where this machine rendered them."""
    context = {
        **GOOD,
        "_template": "git+file:///srv/starter",
        "_checkout": "main",
        "_repo_dir": str(STARTER),
        "_output_dir": "/tmp/somewhere",
    }
    assert post_gen.main(json.dumps(context), tmp_path) == 0
    state = json.loads((tmp_path / ".cruft.json").read_text())
    assert state["template"] == "file:///srv/starter" and state["checkout"] == "main"
    assert len(state["commit"]) == 40  # this checkout's HEAD
    assert state["context"]["cookiecutter"] == {
        **GOOD, "_template": "file:///srv/starter", "_checkout": "main"
    }  # fmt: skip


def test_a_local_folder_is_recorded_absolute_and_a_plain_copy_without_commit(post_gen):
    assert post_gen.template_source("~/starter").startswith("/")
    assert post_gen.commit_of("/") is None  # not a git checkout


def test_nothing_is_recorded_when_cruft_renders(post_gen, tmp_path):
    assert post_gen.main(json.dumps({**GOOD, "_commit": "abc"}), tmp_path) == 0
    assert not (tmp_path / ".cruft.json").exists()
