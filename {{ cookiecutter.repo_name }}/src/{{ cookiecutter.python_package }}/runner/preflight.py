"""Checks before any node runs, by asking every worker: can it rebuild the run's
datasets (its credentials, datasets that exist only in this process), does it run
the same code as this client, and does it see the local files the run reads and
writes."""

from __future__ import annotations

import asyncio
import logging
import secrets
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from distributed import Client
from kedro.pipeline import Pipeline

from .checks import MARKER_PREFIX, check_worker, marker_file
from .errors import (
    CatalogNotPortableError,
    NoSharedDiskError,
    StaleWorkerError,
    WorkerSetupError,
)
from .fingerprint import fingerprint
from .run_spec import PipelineData, RunSpec
from .storage import config_path

# No check lasts this long: an older marker is one a killed client (SIGKILL) left.
STALE_MARKER_SECONDS = 600
# The marker remover exits as soon as its pipe closes.
REMOVER_EXIT_SECONDS = 1

logger = logging.getLogger(__name__)


def preflight(
    client: Client,
    spec: RunSpec,
    data: PipelineData,
    pipeline: Pipeline,
    timeout: float,
) -> list[str] | None:
    """Refuse the run if a worker cannot take part. Return None to run on any
    worker, or, when some did not answer (frozen, or busy holding Python's GIL), the
    workers that did: the run leaves the others out. Each worker has ``timeout``
    seconds to answer."""
    files = {
        name: path
        for name, dataset in spec.persisted.items()
        if dataset is not None and (path := config_path(dataset.config)) is not None
    }
    with shared_disk_markers(set(files.values()), spec.token) as markers:
        answers, silent = _ask_every_worker(
            client, timeout, check_worker, spec, fingerprint(), markers
        )
    # A worker that left while it was asked (a batch job that ended) is no worker of
    # this run; if none is left, the run waits for workers as a run does.
    left = sorted(w for w, answer in answers.items() if isinstance(answer, OSError))
    if left:
        logger.warning(
            "%d Dask workers left during the checks: %s", len(left), ", ".join(left)
        )
    if silent:
        logger.warning(
            "%d Dask workers did not answer within %g s (dask_client.timeout) and are "
            "left out of this run: %s. A worker that stays frozen or busy this long "
            "may be stopped (SIGSTOP), swapping, or running a node that holds Python's "
            "GIL.",
            len(silent),
            timeout,
            ", ".join(silent),
        )
        if not set(answers) - set(left):
            raise WorkerSetupError(
                f"No Dask worker answered within {timeout:g} s (dask_client.timeout): "
                f"{', '.join(silent)}. Check that they are running and not overloaded."
            )
    reports = {
        w: _report(answer) for w, answer in sorted(answers.items()) if w not in left
    }
    _refuse_not_portable(reports, data.not_portable)
    _refuse_unready_workers(reports)
    _refuse_or_warn_stale_workers(reports, spec.version_check)
    _refuse_unshared_disk(reports, files, pipeline)
    return sorted(reports) if silent else None


def _ask_every_worker(
    client: Client, timeout: float, function: Any, *args: Any
) -> tuple[dict[str, Any], list[str]]:
    """Every worker's answer (or error) to ``function(*args)``, and the workers that
    gave none within ``timeout``. Each worker is asked on its own, all at once, so
    that one frozen worker holds up neither the others nor the run past ``timeout``."""
    workers = sorted(client.scheduler_info(n_workers=-1)["workers"])

    async def ask(worker: str) -> dict[str, Any]:
        with suppress(TimeoutError):
            return await client.run(
                function,
                *args,
                workers=[worker],
                on_error="return",
                asynchronous=True,
                callback_timeout=timeout,
            )
        return {}

    async def ask_all() -> list[dict[str, Any]]:
        return await asyncio.gather(*(ask(worker) for worker in workers))

    answers = {w: a for each in client.sync(ask_all) for w, a in each.items()}
    return answers, [w for w in workers if w not in answers]


@contextmanager
def shared_disk_markers(paths: set[Path], token: str) -> Iterator[dict[str, str]]:
    """The markers of the shared-disk check (folder -> text), removed when the check
    ends, also when this process is killed (SIGKILL)."""
    markers = _write_markers(paths, token)
    files = [str(marker_file(folder, token)) for folder in markers]
    remover = _remove_when_this_process_ends(files)
    try:
        yield markers
    finally:
        for file in files:
            with suppress(OSError):
                Path(file).unlink()
        if remover is not None and remover.stdin is not None:
            remover.stdin.close()
            with suppress(subprocess.TimeoutExpired):
                remover.wait(REMOVER_EXIT_SECONDS)


def _remove_when_this_process_ends(files: list[str]) -> subprocess.Popen | None:
    """A shell, in a session of its own, that removes ``files`` once the pipe from
    this process closes: when the check ends, or when a SIGKILL ends the process,
    which nothing inside it can catch. Without a shell the next run that checks the
    folder removes them (STALE_MARKER_SECONDS)."""
    if not files:
        return None
    try:
        return subprocess.Popen(
            ["sh", "-c", 'read -r _; rm -f -- "$@"', "kedro-dask-markers", *files],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # outlives a kill of the whole process group
        )
    except OSError:
        return None


def _write_markers(paths: set[Path], token: str) -> dict[str, str]:
    """A random marker in the nearest existing folder of each path: folder -> text."""
    markers = {}
    for path in paths:
        folder = next(parent for parent in path.parents if parent.is_dir())
        if str(folder) in markers:
            continue
        _remove_stale_markers(folder)
        text = secrets.token_hex(16)
        try:
            marker_file(folder, token).write_text(text)
        except OSError as exc:
            logger.warning("Cannot check that workers see %s: %s", folder, exc)
            continue
        markers[str(folder)] = text
    return markers


def _remove_stale_markers(folder: Path) -> None:
    cutoff = time.time() - STALE_MARKER_SECONDS
    for marker in folder.glob(f"{MARKER_PREFIX}*"):
        with suppress(OSError):
            if marker.stat().st_mtime < cutoff:
                marker.unlink()


def _report(answer: object) -> dict:
    """A worker's report; an error means it could not even run the check."""
    if isinstance(answer, dict):
        return answer
    problem = (
        f"{type(answer).__name__}: {answer}. The check itself failed there: the worker "
        "may run an older version of this project (restart it from the current image) "
        "or lack the project entirely (install it where the workers run)."
    )
    return {"problem": problem, "not_portable": [], "differences": [], "unseen": []}


def _refuse_not_portable(reports: dict[str, dict], why: dict[str, str]) -> None:
    for worker, report in reports.items():
        if report["not_portable"]:
            name = report["not_portable"][0]
            raise CatalogNotPortableError(
                f"Dataset '{name}' cannot be rebuilt on Dask worker {worker}: {why[name]}. "
                "Declare it in conf/<env>/catalog.yml, or make it in code only from "
                "plain values (Kedro's DataCatalog.to_config() must describe it)."
            )


def _refuse_unready_workers(reports: dict[str, dict]) -> None:
    failed = {worker: r["problem"] for worker, r in reports.items() if r["problem"]}
    if failed:
        worker, problem = next(iter(failed.items()))
        more = f" ({len(failed) - 1} more workers too)" if len(failed) > 1 else ""
        raise WorkerSetupError(
            f"Dask worker {worker} cannot run this project{more}: {problem}"
        )


def _refuse_or_warn_stale_workers(reports: dict[str, dict], version_check: str) -> None:
    stale = {w: r["differences"] for w, r in reports.items() if r["differences"]}
    if not stale:
        return
    lines = [f"  {worker}: {'; '.join(found)}" for worker, found in stale.items()]
    message = (
        f"{len(stale)} of {len(reports)} Dask workers run other code than this client:\n"
        + "\n".join(lines)
        + "\nRebuild and redeploy the image (make build-image push-image), or restart "
        "the workers from the current project; dask_client.version_check: warn runs anyway."
    )
    if version_check != "warn":
        raise StaleWorkerError(message)
    logger.warning(message)


def _refuse_unshared_disk(
    reports: dict[str, dict], files: dict[str, Path], pipeline: Pipeline
) -> None:
    blind = {
        w: [Path(f) for f in r["unseen"]] for w, r in reports.items() if r["unseen"]
    }
    writers = {name: node.name for node in pipeline.nodes for name in node.outputs}
    readers: dict[str, list[str]] = {}
    for node in pipeline.nodes:
        for name in node.inputs:
            readers.setdefault(name, []).append(node.name)
    # In the order the pipeline makes them: the first a user would look at.
    order = {name: i for i, node in enumerate(pipeline.nodes) for name in node.outputs}
    for name in sorted(files, key=lambda n: (order.get(n, -1), n)):
        path = files[name]
        workers = [
            w
            for w, unseen in blind.items()
            if any(path.is_relative_to(f) for f in unseen)
        ]
        if not workers:
            continue
        used = ", ".join(
            [f"node '{writers[name]}' writes it"] * (name in writers)
            + [f"{', '.join(repr(r) for r in readers[name])} read it"]
            * bool(readers.get(name))
        )
        raise NoSharedDiskError(
            f"Dataset '{name}' is on local disk ({path}; {used}), but {len(workers)} of "
            f"{len(reports)} workers ({workers[0]}...) do not see this machine's disk "
            "there. Put persisted data where every worker reaches it: object storage "
            "(kedro run --params storage=s3://bucket/prefix), or a folder shared by "
            "every worker at the same path."
        )
