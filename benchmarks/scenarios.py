"""The benchmark scenarios: one graph each, as a Kedro pipeline or as plain Dask futures.

This module is imported by the measurement processes and by the Dask workers (the
harness puts benchmarks/ on their path), so node functions are plain top-level
functions. Every runner gets the same graph with the same inputs.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

# Marks the measurement server's answers among anything else it prints.
REPLY = "@bench-reply"

SCENARIOS = ("wide", "chain", "data")
# The `scaling` scenario: tiny nodes in three shapes, at growing node counts.
SCALING_SHAPES = ("chain", "wide", "layered")
SCALING_NODES = (100, 1000, 5000)
QUICK_SCALING_NODES = (100, 1000)
LAYERS = 10  # a layered graph's depth; its width is nodes / LAYERS
# What a runner itself costs on a cluster that is already running and has already run
# the same pipeline once: the generated project's example pipeline (warm_overhead) and
# a chain of tiny nodes (warm_overhead_chain); benchmarks/warm.py measures them.
WARM_SCENARIOS = ("warm_overhead", "warm_overhead_chain")
WARM_RUNNERS = {
    "warm_overhead": ("dask", "dask_memory", "dask_raw_batch"),
    "warm_overhead_chain": ("dask", "dask_raw_batch"),
}
WARM_CHAIN = "chain-10"
CONSUMER_SECONDS = 0.2  # CPU time of one `data` consumer, so consumers spread out


@dataclass(frozen=True)
class Sizes:
    wide_seconds: float = 0.5  # CPU time of one `wide` node
    chain_length: int = 200
    data_bytes: int = 100_000_000  # the `data` DataFrame: 4 float64 columns
    example_rows: int = 2000  # warm_overhead: data_generation.n_rows of the example


FULL = Sizes()
QUICK = Sizes(wide_seconds=0.25, chain_length=50, data_bytes=50_000_000)


def spin(iterations: int) -> int:
    """Pure Python work that holds the GIL for the whole call."""
    total = 0
    for i in range(iterations):
        total += i % 7
    return total


def spin_rate() -> float:
    """Iterations of ``spin`` per second on this machine (best of three)."""
    n = 3_000_000
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        spin(n)
        best = min(best, time.perf_counter() - start)
    return n / best


# Node functions -------------------------------------------------------------------


def cpu_work(seed: int, iterations: int) -> int:
    return seed + spin(iterations)


def increment(value: int) -> int:
    return value + 1


def add(left: int, right: int) -> int:
    return left + right


def make_frame(rows: int) -> pd.DataFrame:
    values = np.arange(rows, dtype="float64")
    return pd.DataFrame({column: values for column in "abcd"})


def shift(frame: pd.DataFrame) -> pd.DataFrame:
    return frame + 1.0


def summarise(frame: pd.DataFrame, iterations: int) -> dict[str, Any]:
    spin(iterations)
    return {"total": float(frame["a"].sum()), "pid": os.getpid()}


def collect(*parts: dict[str, Any]) -> dict[str, Any]:
    return {
        "total": sum(part["total"] for part in parts),
        "processes": len({part["pid"] for part in parts}),
    }


# Graphs ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    name: str
    func: Callable[..., Any]
    inputs: tuple[str, ...]
    output: str


@dataclass(frozen=True)
class Scenario:
    name: str
    inputs: dict[str, Any]  # pipeline inputs and their values
    steps: tuple[Step, ...]  # in a topological order
    expected: dict[str, Any]  # output name -> value every runner must produce

    @property
    def outputs(self) -> list[str]:
        return sorted(self.expected)


def scaling_case(shape: str, nodes: int) -> str:
    return f"{shape}-{nodes}"


def build_scaling(name: str) -> Scenario:
    """``<shape>-<nodes>``: ``nodes`` tiny nodes as a chain, side by side (wide), or in
    LAYERS layers where each node reads two nodes of the layer above (layered)."""
    shape, count = name.rsplit("-", 1)
    nodes = int(count)
    if shape == "chain":
        steps = tuple(
            Step(f"n{i}", increment, (f"c{i - 1}",), f"c{i}") for i in range(1, nodes + 1)
        )
        return Scenario(name, {"c0": 0}, steps, {f"c{nodes}": nodes})
    if shape == "wide":
        steps = tuple(Step(f"n{i}", increment, ("seed",), f"w{i}") for i in range(nodes))
        return Scenario(name, {"seed": 0}, steps, {step.output: 1 for step in steps})
    if shape == "layered":
        width = nodes // LAYERS
        steps = [Step(f"n0_{i}", increment, ("seed",), f"l0_{i}") for i in range(width)]
        for layer in range(1, LAYERS):
            steps += [
                Step(
                    f"n{layer}_{i}",
                    add,
                    (f"l{layer - 1}_{i}", f"l{layer - 1}_{(i + 1) % width}"),
                    f"l{layer}_{i}",
                )
                for i in range(width)
            ]
        last = LAYERS - 1  # every value doubles from one layer to the next
        expected = {f"l{last}_{i}": 2**last for i in range(width)}
        return Scenario(name, {"seed": 0}, tuple(steps), expected)
    raise ValueError(f"unknown scaling shape {shape!r}; pick from {SCALING_SHAPES}")


def build(name: str, workers: int, rate: float, sizes: Sizes = FULL) -> Scenario:
    """The scenario ``name`` for a cluster of ``workers``; ``rate`` from ``spin_rate``."""
    if "-" in name:
        return build_scaling(name)
    if name == "wide":
        iterations = int(sizes.wide_seconds * rate)
        steps = tuple(
            Step(f"wide_{i}", cpu_work, ("seed", "iterations"), f"wide_out_{i}")
            for i in range(4 * workers)
        )
        value = (iterations // 7) * 21 + sum(range(iterations % 7))  # spin(iterations)
        return Scenario(
            name,
            {"seed": 0, "iterations": iterations},
            steps,
            {step.output: value for step in steps},
        )
    if name == "chain":
        steps = tuple(
            Step(f"chain_{i}", increment, (f"link_{i - 1}",), f"link_{i}")
            for i in range(1, sizes.chain_length + 1)
        )
        last = sizes.chain_length
        return Scenario(name, {"link_0": 0}, steps, {f"link_{last}": last})
    if name == "data":
        rows = sizes.data_bytes // 32
        consumers = 2 * workers
        steps = (
            Step("make_frame", make_frame, ("rows",), "frame_0"),
            Step("shift_1", shift, ("frame_0",), "frame_1"),
            Step("shift_2", shift, ("frame_1",), "frame_2"),
            *(
                Step(f"summarise_{i}", summarise, ("frame_2", "iterations"), f"part_{i}")
                for i in range(consumers)
            ),
            Step("collect", collect, tuple(f"part_{i}" for i in range(consumers)), "summary"),
        )
        column_sum = rows * (rows - 1) / 2 + 2.0 * rows
        return Scenario(
            name,
            {"rows": rows, "iterations": int(CONSUMER_SECONDS * rate)},
            steps,
            {"summary": {"total": consumers * column_sum}},
        )
    raise ValueError(f"unknown scenario {name!r}; pick from {SCENARIOS}")


def check(scenario: Scenario, outputs: dict[str, Any]) -> None:
    """Fail loudly if a runner produced something else than the graph computes."""
    for name, expected in scenario.expected.items():
        actual = outputs[name]
        if isinstance(expected, dict):
            actual = {key: actual[key] for key in expected}
        if actual != expected:
            raise AssertionError(f"{scenario.name}: {name} is {actual!r}, expected {expected!r}")


def to_pipeline(scenario: Scenario) -> Any:
    from kedro.pipeline import Pipeline, node

    return Pipeline([node(s.func, list(s.inputs), s.output, name=s.name) for s in scenario.steps])


def run_futures(client: Any, scenario: Scenario, token: str, batch: bool = False) -> Any:
    """The same graph as plain Dask futures: Dask's own floor, no Kedro. One
    ``submit`` per node, or with ``batch`` the whole graph in one ``get`` call.
    Returns the outputs and when (``time.perf_counter``) each phase began or ended."""
    from dask._task_spec import Task, TaskRef
    from distributed import wait

    outputs = scenario.outputs
    if batch:
        keys = {step.output: f"{step.name}-{token}" for step in scenario.steps}
        graph = {
            keys[step.output]: Task(
                keys[step.output],
                step.func,
                *(TaskRef(keys[n]) if n in keys else scenario.inputs[n] for n in step.inputs),
            )
            for step in scenario.steps
        }
        results, marks = run_graph(client, graph, [keys[name] for name in outputs])
        return dict(zip(outputs, results, strict=True)), marks
    marks = {"submit_start": time.perf_counter()}
    values: dict[str, Any] = dict(scenario.inputs)
    for step in scenario.steps:
        values[step.output] = client.submit(
            step.func,
            *(values[name] for name in step.inputs),
            key=f"{step.name}-{token}",
            pure=False,
        )
    wanted = [values[name] for name in outputs]
    del values  # as the Kedro runners do, let Dask free intermediate data when used
    marks["execute_start"] = time.perf_counter()
    wait(wanted)
    marks["execute_end"] = time.perf_counter()
    return dict(zip(outputs, client.gather(wanted), strict=True)), marks


def run_graph(client: Any, graph: dict, keys: list[str]) -> tuple[list, dict[str, float]]:
    """A whole graph in one ``client.get`` call: the values of ``keys``, and when
    (``time.perf_counter``) submission began, execution began and ended."""
    from distributed import wait

    marks = {"submit_start": time.perf_counter()}
    wanted = client.get(graph, keys, sync=False)
    marks["execute_start"] = time.perf_counter()
    wait(wanted)
    marks["execute_end"] = time.perf_counter()
    return client.gather(wanted), marks
