"""Inputs that cannot be satisfied (Kedro's tests/runner/test_run_validation.py,
parametrized there over SequentialRunner, ThreadRunner and ParallelRunner, which
differ only in their catalog class)."""

# The `# kedro:` comments name Kedro test ids, which are longer than a line.
# ruff: noqa: E501

from __future__ import annotations

import re

import contract_kit as kit
import pytest
from kedro.io import DataCatalog, DatasetError, MemoryDataset
from kedro.pipeline import node, pipeline


# kedro: tests/runner/test_run_validation.py::TestRunnerInputValidation::test_missing_input_raises_value_error
def test_missing_input_raises_value_error(make_runner):
    a_pipeline = pipeline([node(lambda x: x, "missing_input", "output")])

    with pytest.raises(ValueError) as raised:
        make_runner().run(a_pipeline, DataCatalog())

    assert re.search(r"Pipeline input\(s\) .*missing_input.* not found in the ", str(raised.value))


# kedro: tests/runner/test_run_validation.py::TestRunnerInputValidation::test_missing_input_because_of_pipeline_namespace_raises_value_error
def test_missing_input_because_of_pipeline_namespace_raises_value_error(make_runner):
    catalog = DataCatalog(
        {
            "Input1": kit.CallableDataset(load=lambda: "data1", save=lambda data: None),
            "Output1": kit.CallableDataset(load=lambda: "data3", save=lambda data: None),
        }
    )
    # The namespace renames the node's input to test.Input1, which no entry has.
    a_pipeline = pipeline(
        [node(lambda x: x, inputs="Input1", outputs="Output1", name="node1")],
        namespace="test",
    )

    with pytest.raises(ValueError) as raised:
        make_runner().run(a_pipeline, catalog)

    assert "Pipeline input(s) {'test.Input1'} not found in the DataCatalog" in str(raised.value)


# kedro: tests/runner/test_run_validation.py::TestRunnerInputValidation::test_missing_input_memory_dataset_exists_in_catalog_throws_not_saved_error
def test_missing_input_memory_dataset_exists_in_catalog_throws_not_saved_error(
    make_runner,
):
    # The input is declared, as an empty MemoryDataset: the run must fail on its
    # load, in every mode (a pickled empty MemoryDataset must not load as data).
    catalog = DataCatalog(
        {
            "Input1": MemoryDataset(),
            "Output1": kit.CallableDataset(load=lambda: "data3", save=lambda data: None),
        }
    )
    a_pipeline = pipeline([node(lambda x: x, inputs="Input1", outputs="Output1", name="node1")])

    with pytest.raises(DatasetError) as raised:
        make_runner().run(a_pipeline, catalog)

    assert "Data for MemoryDataset has not been saved yet." in str(raised.value)


# kedro: tests/runner/test_run_validation.py::TestRunnerInputValidation::test_missing_input_memory_dataset_exists_in_catalog_parallel_runner_throws_not_serialisable_error
@pytest.mark.skip(reason=kit.SHARED_MEMORY_CATALOG_SPECIFIC)
def test_missing_input_memory_dataset_parallel_runner_not_serialisable():
    """ParallelRunner refuses a MemoryDataset input of a SharedMemoryDataCatalog
    with an AttributeError; a Dask runner is held to the DatasetError above."""
