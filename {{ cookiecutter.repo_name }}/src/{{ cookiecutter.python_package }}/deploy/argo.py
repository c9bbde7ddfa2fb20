"""An Argo Workflows ``Workflow`` made from a plan: one DAG task per plan task,
each running its ``kedro run --nodes=...`` in the project's image.

Settings come from the ``argo`` block of ``deploy.yml``: ``defaults`` and
per-tag ``tags`` entries set ``retries`` and Kubernetes ``resources``; a task
takes the defaults, then the entries of its nodes' tags in the order deploy.yml
lists them (later entries win). ``volume_claim`` mounts a shared
PersistentVolumeClaim at every ``shared_paths`` folder under ``project_dir``;
``fs_group`` lets the image's user write to it; ``namespace`` and
``service_account`` go to the Workflow as they are.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import PurePosixPath
from typing import Any

import yaml

from .plan import Plan, Task
from .project import DeployError

DNS_LABEL_MAX = 63
SHARED_VOLUME = "shared-data"


def dns_label(name: str) -> str:
    """A DNS-1123 label: lowercase letters, digits and '-', at most 63 long."""
    label = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")
    return label[:DNS_LABEL_MAX].strip("-") or "task"


def unique_labels(names: list[str]) -> dict[str, str]:
    """Each name's label; a label already taken gets a hash of its name."""
    labels: dict[str, str] = {}
    for name in names:
        label = dns_label(name)
        if label in labels.values():
            digest = hashlib.sha256(name.encode()).hexdigest()[:8]
            label = f"{label[: DNS_LABEL_MAX - 9].strip('-')}-{digest}"
        labels[name] = label
    return labels


def workflow(
    plan: Plan,
    image: str,
    settings: dict[str, Any],
    shared_paths: list[str],
    name: str,
) -> dict[str, Any]:
    """An Argo Workflows ``Workflow`` with one DAG task per plan task.

    Args:
        plan: The tasks, each a ``kedro run --nodes=...`` in ``image``.
        image: The project's image, as pushed to a registry.
        settings: The ``argo`` block of deploy.yml (resources, retries per tag...).
        shared_paths: Folders mounted from ``settings['volume_claim']`` in every task.
        name: The workflow's ``generateName`` prefix.

    Returns:
        The workflow as a dictionary, ready for ``to_yaml``.
    """
    labels = unique_labels([task.name for task in plan.tasks])
    dag_tasks = []
    for task in plan.tasks:
        dag_task: dict[str, Any] = {
            "name": labels[task.name],
            "template": labels[task.name],
        }
        if task.upstream:
            dag_task["dependencies"] = [labels[up] for up in task.upstream]
        dag_tasks.append(dag_task)

    mounts = _shared_mounts(settings, shared_paths)
    templates = [{"name": "main", "dag": {"tasks": dag_tasks}}]
    templates += [
        _container_template(task, labels[task.name], image, settings, mounts)
        for task in plan.tasks
    ]
    spec: dict[str, Any] = {"entrypoint": "main", "templates": templates}
    if settings.get("service_account"):
        spec["serviceAccountName"] = settings["service_account"]
    if settings.get("fs_group") is not None:
        spec["securityContext"] = {"fsGroup": int(settings["fs_group"])}
    if mounts:
        spec["volumes"] = [
            {
                "name": SHARED_VOLUME,
                "persistentVolumeClaim": {"claimName": settings["volume_claim"]},
            }
        ]
    metadata: dict[str, Any] = {"generateName": f"{dns_label(name)[:50]}-"}
    if settings.get("namespace"):
        metadata["namespace"] = settings["namespace"]
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": metadata,
        "spec": spec,
    }


def to_yaml(document: dict[str, Any]) -> str:
    return yaml.safe_dump(document, sort_keys=False, default_flow_style=False)


def task_settings(task: Task, settings: dict[str, Any]) -> dict[str, Any]:
    """The defaults, overridden by each of the task's tags in deploy.yml order."""
    merged = dict(settings.get("defaults") or {})
    for tag, values in (settings.get("tags") or {}).items():
        if tag in task.tags:
            merged.update(values or {})
    return merged


def _container_template(
    task: Task,
    label: str,
    image: str,
    settings: dict[str, Any],
    mounts: list[dict[str, str]],
) -> dict[str, Any]:
    values = task_settings(task, settings)
    container: dict[str, Any] = {"image": image, "command": list(task.command)}
    if values.get("resources"):
        container["resources"] = {
            kind: {resource: str(amount) for resource, amount in amounts.items()}
            for kind, amounts in values["resources"].items()
        }
    if mounts:
        container["volumeMounts"] = [dict(mount) for mount in mounts]
    template: dict[str, Any] = {
        "name": label,
        "metadata": {"annotations": {"kedro/nodes": ",".join(task.nodes)}},
        "container": container,
    }
    if values.get("retries"):
        template["retryStrategy"] = {"limit": str(values["retries"])}
    return template


def _shared_mounts(settings: dict[str, Any], shared_paths: list[str]) -> list[dict]:
    if not settings.get("volume_claim") or not shared_paths:
        return []
    project_dir = settings.get("project_dir")
    if not project_dir or not project_dir.startswith("/"):
        raise DeployError(
            "argo.volume_claim is set, so deploy.yml also needs argo.project_dir: "
            "the absolute path of the project (the working directory) in the image."
        )
    # A relative folder is under the project; an absolute one is where it says.
    return [
        {
            "name": SHARED_VOLUME,
            "mountPath": str(PurePosixPath(project_dir, folder)),
            "subPath": folder.strip("/"),
        }
        for folder in shared_paths
    ]
