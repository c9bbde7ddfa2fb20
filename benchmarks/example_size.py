"""The example pipeline, whole `kedro run` commands, at the sizes the README and
`make demo` suggest: on Kedro's SequentialRunner (`kedro run`) and on a local Dask
cluster (`kedro run --env dask`, the cluster's start-up included, as a user runs it).

    python -m benchmarks.example_size                  # writes benchmarks/example/results.md
    python -m benchmarks.example_size --rows 5000 200000 --reps 3
    python -m benchmarks.example_size --rows 200000 --rounds 100 1000

It bakes a project, installs it from its lock into a fresh venv (stock pip), then runs
the two commands in turn (A B A B ...), each in a fresh data folder, and reports each
one's median wall time and the ratio of the medians. Only what this run measured.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import yaml

from tests.support import QUIET_ENV, bake, command_env, create_project_venv, run

HERE = Path(__file__).resolve().parent / "example"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[5000, 200000, 1000000])
    parser.add_argument(
        "--rounds",
        type=int,
        nargs="+",
        help="bootstrap rounds (the CPU-heavy part); default: conf/base/parameters.yml",
    )
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--output", type=Path, default=HERE / "results.md")
    args = parser.parse_args()
    os.environ.update(QUIET_ENV)
    results = []
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        project = bake(root / "bake", project_name="Example Bench")
        python = create_project_venv(project, root / "venv", locks=("requirements.txt",))
        kedro = python.with_name("kedro")
        parameters = yaml.safe_load((project / "conf/base/parameters.yml").read_text())
        conf_rounds = parameters["bootstrap"]["rounds"]
        for rows, rounds in [(r, n) for r in args.rows for n in args.rounds or [None]]:
            times: dict[str, list[float]] = {"kedro run": [], "kedro run --env dask": []}
            params = f"data_generation.n_rows={rows}"
            params += f",bootstrap.rounds={rounds}" if rounds else ""
            for rep in range(args.reps):
                for label in times:
                    storage = root / f"data-{rows}-{rounds}-{rep}-{label[-4:]}"
                    command = [kedro, *label.split()[1:], "--params"]
                    started = time.perf_counter()
                    run([*command, f"{params},storage={storage}"],
                        cwd=project, timeout=1800, env=command_env())  # fmt: skip
                    times[label].append(time.perf_counter() - started)
            medians = {label: statistics.median(values) for label, values in times.items()}
            results.append({"rows": rows, "rounds": rounds or "conf", "seconds": times,
                            "median_s": medians,
                            "dask_over_sequential": medians["kedro run --env dask"]
                            / medians["kedro run"]})  # fmt: skip
    shown = " ".join(
        [f"--rows {' '.join(map(str, args.rows))}"]
        + [f"--rounds {' '.join(map(str, args.rounds))}"] * bool(args.rounds)
        + [f"--reps {args.reps}"]
    )
    lines = [
        "# The example pipeline at the suggested sizes",
        "",
        "Where Dask is not faster, the table says so. A local cluster's start-up, a few",
        "seconds, comes on top of the run; the three candidates run side by side only",
        "as far as there are workers and cores for them (2 workers on 2 cores here).",
        "",
        f"`python -m benchmarks.example_size {shown}`, {args.reps} runs of each command in "
        "turn, on "
        f"{os.cpu_count()} cores ({platform.machine()}, Python {platform.python_version()}); "
        "whole commands, the local Dask cluster's start-up included; bootstrap rounds "
        f"`conf` are conf/base/parameters.yml's ({conf_rounds}).",
        "",
        "| n_rows | bootstrap rounds | `kedro run`, median s | `kedro run --env dask`, "
        "median s | dask / sequential |",
        "| --- | --- | --- | --- | --- |",
    ]
    for result in results:
        medians = result["median_s"]
        lines.append(
            f"| {result['rows']:,} | {result['rounds']} | {medians['kedro run']:.1f} | "
            f"{medians['kedro run --env dask']:.1f} | {result['dask_over_sequential']:.2f} |"
        )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text("\n".join(lines) + "\n")
    args.output.with_suffix(".json").write_text(json.dumps(results, indent=2) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
