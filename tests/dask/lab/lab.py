"""Test-only nodes and pipelines, registered next to the example pipelines."""

import json
import os
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from kedro.io.core import get_filepath_str
from kedro.pipeline import Node, Pipeline
from kedro_datasets.pandas import CSVDataset

LAB = Path(__file__).resolve().parents[2] / "data" / "lab"


def _mark(name: str) -> None:
    LAB.mkdir(parents=True, exist_ok=True)
    (LAB / f"{name}.json").write_text(json.dumps({"pid": os.getpid()}))


def first() -> dict:
    return {"value": 1}


def boom(value: dict) -> dict:
    raise ValueError("lab failure in boom")


def never(value: dict) -> dict:
    _mark("never")
    return value


def sleeper() -> int:
    time.sleep(3)
    return 1


def late(value: int) -> dict:
    _mark("late")
    return {"late": value}


def slow(seconds: float) -> dict:
    _mark(f"slow-attempt-{len(list(LAB.glob('slow-attempt-*.json')))}")
    time.sleep(seconds)
    return {"value": 42}


def passthrough(value: dict) -> dict:
    return value


def big(megabytes: int) -> np.ndarray:
    return np.ones(megabytes * 2**20 // 8)


def total(array: np.ndarray) -> dict:
    return {"sum": float(array.sum()), "pid": os.getpid()}


def where_am_i() -> dict:
    return {"pid": os.getpid()}


def flaky() -> dict:
    failed_once = LAB / "flaky-failed-once"
    if not failed_once.exists():
        LAB.mkdir(parents=True, exist_ok=True)
        failed_once.touch()
        raise RuntimeError("flaky: first attempt fails")
    return {"pid": os.getpid()}


def link(previous: dict | None = None) -> dict:
    """A chain link: the Dask task and process it ran in, and what came before."""
    from distributed import get_worker

    time.sleep(0.3)  # long enough for the chain to report progress on its way
    return {"key": str(get_worker().get_current_task()), "pid": os.getpid(), "seen": previous}


def lab_pipelines() -> dict[str, Pipeline]:
    gpu = [Node(where_am_i, None, f"lab_gpu_{i}", name=f"gpu_{i}", tags=["gpu"]) for i in range(3)]
    return {
        "fail": Pipeline(
            [
                Node(first, None, "lab_first", name="first"),
                Node(boom, "lab_first", "mem_boom", name="boom"),
                Node(never, "mem_boom", "lab_never", name="never"),
                Node(sleeper, None, "mem_slept", name="sleeper"),
                Node(late, "mem_slept", "lab_late", name="late"),
            ]
        ),
        "slow": Pipeline(
            [
                Node(slow, "params:lab_slow_seconds", "mem_slow", name="slow"),
                Node(passthrough, "mem_slow", "lab_slow_result", name="after_slow"),
            ]
        ),
        "big": Pipeline(
            [
                Node(big, "params:lab_big_megabytes", "mem_big", name="big"),
                Node(total, "mem_big", "lab_big_sum", name="total"),
            ]
        ),
        "gpu": Pipeline([*gpu, Node(flaky, None, "lab_flaky", name="flaky", tags=["gpu"])]),
        # A linear chain, in memory and through a persisted dataset; link_4 is tagged.
        "chain": Pipeline(
            [
                Node(link, None, "mem_link_1", name="link_1"),
                Node(link, "mem_link_1", "lab_link_2", name="link_2"),
                Node(link, "lab_link_2", "mem_link_3", name="link_3"),
                Node(link, "mem_link_3", "lab_link_4", name="link_4", tags=["solo"]),
            ]
        ),
    }


# --- The shared-cluster lab: aborted runs, time limits, versioned saves ---------------


def started_then_sleeps(seconds: float) -> dict:
    """Marks that it started (with its pid), then sleeps: a node to abort."""
    _mark("abortable-started")
    time.sleep(seconds)
    return {"finished": True}


def never_returns() -> dict:
    _mark("forever-started")
    while True:  # a node stuck in Python code; no time limit can interrupt it
        time.sleep(0.2)


def nap(index: int) -> dict:
    """Two seconds of work; reports when and where it ran, to measure the width."""
    start = time.time()
    _mark(f"nap-{index}-started")
    time.sleep(2)
    return {"pid": os.getpid(), "start": start, "end": time.time(), "index": index}


def hog(fraction: float) -> dict:
    """Holds memory up to ``fraction`` of its worker's limit for 3 s: above Dask's
    pause fraction (0.8), below its terminate fraction (0.95)."""
    import psutil
    from distributed import get_worker

    limit = get_worker().memory_manager.memory_limit
    block = np.ones(max(0, int(fraction * limit) - psutil.Process().memory_info().rss) // 8)
    time.sleep(3)
    return {"pid": os.getpid(), "megabytes": block.nbytes // 2**20}


def make_lock() -> threading.Lock:
    return threading.Lock()


def use_lock(lock: threading.Lock) -> dict:
    return {"locked": lock.locked()}


def rows(count: int) -> pd.DataFrame:
    return pd.DataFrame({"row": np.arange(count), "value": np.arange(count) * 0.5})


def rows_twice(count: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Outputs a plain versioned CSV, then a slow one (SlowCSVDataset), so a test can
    kill the worker after the first save and during the second."""
    _mark(f"versioned-attempt-{len(list(LAB.glob('versioned-attempt-*.json')))}")
    frame = rows(count)
    return frame, frame


def boom_after(seconds: float) -> dict:
    time.sleep(seconds)
    raise RuntimeError("lab: a sibling node fails while the versioned save runs")


class SlowCSVDataset(CSVDataset):
    """Writes half the file, pauses on its first save, then writes the rest: a
    worker killed in the pause leaves a truncated file, as a real crash would."""

    def __init__(self, *, pause: float = 0, **kwargs: Any):
        super().__init__(**kwargs)
        self._pause = pause

    def save(self, data: pd.DataFrame) -> None:
        save_path = get_filepath_str(self._get_save_path(), self._protocol)
        text = data.to_csv(index=False)
        first = not list(LAB.glob("slow-save-*.json"))
        _mark(f"slow-save-{len(list(LAB.glob('slow-save-*.json')))}")
        with self._fs.open(save_path, mode="w") as file:
            file.write(text[: len(text) // 2])
            file.flush()
            if first:
                time.sleep(self._pause)
            file.write(text[len(text) // 2 :])


class LeakyDataset(CSVDataset):
    """Fails to save with its credentials in the message, as some drivers do."""

    def __init__(self, *, credentials: dict[str, Any], **kwargs: Any):
        super().__init__(**kwargs)
        self._given = credentials

    def save(self, data: Any) -> None:
        raise PermissionError(f"login refused for {self._given}")


def shared_cluster_pipelines() -> dict[str, Pipeline]:
    versioned = Node(rows_twice, "params:lab_rows", ["lab_versioned_a", "lab_versioned_b"])
    return {
        "abortable": Pipeline(
            [Node(started_then_sleeps, "params:lab_abort_seconds", "lab_abort_out", name="abort")]
        ),
        "forever": Pipeline(
            [Node(never_returns, None, "lab_forever_out", name="never_returns", tags=["capped"])]
        ),
        "wide": Pipeline(
            [Node(nap, f"params:lab_index_{i}", f"lab_wide_{i}", name=f"nap_{i}") for i in range(2)]
        ),
        "hog": Pipeline([Node(hog, "params:lab_hog_fraction", "lab_hog", name="hog")]),
        "naps": Pipeline(
            [Node(nap, f"params:lab_index_{i}", f"lab_nap_{i}", name=f"nap_{i}") for i in range(6)]
        ),
        # Two consumers: the lock has to leave its task (a single consumer would fuse).
        "unpicklable": Pipeline(
            [
                Node(make_lock, None, "mem_lock", name="make_lock"),
                Node(use_lock, "mem_lock", "lab_lock_used", name="use_lock"),
                Node(use_lock, "mem_lock", "lab_lock_used_again", name="use_lock_again"),
            ]
        ),
        "versioned": Pipeline([versioned]),
        "versioned_fails": Pipeline(
            [versioned, Node(boom_after, "params:lab_boom_seconds", "lab_boom", name="boom_after")]
        ),
        "leaky": Pipeline([Node(first, None, "lab_leaky_out", name="leaky")]),
        "secret": Pipeline(
            [
                Node(
                    started_then_sleeps,
                    "params:lab_secret_seconds",
                    "lab_secret_out",
                    name="secret",
                )
            ]
        ),
    }
