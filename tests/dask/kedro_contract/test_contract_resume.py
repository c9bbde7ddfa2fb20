"""What the runner suggests after a failure: `--from-nodes "..."` or "No nodes ran."
(Kedro's TestSuggestResumeScenario of the three runner test files, and
tests/runner/test_resume_logic.py).

Kedro's test_resume_logic.py calls the module functions behind the suggestion
(`_find_nodes_to_resume_from`, ...) directly. Here the same cases go through the
runner's own `_suggest_resume_scenario` (which a Dask runner calls with the nodes
that completed, and may override), reading the suggestion from its log.
"""

# The `# kedro:` comments name Kedro test ids, which are longer than a line.
# ruff: noqa: E501

from __future__ import annotations

import logging
import re

import contract_kit as kit
import pytest
from kedro.framework.hooks import _create_hook_manager
from kedro.io import DataCatalog
from kedro.pipeline import pipeline
from kedro.runner.runner import _find_all_nodes_for_resumed_pipeline

# Kedro's three variants differ only in the catalog: ParallelRunner's uses one
# LoggingDataset instance under every persisted name, which works there because
# each process works on its own copy. Run in one process (as SequentialRunner or
# this suite's in_process mode do), releasing ds2_A would empty ds2_B before
# node3_B reads it and node3_B would fail on saving None instead of the expected
# "test exception". The scenario is the same with the sequential and thread
# runners' catalog, which every test here uses.


def failing_ids(value):
    """Test ids that name the failing nodes; the patterns get no id of their own."""
    return "+".join(value) if isinstance(value, list) else "pattern"


# kedro: tests/runner/test_sequential_runner.py::TestSuggestResumeScenario::test_suggest_resume_scenario
# kedro: tests/runner/test_thread_runner.py::TestSuggestResumeScenario::test_suggest_resume_scenario
# kedro: tests/runner/test_parallel_runner.py::TestSuggestResumeScenario::test_suggest_resume_scenario
@pytest.mark.parametrize(
    "failing_nodes, expected_pattern",
    [
        (["node1_A", "node1_B"], r"No nodes ran."),
        (["node2"], r"(node1_A,node1_B|node1_B,node1_A)"),
        (["node3_A"], r"(node3_A,node3_B|node3_B,node3_A|node3_A)"),
        (["node4_A"], r"(node3_A,node3_B|node3_B,node3_A|node3_A)"),
        (["node3_A", "node4_A"], r"(node3_A,node3_B|node3_B,node3_A|node3_A)"),
        (["node2", "node4_A"], r"(node1_A,node1_B|node1_B,node1_A)"),
    ],
    ids=failing_ids,
)
def test_suggest_resume_scenario(make_runner, caplog, failing_nodes, expected_pattern):
    a_pipeline = kit.with_failing_nodes(kit.two_branches_crossed_pipeline(), failing_nodes)

    with pytest.raises(Exception):  # noqa: B017 - as in Kedro: any failure
        make_runner().run(
            a_pipeline,
            kit.persistent_dataset_catalog(),
            hook_manager=_create_hook_manager(),
        )

    assert re.search(expected_pattern, caplog.text)


# kedro: tests/runner/test_sequential_runner.py::TestSuggestResumeScenario::test_stricter_suggest_resume_scenario
# kedro: tests/runner/test_thread_runner.py::TestSuggestResumeScenario::test_stricter_suggest_resume_scenario
# kedro: tests/runner/test_parallel_runner.py::TestSuggestResumeScenario::test_stricter_suggest_resume_scenario
@pytest.mark.parametrize(
    "extras",
    [(), ("dsX",), ("params:p",)],
    ids=["no_extras", "extra_persistent_ds", "extra_param"],
)
@pytest.mark.parametrize(
    "failing_nodes, expected_pattern",
    [
        (["node1_A", "node1_B"], r"No nodes ran."),
        (["node2"], r'"node1_A,node1_B"'),
        (["node3_A"], r"(node3_A,node3_B|node3_A)"),
        (["node4_A"], r"(node3_A,node3_B|node3_A)"),
        (["node3_A", "node4_A"], r"(node3_A,node3_B|node3_A)"),
        (["node2", "node4_A"], r'"node1_A,node1_B"'),
    ],
    ids=failing_ids,
)
def test_stricter_suggest_resume_scenario(
    make_runner, caplog, extras, failing_nodes, expected_pattern
):
    # Inputs shared by every node (a persisted dataset, a parameter) must not
    # change the suggestion.
    a_pipeline = kit.with_failing_nodes(kit.two_branches_crossed_with_extras(extras), failing_nodes)

    with pytest.raises(Exception, match="test exception"):
        make_runner().run(
            a_pipeline,
            kit.persistent_dataset_catalog(),
            hook_manager=_create_hook_manager(),
        )

    assert re.search(expected_pattern, caplog.text)


# ---------------------------------------------------------------------------
# tests/runner/test_resume_logic.py
# ---------------------------------------------------------------------------
RESUME_CASES = pytest.mark.parametrize(
    "pipeline_name, remaining_names, expected",
    [
        ("pipeline_asymmetric", {"node2", "node3", "node4"}, {"node1", "node2"}),
        ("pipeline_asymmetric", {"node3", "node4"}, {"node1", "node2"}),
        ("pipeline_asymmetric", {"node4"}, {"node1", "node2"}),
        ("pipeline_asymmetric", set(), set()),
        ("empty_pipeline", set(), set()),
        ("pipeline_triangular", {"node3"}, {"node1"}),
        (
            "two_branches_crossed_pipeline",
            {"node1_A", "node1_B", "node2", "node3_A", "node3_B", "node4_A", "node4_B"},
            {"node1_A", "node1_B"},
        ),
        (
            "two_branches_crossed_pipeline",
            {"node2", "node3_A", "node3_B", "node4_A", "node4_B"},
            {"node1_A", "node1_B"},
        ),
        (
            "two_branches_crossed_pipeline",
            {"node3_A", "node3_B", "node4_A", "node4_B"},
            {"node3_A", "node3_B"},
        ),
        ("two_branches_crossed_pipeline", {"node4_A", "node4_B"}, {"node3_A", "node3_B"}),
        ("two_branches_crossed_pipeline", {"node4_A"}, {"node3_A"}),
        ("two_branches_crossed_pipeline", {"node3_A", "node4_A"}, {"node3_A"}),
    ],
)

SUGGESTION = re.compile(r'--from-nodes "([^"]*)"')


def suggested_start(runner, a_pipeline, remaining_names, catalog, caplog) -> set[str]:
    """The node names the runner suggests to resume from, when every node but
    ``remaining_names`` completed. "No nodes ran." (when none completed) means
    running the whole pipeline again: its first group of nodes, which is what
    Kedro's function-level test expects for that case."""
    done = [n for n in a_pipeline.nodes if n.name not in set(remaining_names)]
    caplog.clear()
    with caplog.at_level(logging.INFO):
        runner._suggest_resume_scenario(a_pipeline, done, catalog)
    text = caplog.text
    if "No nodes ran." in text:
        assert not done, text
        return {n.name for n in a_pipeline.grouped_nodes[0]} if a_pipeline.nodes else set()
    found = SUGGESTION.findall(text)
    assert len(found) == 1, text
    return {name for name in found[0].split(",") if name}


# kedro: tests/runner/test_resume_logic.py::TestResumeLogicBehaviour::test_simple_pipeline
@RESUME_CASES
def test_resume_simple_pipeline(idle_runner, caplog, pipeline_name, remaining_names, expected):
    a_pipeline = kit.PIPELINES[pipeline_name]()

    start = suggested_start(
        idle_runner, a_pipeline, remaining_names, kit.persistent_dataset_catalog(), caplog
    )

    assert start == expected


# kedro: tests/runner/test_resume_logic.py::TestResumeLogicBehaviour::test_all_datasets_persistent
@RESUME_CASES
def test_resume_all_datasets_persistent(
    idle_runner, caplog, pipeline_name, remaining_names, expected
):
    # With every dataset persisted, resuming from the suggestion reruns exactly
    # the nodes that did not complete.
    a_pipeline = kit.PIPELINES[pipeline_name]()
    catalog = DataCatalog(
        dict.fromkeys(
            a_pipeline.datasets(),
            kit.CallableDataset(load=lambda: 42, save=lambda data: None),
        )
    )
    remaining = set(a_pipeline.only_nodes(*remaining_names).nodes)

    start = suggested_start(idle_runner, a_pipeline, remaining_names, catalog, caplog)

    assert set(a_pipeline.from_nodes(*start).nodes) == remaining


# kedro: tests/runner/test_resume_logic.py::TestResumeLogicBehaviour::test_added_shared_input
@RESUME_CASES
@pytest.mark.parametrize("extra_input", ["params:p", "dsY"])
def test_resume_added_shared_input(
    idle_runner, caplog, pipeline_name, remaining_names, expected, extra_input
):
    # A parameter or persisted dataset that every node reads changes nothing.
    a_pipeline = pipeline(
        [n._copy(inputs=[*n.inputs, extra_input]) for n in kit.PIPELINES[pipeline_name]().nodes]
    )

    start = suggested_start(
        idle_runner, a_pipeline, remaining_names, kit.persistent_dataset_catalog(), caplog
    )

    assert start == expected


# kedro: tests/runner/test_resume_logic.py::TestResumeLogicBehaviour::test_suggestion_consistency
@RESUME_CASES
def test_resume_suggestion_consistency(
    idle_runner, caplog, pipeline_name, remaining_names, expected
):
    # The pipeline resumed from the suggestion holds exactly the nodes a resumed
    # run needs.
    a_pipeline = kit.PIPELINES[pipeline_name]()
    catalog = kit.persistent_dataset_catalog()
    remaining = a_pipeline.only_nodes(*remaining_names).nodes
    needed = _find_all_nodes_for_resumed_pipeline(a_pipeline, remaining, catalog)

    start = suggested_start(idle_runner, a_pipeline, remaining_names, catalog, caplog)

    assert {n.name for n in needed} == {n.name for n in a_pipeline.from_nodes(*start).nodes}
