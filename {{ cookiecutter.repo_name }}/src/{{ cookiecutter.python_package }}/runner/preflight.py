"""Checks before any node runs, by asking every worker: can it build the run's
catalog (its project and credentials), does it run the same code as this client,
and does it see this machine's disk where nodes exchange data through local files."""

from __future__ import annotations

import logging
import secrets
from contextlib import suppress
from pathlib import Path

from distributed import Client
from kedro.io import CatalogProtocol
from kedro.pipeline import Pipeline

from ..storage import exchanged_on_local_disk
from .errors import DaskRunError
from .spec import RunSpec, WorkerSetupError
from .worker import MARKER_PREFIX, StaleWorkerError, check_worker

PREFLIGHT_TIMEOUT = 120

logger = logging.getLogger(__name__)


class NoSharedDiskError(DaskRunError, RuntimeError):
    """Nodes would exchange data through local files that some workers cannot see."""


def preflight(
    client: Client, spec: RunSpec, pipeline: Pipeline, catalog: CatalogProtocol
) -> None:
    exchanged = exchanged_on_local_disk(pipeline, catalog, set(spec.persisted))
    markers = _write_markers({path for path, _, _ in exchanged.values()}, spec.token)
    try:
        reports = client.run(
            check_worker, spec, markers, callback_timeout=PREFLIGHT_TIMEOUT
        )
    finally:
        for folder in markers:
            with suppress(OSError):
                (Path(folder) / f"{MARKER_PREFIX}{spec.token}").unlink()
    reports = {worker: _report(result) for worker, result in reports.items()}
    _refuse_unready_workers(reports)
    _refuse_or_warn_stale_workers(reports, spec.version_check)
    _refuse_unshared_disk(reports, exchanged)


def _write_markers(paths: set[Path], token: str) -> dict[str, str]:
    """A random marker in the nearest existing folder of each path: folder -> text."""
    markers = {}
    for path in paths:
        folder = next(parent for parent in path.parents if parent.is_dir())
        text = secrets.token_hex(16)
        try:
            (folder / f"{MARKER_PREFIX}{token}").write_text(text)
        except OSError as exc:
            logger.warning("Cannot check that workers see %s: %s", folder, exc)
            continue
        markers[str(folder)] = text
    return markers


def _report(result: object) -> dict:
    """A worker's report; an error means it could not even run the check."""
    if isinstance(result, dict):
        return result
    problem = (
        f"{type(result).__name__}: {result}. The check itself failed there: the worker "
        "may run an older version of this project (restart it from the current image) "
        "or lack the project entirely (install it where the workers run)."
    )
    return {"problem": problem, "differences": [], "unseen": []}


def _refuse_unready_workers(reports: dict[str, dict]) -> None:
    failed = {
        worker: r["problem"] for worker, r in sorted(reports.items()) if r["problem"]
    }
    if failed:
        worker, problem = next(iter(failed.items()))
        more = f" ({len(failed) - 1} more workers too)" if len(failed) > 1 else ""
        raise WorkerSetupError(
            f"Dask worker {worker} cannot run this project{more}: {problem}"
        )


def _refuse_or_warn_stale_workers(reports: dict[str, dict], version_check: str) -> None:
    stale = {
        w: r["differences"] for w, r in sorted(reports.items()) if r["differences"]
    }
    if not stale:
        return
    lines = [f"  {worker}: {'; '.join(found)}" for worker, found in stale.items()]
    message = (
        f"{len(stale)} of {len(reports)} Dask workers run other code than this client:\n"
        + "\n".join(lines)
        + "\nRebuild and redeploy the image (make build-image push-image), or restart "
        "the workers from the current project; dask_client.version_check: warn runs anyway."
    )
    if version_check == "warn":
        logger.warning(message)
    else:
        raise StaleWorkerError(message)


def _refuse_unshared_disk(
    reports: dict[str, dict], exchanged: dict[str, tuple[Path, str, list[str]]]
) -> None:
    blind = {w: set(r["unseen"]) for w, r in sorted(reports.items()) if r["unseen"]}
    for name, (path, writer, readers) in exchanged.items():
        workers = [
            w
            for w, unseen in blind.items()
            if any(path.is_relative_to(f) for f in unseen)
        ]
        if workers:
            raise NoSharedDiskError(
                f"Dataset '{name}' is on local disk ({path}): node '{writer}' writes it "
                f"and {', '.join(repr(r) for r in readers)} read it, maybe on other "
                f"machines, but {len(workers)} of {len(reports)} workers ({workers[0]}...) "
                "do not see this machine's disk there. Put persisted data where every "
                "worker reaches it: object storage (kedro run --params "
                "storage=s3://bucket/prefix), or a folder shared by every worker at the "
                "same path."
            )
