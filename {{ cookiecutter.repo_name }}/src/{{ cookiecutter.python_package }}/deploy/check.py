"""Find what would break when the tasks of a plan run on different machines.

The rules:

- every node has an explicit name (``--nodes=`` selects nodes by name, and a
  generated name changes whenever the node's function or datasets change);
- every dataset that one task writes and another reads is persisted (not a
  MemoryDataset, and declared in the catalog);
- such a dataset is not on a machine's local disk (a relative, absolute or
  ``file://`` path) unless it lies in a folder listed under ``shared_paths`` in
  ``deploy.yml``: a folder that every task sees, such as a shared volume
  mounted at the same place in every container.
"""

from __future__ import annotations

from ..runner import _kedro
from ..runner.storage import local_path
from .plan import Plan, is_in_memory
from .project import Project


def find_problems(project: Project, plan: Plan) -> list[str]:
    """What would break if each task of ``plan`` ran on its own machine.

    Args:
        project: The pipeline, catalog and deploy settings the plan was made from.
        plan: The tasks and the datasets they exchange.

    Returns:
        One sentence per problem, naming the node or dataset and the fix.
    """
    problems = [
        f"node '{name}' has no name: give it Node(..., name=...) so that a task "
        "can select it with --nodes"
        for name in unnamed_nodes(project)
    ]
    conf = f"conf/{project.run_env}"
    shared = [
        (project.path / folder).resolve()
        for folder in project.settings.get("shared_paths") or []
    ]
    for exchange in plan.exchanges:
        dataset = exchange.dataset
        readers = ", ".join(f"'{task}'" for task in exchange.consumers)
        reading = (
            f"tasks {readers} read"
            if len(exchange.consumers) > 1
            else (f"task {readers} reads")
        )
        crossing = f"task '{exchange.producer}' writes it and {reading} it"
        if is_in_memory(project.catalog, dataset):
            problems.append(
                f"dataset '{dataset}' is in memory, but {crossing}: declare it "
                f"in {conf}/catalog.yml with persistent storage"
            )
            continue
        path = local_path(project.catalog, dataset)
        if path is not None and not any(path.is_relative_to(s) for s in shared):
            problems.append(
                f"dataset '{dataset}' is on local disk ({path}), but {crossing}, "
                "maybe on other machines: store it in shared storage (such as "
                f"s3://...) or list its folder under shared_paths in {conf}/deploy.yml"
            )
    return problems


def unnamed_nodes(project: Project) -> list[str]:
    return sorted(
        node.name
        for node in project.pipeline.nodes
        if not _kedro.has_explicit_name(node)
    )
