"""Generator nodes stream their chunks to the output datasets; other iterables
are saved whole (Kedro's tests/runner/test_run_generator_node.py).

Kedro's tests hand the runner Mock datasets (through a patched ``catalog.get``)
and count their ``save`` calls: that is observable only in the in_process mode.
test_contract_workers.py checks the streaming with worker processes too.
"""

# The `# kedro:` comments name Kedro test ids, which are longer than a line.
# ruff: noqa: E501

from __future__ import annotations

import importlib
import inspect
from collections.abc import Iterator
from unittest import mock

import contract_kit as kit
import numpy as np
import pytest
from kedro.framework.hooks.manager import _NullPluginManager
from kedro.io import DataCatalog
from kedro.pipeline import Pipeline, node

node_module = importlib.import_module("kedro.pipeline.node")


def catalog_serving(**datasets) -> DataCatalog:
    """A DataCatalog whose ``get`` hands out the given Mock datasets by name."""
    catalog = DataCatalog()
    catalog.get = mock.Mock(side_effect=lambda name, **kwargs: datasets[name])
    return catalog


def saved(dataset: mock.Mock) -> list:
    return [call.args[0] for call in dataset.save.call_args_list]


# kedro: tests/runner/test_run_generator_node.py::TestRunGeneratorNode::test_generator_node_one
@pytest.mark.in_process_only(reason=kit.WORKERS_CANNOT_REBUILD_MOCKS)
def test_generator_node_one(make_runner):
    result = mock.Mock()
    catalog = DataCatalog()
    catalog.get = mock.Mock(return_value=result)

    make_runner().run(
        Pipeline([node(kit.generate_one, inputs=None, outputs="result")]),
        catalog,
        _NullPluginManager(),
    )

    assert result.save.call_count == 10
    assert result.save.call_args_list == [mock.call(i) for i in range(10)]


# kedro: tests/runner/test_run_generator_node.py::TestRunGeneratorNode::test_generator_node_tuple
# kedro: tests/runner/test_run_generator_node.py::TestRunGeneratorNode::test_generator_node_list
# kedro: tests/runner/test_run_generator_node.py::TestRunGeneratorNode::test_generator_node_dict
@pytest.mark.in_process_only(reason=kit.WORKERS_CANNOT_REBUILD_MOCKS)
@pytest.mark.parametrize(
    "generator, outputs",
    [
        (kit.generate_tuple, ["left", "right"]),
        (kit.generate_list, ["left", "right"]),
        (kit.generate_dict, {"idx": "left", "square": "right"}),
    ],
    ids=["tuple", "list", "dict"],
)
def test_generator_node_two_outputs(make_runner, generator, outputs):
    left, right = mock.Mock(), mock.Mock()

    make_runner().run(
        Pipeline([node(generator, inputs=None, outputs=outputs)]),
        catalog_serving(left=left, right=right),
        _NullPluginManager(),
    )

    assert left.save.call_count == 10
    assert left.save.call_args_list == [mock.call(i) for i in range(10)]
    assert right.save.call_count == 10
    assert right.save.call_args_list == [mock.call(i * i) for i in range(10)]


# kedro: tests/runner/test_run_generator_node.py::TestRunGeneratorNode::test_generator_node_tuple_with_map_unzip_outputs
@pytest.mark.in_process_only(reason=kit.WORKERS_DO_NOT_SEE_TEST_PATCHES)
def test_generator_node_tuple_with_map_unzip_outputs(make_runner):
    # more_itertools 8.14-10.6 made unzip return map objects: streaming must be
    # decided from the node's function, not from the type unzip returns.
    def unzip_into_maps(iterable):
        rows = tuple(iterable)
        return tuple(
            map(lambda row, index=index: row[index], rows) for index in range(len(rows[0]))
        )

    left, right = mock.Mock(), mock.Mock()
    with mock.patch.object(node_module, "unzip", unzip_into_maps):
        make_runner().run(
            Pipeline([node(kit.generate_tuple, inputs=None, outputs=["left", "right"])]),
            catalog_serving(left=left, right=right),
            _NullPluginManager(),
        )

    assert left.save.call_count == 10
    assert left.save.call_args_list == [mock.call(i) for i in range(10)]
    assert right.save.call_count == 10
    assert right.save.call_args_list == [mock.call(i * i) for i in range(10)]


# kedro: tests/runner/test_run_generator_node.py::TestNonGeneratorIterables::test_fake_iterable_is_iterator_but_not_generator
def test_fake_iterable_is_iterator_but_not_generator():
    # The stand-in below is what broke Kedro before #5412: an iterator that is not
    # a generator.
    value = kit.IterableNotGenerator("x")
    assert isinstance(value, Iterator)
    assert not inspect.isgenerator(value)


# kedro: tests/runner/test_run_generator_node.py::TestNonGeneratorIterables::test_single_iterable_output_is_passed_through
@pytest.mark.in_process_only(reason=kit.WORKERS_CANNOT_REBUILD_MOCKS)
def test_single_iterable_output_is_passed_through(make_runner):
    result = mock.Mock()
    catalog = DataCatalog()
    catalog.get = mock.Mock(return_value=result)
    value = kit.IterableNotGenerator("only")

    make_runner().run(
        Pipeline([node(lambda: value, inputs=None, outputs="result")]),
        catalog,
        _NullPluginManager(),
    )

    assert result.save.call_count == 1
    assert saved(result)[0] is value, "the runner must not iterate a non-generator output"


# kedro: tests/runner/test_run_generator_node.py::TestNonGeneratorIterables::test_multiple_iterable_outputs_are_passed_through
# kedro: tests/runner/test_run_generator_node.py::TestNonGeneratorIterables::test_dict_mapped_iterable_outputs_are_passed_through
# kedro: tests/runner/test_run_generator_node.py::TestNonGeneratorIterables::test_numpy_array_outputs_are_passed_through
@pytest.mark.in_process_only(reason=kit.WORKERS_CANNOT_REBUILD_MOCKS)
@pytest.mark.parametrize("shape", ["tuple", "dict", "numpy"])
def test_iterable_outputs_are_passed_through(make_runner, shape):
    if shape == "numpy":
        first, second = np.array([1, 2, 3]), np.array([4, 5, 6])
    else:
        first, second = kit.IterableNotGenerator("a"), kit.IterableNotGenerator("b")
    if shape == "dict":
        a_node = node(
            lambda: {"a": first, "b": second},
            inputs=None,
            outputs={"a": "left", "b": "right"},
        )
    else:
        a_node = node(lambda: (first, second), inputs=None, outputs=["left", "right"])
    left, right = mock.Mock(), mock.Mock()

    make_runner().run(
        Pipeline([a_node]), catalog_serving(left=left, right=right), _NullPluginManager()
    )

    # The dict variant of Kedro checks identity only; the others also count saves.
    if shape != "dict":
        assert left.save.call_count == 1
        assert right.save.call_count == 1
    assert saved(left)[0] is first
    assert saved(right)[0] is second
