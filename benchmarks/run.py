"""Times every runner on every scenario and writes the table.

    python -m benchmarks.run                      # full: results.md and results.json here
    python -m benchmarks.run --quick --json PATH  # reduced, under four minutes on 2 cores
    python -m benchmarks.run --workers 8          # the same on a bigger machine

(from the starter's root folder). The modules: cluster.py (the Dask processes, with
the tests' launcher), measurer.py and measure.py (a fresh process per measurement),
scenarios.py (the pipelines), warm.py (the runner alone on a warm cluster: the
warm_overhead scenarios), fingerprint_cost.py (the client's fingerprint with few and
many installed distributions), report.py (figures, goals, Markdown).

It bakes a project from this starter (for its DaskRunner), starts one Dask cluster on
127.0.0.1 (a scheduler and --workers single-threaded worker processes) for all the
Dask runners, then runs each measurement in a fresh process that connects to it.
Repetitions are interleaved (rep 1 of everything, then rep 2, ...) so drift on a busy
machine spreads over all runners alike.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import multiprocessing
import os
import re
import shlex
import signal
import statistics
import sys
import tempfile
import time
from dataclasses import asdict
from importlib import import_module
from pathlib import Path
from typing import Any

from benchmarks import fingerprint_cost, scenarios
from benchmarks.cluster import BenchCluster
from benchmarks.measurer import Measurer
from benchmarks.report import all_entries, goals, machine, markdown, summarise
from tests.support import QUIET_ENV, bake
from tests.support import run as run_command

HERE = Path(__file__).resolve().parent

PROJECT_NAME, PACKAGE = "Runner Bench", "runner_bench"
RUNNERS = ("sequential", "thread", "parallel", "dask_docs", "dask", "dask_raw")
DASK_RUNNERS = ("dask_docs", "dask", "dask_memory", "dask_raw", "dask_raw_batch")
SCALING_RUNNERS = ("sequential", "dask", "dask_raw", "dask_raw_batch")
MEMORY_RUNS = 30  # runs of our runner between the two scheduler memory readings
ALL_SCENARIOS = (*scenarios.SCENARIOS, "scaling", *scenarios.WARM_SCENARIOS, "fingerprint")
FINGERPRINT_CASES = ("few", "many")  # installed distributions: the lock's, then many more
FINGERPRINT_PROBES = 3  # fresh processes per measurement of the fingerprint
# What the example pipeline's catalog needs in this (the tests') environment, from the
# baked project's lock: installed into the work folder for the benchmark's processes.
EXAMPLE_PACKAGES = ("kedro-datasets", "lazy-loader")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller scenarios, 3 repetitions")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--reps", type=int, help="repetitions (default 5, quick 3; min 3)")
    parser.add_argument("--json", type=Path, help="default benchmarks/results.json (full mode)")
    parser.add_argument("--markdown", type=Path, help="default benchmarks/results.md (full mode)")
    parser.add_argument("--timeout", type=float, help="seconds for one measurement")
    parser.add_argument("--scenarios", nargs="+", choices=ALL_SCENARIOS)
    parser.add_argument("--runners", nargs="+", choices=(*RUNNERS, "dask_raw_batch", "dask_memory"))
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
        report["goals"] = goals(report)
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
        # Python caches compiled modules, as on a user's machine: a process that
        # compiled the project and the example's packages again would time that.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        wanted = args.scenarios or ALL_SCENARIOS
        example_packages = []
        if "warm_overhead" in wanted:
            try:
                example_packages = install_missing(project, work / "site-extra", EXAMPLE_PACKAGES)
            except (AssertionError, RuntimeError) as exc:  # its runs fail and say why
                print(f"Could not install the example's packages: {exc}", flush=True)
            env["PYTHONPATH"] += os.pathsep + str(work / "site-extra")
        venvs: dict[str, Any] = {}
        if "fingerprint" in wanted:
            print("Making the fingerprint's two environments ...", flush=True)
            try:
                venvs = fingerprint_cost.prepare(project, work, PACKAGE)
            except Exception as exc:  # reported as the fingerprint's failed runs
                venvs = {"error": f"setting up the environments: {exc}"[:400]}
        report: dict[str, Any] = {
            "command": command,
            "machine": machine(),
            "workers": args.workers,
            "repetitions": reps,
            "sizes": asdict(sizes),
            "kedro_logging": "default (INFO)" if args.kedro_logs else "warnings only",
        }
        if example_packages:
            report["example_packages"] = example_packages
        if "distributions" in venvs:
            report["fingerprint_environments"] = {
                "distributions": venvs["distributions"],
                "setup_s": venvs["setup_s"],
                "probes_per_run": FINGERPRINT_PROBES,
            }
        cluster = BenchCluster(args.workers, work, env, PACKAGE)
        measurer = Measurer(work, env, timeout, PACKAGE)
        rate = scenarios.spin_rate()
        report["spin_rate"] = rate
        ceiling = [cpu_parallelism(args.workers, rate)]
        try:
            report["cluster"] = cluster.start()
            raw = run_all(args, reps, sizes, rate, cluster, measurer, venvs)
            if "scaling" in (args.scenarios or ["scaling"]):
                report["scheduler_memory"] = scheduler_memory(args, rate, cluster, measurer)
        finally:
            measurer.stop()
            cluster.stop()
        ceiling.append(cpu_parallelism(args.workers, rate))
        report["cpu_parallelism"] = ceiling
        report["cluster"]["restarts"] = cluster.restarts
        report["machine"]["load_after"] = os.getloadavg()
        report["scenarios"] = summarise(raw, sizes)
        report["scaling_nodes"] = list(scaling_nodes(args))
        report["goals"] = goals(report)

    text = json.dumps(report, indent=2)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text + "\n")
    if args.markdown:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(markdown(report))
    print(markdown(report))
    failed = len(report.get("scheduler_memory", {}).get("errors", [])) + sum(
        len(entry["errors"]) for entry in all_entries(report["scenarios"])
    )
    if failed:
        sys.exit(f"{failed} measurements failed; see the errors in the results")


def scaling_nodes(args: argparse.Namespace) -> tuple[int, ...]:
    return scenarios.QUICK_SCALING_NODES if args.quick else scenarios.SCALING_NODES


def measurements(args: argparse.Namespace) -> list[tuple[str, str, str]]:
    """One repetition: (table, scenario, runner) for everything this run measures."""
    wanted = args.scenarios or ALL_SCENARIOS
    plan = [
        (scenario, scenario, runner)
        for scenario in scenarios.SCENARIOS
        if scenario in wanted
        for runner in args.runners or RUNNERS
    ]
    if "scaling" in wanted:
        plan += [
            ("scaling", scenarios.scaling_case(shape, nodes), runner)
            for nodes in scaling_nodes(args)
            for shape in scenarios.SCALING_SHAPES
            for runner in args.runners or SCALING_RUNNERS
            if runner in SCALING_RUNNERS
        ]
    plan += [
        (scenario, scenario, runner)
        for scenario in scenarios.WARM_SCENARIOS
        if scenario in wanted
        for runner in scenarios.WARM_RUNNERS[scenario]
        if runner in (args.runners or scenarios.WARM_RUNNERS[scenario])
    ]
    if "fingerprint" in wanted:  # no runner: the client's own check
        plan += [("fingerprint", "fingerprint", case) for case in FINGERPRINT_CASES]
    return plan


def run_all(args, reps, sizes, rate, cluster, measurer, venvs) -> dict:  # noqa: PLR0913
    """Every measurement, ``reps`` times, interleaved: raw[table][scenario][runner].
    Before its first measurement on a cluster, each warm scenario's runner runs once,
    unmeasured, so that the cluster has run that pipeline."""
    raw: dict[str, dict[str, dict[str, list[dict]]]] = {}
    warmed: set[tuple[int, str, str]] = set()
    for rep in range(reps):
        for table, scenario, runner in measurements(args):
            if table == "fingerprint":
                result = fingerprint_once(venvs, runner, args.timeout or 120)
            else:
                if scenario in scenarios.WARM_SCENARIOS and (
                    (cluster.restarts, scenario, runner) not in warmed
                ):
                    warmed.add((cluster.restarts, scenario, runner))
                    label = f"warm-up-{cluster.restarts}"
                    first = measure_once(
                        args, sizes, rate, cluster, measurer, scenario, runner, label
                    )
                    shown = f"{first['seconds']:.3f} s" if "seconds" in first else first["error"]
                    print(f"warm-up  {scenario:12} {runner:14} {shown} (not counted)", flush=True)
                result = measure_once(args, sizes, rate, cluster, measurer, scenario, runner, rep)
            raw.setdefault(table, {}).setdefault(scenario, {}).setdefault(runner, []).append(result)
            shown = f"{result['seconds']:.3f} s" if "seconds" in result else result["error"]
            print(f"rep {rep + 1}/{reps} {scenario:12} {runner:14} {shown}", flush=True)
    return raw


def measure_once(args, sizes, rate, cluster, measurer, scenario, runner, label) -> dict:  # noqa: PLR0913
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
    result = measurer.measure(request, f"{scenario}-{runner}-{label}")
    if "error" in result and runner in DASK_RUNNERS:
        cluster.restart()  # a failed run may leave the cluster in any state
    return result


def fingerprint_once(venvs: dict[str, Any], case: str, timeout: float) -> dict[str, Any]:
    """The client's fingerprint in the ``case`` environment: the median of
    FINGERPRINT_PROBES fresh processes (one call of some 20 ms each is noisy)."""
    if "python" not in venvs:
        return {"error": venvs.get("error", "the environments were not made")}
    probes = []
    for _ in range(FINGERPRINT_PROBES):
        probe = fingerprint_cost.probe(venvs["python"][case], PACKAGE, timeout)
        if "error" in probe:
            return probe
        probes.append(probe)
    return {
        **probes[0],
        "seconds": statistics.median(p["seconds"] for p in probes),
        "cpu_s": statistics.median(p["cpu_s"] for p in probes),
        "probes_s": [p["seconds"] for p in probes],
    }


def install_missing(project: Path, target: Path, names: tuple[str, ...]) -> list[str]:
    """Those of ``names`` that this Python cannot import, at the versions of the
    project's lock, into ``target`` (without dependencies: the others are here)."""
    lock = (project / fingerprint_cost.LOCK).read_text()
    wanted = []
    for name in names:
        if importlib.util.find_spec(name.replace("-", "_")) is not None:
            continue
        pin = re.search(rf"^{re.escape(name)}(\[[^\]]*\])?==([^\s;\\]+)", lock, re.MULTILINE)
        if pin is None:
            raise RuntimeError(f"{name} is not pinned in {project / fingerprint_cost.LOCK}")
        wanted.append(f"{name}=={pin[2]}")
    if wanted:
        print(f"Installing {', '.join(wanted)} for the example pipeline ...", flush=True)
        run_command(
            [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target",
             target, *wanted],
            timeout=600,
        )  # fmt: skip
    return wanted


def scheduler_memory(args, rate, cluster, measurer) -> dict[str, Any]:
    """The scheduler's resident memory after the first and after the last of
    MEMORY_RUNS runs of our runner on a freshly started cluster; then the same for
    plain Dask futures (``dask_raw``), the floor."""
    case = scenarios.scaling_case("layered", 100 if args.quick else 1000)
    report: dict[str, Any] = {"runs": MEMORY_RUNS, "scenario": case}
    for runner in ("dask", "dask_raw"):
        cluster.restart()
        readings, errors = [], []
        for run in range(MEMORY_RUNS):
            label = f"memory-{runner}-{run}"
            result = measure_once(
                args, scenarios.FULL, rate, cluster, measurer, case, runner, label
            )
            if "error" in result:
                errors.append(result["error"])
            time.sleep(0.5)  # the scheduler forgets a run's tasks just after it returns
            readings.append(scheduler_rss(cluster.scheduler_pid))
        print(
            f"scheduler memory, {runner}: {readings[0] / 1e6:.1f} MB after 1 run, "
            f"{readings[-1] / 1e6:.1f} MB after {MEMORY_RUNS}",
            flush=True,
        )
        figures = {
            "after_first_bytes": readings[0],
            "after_last_bytes": readings[-1],
            "readings_bytes": readings,
            "errors": errors,
        }
        if runner == "dask":
            report.update(figures)
        else:
            report[runner] = figures
    return report


def scheduler_rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise KeyError("VmRSS")


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
