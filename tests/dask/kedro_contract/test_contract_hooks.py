"""Pipeline, node and dataset hooks around a run (the runner-related tests of
Kedro's tests/framework/session/test_session_extension_hooks.py and its conftest).

As in Kedro, a KedroSession runs a two-node pipeline (cars -> planes, boats ->
ships) of versioned CSV files, with hooks given through patched project settings;
here the session is told to use the runner under test. A HookRecorder stands in
for Kedro's LoggingHooks: it keeps every call's arguments in a list.

Pipeline hooks are called by the session in the test process, so their tests run
in both modes. Node and dataset hooks are called where nodes run: the recorder is
there only in the in_process mode.

Not transcribed, because no runner takes part: TestCatalogHooks
(after_catalog_created) and TestKedroContextSpecsHook (after_context_created).
"""

# The `# kedro:` comments name Kedro test ids, which are longer than a line.
# ruff: noqa: E501

from __future__ import annotations

import re
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path
from unittest import mock

import contract_kit as kit
import pandas as pd
import pytest
import yaml
from dynaconf.validator import Validator
from kedro import __version__ as kedro_version
from kedro.framework.hooks import _create_hook_manager
from kedro.framework.project import _ProjectPipelines, _ProjectSettings
from kedro.framework.session import KedroSession
from kedro.io import DataCatalog, MemoryDataset
from kedro.pipeline import node, pipeline

# Where Kedro's session, project and task modules hold the settings object.
SETTINGS_HOLDERS = (
    "kedro.framework.session.session.settings",
    "kedro.framework.session.service_session.settings",
    "kedro.framework.project.settings",
    "kedro.runner.task.settings",
)
PIPELINES_HOLDERS = (
    "kedro.framework.session.session.pipelines",
    "kedro.framework.project.pipelines",
)
NODE_HOOK_PARAMS = {"node", "catalog", "inputs", "is_async", "run_id"}


@pytest.fixture
def dummy_dataframe() -> pd.DataFrame:
    return pd.DataFrame({"col1": [1, 2], "col2": [4, 5], "col3": [5, 6]})


@pytest.fixture
def hooks_project(tmp_path) -> Path:
    """A minimal Kedro project folder: pyproject.toml and a catalog of two
    versioned CSV files."""
    (tmp_path / "conf" / "base").mkdir(parents=True)
    (tmp_path / "conf" / "local").mkdir(parents=True)
    catalog = {
        "cars": {
            "type": "pandas.CSVDataset",
            "filepath": str(tmp_path / "cars.csv"),
            "save_args": {"index": False},
            "versioned": True,
        },
        "boats": {
            "type": "pandas.CSVDataset",
            "filepath": str(tmp_path / "boats.csv"),
            "versioned": True,
        },
    }
    (tmp_path / "conf" / "base" / "catalog.yml").write_text(yaml.safe_dump(catalog))
    (tmp_path / "conf" / "local" / "credentials.yml").write_text(yaml.safe_dump({"dev_s3": "foo"}))
    (tmp_path / "pyproject.toml").write_text(
        "[tool.kedro]\n"
        f'kedro_init_version = "{kedro_version}"\n'
        'project_name = "contract hooks"\n'
        'package_name = "contract_hooks"\n'
    )
    return tmp_path


def default_pipeline():
    return pipeline(
        [
            node(kit.identity, "cars", "planes", name="node1"),
            node(kit.identity, "boats", "ships", name="node2"),
        ],
        tags="pipeline",
    )


def broken_pipeline():
    return pipeline(
        [
            node(kit.broken_node, None, "A", name="node1"),
            node(kit.broken_node, None, "B", name="node2"),
        ],
        tags="pipeline",
    )


@contextmanager
def session_with_hooks(project: Path, hooks: tuple, registered: dict):
    """A KedroSession of ``project`` whose settings register ``hooks`` and whose
    pipeline registry is ``registered``; Kedro's global project state is left as
    it was."""

    class HookedSettings(_ProjectSettings):
        _HOOKS = Validator("HOOKS", default=hooks)
        # Installed plugins' hooks stay out: telemetry must not phone home and
        # kedro-viz must not write run files; only the test's hooks take part.
        _DISABLE_HOOKS_FOR_PLUGINS = Validator(
            "DISABLE_HOOKS_FOR_PLUGINS", default=("kedro-viz", "kedro-telemetry")
        )

    settings = HookedSettings()
    registry = _ProjectPipelines()
    registry._pipelines_module = "contract_hooks.pipeline_registry"  # never imported
    with ExitStack() as stack:
        for holder in SETTINGS_HOLDERS:
            stack.enter_context(mock.patch(holder, settings))
        for holder in PIPELINES_HOLDERS:
            stack.enter_context(mock.patch(holder, registry))
        stack.enter_context(
            mock.patch.object(
                registry,
                "_get_pipelines_registry_callable",
                return_value=lambda: dict(registered),
            )
        )
        stack.enter_context(mock.patch("kedro.framework.session.session.validate_settings"))
        session = KedroSession.create(project)
        try:
            yield session
        finally:
            session.close()


def save_inputs(session, frame, *names):
    catalog = session.load_context().catalog
    for name in names:
        catalog.save(name, frame)


def has_params(call: dict, names) -> bool:
    return set(names) <= set(call)


def wait_for(condition, timeout: float = 10.0) -> None:
    """Nodes may still report after a failed run returned: give them a moment."""
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)


# kedro: tests/framework/session/test_session_extension_hooks.py::TestPipelineHooks::test_before_and_after_pipeline_run_hooks
def test_before_and_after_pipeline_run_hooks(make_runner, hooks_project, dummy_dataframe):
    recorder = kit.HookRecorder()
    registered = {"__default__": default_pipeline(), "pipe": default_pipeline()}
    with session_with_hooks(hooks_project, (recorder,), registered) as session:
        save_inputs(session, dummy_dataframe, "cars", "boats")
        session.run(runner=make_runner())

    for hook in ("before_pipeline_run", "after_pipeline_run"):
        calls = recorder.named(hook)
        assert len(calls) == 1, hook
        assert has_params(calls[0], ["pipeline", "catalog", "run_params"])
        assert sorted(calls[0]["pipeline"].nodes) == sorted(default_pipeline().nodes)


# kedro: tests/framework/session/test_session_extension_hooks.py::TestPipelineHooks::test_on_pipeline_error_hook
def test_on_pipeline_error_hook(make_runner, hooks_project):
    recorder = kit.HookRecorder()
    with session_with_hooks(
        hooks_project, (recorder,), {"__default__": broken_pipeline()}
    ) as session:
        with pytest.raises(ValueError, match="broken"):
            session.run(runner=make_runner())

    calls = recorder.named("on_pipeline_error")
    assert len(calls) == 1
    assert has_params(calls[0], ["error", "run_params", "pipeline", "catalog"])
    # The node's own exception: same type, same message.
    assert kit.same_exception(calls[0]["error"], ValueError("broken"))


# kedro: tests/framework/session/test_session_extension_hooks.py::TestPipelineHooks::test_on_node_error_hook_sequential_runner
# kedro: tests/framework/session/test_session_extension_hooks.py::TestNodeHooks::test_on_node_error_hook_parallel_runner
@pytest.mark.in_process_only(reason=kit.WORKERS_RUN_PROJECT_HOOKS_ONLY)
@pytest.mark.parametrize(
    "node_names", [["node1"], ["node1", "node2"]], ids=["one_node", "two_nodes"]
)
def test_on_node_error_hook(make_runner, hooks_project, node_names):
    recorder = kit.HookRecorder()
    with session_with_hooks(
        hooks_project, (recorder,), {"__default__": broken_pipeline()}
    ) as session:
        with pytest.raises(ValueError, match="broken"):
            session.run(runner=make_runner(), node_names=node_names)

    if len(node_names) == 1:
        assert len(recorder.named("on_node_error")) == 1
    else:
        # ParallelRunner(max_workers=1) finishes its queue before raising, so
        # Kedro expects both failures. A Dask runner may stop a node that had not
        # started yet when the first one failed: at least one must report.
        wait_for(lambda: len(recorder.named("on_node_error")) == 2, timeout=3)
        assert 1 <= len(recorder.named("on_node_error")) <= 2
    for call in recorder.named("on_node_error"):
        assert has_params(call, ["error", *NODE_HOOK_PARAMS])
        assert kit.same_exception(call["error"], ValueError("broken"))


# kedro: tests/framework/session/test_session_extension_hooks.py::TestNodeHooks::test_before_and_after_node_run_hooks_sequential_runner
# kedro: tests/framework/session/test_session_extension_hooks.py::TestNodeHooks::test_before_and_after_node_run_hooks_parallel_runner
@pytest.mark.in_process_only(reason=kit.WORKERS_RUN_PROJECT_HOOKS_ONLY)
@pytest.mark.parametrize(
    "node_names", [["node1"], ["node1", "node2"]], ids=["one_node", "two_nodes"]
)
def test_before_and_after_node_run_hooks(make_runner, hooks_project, dummy_dataframe, node_names):
    recorder = kit.HookRecorder()
    with session_with_hooks(
        hooks_project, (recorder,), {"__default__": default_pipeline()}
    ) as session:
        save_inputs(session, dummy_dataframe, "cars", "boats")
        session.run(runner=make_runner(), node_names=node_names)

    before = recorder.named("before_node_run")
    after = recorder.named("after_node_run")
    assert len(before) == len(after) == len(node_names)
    for call in before:
        assert has_params(call, NODE_HOOK_PARAMS)
        assert call["node"].name in node_names
        assert set(call["inputs"]) <= {"cars", "boats"}
    for call in after:
        assert has_params(call, [*NODE_HOOK_PARAMS, "outputs"])
        assert call["node"].name in node_names
        assert set(call["outputs"]) <= {"planes", "ships"}
    if node_names == ["node1"]:
        assert before[0]["inputs"]["cars"].to_dict() == dummy_dataframe.to_dict()
        assert after[0]["outputs"]["planes"].to_dict() == dummy_dataframe.to_dict()


# kedro: tests/framework/session/test_session_extension_hooks.py::TestDatasetHooks::test_before_and_after_dataset_loaded_hooks_sequential_runner
# kedro: tests/framework/session/test_session_extension_hooks.py::TestDatasetHooks::test_before_and_after_dataset_loaded_hooks_parallel_runner
@pytest.mark.in_process_only(reason=kit.WORKERS_RUN_PROJECT_HOOKS_ONLY)
@pytest.mark.parametrize(
    "node_names", [["node1"], ["node1", "node2"]], ids=["one_node", "two_nodes"]
)
def test_before_and_after_dataset_loaded_hooks(
    make_runner, hooks_project, dummy_dataframe, node_names
):
    recorder = kit.HookRecorder()
    with session_with_hooks(
        hooks_project, (recorder,), {"__default__": default_pipeline()}
    ) as session:
        save_inputs(session, dummy_dataframe, "cars", "boats")
        session.run(runner=make_runner(), node_names=node_names)

    expected = {"node1": "cars", "node2": "boats"}
    expected_names = {expected[name] for name in node_names}
    before = recorder.named("before_dataset_loaded")
    after = recorder.named("after_dataset_loaded")
    assert len(before) == len(after) == len(node_names)
    for call in before:
        assert has_params(call, ["dataset_name"])
        assert call["dataset_name"] in expected_names
    for call in after:
        assert has_params(call, ["dataset_name", "data"])
        assert call["dataset_name"] in expected_names
        pd.testing.assert_frame_equal(call["data"], dummy_dataframe)


# kedro: tests/framework/session/test_session_extension_hooks.py::TestDatasetHooks::test_before_and_after_dataset_saved_hooks_sequential_runner
# kedro: tests/framework/session/test_session_extension_hooks.py::TestDatasetHooks::test_before_and_after_dataset_saved_hooks_parallel_runner
@pytest.mark.in_process_only(reason=kit.WORKERS_RUN_PROJECT_HOOKS_ONLY)
@pytest.mark.parametrize(
    "node_names", [["node1"], ["node1", "node2"]], ids=["one_node", "two_nodes"]
)
def test_before_and_after_dataset_saved_hooks(
    make_runner, hooks_project, dummy_dataframe, node_names
):
    recorder = kit.HookRecorder()
    with session_with_hooks(
        hooks_project, (recorder,), {"__default__": default_pipeline()}
    ) as session:
        save_inputs(session, dummy_dataframe, "cars", "boats")
        session.run(runner=make_runner(), node_names=node_names)

    expected = {"node1": "planes", "node2": "ships"}
    expected_names = {expected[name] for name in node_names}
    for hook in ("before_dataset_saved", "after_dataset_saved"):
        calls = recorder.named(hook)
        assert len(calls) == len(node_names), hook
        for call in calls:
            assert has_params(call, ["dataset_name", "data"])
            assert call["dataset_name"] in expected_names
            assert call["data"].to_dict() == dummy_dataframe.to_dict()


# kedro: tests/framework/session/test_session_extension_hooks.py::TestBeforeNodeRunHookWithInputUpdates::test_correct_input_update
# kedro: tests/framework/session/test_session_extension_hooks.py::TestBeforeNodeRunHookWithInputUpdates::test_correct_input_update_parallel
@pytest.mark.in_process_only(reason=kit.WORKERS_RUN_PROJECT_HOOKS_ONLY)
def test_correct_input_update(make_runner, hooks_project, dummy_dataframe):
    hooks = (kit.HookRecorder(), kit.ReplaceCarsHook())
    with session_with_hooks(hooks_project, hooks, {"__default__": default_pipeline()}) as session:
        save_inputs(session, dummy_dataframe, "cars", "boats")
        result = session.run(runner=make_runner())

    # node1 ran on what the hook returned instead of cars; node2 on boats.
    assert isinstance(result["planes"].load(), kit.ReplacementInput)
    assert isinstance(result["ships"].load(), pd.DataFrame)


# kedro: tests/framework/session/test_session_extension_hooks.py::TestBeforeNodeRunHookWithInputUpdates::test_broken_input_update
# kedro: tests/framework/session/test_session_extension_hooks.py::TestBeforeNodeRunHookWithInputUpdates::test_broken_input_update_parallel
@pytest.mark.in_process_only(reason=kit.WORKERS_RUN_PROJECT_HOOKS_ONLY)
def test_broken_input_update(make_runner, hooks_project, dummy_dataframe):
    hooks = (kit.HookRecorder(), kit.BrokenInputUpdateHook())
    with session_with_hooks(hooks_project, hooks, {"__default__": default_pipeline()}) as session:
        save_inputs(session, dummy_dataframe, "cars", "boats")
        message = (
            "'before_node_run' must return either None or a dictionary "
            "mapping dataset names to updated values, got 'ReplacementInput'"
        )
        with pytest.raises(TypeError, match=re.escape(message)):
            session.run(runner=make_runner())


# kedro: tests/framework/session/test_session_extension_hooks.py::TestAsyncNodeDatasetHooks::test_after_dataset_load_hook_async
@pytest.mark.in_process_only(reason=kit.WORKERS_RUN_PROJECT_HOOKS_ONLY)
def test_after_dataset_load_hook_async(make_runner):
    # Kedro runs one Task with is_async=True on a catalog whose load() logs; here
    # the runner runs the node with is_async=True and the input dataset records its
    # load in the same timeline as the hooks.
    timeline: list = []
    recorder = kit.HookRecorder(events=timeline)
    hook_manager = _create_hook_manager()
    hook_manager.register(recorder)
    catalog = DataCatalog(
        {
            "ds1": kit.RecordingDataset(timeline, "ds1", {"data": 42}),
            "ds2": MemoryDataset({"data": 42}),
        }
    )
    a_pipeline = pipeline(
        [node(kit.wait_and_identity, inputs="ds1", outputs="ds2", name="test-node")]
    )

    make_runner(is_async=True).run(a_pipeline, catalog, hook_manager=hook_manager)

    wanted = ["before_dataset_loaded", ("load", "ds1"), "after_dataset_loaded"]
    assert any(timeline[i : i + len(wanted)] == wanted for i in range(len(timeline))), timeline


# kedro: tests/framework/session/test_session_extension_hooks.py::TestAsyncNodeDatasetHooks::test_after_dataset_load_hook_async_multiple_outputs
@pytest.mark.in_process_only(reason=kit.WORKERS_RUN_PROJECT_HOOKS_ONLY)
def test_after_dataset_saved_hook_async_multiple_outputs(make_runner):
    recorder = kit.HookRecorder()
    hook_manager = _create_hook_manager()
    hook_manager.register(recorder)
    catalog = DataCatalog({f"ds{i}": MemoryDataset({"data": 42}) for i in range(1, 5)})
    sample_node = node(
        kit.wait_and_identity,
        inputs=["ds1", "ds2"],
        outputs=["ds3", "ds4"],
        name="test-node",
    )

    make_runner(is_async=True).run(pipeline([sample_node]), catalog, hook_manager=hook_manager)

    calls = recorder.named("after_dataset_saved")
    assert len(calls) == 2
    expected = [
        {"dataset_name": "ds3", "data": {"data": 42}, "node": sample_node},
        {"dataset_name": "ds4", "data": {"data": 42}, "node": sample_node},
    ]
    for call in expected:
        assert call in calls
