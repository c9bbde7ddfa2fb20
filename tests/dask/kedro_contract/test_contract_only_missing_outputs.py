"""`only_missing_outputs=True`: which nodes run and what the runner logs about it
(Kedro's tests/runner/test_only_missing_outputs.py, whose tests are parametrized
over the three runners; ParallelRunner's variants differ only in using module
functions instead of lambdas and a SharedMemoryDataCatalog)."""

# The `# kedro:` comments name Kedro test ids, which are longer than a line.
# ruff: noqa: E501

from __future__ import annotations

import logging
from unittest import mock

import contract_kit as kit
import kedro.runner.runner as kedro_runner
import pytest
from kedro.io import DataCatalog, MemoryDataset
from kedro.io.catalog_config_resolver import CatalogConfigResolver
from kedro.pipeline import node, pipeline
from kedro.runner.runner import _is_persistent_dataset_missing

# Kedro's ParallelRunner variants use module functions where the others use
# lambdas; a Dask runner must take both.
FUNCTIONS = pytest.mark.parametrize("functions", ["lambdas", "module_functions"])


def persisted(exists: bool) -> kit.ExistenceDataset:
    return kit.ExistenceDataset(exists_result=exists, initial_data="test_data")


# kedro: tests/runner/test_only_missing_outputs.py::TestOnlyMissingOutputs::test_only_missing_outputs_all_outputs_missing
def test_only_missing_outputs_all_outputs_missing(make_runner, caplog):
    catalog = DataCatalog()
    catalog["input"] = MemoryDataset("test_data")
    catalog["output"] = persisted(exists=False)
    runner = make_runner()

    with mock.patch.object(
        runner,
        "_filter_pipeline_for_missing_outputs",
        wraps=runner._filter_pipeline_for_missing_outputs,
    ) as spy:
        runner.run(
            pipeline([node(kit.identity, "input", "output")]),
            catalog,
            only_missing_outputs=True,
        )

    spy.assert_called_once()
    assert "Running 1 out of 1 nodes" in caplog.text


# kedro: tests/runner/test_only_missing_outputs.py::TestOnlyMissingOutputs::test_only_missing_outputs_some_outputs_exist
def test_only_missing_outputs_some_outputs_exist(make_runner, caplog):
    catalog = DataCatalog()
    catalog["A"] = MemoryDataset("data_a")
    catalog["B"] = MemoryDataset("data_b")
    catalog["C"] = persisted(exists=True)  # the only persisted final output
    a_pipeline = pipeline(
        [
            node(kit.identity, "A", "B", name="node1"),
            node(kit.identity, "B", "C", name="node2"),
        ]
    )

    make_runner().run(a_pipeline, catalog, only_missing_outputs=True)

    assert "Skipping all 2 nodes (all persistent outputs exist)" in caplog.text


# kedro: tests/runner/test_only_missing_outputs.py::TestOnlyMissingOutputs::test_only_missing_outputs_some_outputs_missing
def test_only_missing_outputs_some_outputs_missing(make_runner, caplog):
    catalog = DataCatalog()
    catalog["A"] = MemoryDataset("data_a")
    catalog["B"] = MemoryDataset("data_b")  # in memory, so node1 must run too
    catalog["C"] = persisted(exists=False)
    a_pipeline = pipeline(
        [
            node(kit.identity, "A", "B", name="node1"),
            node(kit.identity, "B", "C", name="node2"),
        ]
    )

    make_runner().run(a_pipeline, catalog, only_missing_outputs=True)

    assert "Running 2 out of 2 nodes" in caplog.text


# kedro: tests/runner/test_only_missing_outputs.py::TestOnlyMissingOutputs::test_only_missing_outputs_granular_skipping
def test_only_missing_outputs_granular_skipping(make_runner, caplog):
    catalog = DataCatalog()
    catalog["A"] = MemoryDataset("data_a")
    catalog["B"] = persisted(exists=True)
    catalog["C"] = persisted(exists=False)
    a_pipeline = pipeline(
        [
            node(kit.identity_with_default, "A", "B", name="node1"),
            node(kit.identity_with_default, "B", "C", name="node2"),
        ]
    )

    make_runner().run(a_pipeline, catalog, only_missing_outputs=True)

    assert "Skipping 1 nodes with existing outputs: node1" in caplog.text
    assert "Running 1 out of 2 nodes" in caplog.text


# kedro: tests/runner/test_only_missing_outputs.py::TestOnlyMissingOutputs::test_only_missing_outputs_complex_granular_skipping
def test_only_missing_outputs_complex_granular_skipping(make_runner, caplog):
    catalog = DataCatalog()
    catalog["input"] = MemoryDataset("data")
    catalog["persistentA"] = persisted(exists=True)
    catalog["persistentB"] = persisted(exists=False)
    catalog["persistentC"] = persisted(exists=True)
    catalog["persistentD"] = persisted(exists=False)
    a_pipeline = pipeline(
        [
            node(kit.identity_with_default, "input", "persistentA", name="nodeA"),
            node(kit.identity_with_default, "persistentA", "persistentB", name="nodeB"),
            node(kit.identity_with_default, "input", "persistentC", name="nodeC"),
            node(kit.identity_with_default, "persistentC", "persistentD", name="nodeD"),
        ]
    )

    make_runner().run(a_pipeline, catalog, only_missing_outputs=True)

    # nodeA and nodeC made what exists; nodeB and nodeD must run.
    assert "Skipping 2 nodes with existing outputs: nodeA, nodeC" in caplog.text
    assert "Running 2 out of 4 nodes" in caplog.text


# kedro: tests/runner/test_only_missing_outputs.py::TestOnlyMissingOutputs::test_only_missing_outputs_false_does_not_filter
def test_only_missing_outputs_false_does_not_filter(make_runner):
    catalog = DataCatalog()
    catalog["input"] = MemoryDataset("test_data")
    runner = make_runner()

    with mock.patch.object(
        runner,
        "_filter_pipeline_for_missing_outputs",
        wraps=runner._filter_pipeline_for_missing_outputs,
    ) as spy:
        runner.run(
            pipeline([node(kit.identity, "input", "output")]),
            catalog,
            only_missing_outputs=False,
        )

    spy.assert_not_called()


# kedro: tests/runner/test_only_missing_outputs.py::TestOnlyMissingOutputs::test_only_missing_outputs_complex_topology
def test_only_missing_outputs_complex_topology(make_runner, caplog):
    catalog = DataCatalog()
    catalog["input1"] = MemoryDataset("data1")
    catalog["input2"] = MemoryDataset("data2")
    for name in ("memA", "memC", "memE"):
        catalog[name] = MemoryDataset()
    catalog["persistentA"] = persisted(exists=True)
    catalog["persistentC"] = persisted(exists=False)
    catalog["persistentE"] = persisted(exists=False)
    a_pipeline = pipeline(
        [
            node(kit.identity, "input1", "memA", name="nodeA"),
            node(kit.identity, "memA", "persistentA", name="nodeB"),
            node(kit.identity, "input1", "memC", name="nodeC"),
            node(kit.identity, "memC", "persistentC", name="nodeD"),
            node(kit.identity, "input2", "memE", name="nodeE"),
            node(kit.identity, "memE", "persistentE", name="nodeF"),
        ]
    )

    make_runner().run(a_pipeline, catalog, only_missing_outputs=True)

    assert "Skipping 2 nodes with existing outputs: nodeA, nodeB" in caplog.text
    assert "Running 4 out of 6 nodes" in caplog.text


# kedro: tests/runner/test_only_missing_outputs.py::TestOnlyMissingOutputs::test_only_missing_outputs_wasteful_node_optimization
@FUNCTIONS
def test_only_missing_outputs_wasteful_node_optimization(make_runner, caplog, functions):
    # nodeC feeds only nodeB, whose persisted output exists: nothing runs.
    keep_first = (lambda x, y: x) if functions == "lambdas" else kit.keep_first
    catalog = DataCatalog()
    catalog["input"] = MemoryDataset("input_data")
    catalog["memA"] = MemoryDataset()
    catalog["memC"] = MemoryDataset()
    catalog["persistentB"] = persisted(exists=True)
    a_pipeline = pipeline(
        [
            node(kit.identity, "input", "memA", name="nodeA"),
            node(keep_first, ["memA", "memC"], "persistentB", name="nodeB"),
            node(kit.identity, "input", "memC", name="nodeC"),
        ]
    )

    make_runner().run(a_pipeline, catalog, only_missing_outputs=True)

    assert "Skipping all 3 nodes (all persistent outputs exist)" in caplog.text


# kedro: tests/runner/test_only_missing_outputs.py::TestOnlyMissingOutputs::test_only_missing_outputs_with_dataset_factory
def test_only_missing_outputs_with_dataset_factory(make_runner, caplog, tmp_path):
    # Kedro's pattern writes to the relative data/{param}.pkl; an absolute folder
    # keeps worker processes (whose working folder is not the test's) in tmp_path.
    resolver = CatalogConfigResolver(
        {
            "output_{param}": {
                "type": "pickle.PickleDataset",
                "filepath": f"{tmp_path.as_posix()}/{{param}}.pkl",
            }
        }
    )
    catalog = DataCatalog(config_resolver=resolver)
    catalog["input"] = MemoryDataset("test_data")
    catalog.exists = mock.Mock(return_value=False)  # the output is missing

    make_runner().run(
        pipeline([node(kit.identity, "input", "output_test", name="node1")]),
        catalog,
        only_missing_outputs=True,
    )

    assert "Running 1 out of 1 nodes" in caplog.text


# kedro: tests/runner/test_only_missing_outputs.py::TestOnlyMissingOutputs::test_only_missing_outputs_catalog_contains_exception
def test_only_missing_outputs_catalog_contains_exception(make_runner):
    class FailingLookupCatalog(DataCatalog):
        def __contains__(self, dataset_name):
            if dataset_name == "output":
                raise KeyError("Simulated catalog error")
            return super().__contains__(dataset_name)

    catalog = FailingLookupCatalog()
    catalog["input"] = MemoryDataset("test_data")

    # The catalog's error is not swallowed.
    with pytest.raises(KeyError, match="Simulated catalog error"):
        make_runner().run(
            pipeline([node(kit.identity, "input", "output", name="node1")]),
            catalog,
            only_missing_outputs=True,
        )


# kedro: tests/runner/test_only_missing_outputs.py::TestOnlyMissingOutputs::test_only_missing_outputs_diamond_dependency
@FUNCTIONS
def test_only_missing_outputs_diamond_dependency(make_runner, caplog, functions):
    if functions == "lambdas":
        shared, b, c, combine = (
            lambda: "shared_data",
            lambda x: f"b_{x}",
            lambda x: f"c_{x}",
            lambda b, c: f"{b}+{c}",
        )
    else:
        shared, b, c, combine = (
            kit.shared_data_func,
            kit.b_func,
            kit.c_func,
            kit.combine_func,
        )
    catalog = DataCatalog()
    catalog["shared_output"] = MemoryDataset()
    catalog["B"] = MemoryDataset()
    catalog["C"] = MemoryDataset()
    catalog["D"] = persisted(exists=False)
    a_pipeline = pipeline(
        [
            node(shared, None, "shared_output", name="shared_node"),
            node(b, "shared_output", "B", name="nodeB"),
            node(c, "shared_output", "C", name="nodeC"),
            node(combine, ["B", "C"], "D", name="nodeD"),
        ]
    )

    make_runner().run(a_pipeline, catalog, only_missing_outputs=True)

    # D is missing and everything before it is in memory: all four run.
    assert "Running 4 out of 4 nodes" in caplog.text


# kedro: tests/runner/test_only_missing_outputs.py::TestOnlyMissingOutputs::test_is_dataset_missing_ephemeral_dataset
# kedro: tests/runner/test_only_missing_outputs.py::TestOnlyMissingOutputs::test_is_dataset_missing_persistent_exists
# kedro: tests/runner/test_only_missing_outputs.py::TestOnlyMissingOutputs::test_is_dataset_missing_persistent_not_exists
# kedro: tests/runner/test_only_missing_outputs.py::TestOnlyMissingOutputs::test_is_persistent_and_missing_undefined_dataset
@pytest.mark.skip(reason=kit.KEDRO_HELPER_WITHOUT_RUNNER)
def test_is_persistent_dataset_missing():
    catalog = DataCatalog()
    catalog["mem_output"] = MemoryDataset()
    catalog["exists"] = persisted(exists=True)
    catalog["missing"] = persisted(exists=False)
    assert not _is_persistent_dataset_missing("mem_output", catalog)
    assert not _is_persistent_dataset_missing("exists", catalog)
    assert _is_persistent_dataset_missing("missing", catalog)
    assert not _is_persistent_dataset_missing("undefined_output", catalog)


# kedro: tests/runner/test_only_missing_outputs.py::TestOnlyMissingOutputs::test_only_missing_outputs_factory_pattern_ephemeral
def test_only_missing_outputs_factory_pattern_ephemeral(make_runner, caplog):
    # An output in no catalog entry becomes a MemoryDataset: nothing is missing.
    catalog = DataCatalog()
    catalog["input"] = MemoryDataset("test_data")

    make_runner().run(
        pipeline([node(kit.identity, "input", "output_test", name="node1")]),
        catalog,
        only_missing_outputs=True,
    )

    assert "Skipping all 1 nodes (all persistent outputs exist)" in caplog.text


# kedro: tests/runner/test_only_missing_outputs.py::TestOnlyMissingOutputs::test_only_missing_outputs_partial_persistent_outputs
@FUNCTIONS
def test_only_missing_outputs_partial_persistent_outputs(make_runner, caplog, functions):
    mixed = (lambda x: (x, x + "_persistent")) if functions == "lambdas" else kit.mixed_node_func
    catalog = DataCatalog()
    catalog["input"] = MemoryDataset("data")
    catalog["ephemeral_out"] = MemoryDataset()
    catalog["persistent_out"] = persisted(exists=False)
    a_pipeline = pipeline(
        [
            node(
                mixed,
                "input",
                ["ephemeral_out", "persistent_out"],
                name="mixed_node",
            )
        ]
    )

    make_runner().run(a_pipeline, catalog, only_missing_outputs=True)

    # One of its outputs is persisted and missing: the node runs.
    assert "Running 1 out of 1 nodes" in caplog.text


# kedro: tests/runner/test_only_missing_outputs.py::TestOnlyMissingOutputs::test_only_missing_outputs_node_with_no_outputs
def test_only_missing_outputs_node_with_no_outputs(make_runner, caplog):
    catalog = DataCatalog()
    catalog["input"] = MemoryDataset("test_data")
    catalog["intermediate"] = persisted(exists=True)
    catalog["final"] = persisted(exists=True)
    a_pipeline = pipeline(
        [
            node(kit.identity, "input", "intermediate", name="node1"),
            node(kit.no_output_logger, "intermediate", None, name="node_no_output"),
            node(kit.identity, "intermediate", "final", name="node3"),
        ]
    )
    runner = make_runner()
    caplog.set_level(logging.DEBUG, logger=runner._logger.name)

    runner.run(a_pipeline, catalog, only_missing_outputs=True)

    # A node without outputs always runs.
    assert "Node 'node_no_output' must run: has no outputs" in caplog.text
    assert "Skipping 2 nodes with existing outputs: node1, node3" in caplog.text
    assert "Running 1 out of 3 nodes" in caplog.text


# kedro: tests/runner/test_only_missing_outputs.py::TestOnlyMissingOutputs::test_only_missing_outputs_ephemeral_intermediate_needed_by_child
def test_only_missing_outputs_ephemeral_intermediate_needed_by_child(make_runner, caplog):
    catalog = DataCatalog()
    catalog["input"] = MemoryDataset("test_data")
    catalog["persistent_output"] = persisted(exists=False)
    a_pipeline = pipeline(
        [
            node(kit.identity, "input", "ephemeral_data", name="child"),
            node(kit.identity, "ephemeral_data", "persistent_output", name="parent"),
        ]
    )

    with mock.patch.object(
        kedro_runner,
        "_is_dataset_ephemeral_or_missing",
        wraps=kedro_runner._is_dataset_ephemeral_or_missing,
    ) as spy:
        make_runner().run(a_pipeline, catalog, only_missing_outputs=True)

    assert "Running 2 out of 2 nodes" in caplog.text
    # The undeclared intermediate was looked at as ephemeral or missing.
    spy.assert_any_call("ephemeral_data", catalog)


# kedro: tests/runner/test_only_missing_outputs.py::TestOnlyMissingOutputs::test_only_missing_outputs_complex_with_no_output_nodes
def test_only_missing_outputs_complex_with_no_output_nodes(make_runner, caplog):
    catalog = DataCatalog()
    catalog["input"] = MemoryDataset("test_data")
    catalog["data1"] = persisted(exists=True)
    catalog["data2"] = persisted(exists=True)
    catalog["final_output"] = persisted(exists=True)
    a_pipeline = pipeline(
        [
            node(kit.identity, "input", "data1", name="node1"),
            node(kit.no_output_logger, "data1", None, name="logger1"),
            node(kit.identity, "data1", "data2", name="node2"),
            node(kit.another_no_output_logger, "data2", None, name="logger2"),
            node(kit.identity, "data2", "final_output", name="node3"),
        ]
    )
    runner = make_runner()
    caplog.set_level(logging.DEBUG, logger=runner._logger.name)

    runner.run(a_pipeline, catalog, only_missing_outputs=True)

    # Every persisted output exists: only the two nodes without outputs run.
    assert "Node 'logger1' must run: has no outputs" in caplog.text
    assert "Node 'logger2' must run: has no outputs" in caplog.text
    assert "Skipping 3 nodes with existing outputs: node1, node2, node3" in caplog.text
    assert "Running 2 out of 5 nodes" in caplog.text
