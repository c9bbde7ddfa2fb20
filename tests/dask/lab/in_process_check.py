"""Run by the installed project's python: the same pipelines through DaskRunner (an
in-process LocalCluster) and SequentialRunner; prints both results as JSON."""

import json

from kedro.io import DataCatalog, MemoryDataset
from kedro.pipeline import Node, Pipeline
from kedro.runner import SequentialRunner
from rocket_science.runner import DaskRunner


def split(values):
    return values[:2], values[2:]


def summarise(head, tail):
    return {"total": sum(head) + sum(tail), "parts": [head, tail]}


def mutate(values):
    values.append(99)  # must not leak into other consumers of `numbers`
    return len(values)


def read(values):
    return list(values)


def double(values):
    return [value * 2 for value in values]


def offset(doubled, delta):
    return [value + delta for value in doubled]


def pipeline():
    base = Pipeline(
        [
            Node(split, "numbers", ["head", "tail"], name="split"),
            Node(
                summarise, ["head", "tail"], {"total": "total", "parts": "parts"}, name="summarise"
            ),
            Node(mutate, "numbers", "mutated_length", name="mutate"),
            Node(read, "numbers", "numbers_seen", name="read"),
        ]
    )
    template = Pipeline(
        [
            Node(double, "values", "doubled", name="double"),
            Node(offset, ["doubled", "params:delta"], "shifted", name="offset"),
        ]
    )
    namespaced = sum(
        Pipeline(template, namespace=name, inputs={"values": "head"}, parameters={"params:delta"})
        for name in ("left", "right")
    )
    return base + namespaced


def run(runner):
    catalog = DataCatalog(
        {"numbers": MemoryDataset([1, 2, 3, 4, 5]), "params:delta": MemoryDataset(10)}
    )
    outputs = runner.run(pipeline(), catalog)
    return {name: catalog.load(name) for name in sorted(outputs)}


if __name__ == "__main__":
    dask = DaskRunner(
        cluster_kwargs={
            "processes": False,
            "n_workers": 1,
            "threads_per_worker": 2,
            "dashboard_address": "127.0.0.1:0",
        }
    )
    print(json.dumps({"dask": run(dask), "sequential": run(SequentialRunner())}))
