"""Claims the docs make that a test can check: versions the locks pin, documents and
README sections that configuration files point to, and the runner's module list."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support import STARTER, bake


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    return bake(tmp_path_factory.mktemp("claims"))


def _docs(project: Path) -> dict[str, str]:
    paths = [project / "README.md", *(project / "docs").glob("*.md"), STARTER / "README.md"]
    return {str(path): path.read_text() for path in paths}


def _pins(project: Path) -> dict[str, set[str]]:
    """Package -> the versions any of the project's locks pin."""
    pins: dict[str, set[str]] = {}
    for lock in project.glob("requirements*.txt"):
        for name, version in re.findall(
            r"^([\w.-]+)(?:\[[^\]]*\])?==(\S+)", lock.read_text(), re.M
        ):
            pins.setdefault(name.lower(), set()).add(version)
    return pins


def test_versions_the_docs_say_are_pinned_are_the_pinned_ones(project):
    pins = _pins(project)
    claims = [
        (doc, name.lower(), version)
        for doc, text in _docs(project).items()
        for name, version in re.findall(
            r"\bpins ([a-z][\w.-]*) (\d[\w.]*\d)", " ".join(text.split())
        )
    ]
    assert claims  # the docs do name some
    wrong = [c for c in claims if c[2] not in pins.get(c[1], set())]
    assert not wrong, f"(doc, package, version) not pinned so: {wrong}"


def test_what_configuration_files_point_to_exists(project):
    readme = (project / "README.md").read_text()
    sections = set(re.findall(r"^## (.+)$", readme, re.M))
    for conf in (project / "conf").rglob("*.yml"):
        text = " ".join(conf.read_text().split())
        for doc in re.findall(r"\b(docs/[\w-]+\.md)\b", text):
            assert (project / doc).is_file(), (conf, doc)
        for section in re.findall(r"README's \"([^\"]+)\" section", text):
            assert section in sections, (conf, section)


def test_the_root_readme_lists_every_runner_module(project):
    table = (
        (STARTER / "README.md").read_text().split("The runner package, one module per concern:")[1]
    )
    table = table.split("\n\n", 2)[1]
    listed = set(re.findall(r"`([\w]+\.py)`", table))
    shipped = {p.name for p in (project / "src" / "rocket_science" / "runner").glob("*.py")}
    assert listed == shipped - {"__init__.py"}, listed ^ (shipped - {"__init__.py"})
