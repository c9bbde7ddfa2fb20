"""The `fingerprint` scenario: the client's check of what code it runs, computed in a
fresh process, in a virtual environment with the project's own lock installed
(``few``) and in a copy of it with many more distributions installed (``many``).

The client computes ``<package>.runner.fingerprint.fingerprint()`` once per process
(functools.cache); a fresh process of the venv's own Python (``-I``: no PYTHONPATH,
no user site) imports the runner, as a client has, then times
``fingerprint.cache_clear(); fingerprint()`` (wall time, and the process's CPU time,
which others' load on the machine disturbs less). The cost must not grow with the
number of installed distributions.

``many`` is a hard-linked copy of ``few`` (made after a first run there, so its
bytecode is compiled too) with tiny distributions added to its site-packages, each a
``.dist-info`` folder with a METADATA file (Name, Version), up to MANY_DISTRIBUTIONS.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.support import create_project_venv, run

MANY_DISTRIBUTIONS = 600
LOCK = "requirements.txt"
INSTALL_TIMEOUT = 900
FILLER = "bench-filler"

# Runs in the venv's Python: argv[1] is the project's package.
PROBE = """
import importlib, importlib.metadata, json, sys, time
module = importlib.import_module(sys.argv[1] + ".runner.fingerprint")
start, cpu = time.perf_counter(), time.process_time()
module.fingerprint.cache_clear()
found = module.fingerprint()
seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
print(json.dumps({
    "seconds": seconds,
    "cpu_s": cpu,
    "packages": len(found.packages),
    "distributions": len({d.metadata["Name"] for d in importlib.metadata.distributions()}),
}))
"""


def site_packages(prefix: Path) -> Path:
    found = sorted(prefix.glob("lib/python*/site-packages"))
    if len(found) != 1:
        raise RuntimeError(f"no single site-packages folder in {prefix}: {found}")
    return found[0]


def prepare(project: Path, work: Path, package: str) -> dict[str, Any]:
    """Makes the two environments; returns each one's Python and how long it took."""
    started = time.perf_counter()
    few = work / "venv-few"
    python = create_project_venv(project, few, locks=(LOCK,))
    first = probe(python, package, INSTALL_TIMEOUT)  # compiles the bytecode, once
    if "error" in first:
        raise RuntimeError(first["error"])
    many = work / "venv-many"
    shutil.copytree(few, many, symlinks=True, copy_function=os.link)
    add_fillers(site_packages(many), MANY_DISTRIBUTIONS - first["distributions"])
    second = probe(many / "bin" / "python", package, INSTALL_TIMEOUT)
    if "error" in second:
        raise RuntimeError(second["error"])
    return {
        "python": {"few": str(python), "many": str(many / "bin" / "python")},
        "distributions": {"few": first["distributions"], "many": second["distributions"]},
        "setup_s": time.perf_counter() - started,
    }


def add_fillers(site: Path, count: int) -> None:
    """``count`` tiny installed distributions: a .dist-info folder with METADATA."""
    for i in range(count):
        name = f"{FILLER}-{i:04d}"
        folder = site / f"{name.replace('-', '_')}-1.0.dist-info"
        folder.mkdir()
        (folder / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n"
            "Summary: A benchmark's stand-in for an installed distribution\n"
        )
        (folder / "INSTALLER").write_text("benchmark\n")


def probe(python: Path | str, package: str, timeout: float) -> dict[str, Any]:
    """One fresh process of ``python``: the fingerprint's time, or the error."""
    try:
        output = run([python, "-I", "-c", PROBE, package], timeout=timeout).stdout
        return json.loads(output.strip().splitlines()[-1])
    except (AssertionError, subprocess.TimeoutExpired, ValueError, IndexError) as exc:
        return {"error": f"{type(exc).__name__}: {exc}"[:400]}


if __name__ == "__main__":  # python -m benchmarks.fingerprint_cost PROJECT WORK PACKAGE
    print(json.dumps(prepare(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]), indent=2))
