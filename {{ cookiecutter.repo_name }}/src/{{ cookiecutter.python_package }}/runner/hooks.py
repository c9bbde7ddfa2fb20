"""What the runner needs to know of the Kedro session that calls it, which Kedro
does not hand to runners: the run's environment, conf source and ``--params``, and
the names of its credentials. Registered in settings.py (``HOOKS``).

Without it the runner still works, but it cannot tell an address given with
``--params`` from the configured one, and it refuses datasets with credentials
(workers read credentials by name from their own configuration, and only the
session knows the names).
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kedro.framework.hooks import hook_impl
from kedro.framework.project import settings


@dataclass(frozen=True)
class RunContext:
    """The session behind one catalog."""

    env: str | None
    conf_source: str | None  # None: the project's own conf folder, wherever it is
    runtime_params: dict[str, Any] = field(default_factory=dict)
    # The configured credentials, on the client only: a dataset's credentials are
    # sent as the name they have here, never as values.
    credentials: dict[str, Any] = field(default_factory=dict, repr=False)

    def credentials_name(self, value: Any) -> str | None:
        """The name of the configured credentials equal to ``value``."""
        return next(
            (
                name
                for name, known in sorted(self.credentials.items())
                if known == value
            ),
            None,
        )


class DaskRunnerHooks:
    """Records each session's RunContext next to the catalog it creates."""

    def __init__(self) -> None:
        self._context: Any = None

    @hook_impl
    def after_context_created(self, context: Any) -> None:
        self._context = context

    @hook_impl
    def after_catalog_created(self, catalog: Any, conf_creds: dict[str, Any]) -> None:
        context, self._context = self._context, None
        if context is None:
            return
        loader = context.config_loader
        own_conf = Path(context.project_path) / settings.CONF_SOURCE
        conf_source = str(loader.conf_source)
        _contexts[id(catalog)] = (
            weakref.ref(catalog),
            RunContext(
                env=context.env,
                conf_source=None if Path(conf_source) == own_conf else conf_source,
                runtime_params=dict(loader.runtime_params or {}),
                credentials=dict(conf_creds or {}),
            ),
        )


# id(catalog) -> (a weak reference to it, its RunContext)
_contexts: dict[int, tuple[weakref.ref, RunContext]] = {}


def run_context(catalog: Any) -> RunContext | None:
    """The RunContext of the session that created ``catalog``, if it was recorded."""
    for key, (ref, _) in list(_contexts.items()):
        if ref() is None:
            del _contexts[key]
    found = _contexts.get(id(catalog))
    return found[1] if found and found[0]() is catalog else None
