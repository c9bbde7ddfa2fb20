"""Run with the lab project's python: what a second client finds on the cluster.

Prints JSON: where on the scheduler a given text occurs (task specs, worker and
scheduler plugins, events, and every object the scheduler's garbage collector
tracks), the scheduler's tasks and plugins, and the per-run state of each worker.
The scan is defined here, in __main__, so it travels to the scheduler by value.
"""

import gc
import json
import pickle
import sys

from distributed import Client
from fsspec import AbstractFileSystem
from rocket_science.runner.run_cache import cached_runs
from rocket_science.runner.watchdog import running_nodes


def scan(dask_scheduler, reversed_needle):
    # Sent reversed, so the request itself does not plant the text on the scheduler.
    text = reversed_needle[::-1]
    raw = text.encode()
    found = set()

    def look(where, obj):
        try:
            blob = pickle.dumps(obj)
        except Exception:
            blob = b""
        if raw in blob or text in repr(obj):
            found.add(where)

    look("worker_plugins", dict(dask_scheduler.worker_plugins))
    look("events", dask_scheduler.get_events())
    for key, task in list(dask_scheduler.tasks.items()):
        look(f"task {key}", task.run_spec)
    for obj in gc.get_objects():  # containers the scheduler still references
        if isinstance(obj, dict):
            values = list(obj.values())
        elif isinstance(obj, list | tuple | set):
            values = list(obj)
        else:
            continue
        for value in values:
            if (isinstance(value, str) and text in value) or (
                isinstance(value, bytes | bytearray) and raw in value
            ):
                found.add(f"object {type(obj).__name__}")
    topics = dask_scheduler._broker._topics  # test code may read Dask's private state
    return {
        "run_topics": sorted(t for t, q in topics.items() if t.startswith("kedro") and q.events),
        "found": sorted(found),
        "tasks": [str(key) for key in dask_scheduler.tasks],
        "worker_plugins": sorted(dask_scheduler.worker_plugins),
        "clients": len(dask_scheduler.clients),
    }


def cached_filesystems(kind=AbstractFileSystem) -> int:
    """How many file system objects fsspec keeps in this process (they hold keys)."""
    return len(kind._cache) + sum(cached_filesystems(sub) for sub in kind.__subclasses__())


if __name__ == "__main__":
    address, needle = sys.argv[1], sys.argv[2]
    with Client(address, timeout=10, set_as_default=False) as client:
        report = client.run_on_scheduler(scan, reversed_needle=needle[::-1])
        report["worker_runs"] = client.run(cached_runs)
        report["worker_nodes"] = client.run(running_nodes)
        report["worker_filesystems"] = client.run(cached_filesystems)
        report["workers"] = len(client.scheduler_info()["workers"])
    print(json.dumps(report))
