"""Kedro runner tests that check something a Dask runner does not have: a pool
size, a process-pool start method, a runner's own log line or warning, the limits
of the standard pickle module, SharedMemoryDataCatalog, AbstractRunner's executor
loop. Each is listed here, skipped with the reason, so that the inventory of
Kedro's tests stays complete."""

# The `# kedro:` comments name Kedro test ids, which are longer than a line.
# ruff: noqa: E501

from __future__ import annotations

import contract_kit as kit
import pytest


# kedro: tests/runner/test_thread_runner.py::TestMaxWorkers::test_specified_max_workers
# kedro: tests/runner/test_thread_runner.py::TestMaxWorkers::test_init_with_negative_process_count
# kedro: tests/runner/test_parallel_runner.py::TestMaxWorkers::test_specified_max_workers_below_cpu_cores_count
# kedro: tests/runner/test_parallel_runner.py::TestMaxWorkers::test_max_worker_windows
@pytest.mark.skip(reason=kit.NO_MAX_WORKERS)
def test_max_workers():
    """The pool size follows max_workers, the CPU count and the pipeline's width."""


# kedro: tests/runner/test_parallel_runner.py::TestMultiprocessingGetExecutorContextSelection::test_get_executor_default
# kedro: tests/runner/test_parallel_runner.py::TestMultiprocessingGetExecutorContextSelection::test_get_executor_valid_context
# kedro: tests/runner/test_parallel_runner.py::TestMultiprocessingGetExecutorContextSelection::test_get_executor_invalid_context
@pytest.mark.skip(reason=kit.NO_PROCESS_POOL_START_METHOD)
def test_get_executor_context_selection():
    """KEDRO_MP_CONTEXT picks fork, spawn or forkserver for the process pool."""


# kedro: tests/runner/test_sequential_runner.py::TestValidSequentialRunner::test_log_not_using_async
# kedro: tests/runner/test_thread_runner.py::TestValidThreadRunner::test_does_not_log_not_using_async
# kedro: tests/runner/test_parallel_runner.py::TestValidParallelRunner::test_log_not_using_async
@pytest.mark.skip(reason=kit.RUNNER_SPECIFIC_SYNC_LOG_LINE)
def test_log_not_using_async():
    """Whether "Using synchronous mode for loading and saving data." is logged."""


# kedro: tests/runner/test_thread_runner.py::TestIsAsync::test_thread_run
@pytest.mark.skip(reason=kit.THREAD_RUNNER_IGNORES_IS_ASYNC)
def test_thread_runner_is_async_warning():
    """ThreadRunner(is_async=True) warns and runs synchronously."""


# kedro: tests/runner/test_parallel_runner.py::TestInvalidParallelRunner::test_task_node_validation
# kedro: tests/runner/test_parallel_runner.py::TestInvalidParallelRunner::test_dataset_not_serialisable
# kedro: tests/runner/test_parallel_runner.py::TestInvalidParallelRunner::test_memory_dataset_not_serialisable
@pytest.mark.skip(reason=kit.PARALLEL_RUNNER_PICKLE_LIMITS)
def test_parallel_runner_refuses_unpicklable():
    """Lambdas as nodes, datasets holding closures and lambdas as data are refused."""


# kedro: tests/runner/test_parallel_runner.py::TestInvalidParallelRunner::test_task_dataset_validation
@pytest.mark.skip(reason=kit.SHARED_MEMORY_CATALOG_SPECIFIC)
def test_single_process_dataset_refused():
    """A dataset marked _SINGLE_PROCESS is refused by ParallelRunner."""


# kedro: tests/runner/test_parallel_runner.py::TestInvalidParallelRunner::test_unable_to_schedule_all_nodes
@pytest.mark.skip(reason=kit.ABSTRACT_RUNNER_EXECUTOR_LOOP)
def test_unable_to_schedule_all_nodes():
    """Unsatisfiable node_dependencies make the executor loop raise RuntimeError."""
