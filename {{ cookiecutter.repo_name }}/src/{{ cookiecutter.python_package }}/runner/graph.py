"""Submit a whole Kedro pipeline to Dask up front, one task per node.

In-memory data moves worker to worker as futures and never through the client or
the scheduler. The client keeps only one tiny "done" future per node (and the
pipeline's free in-memory outputs), so Dask frees each intermediate dataset as soon
as its last consumer has finished.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from distributed import Client, Future
from kedro.pipeline import Pipeline
from kedro.pipeline.node import Node

from .worker import node_done, run_node

# What a node tag may set on its node's task (keywords of Client.submit).
TAG_OPTION_KEYS = {"resources", "retries", "priority", "workers", "allow_other_workers"}


@dataclass
class SubmittedPipeline:
    done: dict[Future, Node]  # one per node, holds None
    free_outputs: dict[str, Future]  # in-memory outputs no node consumes


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


def submit_pipeline(  # noqa: PLR0913
    client: Client,
    pipeline: Pipeline,
    *,
    spec: Future,
    memory: Mapping[str, Any],
    token: str,
    tag_options: Mapping[str, dict],
) -> SubmittedPipeline:
    """Submit every node; ``memory`` names the datasets passed as futures."""
    data: dict[str, Future] = {}  # in-memory dataset -> its getitem future
    done: dict[Node, Future] = {}
    dependencies = pipeline.node_dependencies
    for node in pipeline.nodes:  # topologically sorted: producers come first
        inputs = {name: data[name] for name in node.inputs if name in data}
        # Parents that pass no in-memory data only need to have finished.
        after = [
            done[parent]
            for parent in dependencies[node]
            if not set(parent.outputs) & inputs.keys()
        ]
        result = client.submit(
            run_node,
            node,
            spec,
            inputs,
            *after,
            key=f"{node.name}-{token}",
            pure=False,
            **_task_options(node, tag_options),
        )
        done[node] = client.submit(
            node_done, result, key=f"{node.name}-done-{token}", pure=False
        )
        for name in node.outputs:
            if name in memory:
                # A small task per dataset: consumers fetch only what they use.
                data[name] = client.submit(
                    operator.getitem, result, name, key=f"{name}-{token}", pure=False
                )
    free = {name: data[name] for name in pipeline.outputs() if name in data}
    # Dropping `data` and the node results here lets Dask release them when used.
    return SubmittedPipeline({future: node for node, future in done.items()}, free)


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
