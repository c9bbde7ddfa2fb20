"""When datasets are released and confirmed (the Release classes of Kedro's
sequential, thread and parallel runner tests, and test_confirms). The expected
event orders are those of ThreadRunner.

The datasets record into a list of the test process, and test_confirms watches a
Mock dataset: both are observable only when the runner uses the client's own
objects, so these tests run in the in_process mode only.
"""

# The `# kedro:` comments name Kedro test ids, which are longer than a line.
# ruff: noqa: E501

from __future__ import annotations

from unittest import mock

import contract_kit as kit
import pytest
from kedro.io import DataCatalog
from kedro.pipeline import node, pipeline

IS_ASYNC = pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
pytestmark = IS_ASYNC


# kedro: tests/runner/test_sequential_runner.py::TestSequentialRunnerRelease::test_dont_release_inputs_and_outputs
# kedro: tests/runner/test_thread_runner.py::TestThreadRunnerRelease::test_dont_release_inputs_and_outputs
# kedro: tests/runner/test_parallel_runner.py::TestParallelRunnerRelease::test_dont_release_inputs_and_outputs
@pytest.mark.in_process_only(reason=kit.WORKERS_COPY_LOGGING_DATASETS)
def test_dont_release_inputs_and_outputs(make_runner, is_async):
    events = []
    a_pipeline = pipeline([node(kit.identity, "in", "middle"), node(kit.identity, "middle", "out")])
    catalog = DataCatalog(
        {
            "in": kit.RecordingDataset(events, "in", "stuff"),
            "middle": kit.RecordingDataset(events, "middle"),
            "out": kit.RecordingDataset(events, "out"),
        }
    )

    make_runner(is_async=is_async).run(a_pipeline, catalog)

    # The pipeline's own input and output are never released.
    assert list(events) == [("load", "in"), ("load", "middle"), ("release", "middle")]


# kedro: tests/runner/test_sequential_runner.py::TestSequentialRunnerRelease::test_release_at_earliest_opportunity
# kedro: tests/runner/test_thread_runner.py::TestThreadRunnerRelease::test_release_at_earliest_opportunity
# kedro: tests/runner/test_parallel_runner.py::TestParallelRunnerRelease::test_release_at_earliest_opportunity
@pytest.mark.in_process_only(reason=kit.WORKERS_COPY_LOGGING_DATASETS)
def test_release_at_earliest_opportunity(make_runner, is_async):
    events = []
    a_pipeline = pipeline(
        [
            node(kit.source, None, "first"),
            node(kit.identity, "first", "second"),
            node(kit.sink, "second", None),
        ]
    )
    catalog = DataCatalog(
        {
            "first": kit.RecordingDataset(events, "first"),
            "second": kit.RecordingDataset(events, "second"),
        }
    )

    make_runner(is_async=is_async).run(a_pipeline, catalog)

    # "first" is released before "second" is loaded.
    assert list(events) == [
        ("load", "first"),
        ("release", "first"),
        ("load", "second"),
        ("release", "second"),
    ]


# kedro: tests/runner/test_sequential_runner.py::TestSequentialRunnerRelease::test_count_multiple_loads
# kedro: tests/runner/test_thread_runner.py::TestThreadRunnerRelease::test_count_multiple_loads
# kedro: tests/runner/test_parallel_runner.py::TestParallelRunnerRelease::test_count_multiple_loads
@pytest.mark.in_process_only(reason=kit.WORKERS_COPY_LOGGING_DATASETS)
def test_count_multiple_loads(make_runner, is_async):
    events = []
    a_pipeline = pipeline(
        [
            node(kit.source, None, "dataset"),
            node(kit.sink, "dataset", None, name="bob"),
            node(kit.sink, "dataset", None, name="fred"),
        ]
    )
    catalog = DataCatalog({"dataset": kit.RecordingDataset(events, "dataset")})

    make_runner(is_async=is_async).run(a_pipeline, catalog)

    # Released once, after both of its readers loaded it.
    assert list(events) == [
        ("load", "dataset"),
        ("load", "dataset"),
        ("release", "dataset"),
    ]


# kedro: tests/runner/test_sequential_runner.py::TestSequentialRunnerRelease::test_release_transcoded
# kedro: tests/runner/test_thread_runner.py::TestThreadRunnerRelease::test_release_transcoded
# kedro: tests/runner/test_parallel_runner.py::TestParallelRunnerRelease::test_release_transcoded
@pytest.mark.in_process_only(reason=kit.WORKERS_COPY_LOGGING_DATASETS)
def test_release_transcoded(make_runner, is_async):
    events = []
    a_pipeline = pipeline([node(kit.source, None, "ds@save"), node(kit.sink, "ds@load", None)])
    catalog = DataCatalog(
        {
            "ds@save": kit.RecordingDataset(events, "save"),
            "ds@load": kit.RecordingDataset(events, "load"),
        }
    )

    make_runner(is_async=is_async).run(a_pipeline, catalog)

    # Both transcoded forms are released.
    assert list(events) == [("release", "save"), ("load", "load"), ("release", "load")]


# kedro: tests/runner/test_sequential_runner.py::TestSequentialRunnerRelease::test_confirms
@pytest.mark.in_process_only(reason=kit.WORKERS_CANNOT_REBUILD_MOCKS)
@pytest.mark.parametrize(
    "a_pipeline",
    [
        pipeline([node(kit.identity, "ds1", "ds2", confirms="ds1")]),
        pipeline(
            [
                node(kit.identity, "ds1", "ds2"),
                node(kit.identity, "ds2", None, confirms="ds1"),
            ]
        ),
    ],
    ids=["confirms_own_input", "confirms_upstream_input"],
)
def test_confirms(make_runner, is_async, a_pipeline):
    dataset = mock.Mock()
    catalog = DataCatalog(datasets={"ds1": dataset})

    make_runner(is_async=is_async).run(a_pipeline, catalog)

    dataset.confirm.assert_called_once_with()
