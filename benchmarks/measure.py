"""One measurement in a fresh process: one runner on one scenario, timed once.

Started by run.py (see ``serve``); each measurement writes a JSON object to its
request's "result" path. The timed part is what a user
waits for after the project is loaded: making the runner (connecting to the running
cluster, for the Dask runners), running the pipeline, getting its outputs and
closing what the runner opened. Cluster start-up is not in it. The warm_overhead
scenarios time the runner's ``run`` alone (warm.py).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
import uuid
from pathlib import Path
from typing import Any

import distributed  # noqa: F401  (imported before the forks, not in them)
import docs_runner  # noqa: F401
import scenarios
import warm
from kedro.framework.hooks.manager import _create_hook_manager, _register_hooks
from kedro.framework.project import configure_project, settings
from kedro.io import DataCatalog, MemoryDataset, SharedMemoryDataCatalog
from kedro.runner import ParallelRunner, SequentialRunner, ThreadRunner
from scenarios import REPLY

KEDRO_RUNNERS = ("sequential", "thread", "parallel")
DASK_RUNNERS = ("dask_docs", "dask", "dask_raw", "dask_raw_batch")
RUNNERS = KEDRO_RUNNERS + DASK_RUNNERS
PHASES = ("prepare", "submit", "execute", "teardown")


def run_kedro(
    name: str, scenario: scenarios.Scenario, args: argparse.Namespace
) -> tuple[dict, dict]:
    """Runs ``scenario`` with runner ``name`` on the same catalog: inputs and MemoryDatasets.
    For our runner, also the points in time (``time.perf_counter``) its phases
    (``DaskRunner.phases``, its public record of the last run) put between start and end,
    as ``scenarios.run_futures`` gives them for plain Dask."""
    catalog_class = SharedMemoryDataCatalog if name == "parallel" else DataCatalog
    catalog = catalog_class({key: MemoryDataset(value) for key, value in scenario.inputs.items()})
    hook_manager = _create_hook_manager()  # as a KedroSession does
    _register_hooks(hook_manager, settings.HOOKS)
    pipeline = scenarios.to_pipeline(scenario)
    close = lambda: None  # noqa: E731
    if name == "sequential":
        runner = SequentialRunner()
    elif name == "thread":
        runner = ThreadRunner(max_workers=args.workers)
    elif name == "parallel":
        runner = ParallelRunner(max_workers=args.workers)
        close = runner._manager.shutdown
    elif name == "dask_docs":
        runner = docs_runner.DocsDaskRunner({"address": args.address, "timeout": 30})
        close = runner.close
    elif name == "dask":
        runner = load_project_runner(args.package)(address=args.address, timeout=30)
    else:
        raise ValueError(f"unknown runner {name!r}")
    runner.run(pipeline, catalog, hook_manager)
    returned = time.perf_counter()
    marks = {}
    phases = getattr(runner, "phases", None)
    if name == "dask" and phases:
        execute_end = returned - phases["teardown"]
        marks = {
            "execute_end": execute_end,
            "execute_start": execute_end - phases["execute"],
            "submit_start": execute_end - phases["execute"] - phases["submit"],
        }
    outputs = {output: catalog.load(output) for output in scenario.outputs}
    close()
    return outputs, marks


def run_raw(scenario: scenarios.Scenario, args: argparse.Namespace) -> tuple[dict, dict]:
    from distributed import Client

    batch = args.runner == "dask_raw_batch"
    with Client(args.address, timeout=30) as client:
        return scenarios.run_futures(client, scenario, uuid.uuid4().hex[:8], batch)


def load_project_runner(package: str) -> Any:
    from importlib import import_module

    return import_module(f"{package}.runner").DaskRunner


class ClusterProbe:
    """What the run cost the cluster: the scheduler's peak memory growth and the bytes
    workers fetched from each other. Reads /proc (Linux), not the scheduler's state."""

    def __init__(self, address: str, scheduler_pid: int):
        from distributed import Client

        self._client = Client(address, timeout=30, set_as_default=False)
        self._status = Path(f"/proc/{scheduler_pid}/status")
        Path(f"/proc/{scheduler_pid}/clear_refs").write_text("5")  # resets the peak (VmHWM)
        self._rss = self._memory("VmRSS")
        self._fetched = self._worker_bytes()

    def _memory(self, field: str) -> int:
        for line in self._status.read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
        raise KeyError(field)

    def _worker_bytes(self) -> int:
        totals = self._client.run(_fetched_bytes, wait=True)
        return sum(totals.values())

    def finish(self) -> dict[str, int]:
        leftover = self._client.list_datasets()
        for name in leftover:  # the docs' design leaves its outputs published
            self._client.unpublish_dataset(name)
        report = {
            "scheduler_bytes": self._memory("VmHWM") - self._rss,
            "worker_transfer_bytes": self._worker_bytes() - self._fetched,
            "leftover_published_datasets": len(leftover),
        }
        self._client.close()
        return report


def _fetched_bytes(dask_worker: Any) -> int:
    return sum(entry["total"] for entry in dask_worker.transfer_incoming_log)


def measure(request: dict[str, Any]) -> dict[str, Any]:
    """Times ``request["runner"]`` once on ``request["scenario"]``."""
    args = argparse.Namespace(**request)
    if args.scenario in scenarios.WARM_SCENARIOS:
        return warm.measure(args)  # the runner alone, on the warm cluster
    sizes = scenarios.Sizes(**args.sizes)
    scenario = scenarios.build(args.scenario, args.workers, args.rate, sizes)
    probe = None
    if args.runner in DASK_RUNNERS:
        probe = ClusterProbe(args.address, args.scheduler_pid)
    start = time.perf_counter()
    if args.runner.startswith("dask_raw"):
        outputs, marks = run_raw(scenario, args)
    else:
        outputs, marks = run_kedro(args.runner, scenario, args)
    end = time.perf_counter()
    scenarios.check(scenario, outputs)
    result: dict[str, Any] = {"seconds": end - start}
    if marks:
        points = [start, marks["submit_start"], marks["execute_start"], marks["execute_end"], end]
        result["phases_s"] = {phase: points[i + 1] - points[i] for i, phase in enumerate(PHASES)}
    if probe:
        result.update(probe.finish())
    if "summary" in outputs:
        result["consumer_processes"] = outputs["summary"]["processes"]
    return result


def serve(package: str) -> None:
    """Reads one JSON request a line; runs each in a fresh child process (a fork of
    this one, which has imported everything and run nothing), so no measurement pays
    Python's imports or sees another's state. Replies with the child's pid, then its
    exit code, on lines that start with REPLY."""
    load_project_runner(package)
    configure_project(package)  # as `kedro run` does, for every runner
    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            os._exit(_child(request))
        print(REPLY, json.dumps({"pid": pid}), flush=True)
        _, status = os.waitpid(pid, 0)
        print(REPLY, json.dumps({"exit": os.waitstatus_to_exitcode(status)}), flush=True)


def _child(request: dict[str, Any]) -> int:
    os.setsid()  # the harness can kill this measurement and anything it started
    with open(request["log"], "ab", buffering=0) as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
    try:
        result = measure(request)
        Path(request["result"]).write_text(json.dumps(result))
        return 0
    except BaseException:
        traceback.print_exc()
        return 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--serve", metavar="PACKAGE", required=True, help="the baked package")
    serve(parser.parse_args().serve)
