"""Shared helpers for the starter's own tests: baking, virtual environments, commands.

Every tier imports from here, so there is one way to bake a project, one way to
install it and one way to run a command with a bounded wait.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import venv
from pathlib import Path

import pytest

STARTER = Path(__file__).resolve().parents[1]
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

# Kedro and Prefect phone home unless told not to; tests never reach the internet.
QUIET_ENV = {
    "KEDRO_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "1",
    "PYTHONUNBUFFERED": "1",
}


def require(condition: bool, reason: str) -> None:
    """Skip on a developer machine that lacks a real part; fail in CI, where it must run."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"CI must provide this, but: {reason}", pytrace=False)
    pytest.skip(reason)


def command_env(**extra: str) -> dict[str, str]:
    env = {**os.environ, **QUIET_ENV, **extra}
    env.pop("VIRTUAL_ENV", None)
    return env


def run(
    args: list[str],
    cwd: Path | None = None,
    timeout: float = 600,
    check: bool = True,
    env: dict[str, str] | None = None,
    extra_env: dict[str, str] | None = None,
    input_text: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a command with a bounded wait; on failure show what it printed."""
    result = subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env=env or command_env(**(extra_env or {})),
        input=input_text,
        stdin=None if input_text is not None else subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"{' '.join(map(str, args))} exited {result.returncode}\n"
            f"--- stdout ---\n{result.stdout[-6000:]}\n--- stderr ---\n{result.stderr[-6000:]}"
        )
    return result


def bake(output_dir: Path, **context: str) -> Path:
    """Render the starter with cookiecutter's API, as `cookiecutter <path>` does."""
    from cookiecutter.main import cookiecutter

    context.setdefault("project_name", "Rocket Science")
    return Path(
        cookiecutter(
            str(STARTER),
            no_input=True,
            extra_context=context,
            output_dir=str(output_dir),
        )
    )


def starter_files() -> list[Path]:
    """The starter's files as git sees them, including uncommitted work."""
    listing = run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=STARTER,
    ).stdout
    return [STARTER / name for name in listing.split("\0") if name and (STARTER / name).exists()]


def make_starter_repo(destination: Path, tag: str = "0.1.0-test") -> Path:
    """A real git repository of the working tree, for `kedro new --starter=git+file://`."""
    for source in starter_files():
        target = destination / source.relative_to(STARTER)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    git = ["git", "-c", "user.email=tests@example.invalid", "-c", "user.name=tests"]
    run([*git, "init", "-q", "-b", "main"], cwd=destination)
    run([*git, "add", "-A"], cwd=destination)
    run([*git, "commit", "-q", "-m", "starter under test"], cwd=destination)
    run([*git, "tag", tag], cwd=destination)
    return destination


def kedro_new(starter_repo: Path, output_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the real `kedro new` of the test environment against a git URL."""
    kedro = Path(sys.executable).with_name("kedro")
    return run(
        [kedro, "new", f"--starter=git+file://{starter_repo}", *args],
        cwd=output_dir,
        check=False,
        timeout=300,
    )


def create_project_venv(
    project: Path,
    venv_dir: Path,
    locks: tuple[str, ...] = ("requirements.txt", "requirements-dev.txt"),
) -> Path:
    """A fresh virtual environment with the project's locked requirements and the
    project itself installed, as the generated README tells users to do."""
    venv.EnvBuilder(with_pip=True, clear=True).create(venv_dir)
    python = venv_dir / "bin" / "python"
    requirements = [arg for lock in locks for arg in ("-r", lock)]
    run([python, "-m", "pip", "install", "--quiet", *requirements], cwd=project, timeout=900)
    run([python, "-m", "pip", "install", "--quiet", "--no-deps", "-e", "."], cwd=project)
    return python


def copy_project(project: Path, target: Path) -> Path:
    """A second folder of an installed project at ``target``: the same code and
    configuration, but nothing that a run left in data/."""
    shutil.copytree(
        project,
        target,
        ignore=shutil.ignore_patterns("*.egg-info", "__pycache__", ".pytest_cache"),
    )
    for path in (target / "data").rglob("*"):
        if path.is_file() and path.name != ".gitkeep":
            path.unlink()
    return target


def free_port(below: int | None = None) -> int:
    """A loopback port that nothing listens on right now; ``below``: for servers that
    refuse the ephemeral range (kedro-viz takes no port above 49151)."""
    for _ in range(100):
        wanted = random.randrange(10000, below) if below else 0
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", wanted))
            except OSError:
                continue
            return probe.getsockname()[1]
    raise RuntimeError(f"no free loopback port below {below}")


def kedro_in(python: Path) -> Path:
    return python.with_name("kedro")


def kedro(
    project: Path, python: Path, *args: str, timeout: float = 180, check: bool = True, **env: str
) -> subprocess.CompletedProcess[str]:
    """`kedro ...` of the project's own venv, run in the project folder; a wide
    terminal so that rich does not wrap the messages tests look for."""
    return run(
        [kedro_in(python), *args],
        cwd=project,
        timeout=timeout,
        check=check,
        env=command_env(COLUMNS="200", **env),
    )


def first_answer(
    args: list, cwd: Path, url: str, env: dict[str, str], timeout: float = 90
) -> bytes:
    """Start a server (its own process group), return what ``url`` answers once it
    answers, then stop the server. On failure, show the server's last output."""
    with tempfile.TemporaryFile("w+") as log:
        server = subprocess.Popen(
            [str(a) for a in args], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    with urllib.request.urlopen(url, timeout=5) as response:
                        return response.read()
                except OSError:
                    if server.poll() is not None or time.monotonic() > deadline:
                        log.seek(0)
                        raise AssertionError(
                            f"{url} did not answer; the server printed:\n{log.read()[-4000:]}"
                        ) from None
                    time.sleep(0.5)
        finally:
            stop_group(server)


def stop_group(process: subprocess.Popen, timeout: float = 30) -> None:
    """Stop a process started with ``start_new_session=True`` and everything it
    started: SIGTERM to its group, then SIGKILL after ``timeout`` seconds."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=timeout)
