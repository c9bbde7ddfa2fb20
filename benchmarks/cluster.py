"""The benchmark's Dask cluster: a `dask scheduler` and N single-threaded `dask worker`
processes on 127.0.0.1, started with the tests' own launcher, then warmed up so that no
runner pays the first imports and transfers."""

from __future__ import annotations

import sys
import time
from importlib import import_module
from pathlib import Path

from distributed import Client

from benchmarks import scenarios
from tests.dask_processes import DaskProcesses

START_TIMEOUT = 120  # seconds for the scheduler and all workers to come up


class BenchCluster:
    def __init__(self, workers: int, work: Path, env: dict[str, str], package: str):
        self.workers, self.work, self.env, self.package = workers, work, env, package
        self.processes: DaskProcesses | None = None
        self.address = ""
        self.scheduler_pid = 0
        self.restarts = 0

    def start(self) -> dict[str, float]:
        started = time.perf_counter()
        folder = self.work / f"cluster-{self.restarts}"
        folder.mkdir()
        self.processes = DaskProcesses(Path(sys.executable), self.work, folder, env=self.env)
        self.address = self.processes.start_scheduler()
        for _ in range(self.workers):
            self.processes.start_worker(f"--local-directory={self.work / 'dask'}")
        assert self.processes.scheduler is not None
        self.scheduler_pid = self.processes.scheduler.pid
        ready = time.perf_counter()
        with Client(self.address, timeout=30, set_as_default=False) as client:
            client.wait_for_workers(self.workers, timeout=START_TIMEOUT)
            # What every worker and the scheduler would otherwise do on first use, for
            # whichever runner happened to come first: imports, a transfer, a publish.
            modules = ["kedro.runner.task", "docs_runner", f"{self.package}.runner"]
            client.run(_import_on_worker, modules)
            frame = client.submit(scenarios.make_frame, 1000, pure=False)
            client.gather(client.map(len, [frame] * (2 * self.workers), pure=False))
            client.publish_dataset(client.gather(frame), name="warm-up")
            client.get_dataset("warm-up")
            client.unpublish_dataset("warm-up")
        return {"startup_s": ready - started, "warmup_s": time.perf_counter() - ready}

    def restart(self) -> None:
        self.stop()
        self.restarts += 1
        self.start()

    def stop(self) -> None:
        if self.processes is not None:
            self.processes.close()
            self.processes = None


def _import_on_worker(modules: list[str]) -> None:
    for module in modules:
        import_module(module)
