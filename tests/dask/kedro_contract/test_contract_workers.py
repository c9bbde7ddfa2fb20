"""Contract additions with no Kedro counterpart: what a Dask runner must do when its
datasets are rebuilt in worker processes."""

# The `# kedro:` comments name Kedro test ids, which are longer than a line.
# ruff: noqa: E501

from __future__ import annotations

from unittest import mock

import contract_kit as kit
import pytest
from kedro.io import DataCatalog
from kedro.pipeline import node, pipeline


# contract addition (no Kedro test): a dataset that catalog.to_config() cannot
# describe (here a Mock) cannot be rebuilt on the workers; the run must stop before
# any node runs, with an error that names the dataset.
@pytest.mark.worker_processes_only(reason=kit.IN_PROCESS_USES_CLIENT_OBJECTS)
def test_unreproducible_dataset_fails_before_any_node(make_runner, tmp_path):
    markers = tmp_path / "ran"
    markers.mkdir()

    def leave_marker(name):
        def run(*inputs):
            (markers / name).write_text("ran")
            return "done"

        return run

    catalog = DataCatalog({"unreproducible_input": mock.Mock()})
    a_pipeline = pipeline(
        [
            node(leave_marker("reader"), "unreproducible_input", "read", name="reader"),
            node(leave_marker("independent"), None, "other", name="independent"),
        ]
    )

    with pytest.raises(Exception) as raised:
        make_runner().run(a_pipeline, catalog)

    assert "unreproducible_input" in str(raised.value)
    assert sorted(p.name for p in markers.iterdir()) == [], "a node ran"


# contract addition (no Kedro test): the generator-node tests of
# test_contract_generator_nodes.py watch Mock datasets, so they run in-process
# only; this one streams into files, which every mode can read back.
def test_generator_node_streams_every_chunk(make_runner, tmp_path):
    left = (tmp_path / "left.jsonl").as_posix()
    right = (tmp_path / "right.jsonl").as_posix()
    catalog = DataCatalog(
        {"left": kit.JsonLinesDataset(left), "right": kit.JsonLinesDataset(right)}
    )

    make_runner().run(
        pipeline([node(kit.generate_tuple, None, ["left", "right"], name="chunks")]),
        catalog,
    )

    # Each chunk is one save, in order.
    assert kit.JsonLinesDataset(left).load() == list(range(10))
    assert kit.JsonLinesDataset(right).load() == [i * i for i in range(10)]
