"""Namespaces, several outputs, dict outputs, free inputs and outputs, copy semantics:
DaskRunner must give what SequentialRunner gives. Quick: an in-process LocalCluster."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support import run

CHECK = Path(__file__).parent / "lab" / "in_process_check.py"


def test_dask_runner_matches_sequential_runner(installed_project):
    project, python = installed_project
    result = run([python, CHECK], cwd=project, timeout=120)
    outputs = json.loads(result.stdout.strip().splitlines()[-1])
    assert outputs["dask"] == outputs["sequential"]
    assert outputs["dask"] == {
        "left.shifted": [12, 14],
        "mutated_length": 6,
        "numbers_seen": [1, 2, 3, 4, 5],
        "parts": [[1, 2], [3, 4, 5]],
        "right.shifted": [12, 14],
        "total": 15,
    }
