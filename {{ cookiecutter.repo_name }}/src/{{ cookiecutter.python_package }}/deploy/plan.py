"""Turn a pipeline into a DAG of tasks: the one plan every deployment target is made from.

Each task runs some nodes as ``kedro run --nodes=...`` and depends on the tasks that
make its inputs, exactly as ``Pipeline.node_dependencies`` says. Grouping modes:

- ``none``: one task per node.
- ``namespace``: one task per top-level namespace; a node without a namespace is a
  task of its own.
- ``memory``: nodes joined by an in-memory dataset share a task, so tasks only
  exchange data that the catalog of the chosen environment persists.

When grouping would make tasks depend on each other in a cycle (say a namespace
whose nodes run before and after an outside node), the tasks on the cycle are
merged into one, so the plan is always a DAG.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from graphlib import CycleError, TopologicalSorter

from kedro.io import DataCatalog
from kedro.pipeline import Pipeline
from kedro.pipeline.node import Node

from .project import DEFAULT_PIPELINE, DeployError, Project

GROUPINGS = ("none", "namespace", "memory")
MEMORY_TYPES = {"MemoryDataset", "SharedMemoryDataset"}


@dataclass(frozen=True)
class Task:
    name: str
    nodes: list[str]
    upstream: list[str]
    command: list[str]
    tags: list[str]


@dataclass(frozen=True)
class Exchange:
    """A dataset that one task writes and other tasks read."""

    dataset: str
    producer: str
    consumers: list[str]


@dataclass(frozen=True)
class Plan:
    pipeline: str
    env: str | None
    group_by: str
    tasks: list[Task]
    exchanges: list[Exchange]

    def to_dict(self) -> dict:
        return asdict(self)


def is_in_memory(catalog: DataCatalog, dataset: str) -> bool:
    """True when the dataset lives only in the memory of one ``kedro run``."""
    if dataset not in catalog:
        return True  # undeclared datasets become MemoryDatasets at run time
    dataset_type = catalog.get_type(dataset) or ""
    return dataset_type.rsplit(".", 1)[-1] in MEMORY_TYPES


def kedro_command(nodes: list[str], pipeline: str, env: str | None) -> list[str]:
    command = ["kedro", "run"]
    if pipeline != DEFAULT_PIPELINE:
        command.append(f"--pipeline={pipeline}")
    command.append("--nodes=" + ",".join(nodes))
    if env:
        command.append(f"--env={env}")
    return command


def build_plan(project: Project, group_by: str | None = None) -> Plan:
    """The project's pipeline as a DAG of tasks.

    Args:
        project: The pipeline, catalog and deploy settings (``load_project``).
        group_by: ``none``, ``namespace`` or ``memory``; None takes ``group_by``
            from deploy.yml, else ``memory``.

    Returns:
        The tasks in dependency order and the datasets they exchange.

    Raises:
        DeployError: An unknown ``group_by``.
    """
    group_by = group_by or project.settings.get("group_by") or "memory"
    if group_by not in GROUPINGS:
        raise DeployError(f"group_by must be one of {', '.join(GROUPINGS)}.")
    pipeline = project.pipeline
    groups = _initial_groups(pipeline, project.catalog, group_by)
    _merge_cycles(pipeline, groups)

    members: dict[str, list[Node]] = {}
    for node in pipeline.nodes:
        members.setdefault(groups[node].key, []).append(node)
    names = _task_names(members, groups)

    tasks = []
    for key in _topological_groups(pipeline, groups):
        nodes = members[key]
        upstream = {
            groups[parent].key
            for node in nodes
            for parent in pipeline.node_dependencies[node]
        } - {key}
        node_names = [node.name for node in nodes]
        tasks.append(
            Task(
                name=names[key],
                nodes=node_names,
                upstream=sorted(names[up] for up in upstream),
                command=kedro_command(node_names, project.pipeline_name, project.env),
                tags=sorted({tag for node in nodes for tag in node.tags}),
            )
        )
    task_of = {node: names[groups[node].key] for node in pipeline.nodes}
    exchanges = _exchanges(pipeline, task_of)
    return Plan(project.pipeline_name, project.env, group_by, tasks, exchanges)


@dataclass(eq=False)
class _Group:
    """A union-find cell: nodes whose cells share a root run in the same task."""

    label: str | None
    parent: _Group | None = None

    @property
    def root(self) -> _Group:
        group = self
        while group.parent is not None:
            group = group.parent
        return group

    @property
    def key(self) -> str:
        return str(id(self.root))

    def join(self, other: _Group) -> None:
        mine, theirs = self.root, other.root
        if mine is not theirs:
            theirs.parent = mine
            mine.label = mine.label if mine.label == theirs.label else None


class _Groups(dict):
    """Node -> its group, reading through to the group's current root."""

    def __getitem__(self, node: Node) -> _Group:
        return super().__getitem__(node).root


def _top_namespace(node: Node) -> str | None:
    return node.namespace.split(".")[0] if node.namespace else None


def _initial_groups(pipeline: Pipeline, catalog: DataCatalog, group_by: str) -> _Groups:
    groups = _Groups()
    if group_by == "namespace":
        # Kedro's own grouping: one group per top-level namespace, a node without
        # a namespace on its own.
        by_name = {node.name: node for node in pipeline.nodes}
        for grouped in pipeline.group_nodes_by("namespace"):
            group = _Group(grouped.name)
            for name in grouped.nodes:
                groups[by_name[name]] = group
        return groups

    for node in pipeline.nodes:
        groups[node] = _Group(node.name)
    if group_by == "memory":
        producers = {out: node for node in pipeline.nodes for out in node.outputs}
        for node in pipeline.nodes:
            for dataset in node.inputs:
                producer = producers.get(dataset)
                if producer is not None and is_in_memory(catalog, dataset):
                    groups[producer].join(groups[node])
    return groups


def _group_graph(pipeline: Pipeline, groups: _Groups) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {groups[node].key: set() for node in pipeline.nodes}
    for node, parents in pipeline.node_dependencies.items():
        graph[groups[node].key] |= {groups[p].key for p in parents} - {groups[node].key}
    return graph


def _merge_cycles(pipeline: Pipeline, groups: _Groups) -> None:
    """Merge groups that depend on each other in a cycle until none is left."""
    while True:
        try:
            TopologicalSorter(_group_graph(pipeline, groups)).prepare()
            return
        except CycleError as error:
            cycle = set(error.args[1])
            first, *rest = [
                g for g in {groups[n] for n in pipeline.nodes} if g.key in cycle
            ]
            for group in rest:
                first.join(group)


def _topological_groups(pipeline: Pipeline, groups: _Groups) -> list[str]:
    """Group keys in dependency order; ties keep the pipeline's node order."""
    position: dict[str, int] = {}
    for index, node in enumerate(pipeline.nodes):
        position.setdefault(groups[node].key, index)
    sorter = TopologicalSorter(_group_graph(pipeline, groups))
    sorter.prepare()
    order: list[str] = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready(), key=position.__getitem__)
        order.extend(ready)
        sorter.done(*ready)
    return order


def _task_names(members: dict[str, list[Node]], groups: _Groups) -> dict[str, str]:
    """A readable, unique name per group: its label, else the shared top-level
    namespace of its nodes, else the name of its first node."""
    names: dict[str, str] = {}
    for key, nodes in members.items():
        namespaces = {_top_namespace(node) for node in nodes}
        name = groups[nodes[0]].label
        if name is None and len(namespaces) == 1 and None not in namespaces:
            name = namespaces.pop()
        name = name or nodes[0].name
        unique, count = name, 1
        while unique in names.values():
            count += 1
            unique = f"{name}-{count}"
        names[key] = unique
    return names


def _exchanges(pipeline: Pipeline, task_of: dict[Node, str]) -> list[Exchange]:
    readers: dict[str, set[str]] = {}
    for node in pipeline.nodes:
        for dataset in node.inputs:
            readers.setdefault(_base_name(dataset), set()).add(task_of[node])
    exchanges = [
        Exchange(dataset, task_of[node], sorted(consumers))
        for node in pipeline.nodes
        for dataset in node.outputs
        if (consumers := readers.get(_base_name(dataset), set()) - {task_of[node]})
    ]
    return sorted(exchanges, key=lambda exchange: exchange.dataset)


def _base_name(dataset: str) -> str:
    """``data@pandas`` and ``data@spark`` are one dataset, transcoded."""
    return dataset.split("@", 1)[0]
