"""Test-only nodes and pipelines, registered next to the example pipelines."""

import json
import os
import time
from pathlib import Path

import numpy as np
from kedro.pipeline import Node, Pipeline

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
    }
