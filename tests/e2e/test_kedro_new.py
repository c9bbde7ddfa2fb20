"""End-to-end tier: `kedro new` from a real git URL, then install and run as a user would."""

from __future__ import annotations

import json
import os
import shutil
import sys
import tarfile
import venv
from pathlib import Path

import pandas as pd
import pytest
import yaml

from tests.support import (
    command_env,
    copy_project,
    first_answer,
    free_port,
    kedro,
    kedro_in,
    kedro_new,
    run,
)


def _assert_is_project(project: Path, package: str) -> None:
    assert (project / "pyproject.toml").is_file()
    assert (project / "src" / package / "pipeline_registry.py").is_file()
    assert sorted(p.name for p in (project / "conf/local").iterdir()) == [".gitkeep"]


def test_new_with_name(starter_repo, tmp_path):
    result = kedro_new(starter_repo, tmp_path, "--name", "Rocket Science")
    assert result.returncode == 0, result.stderr
    _assert_is_project(tmp_path / "rocket-science", "rocket_science")


def test_new_with_config_file(starter_repo, tmp_path):
    out = tmp_path / "projects"
    out.mkdir()
    config = tmp_path / "config.yml"
    config.write_text(
        yaml.safe_dump(
            {
                "project_name": "Flight Plans",
                "repo_name": "flight-plans-repo",
                "python_package": "flight_plans_pkg",
                "output_dir": str(out),
            }
        )
    )
    result = kedro_new(starter_repo, tmp_path, "--config", str(config))
    assert result.returncode == 0, result.stderr
    _assert_is_project(out / "flight-plans-repo", "flight_plans_pkg")


def test_new_with_checkout_tag(starter_repo, tmp_path):
    result = kedro_new(starter_repo, tmp_path, "--name", "Tagged", "--checkout", "0.1.0-test")
    assert result.returncode == 0, result.stderr
    _assert_is_project(tmp_path / "tagged", "tagged")


def test_new_interactive(starter_repo, tmp_path):
    kedro = Path(sys.executable).with_name("kedro")
    result = run(
        [kedro, "new", f"--starter=git+file://{starter_repo}"],
        cwd=tmp_path,
        check=False,
        timeout=300,
        input_text="Asked Interactively\n",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Project Name" in result.stdout
    _assert_is_project(tmp_path / "asked-interactively", "asked_interactively")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--name", "1 starts with a digit"], "project_name"),
        (["--name", "Pandas"], "python_package 'pandas'"),
    ],
)
def test_new_rejects_bad_names_and_leaves_nothing(starter_repo, tmp_path, args, message):
    result = kedro_new(starter_repo, tmp_path, *args)
    assert result.returncode != 0
    assert message in result.stdout + result.stderr
    assert list(tmp_path.iterdir()) == []


def test_new_into_an_existing_folder_says_so_in_a_few_lines(starter_repo, tmp_path):
    (tmp_path / "rocket-science").mkdir()
    result = kedro_new(starter_repo, tmp_path, "--name", "Rocket Science")
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert '"' + str(tmp_path / "rocket-science") + '" directory already exists' in output
    # Kedro's logging set-up line, then the error, its cause and the --verbose hint.
    assert len(output.strip().splitlines()) <= 10, output
    assert "NoneType: None" not in output


def test_installed_project_runs_and_passes_its_tests(installed_project, tmp_path):
    project, python = installed_project
    run([kedro_in(python), "run"], cwd=project, timeout=300)
    comparison = pd.read_csv(project / "data/08_reporting/model_comparison.csv")
    assert sorted(comparison["model"]) == ["linear", "quadratic", "ridge"]
    best = json.loads((project / "data/08_reporting/best_model.json").read_text())
    assert best["best_model"] == "quadratic"

    run([kedro_in(python), "run", "--runner", "ParallelRunner"], cwd=project, timeout=300)
    # Kedro's node selections work on the example: what a partial run reads is persisted.
    for selection in (
        ["--tags", "model_selection"],
        ["--from-nodes", "compare_models"],
        ["--to-nodes", "split_measurements"],
        ["--nodes", "select_best_model"],
        ["--namespaces", "linear"],
        ["--env", "dask", "--from-nodes", "compare_models"],
    ):
        run([kedro_in(python), "run", *selection], cwd=project, timeout=300)
    tests = run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=project, timeout=600)
    assert " passed" in tests.stdout and "failed" not in tests.stdout
    run([python, "-m", "ruff", "check", "--no-cache", "."], cwd=project)
    run([python, "-m", "ruff", "format", "--check", "--no-cache", "."], cwd=project)
    run([python, "-m", "mypy", "--no-incremental"], cwd=project, timeout=300)


def test_shipped_locks_are_up_to_date(installed_project, tmp_path):
    """`make requirements`, started from the shipped locks, keeps every pin and hash:
    each lock satisfies its .in file exactly (a stale or hand-edited lock changes)."""
    project, _ = installed_project
    locks = (
        "requirements.txt",
        "requirements-dev.txt",
        "requirements-prefect.txt",
        "requirements-slurm.txt",
    )
    for name in ("Makefile", *(lock.replace(".txt", ".in") for lock in locks), *locks):
        shutil.copy(project / name, tmp_path / name)
    tools = str(Path(sys.executable).parent)
    # Compile against PyPI itself, not this machine's local wheel folders.
    env = {"PIP_CONFIG_FILE": "/dev/null", "PATH": f"{tools}:{os.environ['PATH']}"}
    run(["make", "requirements"], cwd=tmp_path, timeout=900, extra_env=env)
    for lock in locks:
        assert _pins(tmp_path / lock) == _pins(project / lock), lock
        assert "make requirements" in (project / lock).read_text().split("\n", 6)[4]


def _pins(lock: Path) -> list[str]:
    """Requirement and hash lines, without the header comments."""
    return [
        line.strip()
        for line in lock.read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]


def _activated(python: Path, home: Path) -> dict[str, str]:
    """What `source .venv/bin/activate` gives: `kedro ipython` starts the `ipython` on
    PATH. A home of its own, for Jupyter's kernel and runtime files."""
    return {"PATH": f"{python.parent}{os.pathsep}{os.environ['PATH']}", "HOME": str(home)}


def test_kedros_usual_tools_work_on_the_project(installed_project, tmp_path):
    """IPython, the example notebook, Kedro-Viz and Jupyter, from the development lock."""
    project, python = installed_project
    project = copy_project(project, tmp_path / project.name)
    env = _activated(python, tmp_path / "home")
    kedro(project, python, "run")

    script = 'print(catalog.load("params:data_generation"), catalog.load("best_model"))'
    shell = kedro(project, python, "ipython", "-c", script, **env)
    assert "'n_rows': 5000" in shell.stdout and "'best_model': 'quadratic'" in shell.stdout

    notebook = project / "notebooks" / "first_look.ipynb"
    run([python, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute",
         "--output-dir", tmp_path / "executed", notebook], cwd=project,
        env=command_env(**env), timeout=300)  # fmt: skip
    cells = json.loads((tmp_path / "executed" / notebook.name).read_text())["cells"]
    results = "".join(
        "".join(output.get("data", {}).get("text/plain", ""))
        for cell in cells
        for output in cell.get("outputs", [])
    )
    assert "quadratic" in results and "'n_rows'" in results

    kedro(project, python, "viz", "build", **env)
    graph = json.loads((project / "build" / "api" / "main").read_text())
    nodes = {node["name"] for node in graph["nodes"] if node["type"] == "task"}
    assert {"generate_measurements", "compare_models", "select_best_model"} <= nodes
    assert (project / "build" / "index.html").is_file()

    port = free_port(below=49152)
    viz = first_answer([kedro_in(python), "viz", "run", "--no-browser", "--host", "127.0.0.1",
                        "--port", port], project, f"http://127.0.0.1:{port}/api/main",
                       command_env(**env))  # fmt: skip
    assert {node["name"] for node in json.loads(viz)["nodes"]} >= nodes

    port, token = free_port(), "e2e-token"
    lab = [kedro_in(python), "jupyter", "lab", "--no-browser", "--port", port,
           f"--IdentityProvider.token={token}"]  # fmt: skip
    lab += ["--allow-root"] if os.geteuid() == 0 else []
    url = f"http://127.0.0.1:{port}/api/kernelspecs?token={token}"
    kernels = json.loads(first_answer(lab, project, url, command_env(**env)))
    # `kedro jupyter lab` made the project's kernel (with the catalog) the default.
    assert kernels["default"] == f"kedro_{project.name.replace('-', '_')}"


def test_kedro_package_ships_no_credentials(installed_project, tmp_path):
    """`kedro package` exports conf/ without any env's credentials or key files."""
    project, python = installed_project
    copy = copy_project(project, tmp_path / project.name)
    planted = {
        "conf/dask/credentials.yml": "store: {key: planted-secret}\n",
        "conf/base/credentials_extra.yml": "other: {token: planted-secret}\n",
        "conf/base/client.pem": "planted-secret\n",
        "conf/deploy/service_account.json": '{"key": "planted-secret"}\n',
    }
    for name, text in planted.items():
        (copy / name).write_text(text)
    result = kedro(copy, python, "package", timeout=600)
    archive = copy / "dist" / "conf-rocket_science.tar.gz"
    with tarfile.open(archive) as shipped:
        names = shipped.getnames()
        contents = b"".join(shipped.extractfile(m).read() for m in shipped if m.isfile())
    assert "conf/dask/parameters.yml" in names and "conf/base/catalog.yml" in names
    assert b"planted-secret" not in contents, names
    assert "Left out of conf-rocket_science.tar.gz: conf/dask/credentials.yml" in result.stdout
    assert list((copy / "dist").glob("rocket_science-*.whl"))


@pytest.mark.parametrize(
    "locks",
    [("requirements.txt", "requirements-dev.txt"), ("requirements-prefect.txt",)],
    ids=["main-and-dev", "prefect"],
)
def test_locks_install_with_debian_12s_pip(installed_project, tmp_path, locks):
    """Debian 12's python3-pip is 23.0.1 (Python 3.11's ensurepip gives 23.2.1, which
    the other tiers use): hashed locks with extras install with it too."""
    project, _ = installed_project
    venv.EnvBuilder(with_pip=True).create(tmp_path / "venv")
    python = tmp_path / "venv" / "bin" / "python"
    run([python, "-m", "pip", "install", "--quiet", "pip==23.0.1"], timeout=300)
    assert "pip 23.0.1" in run([python, "-m", "pip", "--version"]).stdout
    requirements = [arg for lock in locks for arg in ("-r", project / lock)]
    run([python, "-m", "pip", "install", "--quiet", *requirements], timeout=900)
