"""Runs that succeed or fail as a whole: results, free outputs, feeds and errors
(Kedro's tests/runner/test_sequential_runner.py, test_thread_runner.py and
test_parallel_runner.py)."""

# The `# kedro:` comments name Kedro test ids, which are longer than a line.
# ruff: noqa: E501

from __future__ import annotations

import contract_kit as kit
import pandas as pd
import pytest
from kedro.framework.hooks import _create_hook_manager
from kedro.io import DataCatalog, DatasetError, MemoryDataset
from kedro.pipeline import node, pipeline

IS_ASYNC = pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])


# kedro: tests/runner/test_sequential_runner.py::TestValidSequentialRunner::test_run_with_plugin_manager
# kedro: tests/runner/test_sequential_runner.py::TestValidSequentialRunner::test_run_without_plugin_manager
# kedro: tests/runner/test_thread_runner.py::TestValidThreadRunner::test_thread_run
# kedro: tests/runner/test_thread_runner.py::TestValidThreadRunner::test_thread_run_with_plugin_manager
# kedro: tests/runner/test_parallel_runner.py::TestValidParallelRunner::test_parallel_run
# kedro: tests/runner/test_parallel_runner.py::TestValidParallelRunner::test_parallel_run_with_plugin_manager
@IS_ASYNC
@pytest.mark.parametrize("with_hook_manager", [False, True], ids=["no_hooks", "hooks"])
def test_fan_out_fan_in(make_runner, is_async, with_hook_manager):
    catalog = DataCatalog()
    catalog["A"] = 42
    hook_manager = _create_hook_manager() if with_hook_manager else None

    result = make_runner(is_async=is_async).run(
        kit.fan_out_fan_in(), catalog, hook_manager=hook_manager
    )

    assert set(result) == {"Z"}
    assert result["Z"].load() == (42, 42, 42)


# kedro: tests/runner/test_sequential_runner.py::TestValidSequentialRunner::test_run_twice_giving_same_result
def test_run_twice_giving_same_result(make_runner):
    catalog = DataCatalog()
    catalog["A"] = 42
    patterns_before = catalog.config_resolver.list_patterns()

    first = make_runner().run(kit.fan_out_fan_in(), catalog, hook_manager=_create_hook_manager())
    # The run leaves no runtime pattern behind in the catalog.
    assert catalog.config_resolver.list_patterns() == patterns_before
    second = make_runner().run(kit.fan_out_fan_in(), catalog, hook_manager=_create_hook_manager())

    assert first == second


# kedro: tests/runner/test_thread_runner.py::TestValidThreadRunner::test_memory_dataset_input
# kedro: tests/runner/test_parallel_runner.py::TestValidParallelRunner::test_memory_dataset_input
@IS_ASYNC
def test_memory_dataset_input(make_runner, is_async):
    catalog = DataCatalog({"A": MemoryDataset("42")})

    result = make_runner(is_async=is_async).run(pipeline([kit.fan_out_fan_in()]), catalog)

    assert set(result) == {"Z"}
    assert result["Z"].load() == ("42", "42", "42")


# kedro: tests/runner/test_thread_runner.py::TestValidThreadRunner::test_thread_run_with_patterns
def test_run_with_catch_all_memory_pattern(make_runner):
    # Every dataset comes from the catch-all pattern; the inputs were never saved,
    # so the run must reach the load and fail there (not on a double registration).
    catalog = DataCatalog.from_config({"{catch_all}": {"type": "MemoryDataset"}})
    a_pipeline = pipeline(
        [
            node(kit.identity, "dummy_1", "output_1", name="node_1"),
            node(kit.identity, "dummy_2", "output_2", name="node_2"),
            node(kit.identity, "dummy_1", "output_3", name="node_3"),
        ]
    )

    with pytest.raises(Exception, match="Data for MemoryDataset has not been saved yet"):
        make_runner().run(a_pipeline, catalog)


# kedro: tests/runner/test_sequential_runner.py::TestSequentialRunnerBranchlessPipeline::test_no_input_seq
@IS_ASYNC
def test_no_input_seq(make_runner, is_async):
    outputs = make_runner(is_async=is_async).run(kit.branchless_no_input_pipeline(), DataCatalog())

    assert "E" in outputs
    assert len(outputs) == 1


# kedro: tests/runner/test_sequential_runner.py::TestSequentialRunnerBranchlessPipeline::test_no_datasets
@IS_ASYNC
def test_no_datasets(make_runner, is_async):
    catalog = DataCatalog()
    catalog["ds1"] = 42

    outputs = make_runner(is_async=is_async).run(kit.branchless_pipeline(), catalog)

    assert "ds3" in outputs
    assert outputs["ds3"].load() == 42


# kedro: tests/runner/test_sequential_runner.py::TestSequentialRunnerBranchlessPipeline::test_no_feed
@IS_ASYNC
def test_no_feed(make_runner, is_async):
    outputs = make_runner(is_async=is_async).run(kit.branchless_pipeline(), kit.memory_catalog())

    assert "ds3" in outputs
    assert outputs["ds3"].load()["data"] == 42


# kedro: tests/runner/test_sequential_runner.py::TestSequentialRunnerBranchlessPipeline::test_node_returning_none
# kedro: tests/runner/test_thread_runner.py::TestInvalidThreadRunner::test_node_returning_none
# kedro: tests/runner/test_parallel_runner.py::TestInvalidParallelRunner::test_node_returning_none
@IS_ASYNC
@pytest.mark.parametrize("variant", ["sequential", "thread_parallel"])
def test_node_returning_none(make_runner, is_async, variant):
    if variant == "sequential":
        a_pipeline, catalog = kit.saving_none_pipeline(), DataCatalog()
    else:
        a_pipeline = pipeline([node(kit.identity, "A", "B"), node(kit.return_none, "B", "C")])
        catalog = DataCatalog({"A": MemoryDataset("42")})

    with pytest.raises(DatasetError, match="Saving 'None' to a 'Dataset' is not allowed"):
        make_runner(is_async=is_async).run(a_pipeline, catalog)


# kedro: tests/runner/test_sequential_runner.py::TestSequentialRunnerBranchlessPipeline::test_saved_output_is_returned_by_runner
@IS_ASYNC
def test_saved_output_is_returned_by_runner(make_runner, is_async):
    def saves_only_zero(data):
        assert data == 0

    catalog = DataCatalog(
        {
            "ds": kit.CallableDataset(load=kit.load_zero, save=saves_only_zero),
            "dsX": kit.CallableDataset(load=kit.load_zero, save=saves_only_zero),
        }
    )

    output = make_runner(is_async=is_async).run(kit.saving_result_pipeline(), catalog)

    assert "dsX" in output
    assert output["dsX"].load() == 0


# kedro: tests/runner/test_sequential_runner.py::TestSequentialRunnerBranchedPipeline::test_input_seq
@IS_ASYNC
def test_input_seq(make_runner, is_async):
    catalog = kit.memory_catalog()
    for name, frame in kit.raw_frames().items():
        catalog[name] = frame

    outputs = make_runner(is_async=is_async).run(kit.unfinished_outputs_pipeline(), catalog)

    assert set(outputs) == {"ds8", "ds5", "ds6"}
    assert outputs["ds5"].load() == [1, 2, 3, 4, 5]  # ds2 -> ds5
    assert isinstance(outputs["ds8"].load(), dict)
    assert outputs["ds8"].load()["data"] == 42  # ds1 -> ds4 -> ds8
    assert isinstance(outputs["ds6"].load(), pd.DataFrame)  # from ds3


# kedro: tests/runner/test_sequential_runner.py::TestSequentialRunnerBranchedPipeline::test_conflict_feed_catalog
@IS_ASYNC
def test_conflict_feed_catalog(make_runner, is_async):
    # ds1 and ds3 replace what the catalog held before.
    catalog = kit.memory_catalog()
    for name, value in kit.conflicting_raw_data().items():
        catalog[name] = value

    outputs = make_runner(is_async=is_async).run(kit.unfinished_outputs_pipeline(), catalog)

    assert isinstance(outputs["ds8"].load(), dict)
    assert outputs["ds8"].load()["data"] == 0
    assert isinstance(outputs["ds6"].load(), pd.DataFrame)


# kedro: tests/runner/test_sequential_runner.py::TestSequentialRunnerBranchedPipeline::test_unsatisfied_inputs
@IS_ASYNC
def test_unsatisfied_inputs(make_runner, is_async):
    # ds1, ds2 and ds3 are in no catalog.
    with pytest.raises(ValueError, match="not found in the DataCatalog"):
        make_runner(is_async=is_async).run(kit.unfinished_outputs_pipeline(), DataCatalog())


# kedro: tests/runner/test_thread_runner.py::TestInvalidThreadRunner::test_task_exception
# kedro: tests/runner/test_parallel_runner.py::TestInvalidParallelRunner::test_task_exception
@IS_ASYNC
def test_task_exception(make_runner, is_async):
    catalog = DataCatalog()
    catalog["A"] = 42
    a_pipeline = pipeline([kit.fan_out_fan_in(), node(kit.exception_fn, "Z", "X")])

    with pytest.raises(Exception, match="test exception"):
        make_runner(is_async=is_async).run(a_pipeline, catalog)


# kedro: tests/runner/test_parallel_runner.py::TestInvalidParallelRunner::test_memory_dataset_output
@IS_ASYNC
def test_memory_dataset_output(make_runner, is_async):
    # An intermediate dataset declared as a MemoryDataset in the catalog.
    catalog = DataCatalog({"C": MemoryDataset()})
    catalog["A"] = 42

    result = make_runner(is_async=is_async).run(pipeline([kit.fan_out_fan_in()]), catalog)

    assert set(result) == {"Z"}


# kedro: tests/runner/test_sequential_runner.py::TestMemoryDatasetBehaviour::test_run_includes_memory_datasets
def test_run_includes_memory_datasets(make_runner):
    catalog = DataCatalog(
        {
            "Input1": kit.CallableDataset(load=lambda: "data1", save=lambda data: None),
            "Input2": kit.CallableDataset(load=lambda: "data2", save=lambda data: None),
            "MemOutput1": MemoryDataset(),
            "MemOutput2": MemoryDataset(),
        }
    )
    # A persisted dataset the pipeline does not use.
    catalog["RegularOutput"] = kit.CallableDataset(None, None, lambda: True)

    output = make_runner().run(kit.pipeline_with_memory_datasets(), catalog)

    # Outputs kept in memory are returned; persisted ones are not.
    assert "MemOutput1" in output
    assert "MemOutput2" in output
    assert "RegularOutput" not in output
