"""The Kedro runner contract: Kedro's own runner tests, transcribed to run against a
Dask runner (the class at the dotted path in $CONTRACT_RUNNER, by default
``rocket_science.runner.DaskRunner``).

Source of the transcription: the tests of the kedro-org/kedro repository at its
1.5.0 line (``tests/runner/*`` and the runner-related hook tests of
``tests/framework/session/test_session_extension_hooks.py``). The project runs
Kedro 1.7.0, but Kedro 1.7.0's sdist ships no tests, so the 1.5.0 line is the
nearest set of Kedro's own expectations available; its runner code
(``kedro/runner/runner.py``, ``task.py``) matches 1.7.0 for everything tested here.

Each test is written anew for the Dask runner and names, in a ``# kedro:``
comment, the Kedro test(s) it transcribes. Where Kedro tests the same scenario
once per runner (sequential, thread, parallel), one test covers it, parametrized
over what differs (``is_async``, the catalog's dataset class, ...).

Every test that runs a pipeline takes the ``make_runner`` fixture, which is
parametrized over two clusters:

* ``in_process``: a LocalCluster whose single worker is two threads of the test
  process. The runner is expected to use the client's own catalog objects and
  hook manager there, so datasets that record into test memory, Mock datasets and
  hooks registered on the test's hook manager are observable.
* ``worker_processes``: a LocalCluster of two worker processes. Datasets are
  rebuilt on the workers from ``catalog.to_config()`` (copies) and only the
  project's configured hooks run there; tests that observe side effects in the
  test process are skipped in this mode with a reason that says so.

Tests that cannot apply to a Dask runner at all are skipped with a reason naming
why. All skip reasons are the constants of ``contract_kit``.
"""

from __future__ import annotations

import importlib
import os

import contract_kit as kit
import pytest

os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "1")

DEFAULT_RUNNER = "rocket_science.runner.DaskRunner"
MODE_MARKERS = {
    # marker name -> the mode in which a test carrying it is skipped
    "in_process_only": kit.WORKER_PROCESSES,
    "worker_processes_only": kit.IN_PROCESS,
}


def runner_class():
    path = os.environ.get("CONTRACT_RUNNER") or DEFAULT_RUNNER
    module_name, _, class_name = path.rpartition(".")
    return getattr(importlib.import_module(module_name), class_name)


def pytest_collection_modifyitems(config, items):
    """Refuse any skip whose reason is not one of the declared ones."""
    for item in items:
        for name in ("skip", *MODE_MARKERS):
            for marker in item.iter_markers(name):
                reason = marker.kwargs.get("reason")
                if reason not in kit.SKIP_REASONS:
                    raise pytest.UsageError(
                        f"{item.nodeid}: @{name} needs a reason from "
                        f"contract_kit.SKIP_REASONS, got {reason!r}"
                    )


@pytest.fixture(scope="session")
def in_process_cluster():
    from distributed import LocalCluster

    cluster = LocalCluster(
        processes=False, n_workers=1, threads_per_worker=2, dashboard_address=":0"
    )
    yield cluster
    cluster.close()


@pytest.fixture(scope="session")
def worker_processes_cluster():
    from distributed import LocalCluster

    cluster = LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=":0",
    )
    yield cluster
    cluster.close()


@pytest.fixture(params=kit.CLUSTER_MODES)
def cluster_mode(request) -> str:
    """The cluster a test's runner uses; a test marked for one mode only is
    skipped in the other, with the marker's reason, before any cluster starts."""
    for marker_name, skipped_in in MODE_MARKERS.items():
        marker = request.node.get_closest_marker(marker_name)
        if marker is not None and request.param == skipped_in:
            pytest.skip(marker.kwargs["reason"])
    return request.param


@pytest.fixture
def make_runner(request, cluster_mode):
    """``make_runner(is_async=False, **kwargs)``: a runner connected to the
    cluster of this test's mode."""
    cluster = request.getfixturevalue(f"{cluster_mode}_cluster")
    runner_cls = runner_class()

    def make(is_async: bool = False, **kwargs):
        return runner_cls(address=cluster.scheduler_address, is_async=is_async, **kwargs)

    return make


@pytest.fixture
def idle_runner(worker_processes_cluster):
    """A runner for tests that call one of its methods and run no pipeline; it gets
    the tcp:// address of a real scheduler, which any runner accepts."""
    return runner_class()(address=worker_processes_cluster.scheduler_address)
