"""A Jinja extension (cookiecutter.json ``_extensions``) that stops hostile answers
before cookiecutter renders them or makes a folder from them.

Cookiecutter renders each answer as a Jinja template, and creates the project folder
from ``repo_name``, before any hook runs: an answer such as ``{{ ... }}`` would run
code, and ``../x`` or ``/x`` would create folders outside the output folder. So any
text cookiecutter renders that is not one of the starter's own templates may not
contain template syntax, and every file or folder name rendered from the answers
must be one plain name. The field-by-field rules are in hooks/pre_gen_project.py.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from cookiecutter.exceptions import FailedHookException
from jinja2 import Environment, Template
from jinja2.ext import Extension

STARTER = Path(__file__).resolve().parent
MAX_NAME_LENGTH = 100
TEMPLATE_SYNTAX = re.compile(r"\{\{|\{%|\{#|\}\}|%\}|#\}")
# How the template's file and folder names use the answers.
NAME_FIELDS = ("repo_name", "python_package")
NAME_TEMPLATE = re.compile(r"\{\{ cookiecutter\.(" + "|".join(NAME_FIELDS) + r") \}\}")


class AnswerRefused(FailedHookException):
    """An answer that must not be rendered or used as a file name. (A kind of
    FailedHookException, so that cookiecutter prints it in one line and stops.)"""


def answer_problem(answer: str) -> str | None:
    """Why an answer may not be rendered as a template, or None."""
    found = TEMPLATE_SYNTAX.search(answer)
    return f"it contains template syntax ({found.group()!r})" if found else None


def name_problem(name: str) -> str | None:
    """Why a rendered file or folder name is unsafe, or None."""
    if not name.strip():
        return "it is empty"
    if len(name) > MAX_NAME_LENGTH:
        return f"it is longer than {MAX_NAME_LENGTH} characters"
    if "/" in name or "\\" in name or "\x00" in name:
        return "it contains a path separator"
    if name.startswith("."):
        return "it starts with '.'"
    return None


def _refuse(text: str, problem: str) -> AnswerRefused:
    return AnswerRefused(
        f"Cannot create the project: {text[:60]!r} is refused because {problem}. "
        "Project, folder and package names may use letters, digits, spaces, '-' and '_'."
    )


def _starter_templates() -> set[str]:
    """The texts the starter itself has cookiecutter render."""
    defaults = json.loads((STARTER / "cookiecutter.json").read_text(encoding="utf-8"))
    texts = {value for value in defaults.values() if isinstance(value, str)}
    texts |= {hook.read_text(encoding="utf-8") for hook in (STARTER / "hooks").glob("*.py")}
    return texts


class _CheckedPath:
    """A file or folder path template. Before any path is rendered (and created),
    every answer that names a file or folder is checked to be a plain name: the
    first path is the project folder, so a bad package name fails before it exists."""

    def __init__(self, template: Template):
        self._template = template

    def render(self, *args: Any, **kwargs: Any) -> str:
        answers = kwargs.get("cookiecutter", {})
        for field in NAME_FIELDS:
            value = str(answers.get(field, ""))
            problem = name_problem(value)
            if problem:
                raise _refuse(value, f"{problem} ({field} names a file or folder)")
        return self._template.render(*args, **kwargs)

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self._template, attribute)


class AnswerGuard(Extension):
    def __init__(self, environment: Environment):
        super().__init__(environment)
        trusted = _starter_templates()
        render_text = environment.from_string

        def from_string(source: Any, *args: Any, **kwargs: Any) -> Any:
            if not isinstance(source, str):
                return render_text(source, *args, **kwargs)
            if source not in trusted:
                problem = answer_problem(NAME_TEMPLATE.sub("", source))
                if problem:
                    raise _refuse(source, problem)
            template = render_text(source, *args, **kwargs)
            return _CheckedPath(template) if NAME_TEMPLATE.search(source) else template

        environment.from_string = from_string  # type: ignore[method-assign]
