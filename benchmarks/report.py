"""The benchmark's figures: medians and spreads per runner and scenario, the goals as
ratios within one run, and the Markdown report. Every figure comes from the run."""

from __future__ import annotations

import math
import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from importlib.metadata import version
from pathlib import Path
from typing import Any

from benchmarks import scenarios

PHASES = ("prepare", "submit", "execute", "teardown")
# The warm_overhead split: our runner's phases (DaskRunner.phases) with `kedro_run`,
# the rest of its run() call; plain Dask's connect, prepare, submit, execute, teardown.
WARM_PHASES = ("kedro_run", "prepare", "connect", "preflight", "submit", "execute", "teardown")
WARM_PHASE_WORDS = {
    "kedro_run": "Kedro's run() around the runner",
    "prepare": "preparing",
    "connect": "connecting",
    "preflight": "checking the workers",
    "submit": "submitting",
    "execute": "executing",
    "teardown": "collecting and closing",
}
WARM_OVERHEAD_S = 0.050  # goal: our runner's median minus plain Dask's, per pipeline
FINGERPRINT_RATIO = 1.5  # goal: the fingerprint with many distributions / with few


def figure(value: float) -> str:
    """A figure as the report writes it: 3 significant digits, never as an exponent."""
    return format(Decimal(f"{value:.3g}"), "f")


def _entry(results: list[dict]) -> dict[str, Any]:
    """Median, spread and the medians of the other figures of one runner's runs."""
    ok = [r for r in results if "error" not in r]
    entry: dict[str, Any] = {
        "runs": len(ok),
        "errors": [r["error"] for r in results if "error" in r],
    }
    if not ok:
        return entry
    times = [r["seconds"] for r in ok]
    median = statistics.median(times)
    entry.update(
        median_s=median,
        min_s=min(times),
        max_s=max(times),
        spread_pct=100 * (max(times) - min(times)) / median,
        times_s=times,
    )
    for key in (
        "scheduler_bytes",
        "worker_transfer_bytes",
        "consumer_processes",
        "nodes",
        "distributions",
        "packages",
    ):
        if key in ok[0]:
            entry[key] = int(statistics.median(r[key] for r in ok))
    if all("cpu_s" in r for r in ok):
        entry["cpu_median_s"] = statistics.median(r["cpu_s"] for r in ok)
    if all("phases_s" in r for r in ok):
        names = [p for p in ok[0]["phases_s"] if all(p in r["phases_s"] for r in ok)]
        entry["phases_s"] = {
            phase: statistics.median(r["phases_s"][phase] for r in ok) for phase in names
        }
    return entry


def summarise(raw: dict, sizes: scenarios.Sizes) -> dict:
    """raw[table][scenario][runner] (a list of runs) as the report's tables."""
    table: dict[str, Any] = {}
    for name, cases in raw.items():
        if name == "scaling":
            table["scaling"] = {
                case: {runner: _entry(results) for runner, results in runners.items()}
                for case, runners in cases.items()
            }
            for case, runners in table["scaling"].items():
                nodes = int(case.rsplit("-", 1)[1])
                for entry in runners.values():
                    if "median_s" in entry:
                        entry["ms_per_node"] = 1000 * entry["median_s"] / nodes
            continue
        table[name] = {runner: _entry(results) for runner, results in cases[name].items()}
        if name == "chain":
            for entry in table[name].values():
                if "median_s" in entry:
                    entry["ms_per_node"] = 1000 * entry["median_s"] / sizes.chain_length
    wide = table.get("wide", {})
    if "median_s" in wide.get("sequential", {}):
        for entry in wide.values():
            if "median_s" in entry:
                entry["speedup"] = wide["sequential"]["median_s"] / entry["median_s"]
    return table


def all_entries(table: dict) -> list[dict]:
    """Every runner's entry in every table, the scaling cases included."""
    entries = []
    for name, runners in table.items():
        groups = runners.values() if name == "scaling" else [runners]
        entries += [entry for group in groups for entry in group.values()]
    return entries


def growth(table: dict) -> dict[str, dict[str, float]]:
    """How each runner's time grows with the node count, per shape: the slope of
    log(time) against log(nodes) (1: linear, 2: quadratic), least squares."""
    points: dict[str, dict[str, list[tuple[float, float]]]] = {}
    for case, runners in table.get("scaling", {}).items():
        shape, nodes = case.rsplit("-", 1)
        for runner, entry in runners.items():
            if "median_s" in entry:
                points.setdefault(shape, {}).setdefault(runner, []).append(
                    (math.log(int(nodes)), math.log(entry["median_s"]))
                )
    slopes: dict[str, dict[str, float]] = {}
    for shape, runners in points.items():
        for runner, xy in runners.items():
            if len(xy) >= 2:
                mean_x = statistics.fmean(x for x, _ in xy)
                mean_y = statistics.fmean(y for _, y in xy)
                slope = sum((x - mean_x) * (y - mean_y) for x, y in xy) / sum(
                    (x - mean_x) ** 2 for x, _ in xy
                )
                slopes.setdefault(shape, {})[runner] = round(slope, 3)
    return slopes


@dataclass(frozen=True)
class _Goal:
    name: str
    target: str
    measure_for: Callable[[str], float | None]  # runner -> the goal's figure
    is_met: Callable[[float], bool]
    floor: bool = True  # the same figure for plain Dask futures (`dask_raw`)
    # When missed and there is no floor: where the time goes, from the run's figures.
    explain: Callable[[], dict[str, Any]] | None = None


def goals(report: dict) -> list[dict]:
    """The issue's goals, as ratios of medians from this one run, for our runner and, as
    the floor, for plain Dask futures in its place: where the floor misses a goal too,
    the cluster on this machine holds it back, not the runner."""
    table, workers = report["scenarios"], report["workers"]
    sizes = scenarios.Sizes(**report["sizes"])
    largest = max(report.get("scaling_nodes") or [0])

    def get(scenario: str, runner: str, key: str = "median_s") -> float | None:
        if "-" in scenario:
            return table.get("scaling", {}).get(scenario, {}).get(runner, {}).get(key)
        return table.get(scenario, {}).get(runner, {}).get(key)

    def ratio(a: float | None, b: float | None) -> float | None:
        return None if a is None or not b else a / b

    def minus(a: float | None, b: float | None) -> float | None:
        return None if a is None or b is None else a - b

    def split(scenario: str) -> Callable[[], dict[str, Any]]:
        return lambda: _time_split(
            table.get("scaling", {}).get(scenario) or table.get(scenario, {})
        )

    memory = report.get("scheduler_memory") or {}
    rows = [
        _Goal("wide: speedup over sequential", f">= {0.9 * workers:.2f} (0.9 x workers)",
              lambda r: ratio(get("wide", "sequential"), get("wide", r)),
              lambda v: v >= 0.9 * workers),
        _Goal("wide: time / parallel's", "<= 1",
              lambda r: ratio(get("wide", r), get("wide", "parallel")), lambda v: v <= 1),
        # A ratio to dask_raw's own time has no floor to compare: the time split says
        # where the difference goes instead.
        _Goal("chain: per-node time / dask_raw's", "<= 0.1",
              lambda r: ratio(get("chain", r), get("chain", "dask_raw")), lambda v: v <= 0.1,
              floor=False, explain=split("chain")),
        _Goal("chain: per-node time / dask_docs'", "<= 0.33",
              lambda r: ratio(get("chain", r), get("chain", "dask_docs")),
              lambda v: v <= 1 / 3),
        _Goal("data: scheduler memory growth / data size", "< 0.05",
              lambda r: ratio(get("data", r, "scheduler_bytes"), sizes.data_bytes),
              lambda v: v < 0.05),
        _Goal("data: time / dask_docs'", "<= 0.5",
              lambda r: ratio(get("data", r), get("data", "dask_docs")), lambda v: v <= 0.5),
    ]  # fmt: skip
    if largest:
        for shape, target in (("wide", 1.1), ("layered", 1.1), ("chain", 0.1)):
            case = scenarios.scaling_case(shape, largest)
            rows.append(
                _Goal(f"scaling {case}: per-node time / dask_raw's", f"<= {target}",
                      lambda r, c=case: ratio(get(c, r), get(c, "dask_raw")),
                      lambda v, t=target: v <= t, floor=False, explain=split(case))
            )  # fmt: skip
    if memory and not memory["errors"]:
        rows.append(
            _Goal(f"scheduler memory after {memory['runs']} runs / after 1", "<= 1.1",
                  lambda r: _memory_ratio(memory if r == "dask" else memory.get(r)),
                  lambda v: v <= 1.1)
        )  # fmt: skip
    # The runner's own time on a warm cluster, as the difference to plain Dask's own
    # (so plain Dask has no figure of its own here: the split says where it goes).
    for scenario in scenarios.WARM_SCENARIOS:
        rows.append(
            _Goal(f"warm overhead, {_warm_title(report, scenario)}: "
                  "median minus dask_raw_batch's, s", f"<= {WARM_OVERHEAD_S:.3f}",
                  lambda r, s=scenario: minus(get(s, r), get(s, "dask_raw_batch")),
                  lambda v: v <= WARM_OVERHEAD_S, floor=False,
                  explain=lambda s=scenario: _warm_split(table.get(s, {})))
        )  # fmt: skip
    fingerprint = table.get("fingerprint", {})
    rows.append(
        _Goal("fingerprint: the client's check with many installed distributions / "
              "with few", f"<= {FINGERPRINT_RATIO}",
              lambda _: ratio(get("fingerprint", "many"), get("fingerprint", "few")),
              lambda v: v <= FINGERPRINT_RATIO, floor=False,
              explain=lambda: _fingerprint_split(fingerprint))
    )  # fmt: skip
    results = []
    for row in rows:
        value = row.measure_for("dask")
        floor = row.measure_for("dask_raw") if row.floor else None
        goal = {
            "goal": row.name,
            "target": row.target,
            "measured": None if value is None else round(value, 3),
            "met": None if value is None else bool(row.is_met(value)),
            "dask_raw": None if floor is None else round(floor, 3),
            "floor_met": None if floor is None else bool(row.is_met(floor)),
        }
        if row.explain is not None and goal["met"] is False:
            goal.update(row.explain())
        results.append(goal)
    return results


def _warm_title(report: dict, scenario: str) -> str:
    entries = report["scenarios"].get(scenario, {})
    nodes = next((e["nodes"] for e in entries.values() if "nodes" in e), None)
    if scenario == "warm_overhead":
        rows = report["sizes"].get("example_rows")
        details = [f"{nodes} nodes" if nodes else "", f"n_rows {rows}" if rows else ""]
        shown = ", ".join(d for d in details if d)
        return "the example pipeline" + (f" ({shown})" if shown else "")
    return f"a chain of {nodes} tiny nodes" if nodes else "a chain of tiny nodes"


def _warm_split(entries: dict) -> dict[str, Any]:
    """Where `dask`'s time on the warm cluster goes next to `dask_raw_batch`'s, in ms,
    from the run's medians (each phase's own median)."""
    ours, raw = entries.get("dask", {}), entries.get("dask_raw_batch", {})
    if "phases_s" not in ours or "phases_s" not in raw:
        return {}
    figures: list[float] = []

    def ms(seconds: float) -> str:
        figures.append(1000 * seconds)
        return figure(1000 * seconds)

    def parts(phases: dict[str, float], **words: str) -> str:
        words = {**WARM_PHASE_WORDS, **words}
        return ", ".join(f"{words.get(p, p)} {ms(value)}" for p, value in phases.items())

    why = (
        f"`dask` takes {ms(ours['median_s'] - raw['median_s'])} ms more than "
        f"`dask_raw_batch` ({ms(ours['median_s'])} against {ms(raw['median_s'])} ms). "
        f"`dask`, ms: {parts(ours['phases_s'])}; `dask_raw_batch`, ms: "
        f"{parts(raw['phases_s'], prepare='building the graph')}. "
        f"`dask_raw_batch`'s own runs range from {ms(raw['min_s'])} to {ms(raw['max_s'])} ms."
    )
    memory = entries.get("dask_memory", {})
    if "median_s" in memory:
        difference = memory["median_s"] - raw["median_s"]
        files = ours["median_s"] - memory["median_s"]
        why += (
            f" With every dataset in memory, as plain Dask has them (`dask_memory`), ours "
            f"takes {ms(memory['median_s'])} ms, {ms(abs(difference))} ms "
            f"{'more' if difference >= 0 else 'less'} than `dask_raw_batch`; "
            + (
                f"the other {ms(files)} ms of `dask` come with its persisted datasets "
                "(Kedro's set-up of them, the check that every worker sees their "
                "folders, writing and reading their files)."
                if files >= 0
                else f"`dask` itself took {ms(-files)} ms less than that here."
            )
        )
    return {"figures": figures, "why": why}


def _ordered(phases: Any) -> list[str]:
    """Phase names in WARM_PHASES' order, any others after them."""
    return [p for p in WARM_PHASES if p in phases] + [p for p in phases if p not in WARM_PHASES]


def _fingerprint_split(entries: dict) -> dict[str, Any]:
    """The fingerprint's medians with few and many distributions, in ms."""
    few, many = entries.get("few", {}), entries.get("many", {})
    if "median_s" not in few or "median_s" not in many:
        return {}
    figures = [1000 * x for x in (few["median_s"], many["median_s"], few["min_s"], few["max_s"])]
    shown = [figure(x) for x in figures]
    why = (
        f"with {few.get('distributions', '?')} installed distributions the client's "
        f"fingerprint takes {shown[0]} ms, with {many.get('distributions', '?')}, "
        f"{shown[1]} ms (its runs with few range from {shown[2]} to {shown[3]} ms); "
        f"it compares {few.get('packages', '?')} packages in both."
    )
    if few.get("cpu_median_s") and "cpu_median_s" in many:
        cpu = [1000 * few["cpu_median_s"], 1000 * many["cpu_median_s"]]
        figures += [*cpu, cpu[1] / cpu[0]]
        why += (
            f" In CPU time of the process, which others' load disturbs less: "
            f"{figure(cpu[0])} and {figure(cpu[1])} ms, {figure(cpu[1] / cpu[0])} times."
        )
    return {"figures": figures, "why": why}


def _time_split(entries: dict) -> dict[str, Any]:
    """Where `dask` spends its time next to `dask_raw`, from the run's medians."""
    ours = entries.get("dask", {}).get("phases_s")
    raw = entries.get("dask_raw", {}).get("phases_s")
    if not ours or not raw:
        return {}
    figures = [
        sum(ours.values()),
        ours["prepare"],
        ours["execute"],
        ours["teardown"],
        raw["prepare"] + raw["submit"],
        raw["execute"],
    ]
    shown = [f"{x:.3g}" for x in figures]
    return {
        "figures": figures,
        "why": (
            f"of `dask`'s {shown[0]} s, {shown[1]} s is client preparation before the "
            "graph is sent (Kedro's own dataset set-up, connecting, the checks on every "
            f"worker, the graph), {shown[2]} s execution and {shown[3]} s teardown; "
            f"`dask_raw` spends {shown[4]} s preparing and submitting and {shown[5]} s "
            "executing."
        ),
    }


def _memory_ratio(figures: dict | None) -> float | None:
    if not figures or figures["errors"]:
        return None
    return figures["after_last_bytes"] / figures["after_first_bytes"]


def machine() -> dict[str, Any]:
    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(memory / 2**30, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "versions": {name: version(name) for name in ("kedro", "dask", "distributed", "pandas")},
        "date_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
        "load_before": os.getloadavg(),
        "nice": os.nice(0),
    }


def markdown(report: dict) -> str:
    m, c = report["machine"], report["cluster"]
    lines = [
        "# Runner benchmark",
        "",
        f"Command: `{report['command']}` ({m['date_utc']} UTC)",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, {m['os']}, "
        f"Python {m['python']}, "
        + ", ".join(f"{k} {v}" for k, v in m["versions"].items())
        + f". Load average (1, 5, 15 min) before {_load(m['load_before'])}, "
        f"after {_load(m['load_after'])}; the benchmark's processes ran at nice "
        f"{m.get('nice', 0)}.",
        "",
        f"Cluster: 1 scheduler + {report['workers']} single-threaded workers on 127.0.0.1; "
        f"start-up {c['startup_s']:.2f} s, worker imports {c['warmup_s']:.2f} s "
        f"(not in any time below; restarts after failures: {c['restarts']}). "
        f"`thread` and `parallel` use {report['workers']} workers too.",
        "",
        f"Kedro logging: {report['kedro_logging']}, for every runner and on the workers. "
        "Python keeps compiled modules (`__pycache__`), as on a user's machine.",
        "",
        f"Each time is the median of {report['repetitions']} runs, each in a fresh process; "
        "spread is (max - min) / median. A run is: make the runner (connect to the cluster), "
        "run the pipeline, get its outputs, close (the warm_overhead and fingerprint "
        "sections time less: see there).",
        "",
    ]
    s = report["sizes"]
    titles = {
        "wide": f"wide: {4 * report['workers']} independent CPU-bound nodes of "
        f"{s['wide_seconds']} s (pure Python, holds the GIL)",
        "chain": f"chain: {s['chain_length']} tiny nodes, each needs the previous",
        "data": f"data: a {s['data_bytes'] / 1e6:.0f} MB DataFrame along a chain of 3 nodes, "
        f"then to {2 * report['workers']} consumers",
    }
    for scenario, runners in report["scenarios"].items():
        if scenario == "scaling":
            lines += _scaling_section(report)
            continue
        if scenario in scenarios.WARM_SCENARIOS:
            lines += _warm_section(report, scenario)
            continue
        if scenario == "fingerprint":
            lines += _fingerprint_section(report)
            continue
        extra = {"wide": ["speedup"], "chain": ["ms_per_node"]}.get(
            scenario, ["scheduler_bytes", "worker_transfer_bytes", "consumer_processes"]
        )
        lines += [f"## {titles[scenario]}", ""]
        header = ["runner", "median s", "spread", *[_label(k) for k in extra]]
        lines += ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
        for runner, e in runners.items():
            if "median_s" not in e:
                cells = [runner, "failed", "; ".join(e["errors"])[:120]] + [""] * len(extra)
            else:
                cells = [runner, f"{e['median_s']:.3f}", f"{e['spread_pct']:.0f}%"]
                cells += [_cell(k, e.get(k)) for k in extra]
                if e["errors"]:
                    cells[0] += f" ({len(e['errors'])} failed)"
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
        if scenario == "data":
            lines += [
                "Every Kedro runner here copies in-memory data as Kedro does by default (a "
                "DataFrame is copied on every load); `dask_raw` passes the same objects without "
                "copies. A catalog entry with `copy_mode: assign` removes the copies for data "
                "that nodes do not modify (generated project: docs/dask.md).",
                "",
            ]
    lines += [
        "## Goals for `dask` (ratios of medians within this run)",
        "",
        "The last column is the same ratio with plain Dask futures (`dask_raw`) in place of "
        "`dask`: where it misses the target too, this cluster on this machine holds the goal "
        "back; where it meets it, the difference is the runner's own cost.",
        "",
        "| goal | target | dask | met | dask_raw |",
        "| --- | --- | --- | --- | --- |",
    ]
    for g in report["goals"]:
        met = {True: "yes", False: "**no**", None: "n/a"}[g["met"]]
        shown = ["n/a" if g[k] is None else f"{g[k]:.3g}" for k in ("measured", "dask_raw")]
        lines.append(f"| {g['goal']} | {g['target']} | {shown[0]} | {met} | {shown[1]} |")
    missed = [g for g in report["goals"] if g["met"] is False]
    if missed:
        lines += ["", "Missed goals, read from this run's own figures:", ""]
        lines += [f"- {g['goal']}: {_holding_back(g)}" for g in missed]
    if "cpu_parallelism" in report:
        before, after = report["cpu_parallelism"]
        lines += [
            "",
            f"The `wide` ceiling here: {report['workers']} processes did pure-Python work "
            f"{before:.2f}x (before the run) and {after:.2f}x (after) as fast as one process, "
            f"against {report['workers']}x on an idle machine with {report['workers']} free cores.",
        ]
    return "\n".join(lines) + "\n"


def _scaling_section(report: dict) -> list[str]:
    table = report["scenarios"]["scaling"]
    runners = [r for r in ("sequential", "dask", "dask_raw", "dask_raw_batch")
               if any(r in entry for entry in table.values())]  # fmt: skip
    lines = [
        "## scaling: tiny nodes as a chain, side by side (wide), and in 10 layers "
        "(layered: each node reads two nodes of the layer above)",
        "",
        "`dask_raw` submits one future per node; `dask_raw_batch` submits the same graph "
        "in one `client.get` call. Cells: median seconds (ms per node).",
        "",
        "| case | " + " | ".join(runners) + " | dask / dask_raw | dask / dask_raw_batch |",
        "|" + " --- |" * (len(runners) + 3),
    ]
    for case, entries in table.items():
        cells = [case]
        for runner in runners:
            e = entries.get(runner, {})
            cells.append(
                f"{e['median_s']:.3f} ({e['ms_per_node']:.2f})" if "median_s" in e else "failed"
            )
        for other in ("dask_raw", "dask_raw_batch"):
            a, b = entries.get("dask", {}).get("median_s"), entries.get(other, {}).get("median_s")
            cells.append(f"{a / b:.2f}" if a and b else "-")
        lines.append("| " + " | ".join(cells) + " |")
    slopes = growth(report["scenarios"])
    lines += [
        "",
        "Growth exponent: the slope of log(time) against log(nodes) over "
        f"{', '.join(map(str, report.get('scaling_nodes', [])))} nodes (1 is linear).",
        "",
        "| shape | " + " | ".join(runners) + " |",
        "|" + " --- |" * (len(runners) + 1),
    ]
    for shape, by_runner in slopes.items():
        lines.append(
            f"| {shape} | "
            + " | ".join(f"{by_runner.get(r, float('nan')):.2f}" for r in runners)
            + " |"
        )
    largest = max(report.get("scaling_nodes") or [0])
    lines += [
        "",
        f"Where the time goes at {largest} nodes (median seconds): client preparation "
        "(everything before the graph is sent: Kedro's own set-up, connecting, checks, "
        "building the graph), submission, execution (until the last task finished) and "
        "teardown (fetching the outputs, closing).",
        "",
        "| case | runner | " + " | ".join(PHASES) + " |",
        "| --- | --- |" + " --- |" * len(PHASES),
    ]
    for shape in scenarios.SCALING_SHAPES:
        case = scenarios.scaling_case(shape, largest)
        for runner in ("dask", "dask_raw", "dask_raw_batch"):
            phases = table.get(case, {}).get(runner, {}).get("phases_s")
            if phases:
                lines.append(
                    f"| {case} | {runner} | "
                    + " | ".join(f"{phases[p]:.3f}" for p in PHASES)
                    + " |"
                )
    memory = report.get("scheduler_memory")
    if memory and memory["errors"]:
        lines += ["", f"Scheduler memory: not measured, runs failed: {memory['errors'][0][:200]}"]
    elif memory:
        raw = memory.get("dask_raw") or {}
        floor = (
            f"; plain Dask futures (`dask_raw`) on a fresh cluster: "
            f"{raw['after_first_bytes'] / 1e6:.1f} MB, then {raw['after_last_bytes'] / 1e6:.1f} MB "
            f"({raw['after_last_bytes'] / raw['after_first_bytes']:.3f}x)"
            if raw and not raw["errors"]
            else ""
        )
        lines += [
            "",
            f"Scheduler memory (resident), {memory['runs']} runs of `dask` on "
            f"{memory['scenario']} on a fresh cluster: {memory['after_first_bytes'] / 1e6:.1f} MB "
            f"after the first, {memory['after_last_bytes'] / 1e6:.1f} MB after the last "
            f"({memory['after_last_bytes'] / memory['after_first_bytes']:.3f}x){floor}.",
        ]
    return [*lines, ""]


def _warm_section(report: dict, scenario: str) -> list[str]:
    entries = report["scenarios"][scenario]
    lines = [
        f"## {scenario}: {_warm_title(report, scenario)}, on the running cluster after "
        "one unmeasured run of the same",
        "",
    ]
    if scenario == "warm_overhead":
        lines += [
            "`dask`: our runner started by `session.run` in a KedroSession of the baked "
            "project (`--env dask`, its own catalog.yml, `storage` a fresh folder per run), "
            "as `kedro run` starts it: it saves the persisted datasets as CSV, pickle and "
            "JSON files. `dask_memory`: our runner on the same pipeline and parameters with "
            "every dataset in memory. `dask_raw_batch`: the same node functions as plain "
            "Dask tasks in one `client.get` call, data in memory: no file I/O.",
            "",
        ]
        if report.get("example_packages"):
            lines += [
                "The example's catalog needs "
                + ", ".join(f"`{p}`" for p in report["example_packages"])
                + " (from the project's lock), installed into this run's folder for the "
                "client and the workers.",
                "",
            ]
    else:
        lines += [
            "Inputs and every dataset in memory for both runners.",
            "",
        ]
    lines += [
        "Time: our runner's `run(...)` call, from just before it to its return (not the "
        "process, not the session); plain Dask from just before connecting to after the "
        "results are back and its client is closed. Phases in ms (medians of each): ours "
        "as `DaskRunner.phases` reports them, with `kedro_run` the rest of the call "
        "(Kedro's `AbstractRunner.run` around the runner).",
        "",
    ]
    names = _ordered({p for e in entries.values() for p in e.get("phases_s", {})})
    header = ["runner", "median s", "spread", *names]
    lines += ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    for runner, e in entries.items():
        if "median_s" not in e:
            cells = [runner, "failed", "; ".join(e["errors"])[:120]] + [""] * len(names)
        else:
            phases = e.get("phases_s", {})
            cells = [runner, f"{e['median_s']:.3f}", f"{e['spread_pct']:.0f}%"]
            cells += [f"{1000 * phases[p]:.1f}" if p in phases else "-" for p in names]
            if e["errors"]:
                cells[0] += f" ({len(e['errors'])} failed)"
        lines.append("| " + " | ".join(cells) + " |")
    raw = entries.get("dask_raw_batch", {}).get("median_s")
    differences = [
        f"`{runner}` {e['median_s'] - raw:+.3f} s"
        for runner, e in entries.items()
        if runner != "dask_raw_batch" and "median_s" in e and raw is not None
    ]
    if differences:
        lines += ["", "Median minus `dask_raw_batch`'s: " + ", ".join(differences) + "."]
    return [*lines, ""]


def _fingerprint_section(report: dict) -> list[str]:
    entries = report["scenarios"]["fingerprint"]
    environments = report.get("fingerprint_environments", {})
    setup, probes = environments.get("setup_s"), environments.get("probes_per_run", 1)
    lines = [
        "## fingerprint: the client's check of its code and package versions, with few "
        "and with many installed distributions",
        "",
        "`few`: a virtual environment with the project's lock (requirements.txt) and the "
        "project installed; `many`: a copy of it with tiny distributions added (a "
        "`.dist-info` folder with METADATA each). Each run: the median of "
        f"{probes} fresh processes of that environment's Python, each importing the "
        "runner (as a client has), then timing `fingerprint.cache_clear(); fingerprint()`."
        + (f" Making the two environments took {setup:.0f} s (not timed)." if setup else ""),
        "",
        "| environment | installed distributions | packages compared | median ms | spread "
        "| CPU ms (median) |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for case, e in entries.items():
        if "median_s" not in e:
            lines.append(f"| {case} | | | failed | {'; '.join(e['errors'])[:120]} | |")
            continue
        cpu = f"{1000 * e['cpu_median_s']:.1f}" if "cpu_median_s" in e else "-"
        lines.append(
            f"| {case} | {e.get('distributions', '-')} | {e.get('packages', '-')} | "
            f"{1000 * e['median_s']:.1f} | {e['spread_pct']:.0f}% | {cpu} |"
        )
    few, many = entries.get("few", {}), entries.get("many", {})
    if "median_s" in few and "median_s" in many:
        lines += ["", f"many / few: {many['median_s'] / few['median_s']:.2f}."]
    return [*lines, ""]


def _load(load: list[float]) -> str:
    return " / ".join(f"{x:.1f}" for x in load)


def _label(key: str) -> str:
    return {
        "speedup": "speedup vs sequential",
        "ms_per_node": "ms per node",
        "scheduler_bytes": "scheduler memory growth",
        "worker_transfer_bytes": "worker-to-worker bytes",
        "consumer_processes": "consumer processes",
    }[key]


def _cell(key: str, value: float | None) -> str:
    if value is None:
        return "-"
    if key.endswith("bytes"):
        return f"{value / 1e6:.1f} MB"
    if key == "consumer_processes":
        return f"{value:.0f}"
    return f"{value:.2f}"


def _holding_back(goal: dict) -> str:
    """What this run's own numbers say about a missed goal."""
    if "why" in goal:
        return goal["why"]
    floor = goal["dask_raw"]
    if floor is None:
        return "plain Dask futures were not measured in this run."
    if goal["floor_met"]:
        return (
            f"plain Dask futures meet it ({floor:.3g}), so the gap ({goal['measured']:.3g}) "
            "is the runner's own cost."
        )
    return (
        f"plain Dask futures miss it too ({floor:.3g}): the cluster on this machine holds "
        "it back, not the runner."
    )
