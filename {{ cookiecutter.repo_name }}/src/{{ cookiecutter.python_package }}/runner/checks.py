"""On a worker: can it take part in a run? Asked of every worker before any node
(preflight.py), and of a worker that joins later when it first takes up the run."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from distributed import get_worker

from . import run_cache, watchdog
from .errors import StaleWorkerError
from .fingerprint import Fingerprint, fingerprint
from .run_spec import RunSpec

logger = logging.getLogger(__name__)

# The client's marker files for the shared-disk check: MARKER_PREFIX + run token.
MARKER_PREFIX = ".kedro-dask-marker-"


def marker_file(folder: str | Path, token: str) -> Path:
    """The shared-disk check's marker of the run ``token`` in ``folder``."""
    return Path(folder) / f"{MARKER_PREFIX}{token}"


def check_worker(
    spec: RunSpec, client: Fingerprint, markers: dict[str, str]
) -> dict[str, Any]:
    """Whether this worker can build the run's datasets (the problem, never a
    credential's value), which it cannot rebuild at all, what code it runs
    differently from the ``client``, and which of the client's ``markers``
    (folder -> text) it cannot see."""
    local = run_cache.local_run(spec.token) is not None
    not_portable = (
        [] if local else sorted(n for n, s in spec.persisted.items() if s is None)
    )
    problem = None
    if not local and not not_portable:
        try:
            dataset = run_cache.checkout(spec)
            watchdog.ensure_started()  # which forgets the run here once it is idle
            try:
                for name in spec.persisted:
                    dataset(name)
            finally:
                run_cache.give_back(spec.token)
        except Exception as exc:
            problem = f"{type(exc).__name__}: {exc}"
    unseen = []
    for folder, text in markers.items():
        try:
            seen = marker_file(folder, spec.token).read_text() == text
        except OSError:
            seen = False
        if not seen:
            unseen.append(folder)
    return {
        "problem": problem,
        "not_portable": not_portable,
        "differences": [] if local else client.differences(fingerprint()),
        "unseen": unseen,
    }


def check_same_code(spec: RunSpec) -> None:
    """For a worker that joined after the preflight: tasks carry the digest of the
    client's fingerprint, to compare with this worker's own."""
    if fingerprint().digest == spec.fingerprint:
        return
    found = "its project code or package versions differ from the client's"
    if spec.version_check == "warn":
        logger.warning("This worker runs other code than the client: %s", found)
        return
    address = get_worker().address
    raise StaleWorkerError(
        f"Dask worker {address} runs other code than the client: {found}. "
        "Rebuild and redeploy the image, or restart the workers.",
        worker=address,
    )
