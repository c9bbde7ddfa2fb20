"""The `warm_overhead` scenarios: what a run costs on a Dask cluster that is already
running and has already run the same pipeline once (run.py makes that warm-up run,
unmeasured). One measurement, in a fresh process forked by measure.py:

- ``warm_overhead``: the generated project's example pipeline (its ``__default__``
  pipeline, on its own generated data, ``data_generation.n_rows`` from
  ``Sizes.example_rows``), in a KedroSession of the baked project (``--env dask``,
  ``storage`` a fresh folder of this measurement).
  ``dask``: our runner through ``session.run``, as ``kedro run`` runs it: the catalog
  from the project's configuration, persisted datasets saved as files.
  ``dask_memory``: our runner on the same pipeline and parameters, every other dataset
  a MemoryDataset (what plain Dask does: no file I/O).
  ``dask_raw_batch``: the same node functions as plain Dask tasks in one ``client.get``,
  data passed in memory.
- ``warm_overhead_chain``: a chain of tiny nodes (``scenarios.WARM_CHAIN``), inputs
  and every dataset in memory: ``dask`` and ``dask_raw_batch``.

The time is the runner's own, from just before ``runner.run(...)`` to its return (not
the process, not the session); for plain Dask from just before connecting to after
the results are back and the client is closed (our runner closes its client too).
Its split: our runner's phases as ``DaskRunner.phases`` gives them (its public record
of the last run), with ``kedro_run`` the rest of the call (Kedro's
``AbstractRunner.run`` around the runner's ``_run``); for plain Dask the points
``scenarios.run_graph`` marks.
"""

from __future__ import annotations

import argparse
import json
import math
import operator
import time
import uuid
from importlib import import_module
from pathlib import Path
from typing import Any

import scenarios
from kedro.framework.hooks.manager import _create_hook_manager, _register_hooks
from kedro.framework.project import pipelines, settings
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project
from kedro.io import DataCatalog, MemoryDataset
from kedro.utils import find_kedro_project

EXAMPLE_ENV = "dask"  # as `kedro run --env dask`
SETTINGS = "params:dask_client"  # the runner's settings in that environment
BEST_MODEL = "best_model"  # the example pipeline's free output
BEST_MODEL_FILE = Path("08_reporting") / "best_model.json"  # under `storage`
RAW_PHASES = ("connect", "prepare", "submit", "execute", "teardown")


def measure(args: argparse.Namespace) -> dict[str, Any]:
    if args.scenario == "warm_overhead_chain":
        return _chain(args)
    if args.scenario == "warm_overhead":
        return _example(args)
    raise ValueError(f"unknown warm scenario {args.scenario!r}")


def _project_runner(package: str) -> Any:
    return import_module(f"{package}.runner").DaskRunner


def _hook_manager() -> Any:
    hook_manager = _create_hook_manager()  # as a KedroSession does
    _register_hooks(hook_manager, settings.HOOKS)
    return hook_manager


def _timed(runner_class: type) -> type:
    """``runner_class`` that records when its ``run`` was called and returned, for a
    run that Kedro's session starts (``session.run(runner=...)``)."""

    class TimedRunner(runner_class):  # type: ignore[misc, valid-type]
        started = returned = 0.0

        def run(self, *args: Any, **kwargs: Any) -> Any:
            self.started = time.perf_counter()
            try:
                return super().run(*args, **kwargs)
            finally:
                self.returned = time.perf_counter()

    return TimedRunner


def _ours(runner: Any, seconds: float) -> dict[str, Any]:
    """The figures of one run of our runner that took ``seconds`` in ``run``."""
    phases = {name: float(value) for name, value in runner.phases.items()}
    # Kedro's AbstractRunner.run around the runner's own _run (whose phases these are).
    phases["kedro_run"] = max(0.0, seconds - sum(phases.values()))
    return {"seconds": seconds, "phases_s": phases}


def _raw(start: float, connected: float, marks: dict[str, float], end: float) -> dict:
    points = [start, connected, marks["submit_start"], marks["execute_start"]]
    points += [marks["execute_end"], end]
    phases = {name: points[i + 1] - points[i] for i, name in enumerate(RAW_PHASES)}
    return {"seconds": end - start, "phases_s": phases}


# The chain ---------------------------------------------------------------------------


def _chain(args: argparse.Namespace) -> dict[str, Any]:
    from distributed import Client

    scenario = scenarios.build_scaling(scenarios.WARM_CHAIN)
    if args.runner == "dask":
        catalog = DataCatalog({k: MemoryDataset(v) for k, v in scenario.inputs.items()})
        pipeline, hook_manager = scenarios.to_pipeline(scenario), _hook_manager()
        runner = _project_runner(args.package)(address=args.address, timeout=30)
        start = time.perf_counter()
        runner.run(pipeline, catalog, hook_manager)
        result = _ours(runner, time.perf_counter() - start)
        outputs = {name: catalog.load(name) for name in scenario.outputs}
    elif args.runner == "dask_raw_batch":
        token = uuid.uuid4().hex[:8]
        start = time.perf_counter()
        with Client(args.address, timeout=30) as client:
            connected = time.perf_counter()
            outputs, marks = scenarios.run_futures(client, scenario, token, batch=True)
        result = _raw(start, connected, marks, time.perf_counter())
    else:
        raise ValueError(f"{args.runner!r} does not run {args.scenario}")
    scenarios.check(scenario, outputs)
    return {**result, "nodes": len(scenario.steps)}


# The example pipeline ----------------------------------------------------------------


def _example(args: argparse.Namespace) -> dict[str, Any]:
    from distributed import Client

    project = find_kedro_project(Path(import_module(args.package).__file__ or "."))
    if project is None:
        raise RuntimeError(f"no Kedro project above the package {args.package}")
    bootstrap_project(Path(project))
    result_path = Path(args.result)
    storage = result_path.with_name(f"{result_path.stem}-data")
    runtime_params = {
        "storage": str(storage),
        "data_generation": {"n_rows": args.sizes["example_rows"]},
    }
    with KedroSession.create(project, env=EXAMPLE_ENV, runtime_params=runtime_params) as session:
        pipeline = pipelines["__default__"]
        values = _inputs(session, pipeline)
        if args.runner == "dask":
            runner = _timed(_project_runner(args.package))(address=args.address, timeout=30)
            session.run(runner=runner)  # the catalog and hooks of `kedro run`
            result = _ours(runner, runner.returned - runner.started)
            best = json.loads((storage / BEST_MODEL_FILE).read_text())
        elif args.runner == "dask_memory":
            catalog = DataCatalog({name: MemoryDataset(v) for name, v in values.items()})
            runner = _project_runner(args.package)(address=args.address, timeout=30)
            hook_manager = _hook_manager()
            start = time.perf_counter()
            runner.run(pipeline, catalog, hook_manager, run_id=session.session_id)
            result = _ours(runner, time.perf_counter() - start)
            best = catalog.load(BEST_MODEL)
        elif args.runner == "dask_raw_batch":
            token = uuid.uuid4().hex[:8]
            start = time.perf_counter()
            with Client(args.address, timeout=30) as client:
                connected = time.perf_counter()
                graph, keys = pipeline_graph(pipeline, values, token)
                results, marks = scenarios.run_graph(client, graph, [keys[BEST_MODEL]])
            result = _raw(start, connected, marks, time.perf_counter())
            best = results[0]
        else:
            raise ValueError(f"{args.runner!r} does not run {args.scenario}")
    _check_best(best, _expected(pipeline, values))
    return {**result, "nodes": len(pipeline.nodes)}


def _inputs(session: KedroSession, pipeline: Any) -> dict[str, Any]:
    """The pipeline's inputs (its parameters) and the runner's settings, as the
    session's catalog holds them."""
    catalog = session.load_context().catalog
    names = sorted(pipeline.inputs()) + ([SETTINGS] if SETTINGS in catalog else [])
    return {name: catalog.load(name) for name in names}


def pipeline_graph(
    pipeline: Any, values: dict[str, Any], token: str
) -> tuple[dict[str, Any], dict[str, str]]:
    """A Kedro pipeline as a plain Dask graph: one task per node calling Kedro's
    public ``Node.run`` on its inputs (which passes them to the node's function as
    the node declares: in order or by keyword) and returning the node's outputs by
    name; each consumer takes its part inline. Returns the graph and the key of each
    of the pipeline's outputs."""
    from dask._task_spec import Task, TaskRef

    made: dict[str, str] = {}  # dataset -> key of the task whose node outputs it

    def ref(name: str) -> Any:
        if name not in made:
            return values[name]
        return Task(None, operator.getitem, TaskRef(made[name]), name)

    graph: dict[str, Any] = {}
    for node in pipeline.nodes:  # in a topological order
        key = f"{node.name}-{token}"
        graph[key] = Task(key, _run_node, node, **{name: ref(name) for name in node.inputs})
        made.update(dict.fromkeys(node.outputs, key))
    keys = {}
    for name in sorted(pipeline.outputs()):
        keys[name] = f"{name}-{token}"
        graph[keys[name]] = Task(keys[name], operator.getitem, TaskRef(made[name]), name)
    return graph, keys


def _run_node(node: Any, **inputs: Any) -> dict[str, Any]:
    """One node on its inputs by dataset name: its outputs by dataset name."""
    return node.run(inputs)


def _expected(pipeline: Any, values: dict[str, Any]) -> Any:
    """The example's result computed here, in this process (Dask's synchronous
    scheduler), from the same parameters."""
    import dask

    graph, keys = pipeline_graph(pipeline, values, "expected")
    return dask.get(graph, keys[BEST_MODEL])


def _check_best(best: dict[str, Any], expected: dict[str, Any]) -> None:
    """Fail loudly if a runner produced another result. The persisted run reads the
    data back from CSV, so its figures may differ in the last digits."""
    same = set(best) == set(expected) and all(
        math.isclose(best[k], expected[k], rel_tol=1e-6)
        if isinstance(expected[k], float)
        else best[k] == expected[k]
        for k in expected
    )
    if not same:
        raise AssertionError(f"best_model is {best!r}, expected {expected!r}")
