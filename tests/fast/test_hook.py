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


@pytest.fixture(scope="module")
def hook():
    spec = importlib.util.spec_from_file_location(
        "pre_gen_project", STARTER / "hooks" / "pre_gen_project.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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
