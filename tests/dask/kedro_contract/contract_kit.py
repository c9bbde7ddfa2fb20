"""Shared pieces of the Kedro runner contract suite: skip reasons, datasets, node
functions, pipelines and a hook recorder.

Everything a Dask worker process may have to import (node functions, dataset
classes) lives here, at module level: worker processes are spawned with the test
process's ``sys.path``, so they import this module by the same name.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pandas as pd
from kedro.framework.hooks import hook_impl
from kedro.io import AbstractDataset, DataCatalog, MemoryDataset
from kedro.pipeline import node, pipeline

# ---------------------------------------------------------------------------
# Cluster modes (the ids of the `make_runner` parametrization).
# ---------------------------------------------------------------------------
IN_PROCESS = "in_process"
WORKER_PROCESSES = "worker_processes"
CLUSTER_MODES = (IN_PROCESS, WORKER_PROCESSES)

# ---------------------------------------------------------------------------
# Skip reasons. Every skip in the suite uses one of these; conftest.py refuses a
# marker with any other reason, and the starter's test_kedro_contract.py checks
# the reasons pytest prints with -rs against SKIP_REASONS.
# ---------------------------------------------------------------------------

# worker_processes mode: what the test observes lives in the test process.
WORKERS_COPY_LOGGING_DATASETS = (
    "worker_processes mode: workers rebuild datasets from catalog.to_config(), so the "
    "event list inside a dataset is a copy there and the test process never sees "
    "what the workers append to it"
)
WORKERS_CANNOT_REBUILD_MOCKS = (
    "worker_processes mode: the test observes a Mock dataset's calls in the test "
    "process, but workers rebuild datasets from catalog.to_config() and a Mock cannot "
    "be rebuilt there (test_unreproducible_dataset_fails_before_any_node covers what "
    "must happen instead)"
)
WORKERS_RUN_PROJECT_HOOKS_ONLY = (
    "worker_processes mode: workers run only the project's configured hooks, so hook "
    "implementations registered on the test's hook manager (or its patched settings) "
    "are not called there"
)
WORKERS_DO_NOT_SEE_TEST_PATCHES = (
    "worker_processes mode: the test patches a Kedro function and mocks datasets in "
    "the test process; workers import their own unpatched copy and rebuild datasets "
    "from catalog.to_config()"
)
# in_process mode: the contract addition only concerns worker processes.
IN_PROCESS_USES_CLIENT_OBJECTS = (
    "in_process mode: the runner uses the client's own dataset objects, so a dataset "
    "that catalog.to_config() cannot describe is still usable there"
)
# Kedro tests of things DaskRunner does not have.
NO_MAX_WORKERS = (
    "DaskRunner has no max_workers: the Dask cluster's workers and threads set how "
    "many nodes run at once"
)
NO_PROCESS_POOL_START_METHOD = (
    "DaskRunner starts no ProcessPoolExecutor, so ParallelRunner's choice of "
    "multiprocessing start method (KEDRO_MP_CONTEXT) does not apply"
)
RUNNER_SPECIFIC_SYNC_LOG_LINE = (
    "checks the log line 'Using synchronous mode for loading and saving data.' that "
    "SequentialRunner and ParallelRunner write and ThreadRunner must not; it belongs "
    "to those runners, not to the AbstractRunner contract"
)
THREAD_RUNNER_IGNORES_IS_ASYNC = (
    "checks ThreadRunner's own warning that it ignores is_async; DaskRunner honours "
    "is_async, which the tests parametrized over is_async cover"
)
PARALLEL_RUNNER_PICKLE_LIMITS = (
    "ParallelRunner-specific: it refuses nodes, datasets or in-memory data that the "
    "standard pickle module cannot serialise; DaskRunner ships them with cloudpickle"
)
SHARED_MEMORY_CATALOG_SPECIFIC = (
    "SharedMemoryDataCatalog specifics of ParallelRunner (_SINGLE_PROCESS datasets, "
    "its multiprocessing check of MemoryDataset inputs); DaskRunner takes a DataCatalog"
)
ABSTRACT_RUNNER_EXECUTOR_LOOP = (
    "exercises AbstractRunner._run's executor loop by patching "
    "Pipeline.node_dependencies; DaskRunner replaces that loop with a Dask graph"
)
KEDRO_HELPER_WITHOUT_RUNNER = (
    "calls kedro.runner.runner._is_persistent_dataset_missing directly: no runner "
    "takes part, so there is nothing of DaskRunner to check"
)

SKIP_REASONS = (
    WORKERS_COPY_LOGGING_DATASETS,
    WORKERS_CANNOT_REBUILD_MOCKS,
    WORKERS_RUN_PROJECT_HOOKS_ONLY,
    WORKERS_DO_NOT_SEE_TEST_PATCHES,
    IN_PROCESS_USES_CLIENT_OBJECTS,
    NO_MAX_WORKERS,
    NO_PROCESS_POOL_START_METHOD,
    RUNNER_SPECIFIC_SYNC_LOG_LINE,
    THREAD_RUNNER_IGNORES_IS_ASYNC,
    PARALLEL_RUNNER_PICKLE_LIMITS,
    SHARED_MEMORY_CATALOG_SPECIFIC,
    ABSTRACT_RUNNER_EXECUTOR_LOOP,
    KEDRO_HELPER_WITHOUT_RUNNER,
)


# ---------------------------------------------------------------------------
# Node functions.
# ---------------------------------------------------------------------------
def identity(value: Any) -> Any:
    return value


def source() -> str:
    return "stuff"


def sink(value: Any) -> None:
    return None


def fan_in(*values: Any) -> tuple[Any, ...]:
    return values


def first_arg(*values: Any) -> Any:
    return values[0]


def multi_input_list_output(first: Any, second: Any, third: Any = None) -> list:
    return [first, second]


def return_none(value: Any) -> None:
    return None


def exception_fn(*values: Any) -> None:
    raise Exception("test exception")


def broken_node() -> None:
    raise ValueError("broken")


def identity_with_default(value: Any = "default_value") -> Any:
    return "default_value" if value is None else value


def shared_data_func() -> str:
    return "shared_data"


def b_func(value: Any) -> str:
    return f"b_{value}"


def c_func(value: Any) -> str:
    return f"c_{value}"


def combine_func(b: Any, c: Any) -> str:
    return f"{b}+{c}"


def keep_first(first: Any, second: Any) -> Any:
    return first


def mixed_node_func(value: str) -> tuple[str, str]:
    return value, value + "_persistent"


def no_output_logger(value: Any) -> None:
    return None


def another_no_output_logger(value: Any) -> None:
    return None


def wait_and_identity(*values: Any) -> Any:
    import time

    time.sleep(0.1)
    return values[0] if len(values) == 1 else values


def generate_one():
    yield from range(10)


def generate_tuple():
    for i in range(10):
        yield i, i * i


def generate_list():
    for i in range(10):
        yield [i, i * i]


def generate_dict():
    for i in range(10):
        yield {"idx": i, "square": i * i}


# ---------------------------------------------------------------------------
# Datasets.
# ---------------------------------------------------------------------------
def load_zero() -> int:
    return 0


def save_nothing(data: Any) -> None:
    return None


class CallableDataset(AbstractDataset):
    """A persisted (non-ephemeral) dataset whose load, save and exists are the
    callables it is given (Kedro's PersistentTestDataset)."""

    def __init__(self, load=None, save=None, exists=None):
        self._load_callable = load if load is not None else (lambda: None)
        self._save_callable = save if save is not None else (lambda data: None)
        self._exists_callable = exists

    def _load(self) -> Any:
        return self._load_callable()

    def _save(self, data: Any) -> None:
        self._save_callable(data)

    def _exists(self) -> bool:
        if self._exists_callable is None:
            return super()._exists()
        return self._exists_callable()

    def _describe(self) -> dict[str, Any]:
        return {}


class RecordingDataset(AbstractDataset):
    """Appends ("load", label) and ("release", label) to ``events`` (Kedro's
    LoggingDataset); keeps what is saved in memory."""

    def __init__(self, events, label, value=None):
        self.events = events
        self.label = label
        self.value = value

    def _load(self) -> Any:
        self.events.append(("load", self.label))
        return self.value

    def _save(self, data: Any) -> None:
        self.value = data

    def _release(self) -> None:
        self.events.append(("release", self.label))
        self.value = None

    def _describe(self) -> dict[str, Any]:
        return {"label": self.label}


class ExistenceDataset(AbstractDataset):
    """A persisted dataset whose ``exists()`` answer is fixed (Kedro's DummyDataset)."""

    def __init__(self, exists_result=False, initial_data=None):
        self._data = initial_data
        self._exists_result = exists_result

    def _load(self) -> Any:
        return self._data

    def _save(self, data: Any) -> None:
        self._data = data

    def _exists(self) -> bool:
        return self._exists_result

    def _describe(self) -> dict[str, Any]:
        return {"exists_result": self._exists_result}


class JsonLinesDataset(AbstractDataset):
    """Appends every save to a JSON-lines file: what a worker process saved can be
    read back in the test process."""

    def __init__(self, filepath: str):
        self._filepath = filepath

    def _load(self) -> list:
        path = Path(self._filepath)
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines()]

    def _save(self, data: Any) -> None:
        with open(self._filepath, "a") as stream:
            stream.write(json.dumps(data) + "\n")

    def _exists(self) -> bool:
        return Path(self._filepath).exists()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": self._filepath}


class IterableNotGenerator:
    """An ``Iterator`` that is not a generator: nodes returning one must see it saved
    as one object, never iterated chunk by chunk (kedro-org/kedro#5412)."""

    def __init__(self, label: str, size: int = 3):
        self.label = label
        self._size = size
        self._position = 0

    def __iter__(self):
        return self

    def __next__(self):
        if self._position >= self._size:
            raise StopIteration
        self._position += 1
        return f"{self.label}_chunk_{self._position}"


class ReplacementInput:
    """What a before_node_run hook puts in place of a node input."""


# ---------------------------------------------------------------------------
# Catalogs and pipelines (the fixtures of Kedro's tests/runner/conftest.py).
# ---------------------------------------------------------------------------
def raw_frames() -> dict[str, pd.DataFrame]:
    return {"ds3": pd.DataFrame({"Name": ["Alex", "Bob"], "Age": [15, 25]})}


def conflicting_raw_data() -> dict[str, Any]:
    return {"ds1": MemoryDataset({"data": 0}), "ds3": raw_frames()["ds3"]}


def memory_catalog() -> DataCatalog:
    return DataCatalog({"ds1": MemoryDataset({"data": 42}), "ds2": MemoryDataset([1, 2, 3, 4, 5])})


PERSISTED_NAMES = ("ds0_A", "ds0_B", "ds2_A", "ds2_B", "dsX", "dsY")


def persistent_dataset_catalog() -> DataCatalog:
    shared = CallableDataset(load=load_zero, save=save_nothing)
    return DataCatalog({**dict.fromkeys(PERSISTED_NAMES, shared), "params:p": MemoryDataset(1)})


def fan_out_fan_in():
    return pipeline(
        [
            node(identity, "A", "B"),
            node(identity, "B", "C"),
            node(identity, "B", "D"),
            node(identity, "B", "E"),
            node(fan_in, ["C", "D", "E"], "Z"),
        ]
    )


def branchless_no_input_pipeline():
    from random import random

    # Runs A -> B -> C -> D -> E.
    return pipeline(
        [
            node(identity, "D", "E", name="node1"),
            node(identity, "C", "D", name="node2"),
            node(identity, "A", "B", name="node3"),
            node(identity, "B", "C", name="node4"),
            node(random, None, "A", name="node5"),
        ]
    )


def branchless_pipeline():
    return pipeline(
        [
            node(identity, "ds1", "ds2", name="node1"),
            node(identity, "ds2", "ds3", name="node2"),
        ]
    )


def saving_result_pipeline():
    return pipeline([node(identity, "ds", "dsX")])


def saving_none_pipeline():
    from random import random

    return pipeline(
        [node(random, None, "A"), node(return_none, "A", "B"), node(identity, "B", "C")]
    )


def unfinished_outputs_pipeline():
    # Free outputs ds8, ds5, ds6; inputs ds1, ds2, ds3.
    return pipeline(
        [
            node(identity, {"value": "ds4"}, "ds8", name="node1"),
            node(sink, "ds7", None, name="node2"),
            node(multi_input_list_output, ["ds3", "ds4"], ["ds6", "ds7"], name="node3"),
            node(identity, "ds2", "ds5", name="node4"),
            node(identity, "ds1", "ds4", name="node5"),
        ]
    )


def two_branches_crossed_pipeline():
    """Two branches joined by node2 (an X shape)."""
    return pipeline(
        [
            node(first_arg, "ds0_A", "ds1_A", name="node1_A"),
            node(first_arg, "ds0_B", "ds1_B", name="node1_B"),
            node(
                multi_input_list_output,
                ["ds1_A", "ds1_B"],
                ["ds2_A", "ds2_B"],
                name="node2",
            ),
            node(first_arg, "ds2_A", "ds3_A", name="node3_A"),
            node(first_arg, "ds2_B", "ds3_B", name="node3_B"),
            node(first_arg, "ds3_A", "ds4_A", name="node4_A"),
            node(first_arg, "ds3_B", "ds4_B", name="node4_B"),
        ]
    )


def two_branches_crossed_with_extras(extras: tuple[str, ...]):
    """The X shape again; names starting with "_" are in memory and every node
    also reads ``extras`` (a persisted dataset or a parameter)."""
    more = list(extras)
    return pipeline(
        [
            node(first_arg, ["ds0_A", *more], "_ds1_A", name="node1_A"),
            node(first_arg, ["ds0_B", *more], "_ds1_B", name="node1_B"),
            node(
                multi_input_list_output,
                ["_ds1_A", "_ds1_B", *more],
                ["ds2_A", "ds2_B"],
                name="node2",
            ),
            node(first_arg, ["ds2_A", *more], "_ds3_A", name="node3_A"),
            node(first_arg, ["ds2_B", *more], "_ds3_B", name="node3_B"),
            node(first_arg, ["_ds3_A", *more], "_ds4_A", name="node4_A"),
            node(first_arg, ["_ds3_B", *more], "_ds4_B", name="node4_B"),
        ]
    )


def pipeline_with_memory_datasets():
    return pipeline(
        [
            node(identity, "Input1", "MemOutput1", name="node1"),
            node(identity, "Input2", "MemOutput2", name="node2"),
        ]
    )


def pipeline_asymmetric():
    """node1 -> node3 -> node4 <- node2, all through in-memory data."""
    return pipeline(
        [
            node(first_arg, ["ds0_A"], ["_ds1"], name="node1"),
            node(first_arg, ["ds0_B"], ["_ds2"], name="node2"),
            node(first_arg, ["_ds1"], ["_ds3"], name="node3"),
            node(first_arg, ["_ds2", "_ds3"], ["_ds4"], name="node4"),
        ]
    )


def pipeline_triangular():
    """node1 feeds node2 and node3; node2 feeds node3."""
    return pipeline(
        [
            node(first_arg, ["ds0_A"], ["_ds1_A"], name="node1"),
            node(first_arg, ["_ds1_A"], ["ds2_A"], name="node2"),
            node(first_arg, ["ds2_A", "_ds1_A"], ["_ds3_A"], name="node3"),
        ]
    )


def empty_pipeline():
    return pipeline([])


PIPELINES = {
    "pipeline_asymmetric": pipeline_asymmetric,
    "pipeline_triangular": pipeline_triangular,
    "two_branches_crossed_pipeline": two_branches_crossed_pipeline,
    "empty_pipeline": empty_pipeline,
}


def with_failing_nodes(a_pipeline, names):
    """``a_pipeline`` with the nodes ``names`` replaced by copies that raise."""
    by_name = {n.name: n for n in a_pipeline.nodes}
    for name in names:
        a_pipeline -= pipeline([by_name[name]])
        a_pipeline += pipeline([by_name[name]._copy(func=exception_fn)])
    return a_pipeline


# ---------------------------------------------------------------------------
# Hooks.
# ---------------------------------------------------------------------------
class HookRecorder:
    """Hook implementations that record (hook name, keyword arguments); each one
    takes every argument its hook spec offers, so the record shows them all."""

    def __init__(self, events: list | None = None):
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.events = events  # a shared timeline, when a test wants ordering
        self._lock = threading.Lock()

    def _record(self, hook: str, **kwargs: Any) -> None:
        with self._lock:
            self.calls.append((hook, kwargs))
            if self.events is not None:
                self.events.append(hook)

    def named(self, hook: str) -> list[dict[str, Any]]:
        with self._lock:
            return [kwargs for name, kwargs in self.calls if name == hook]

    @hook_impl
    def before_pipeline_run(self, run_params, pipeline, catalog):
        self._record(
            "before_pipeline_run", run_params=run_params, pipeline=pipeline, catalog=catalog
        )

    @hook_impl
    def after_pipeline_run(self, run_params, run_result, pipeline, catalog):
        self._record(
            "after_pipeline_run",
            run_params=run_params,
            run_result=run_result,
            pipeline=pipeline,
            catalog=catalog,
        )

    @hook_impl
    def on_pipeline_error(self, error, run_params, pipeline, catalog):
        self._record(
            "on_pipeline_error",
            error=error,
            run_params=run_params,
            pipeline=pipeline,
            catalog=catalog,
        )

    @hook_impl
    def before_node_run(self, node, catalog, inputs, is_async, run_id):
        self._record(
            "before_node_run",
            node=node,
            catalog=catalog,
            inputs=inputs,
            is_async=is_async,
            run_id=run_id,
        )

    @hook_impl
    def after_node_run(self, node, catalog, inputs, outputs, is_async, run_id):
        self._record(
            "after_node_run",
            node=node,
            catalog=catalog,
            inputs=inputs,
            outputs=outputs,
            is_async=is_async,
            run_id=run_id,
        )

    @hook_impl
    def on_node_error(self, error, node, catalog, inputs, is_async, run_id):
        self._record(
            "on_node_error",
            error=error,
            node=node,
            catalog=catalog,
            inputs=inputs,
            is_async=is_async,
            run_id=run_id,
        )

    @hook_impl
    def before_dataset_loaded(self, dataset_name, node):
        self._record("before_dataset_loaded", dataset_name=dataset_name, node=node)

    @hook_impl
    def after_dataset_loaded(self, dataset_name, data, node):
        self._record("after_dataset_loaded", dataset_name=dataset_name, data=data, node=node)

    @hook_impl
    def before_dataset_saved(self, dataset_name, data, node):
        self._record("before_dataset_saved", dataset_name=dataset_name, data=data, node=node)

    @hook_impl
    def after_dataset_saved(self, dataset_name, data, node):
        self._record("after_dataset_saved", dataset_name=dataset_name, data=data, node=node)


class ReplaceCarsHook:
    """Gives node1 a replacement for its input ``cars``."""

    @hook_impl
    def before_node_run(self, node):
        return {"cars": ReplacementInput()} if node.name == "node1" else None


class BrokenInputUpdateHook:
    """Returns something that is neither None nor a dictionary."""

    @hook_impl
    def before_node_run(self):
        return ReplacementInput()


def same_exception(actual: BaseException, expected: BaseException) -> bool:
    return isinstance(actual, type(expected)) and str(actual) == str(expected)
