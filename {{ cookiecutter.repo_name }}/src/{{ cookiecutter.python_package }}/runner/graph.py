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

from .worker import node_done, pick_output, run_node

# What a node tag may set on its node's task (keywords of Client.submit).
TAG_OPTION_KEYS = {"resources", "retries", "priority", "workers", "allow_other_workers"}


@dataclass
class SubmittedPipeline:
    nodes: dict[Future, Node]  # each node's task; its result holds the node's outputs
    free_outputs: dict[str, Future]  # in-memory outputs no node consumes: {name: data}


def check_tag_options(tag_options: Mapping[str, Any] | None) -> dict[str, dict]:
    checked = {}
    for tag, options in (tag_options or {}).items():
        unknown = set(options or {}) - TAG_OPTION_KEYS
        if unknown:
            raise ValueError(
                f"dask_client.tag_options.{tag}: unknown keys {sorted(unknown)}; "
                f"use {sorted(TAG_OPTION_KEYS)}"
            )
        checked[tag] = dict(options or {})
    return checked


def submit_pipeline(
    client: Client,
    pipeline: Pipeline,
    *,
    memory: Mapping[str, Any],
    token: str,
    tag_options: Mapping[str, dict],
) -> SubmittedPipeline:
    """Submit every node; ``memory`` names the datasets passed as futures."""
    holders: dict[str, Future] = {}  # in-memory dataset -> future of {name: data}
    results: dict[Node, Future] = {}
    markers: dict[Node, Future] = {}  # data-free "finished" stand-ins, made on demand

    def finished(parent: Node) -> Future:
        if not any(name in memory for name in parent.outputs):
            return results[parent]  # its result is an empty dict: nothing to move
        if parent not in markers:
            markers[parent] = client.submit(
                node_done,
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
        result = client.submit(
            run_node,
            node,
            token,
            inputs,
            *after,
            key=f"{node.name}-{token}",
            pure=False,
            **_task_options(node, tag_options),
        )
        results[node] = result
        in_memory = [name for name in node.outputs if name in memory]
        for name in in_memory:
            holders[name] = (
                result
                if len(in_memory) == 1
                else client.submit(
                    pick_output, result, name, key=f"{name}-{token}", pure=False
                )
            )
    free = {name: holders[name] for name in pipeline.outputs() if name in holders}
    # Only the node futures and free outputs stay referenced from here on.
    return SubmittedPipeline({future: node for node, future in results.items()}, free)


def _task_options(node: Node, tag_options: Mapping[str, dict]) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for tag in sorted(node.tags & tag_options.keys()):
        for key, value in tag_options[tag].items():
            if key == "resources":
                options["resources"] = {**options.get("resources", {}), **value}
            elif key == "retries":
                options["retries"] = max(options.get("retries", 0), int(value))
            else:
                options[key] = value
    return options
