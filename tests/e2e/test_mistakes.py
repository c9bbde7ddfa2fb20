"""Mistakes a new user makes end in a few lines that name the value and the fix; the
full traceback is one flag (--verbose) away."""

from __future__ import annotations

import pytest

from tests.support import copy_project, kedro

MAX_LINES = 15
NO_STORE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""}

MISTAKES = {
    "a part-way run whose inputs were never made": (
        ["--from-nodes", "compare_models"], {}, "Dataset 'linear_metrics' has no data at",
    ),
    "object storage without credentials": (
        ["--params", "storage=s3://no-such-bucket/run"], NO_STORE_CREDENTIALS,
        "No credentials for the object store",
    ),
    "a misspelt cluster keyword": (
        ["--env", "dask", "--params", "dask_client.cluster_kwargs.n_worker=3"], {},
        "dask_client.cluster_kwargs.n_worker: distributed.LocalCluster takes no such "
        "keyword. Did you mean 'n_workers'?",
    ),
    "an unknown environment": (["--env", "dsak"], {}, "the environments are: base, dask"),
}  # fmt: skip


@pytest.fixture(scope="module")
def fresh(installed_project, tmp_path_factory):
    """A copy of the project on which nothing has run yet."""
    project, python = installed_project
    return copy_project(project, tmp_path_factory.mktemp("mistakes") / project.name), python


@pytest.mark.parametrize("mistake", list(MISTAKES))
def test_a_mistake_is_answered_in_a_few_lines(fresh, mistake):
    project, python = fresh
    args, env, expected = MISTAKES[mistake]
    result = kedro(project, python, "run", *args, check=False, timeout=120, **env)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert expected in " ".join(output.split()), output[-3000:]
    assert len(output.splitlines()) <= MAX_LINES, output
    verbose = kedro(project, python, "run", *args, "--verbose", check=False, timeout=120, **env)
    assert "Traceback" in verbose.stdout + verbose.stderr or mistake == "an unknown environment"
