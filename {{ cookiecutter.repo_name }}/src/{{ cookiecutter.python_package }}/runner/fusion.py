"""Which nodes share one Dask task: the links of linear chains.

A node joins its parent's task when it is the parent's only downstream node and the
parent is its only upstream node. Nothing could run beside either of them, so no
parallelism is lost, and the data between them stays in the task's memory instead of
costing a round trip through the scheduler (as Dask's own linear fusion does).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable

from kedro.pipeline import Pipeline
from kedro.pipeline.node import Node


def fuse_chains(
    pipeline: Pipeline, options: Callable[[Node], Hashable | None]
) -> list[list[Node]]:
    """The pipeline's nodes in groups that each run as one task, in topological
    order. ``options`` gives a node's task options, or None for a node that must
    run alone; linked nodes fuse only when their options are equal."""
    parents = pipeline.node_dependencies
    children: dict[Node, int] = dict.fromkeys(pipeline.nodes, 0)
    for node in pipeline.nodes:
        for parent in parents[node]:
            children[parent] += 1
    groups: list[list[Node]] = []
    group_of: dict[Node, list[Node]] = {}
    for node in pipeline.nodes:  # topologically sorted
        upstream = next(iter(parents[node])) if len(parents[node]) == 1 else None
        own = options(node)
        if (
            upstream is not None
            and children[upstream] == 1
            and own is not None
            and options(upstream) == own
        ):
            group = group_of[upstream]
            group.append(node)
        else:
            group = [node]
            groups.append(group)
        group_of[node] = group
    return groups
