"""Hostile answers through plain cookiecutter, `kedro new --config` and `--name`:
nothing runs, nothing is created outside the output folder, nothing is left."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

from tests.support import STARTER, run

MARK = "pwned-marker"
HOSTILE = {
    "jinja": "{{ cycler.__init__.__globals__.os.system('touch " + MARK + "') }}",
    "jinja-statement": "{% for x in [1] %}{{ x }}{% endfor %}",
    "shell": f"x$(touch {MARK})",
    "backticks": f"x`touch {MARK}`",
    "parent": "../escape",
    "dots": "..",
    "absolute": "/tmp/kedro-dask-starter-hostile-answer",
    "backslash": "a\\b",
    "quotes": "x'\"y",
    "long": "a" * 300,
}
FIELDS = ("project_name", "repo_name", "python_package")
OUTSIDE = Path("/tmp/kedro-dask-starter-hostile-answer")


def assert_nothing_happened(workdir: Path, out: Path, result) -> None:
    assert result.returncode != 0, result.stdout + result.stderr
    assert list(out.iterdir()) == [], "a refused bake must leave nothing behind"
    assert sorted(p.name for p in workdir.iterdir()) == sorted(
        ["out", "config.yml"] if (workdir / "config.yml").exists() else ["out"]
    ), "something was written next to the output folder"
    assert not list(workdir.rglob(MARK)) and not Path(MARK).exists(), "an answer ran code"
    assert not OUTSIDE.exists(), "an answer created a folder outside the output folder"


@pytest.fixture
def workdir(tmp_path) -> Path:
    (tmp_path / "out").mkdir()
    return tmp_path


@pytest.mark.parametrize("field", FIELDS)
@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_plain_cookiecutter_refuses(workdir, field, kind):
    result = run(
        [
            sys.executable, "-m", "cookiecutter", "--no-input", "-o", workdir / "out",
            STARTER, f"{field}={HOSTILE[kind]}",
        ],
        cwd=workdir,
        check=False,
        timeout=120,
    )  # fmt: skip
    assert_nothing_happened(workdir, workdir / "out", result)
    output = result.stdout + result.stderr
    assert "Cannot create the project" in output, output[-2000:]


@pytest.mark.parametrize("field", FIELDS)
@pytest.mark.parametrize("kind", ["jinja", "shell", "parent", "absolute", "long"])
def test_kedro_new_config_refuses(workdir, field, kind):
    answers = {"project_name": "Rocket Science", "output_dir": str(workdir / "out")}
    answers[field] = HOSTILE[kind]
    (workdir / "config.yml").write_text(yaml.safe_dump(answers))
    result = run(
        [Path(sys.executable).with_name("kedro"), "new", f"--starter={STARTER}",
         "--config", workdir / "config.yml"],
        cwd=workdir,
        check=False,
        timeout=120,
    )  # fmt: skip
    assert_nothing_happened(workdir, workdir / "out", result)


@pytest.mark.parametrize("kind", ["jinja", "shell", "parent", "long"])
def test_kedro_new_name_refuses(workdir, kind):
    result = run(
        [Path(sys.executable).with_name("kedro"), "new", f"--starter={STARTER}",
         "--name", HOSTILE[kind]],
        cwd=workdir / "out",
        check=False,
        timeout=120,
    )  # fmt: skip
    assert_nothing_happened(workdir, workdir / "out", result)


def test_guard_is_loaded_by_cookiecutter():
    """The refusals above come from answer_guard, listed in cookiecutter.json."""
    context = yaml.safe_load((STARTER / "cookiecutter.json").read_text())
    assert context["_extensions"] == ["answer_guard.AnswerGuard"]
    assert (STARTER / "answer_guard.py").is_file()
