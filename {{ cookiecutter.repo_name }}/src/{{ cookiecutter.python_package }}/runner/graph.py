"""Submit a whole Kedro pipeline to Dask up front, one task per node.

In-memory data moves worker to worker as futures and never through the client or
the scheduler. A node's task returns its in-memory outputs as a dict; consumers of a
single-output node take that dict directly, and a node with several in-memory outputs
gets one small pick task per output, so a consumer pulls only what it uses. The client
drops each node's future as soon as the node has finished, so Dask frees an
intermediate dataset when its last consumer is done.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from distributed import Client, Future
from kedro.pipeline import Pipeline
from kedro.pipeline.node import Node

from .spec import RunSpec
from .trampoline import call, pack
from .worker import node_done, pick_output, run_node

# Packed once: the task functions that take no fixed arguments.
_NODE_DONE = pack(node_done)
_PICK_OUTPUT = pack(pick_output)


@dataclass
class SubmittedPipeline:
    nodes: dict[Future, Node]  # each node's task; its result holds the node's outputs
    free_outputs: dict[str, Future]  # in-memory outputs no node consumes: {name: data}


def submit_pipeline(  # noqa: PLR0913
    client: Client,
    pipeline: Pipeline,
    *,
    spec: RunSpec,
    memory: Mapping[str, Any],
    feed: Mapping[str, Any],
    token: str,
    tag_options: Mapping[str, dict],
    node_timeout: float | None,
) -> SubmittedPipeline:
    """Submit every node; ``memory`` names the datasets passed as futures and
    ``feed`` holds the parameter values, sent with the nodes that read them. The
    small ``spec`` travels with each task: a shared copy on the workers would be
    per-run state that outlives a killed client, or a dependency that ties tasks
    to the workers holding it."""
    holders: dict[str, Future] = {}  # in-memory dataset -> future of {name: data}
    results: dict[Node, Future] = {}
    markers: dict[Node, Future] = {}  # data-free "finished" stand-ins, made on demand

    def finished(parent: Node) -> Future:
        if not any(name in memory for name in parent.outputs):
            return results[parent]  # its result is an empty dict: nothing to move
        if parent not in markers:
            markers[parent] = client.submit(
                call,
                _NODE_DONE,
                results[parent],
                key=f"{parent.name}-done-{token}",
                pure=False,
            )
        return markers[parent]

    dependencies = pipeline.node_dependencies
    for node in pipeline.nodes:  # topologically sorted: producers come first
        inputs = {name: holders[name] for name in node.inputs if name in holders}
        # Parents that pass no in-memory data only need to have finished.
        after = [
            finished(parent)
            for parent in dependencies[node]
            if not set(parent.outputs) & inputs.keys()
        ]
        options, timeout = task_options(node, tag_options, node_timeout)
        feed_for_node = {name: feed[name] for name in node.inputs if name in feed}
        result = client.submit(
            call,
            pack(run_node, node, spec, feed_for_node, timeout),
            inputs,
            *after,
            key=f"{node.name}-{token}",
            pure=False,
            **options,
        )
        results[node] = result
        in_memory = [name for name in node.outputs if name in memory]
        for name in in_memory:
            holders[name] = (
                result
                if len(in_memory) == 1
                else client.submit(
                    call, _PICK_OUTPUT, result, name, key=f"{name}-{token}", pure=False
                )
            )
    free = {name: holders[name] for name in pipeline.outputs() if name in holders}
    # Only the node futures and free outputs stay referenced from here on.
    return SubmittedPipeline({future: node for node, future in results.items()}, free)


def task_options(
    node: Node, tag_options: Mapping[str, dict], node_timeout: float | None
) -> tuple[dict[str, Any], float | None]:
    """Client.submit keywords for the node's tags, and its time limit: the
    smallest a tag sets, else ``node_timeout``."""
    options: dict[str, Any] = {}
    timeouts = []
    for tag in sorted(node.tags & tag_options.keys()):
        for key, value in tag_options[tag].items():
            if key == "resources":
                options["resources"] = {**options.get("resources", {}), **value}
            elif key == "retries":
                options["retries"] = max(options.get("retries", 0), int(value))
            elif key == "timeout":
                timeouts.append(float(value))
            else:
                options[key] = value
    return options, min(timeouts) if timeouts else node_timeout
