"""A whole Kedro pipeline as one Dask graph, submitted in one call: one task per node, or per
chain of nodes that fuse (fusion.py).

The scheduler receives one graph instead of one update per node: on a large pipeline
most of its time went to those updates. Dask groups tasks by the first part of their
key, and keeps statistics of every group for its lifetime (in its spans), so a run's
tasks share one group, ``("kedro-<token>", "<node>")``: the scheduler keeps one record
per run, not one per node. A run whose tasks never wait for one another is keyed
``("<node>", "kedro-<token>")`` instead, a group per node as plain Dask's
``f"{name}-{token}"`` keys are: in one large group with no dependencies Dask would take
them for "root" tasks and hand them out one per freed thread, a scheduler round trip
each, instead of all at once. (Dask does not take the tasks of a group that depends on
itself for root tasks.)

In-memory data moves worker to worker and never through the client or the scheduler.
A task returns the in-memory outputs that other tasks use, as a dict; consumers of a
task with one such output take that dict directly, and a task with several gets one
small pick task per output, so a consumer pulls only what it uses. The client drops
each task's future as soon as it has finished, so Dask frees an intermediate dataset
when its last consumer is done.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dask.highlevelgraph import HighLevelGraph, MaterializedLayer
from distributed import Client, Future
from kedro.pipeline import Pipeline
from kedro.pipeline.node import Node

from ._dask import TaskRef, worker_task
from .execution import node_done, pick_output, run_nodes
from .fusion import fuse_chains
from .run_spec import RunSpec

Key = tuple[str, ...]


@dataclass
class PipelineGraph:
    graph: HighLevelGraph  # every task of the run
    groups: dict[Key, list[Node]]  # each node task's nodes: one, or a fused chain
    free_outputs: dict[str, Key]  # in-memory outputs no node consumes: {name: data}

    def submit(
        self, client: Client, workers: list[str] | None = None
    ) -> SubmittedPipeline:
        """Send the whole graph to the scheduler in one message; with ``workers``,
        only to them."""
        wanted = [
            *self.groups,
            *sorted(set(self.free_outputs.values()) - set(self.groups)),
        ]
        sent = client.get(self.graph, wanted, sync=False, workers=workers)
        futures = {f.key: f for f in sent}
        return SubmittedPipeline(
            {futures[key]: group for key, group in self.groups.items()},
            {name: futures[key] for name, key in self.free_outputs.items()},
        )


@dataclass
class SubmittedPipeline:
    tasks: dict[Future, list[Node]]  # each node task's nodes, until it finishes
    free_outputs: dict[str, Future]

    def futures(self) -> list[Future]:
        """The run's futures that are still held."""
        return [*self.tasks, *self.free_outputs.values()]


@dataclass(frozen=True)
class TaskOptions:
    """What a node's tags ask of its task."""

    annotations: dict[str, Any]  # Dask's: resources, retries, priority, workers...
    timeout: float | None  # the node's time limit
    fuse: bool  # may share a task with its chain neighbours

    def fusion_key(self) -> str | None:
        """Equal for nodes that may share a task; None for a node that runs alone."""
        return f"{self.layer_name()} {self.timeout}" if self.fuse else None

    def layer_name(self) -> str:
        return repr(sorted(self.annotations.items()))


def build_graph(  # noqa: PLR0913
    pipeline: Pipeline,
    *,
    spec: RunSpec,
    feed: Mapping[str, Any],
    tag_options: Mapping[str, dict],
    node_timeout: float | None,
    fuse: bool,
) -> PipelineGraph:
    """The run's Dask graph; ``spec.memory`` names the datasets passed between tasks
    and ``feed`` holds the parameter values, sent with the nodes that read them. The
    small ``spec`` travels with each task: a shared copy on the workers would be
    per-run state that outlives a killed client, or a dependency that ties tasks
    to the workers holding it; each task's copy holds only its own datasets."""
    options = {n: task_options(n, tag_options, node_timeout) for n in pipeline.nodes}
    # Groups of nodes that run as one task each, in topological order.
    groups = (
        fuse_chains(pipeline, lambda n: options[n].fusion_key())
        if fuse
        else [[n] for n in pipeline.nodes]
    )
    run = f"kedro-{spec.token}"
    producer = {name: node for node in pipeline.nodes for name in node.outputs}
    used_by: dict[str, list[Node]] = {}
    for node in pipeline.nodes:
        for name in node.inputs:
            used_by.setdefault(name, []).append(node)
    memory = spec.memory
    free = set(pipeline.outputs()) & memory.keys()
    independent = not any(pipeline.node_dependencies[group[0]] for group in groups)
    keys = _task_keys(run, groups, group_per_node=independent)
    index_of = {node: index for index, group in enumerate(groups) for node in group}
    # A group's in-memory outputs that other tasks use or that no node consumes.
    exports = [
        [
            name
            for node in group
            for name in node.outputs
            if name in memory
            and (
                name in free or any(index_of[u] != index for u in used_by.get(name, ()))
            )
        ]
        for index, group in enumerate(groups)
    ]
    plain: dict[Key, Any] = {}  # pick and done tasks: no options of their own
    # In-memory dataset -> the key of a task that gives {name: data}.
    holders: dict[str, Key] = {}
    for key, names in zip(keys, exports, strict=True):
        for name in names:
            holders[name] = key if len(names) == 1 else (*key, "output", name)
            if len(names) > 1:
                plain[holders[name]] = worker_task(
                    holders[name], pick_output, args=(TaskRef(key), name)
                )

    def finished(index: int) -> Key:
        """A key that only says group ``index`` has finished: no data to move."""
        if not exports[index]:
            return keys[index]  # its result is an empty dict
        done = (*keys[index], "done")
        if done not in plain:
            plain[done] = worker_task(done, node_done, args=(TaskRef(keys[index]),))
        return done

    layers: dict[str, tuple[dict[str, Any], dict[Key, Any]]] = {}
    for index, (key, group) in enumerate(zip(keys, groups, strict=True)):
        # Only a group's first node has parents outside it (see fusion.py).
        inputs = {
            name: holders[name]
            for name in group[0].inputs
            if name in holders and index_of[producer[name]] != index
        }
        suppliers = {index_of[producer[name]] for name in inputs}
        after = {
            finished(index_of[parent])
            for parent in pipeline.node_dependencies[group[0]]
            if index_of[parent] not in suppliers
        }
        group_feed = {
            name: feed[name] for node in group for name in node.inputs if name in feed
        }
        own = options[group[0]]
        datasets = {n for node in group for n in (*node.inputs, *node.outputs)}
        _, layer = layers.setdefault(own.layer_name(), (own.annotations, {}))
        layer[key] = worker_task(
            key,
            run_nodes,
            group,
            spec.for_nodes(datasets),
            group_feed,
            own.timeout,
            exports[index],
            args=(
                {name: TaskRef(k) for name, k in inputs.items()},
                *(TaskRef(k) for k in sorted(after)),
            ),
            # It only waits for its parents (their data is in storage): any worker
            # may run it, and an idle one should, not the one that ran its parent.
            reads_storage=bool(after) and not inputs,
        )

    # One layer per set of options: Dask applies a layer's annotations to its tasks.
    named: dict[str, tuple[dict[str, Any], dict[Key, Any]]] = {
        f"{run}-plain": ({}, plain)
    } | {f"{run}-{number}": layer for number, layer in enumerate(layers.values())}
    graph = HighLevelGraph(
        {
            name: MaterializedLayer(mapping, annotations=annotations or None)
            for name, (annotations, mapping) in named.items()
        },
        {name: set() for name in named},  # materialized: each task names its own
    )
    return PipelineGraph(
        graph,
        dict(zip(keys, groups, strict=True)),
        {name: holders[name] for name in sorted(free)},
    )


def _task_keys(run: str, groups: list[list[Node]], group_per_node: bool) -> list[Key]:
    """``(run, <node>)``, or ``(run, <first>..<last>)`` for a fused chain, the other
    way round for ``group_per_node``; a chain's label that is also a node's name
    gets the chain's position too."""
    names = {group[0].name for group in groups if len(group) == 1}
    keys: list[Key] = []
    for index, group in enumerate(groups):
        label = group[0].name
        if len(group) > 1:
            label = f"{group[0].name}..{group[-1].name}"
            if label in names:
                label = f"{label}#{index}"
        keys.append((label, run) if group_per_node else (run, label))
    return keys


def task_options(
    node: Node, tag_options: Mapping[str, dict], node_timeout: float | None
) -> TaskOptions:
    """What the node's tags set: Dask annotations, the time limit (the smallest a
    tag sets, else ``node_timeout``), and whether the node may be fused."""
    annotations: dict[str, Any] = {}
    timeouts = []
    fuse = True
    for tag in sorted(node.tags & tag_options.keys()):
        for key, value in tag_options[tag].items():
            if key == "resources":
                annotations["resources"] = {**annotations.get("resources", {}), **value}
            elif key == "retries":
                annotations["retries"] = max(annotations.get("retries", 0), int(value))
            elif key == "timeout":
                timeouts.append(float(value))
            elif key == "fuse":
                fuse = fuse and bool(value)
            elif key == "workers":
                annotations["workers"] = (
                    [value] if isinstance(value, str) else list(value)
                )
            else:
                annotations[key] = value
    timeout = min(timeouts) if timeouts else node_timeout
    return TaskOptions(annotations, timeout, fuse)
