"""Times every runner on every scenario and writes the table.

    python -m benchmarks.run                      # full: results.md and results.json here
    python -m benchmarks.run --quick --json PATH  # reduced, under three minutes on 2 cores
    python -m benchmarks.run --workers 8          # the same on a bigger machine

(from the starter's root folder). The modules: cluster.py (the Dask processes, with
the tests' launcher), measurer.py and measure.py (a fresh process per measurement),
scenarios.py (the pipelines), report.py (figures, goals, Markdown).

It bakes a project from this starter (for its DaskRunner), starts one Dask cluster on
127.0.0.1 (a scheduler and --workers single-threaded worker processes) for all the
Dask runners, then runs each measurement in a fresh process that connects to it.
Repetitions are interleaved (rep 1 of everything, then rep 2, ...) so drift on a busy
machine spreads over all runners alike.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shlex
import signal
import sys
import tempfile
import time
from dataclasses import asdict
from importlib import import_module
from pathlib import Path
from typing import Any

from benchmarks import scenarios
from benchmarks.cluster import BenchCluster
from benchmarks.measurer import Measurer
from benchmarks.report import goals, machine, markdown, summarise
from tests.support import QUIET_ENV, bake

HERE = Path(__file__).resolve().parent

PROJECT_NAME, PACKAGE = "Runner Bench", "runner_bench"
RUNNERS = ("sequential", "thread", "parallel", "dask_docs", "dask", "dask_raw")
DASK_RUNNERS = ("dask_docs", "dask", "dask_raw")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller scenarios, 3 repetitions")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--reps", type=int, help="repetitions (default 5, quick 3; min 3)")
    parser.add_argument("--json", type=Path, help="default benchmarks/results.json (full mode)")
    parser.add_argument("--markdown", type=Path, help="default benchmarks/results.md (full mode)")
    parser.add_argument("--timeout", type=float, help="seconds for one measurement")
    parser.add_argument("--scenarios", nargs="+", choices=scenarios.SCENARIOS)
    parser.add_argument("--runners", nargs="+", choices=RUNNERS)
    parser.add_argument(
        "--kedro-logs",
        action="store_true",
        help="Kedro's default INFO logging, not warnings only",
    )
    parser.add_argument(
        "--render",
        type=Path,
        metavar="JSON",
        help="only rewrite --markdown from a results JSON",
    )
    args = parser.parse_args()
    if args.render:
        report = json.loads(args.render.read_text())
        sizes = scenarios.Sizes(**report["sizes"])
        report["goals"] = goals(report["scenarios"], report["workers"], sizes)
        args.render.write_text(json.dumps(report, indent=2) + "\n")
        (args.markdown or args.render.with_suffix(".md")).write_text(markdown(report))
        return
    if not args.quick:
        args.json = args.json or HERE / "results.json"
        args.markdown = args.markdown or HERE / "results.md"
    reps = max(3, args.reps or (3 if args.quick else 5))
    sizes = scenarios.QUICK if args.quick else scenarios.FULL
    timeout = args.timeout or (120 if args.quick else 600)
    niceness = os.nice(0)
    command = shlex.join(
        [
            *(["nice", "-n", str(niceness)] if niceness else []),
            "python",
            "-m",
            "benchmarks.run",
        ]
        + sys.argv[1:]
    )
    # `kill` (SIGTERM) unwinds like Ctrl-C, so the cluster and measurements are stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    with tempfile.TemporaryDirectory(prefix="kedro-dask-bench-") as tmp:
        work = Path(tmp)
        print(f"Baking a project into {work} ...", flush=True)
        project = bake(work, project_name=PROJECT_NAME)
        env = {
            **os.environ,
            **QUIET_ENV,
            # measure.py runs as a script (its modules by plain name); the workers also
            # unpickle functions of the benchmarks package.
            "PYTHONPATH": os.pathsep.join([str(HERE), str(HERE.parent), str(project / "src")]),
        }
        if not args.kedro_logs:
            env["KEDRO_LOGGING_CONFIG"] = str(HERE / "quiet_logging.yml")
        env.pop("VIRTUAL_ENV", None)
        report: dict[str, Any] = {
            "command": command,
            "machine": machine(),
            "workers": args.workers,
            "repetitions": reps,
            "sizes": asdict(sizes),
            "kedro_logging": "default (INFO)" if args.kedro_logs else "warnings only",
        }
        cluster = BenchCluster(args.workers, work, env, PACKAGE)
        measurer = Measurer(work, env, timeout, PACKAGE)
        rate = scenarios.spin_rate()
        report["spin_rate"] = rate
        ceiling = [cpu_parallelism(args.workers, rate)]
        try:
            report["cluster"] = cluster.start()
            raw = run_all(args, reps, sizes, rate, cluster, measurer)
        finally:
            measurer.stop()
            cluster.stop()
        ceiling.append(cpu_parallelism(args.workers, rate))
        report["cpu_parallelism"] = ceiling
        report["cluster"]["restarts"] = cluster.restarts
        report["machine"]["load_after"] = os.getloadavg()
        report["scenarios"] = summarise(raw, sizes)
        report["goals"] = goals(report["scenarios"], args.workers, sizes)

    text = json.dumps(report, indent=2)
    if args.json:
        args.json.write_text(text + "\n")
    if args.markdown:
        args.markdown.write_text(markdown(report))
    print(markdown(report))
    failed = sum(len(e["errors"]) for s in report["scenarios"].values() for e in s.values())
    if failed:
        sys.exit(f"{failed} measurements failed; see the errors in the results")


def run_all(args, reps, sizes, rate, cluster, measurer) -> dict:
    raw: dict[str, dict[str, list[dict]]] = {}
    for rep in range(reps):
        for scenario in args.scenarios or scenarios.SCENARIOS:
            for runner in args.runners or RUNNERS:
                request = {
                    "scenario": scenario,
                    "runner": runner,
                    "workers": args.workers,
                    "rate": rate,
                    "sizes": asdict(sizes),
                    "package": PACKAGE,
                    "address": cluster.address,
                    "scheduler_pid": cluster.scheduler_pid,
                }
                result = measurer.measure(request, f"{scenario}-{runner}-{rep}")
                raw.setdefault(scenario, {}).setdefault(runner, []).append(result)
                shown = f"{result['seconds']:.3f} s" if "seconds" in result else result["error"]
                print(f"rep {rep + 1}/{reps} {scenario:5} {runner:10} {shown}", flush=True)
                if "error" in result and runner in DASK_RUNNERS:
                    cluster.restart()  # a failed run may leave the cluster in any state
    return raw


def cpu_parallelism(workers: int, rate: float) -> float:
    """How much faster ``workers`` processes do pure-Python work than one, right now: the
    ceiling of any runner's `wide` speedup on this machine (others' load lowers it)."""
    jobs = [int(0.2 * rate)] * (2 * workers)
    start = time.perf_counter()
    for job in jobs:
        scenarios.spin(job)
    alone = time.perf_counter() - start
    context = multiprocessing.get_context("spawn")
    with context.Pool(
        workers, initializer=import_module, initargs=("benchmarks.scenarios",)
    ) as pool:
        pool.map(time.sleep, [0.5] * workers, chunksize=1)  # all started and imported
        start = time.perf_counter()
        pool.map(scenarios.spin, jobs, chunksize=1)
        return alone / (time.perf_counter() - start)


if __name__ == "__main__":
    main()
