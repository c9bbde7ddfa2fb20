"""What code a process runs: a hash of the project's Python modules and the versions
of the packages the project depends on (its requirements, and theirs, as installed).
The client compares its own with every worker's, so that a worker running an older
image is noticed before it runs old code.

Computed once per process, from the project's own metadata: it costs the same
however many other distributions are installed, and needs no lock file on workers.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement

# The project's top-level package: the runner is part of it.
PROJECT_PACKAGE = __name__.split(".")[0]
# Where to start when the project is not installed as a distribution.
FALLBACK_ROOTS = ("kedro", "distributed")


@dataclass(frozen=True)
class Fingerprint:
    code: str  # sha256 of the package's modules
    packages: dict[str, str | None] = field(default_factory=dict)  # name -> version

    @property
    def digest(self) -> str:
        """One hash of it all: what each task carries."""
        text = repr((self.code, sorted(self.packages.items())))
        return hashlib.sha256(text.encode()).hexdigest()

    def differences(self, other: Fingerprint) -> list[str]:
        """What ``other`` (a worker's) runs differently from this (the client's)."""
        found = []
        if other.code != self.code:
            found.append(
                f"the project's code differs (here {self.code[:12]}, there {other.code[:12]})"
            )
        for name in sorted(self.packages.keys() | other.packages.keys()):
            mine, theirs = self.packages.get(name), other.packages.get(name)
            if mine != theirs:
                found.append(
                    f"{name} {mine or 'missing'} here, {theirs or 'missing'} there"
                )
        return found


@cache
def fingerprint(package: str = PROJECT_PACKAGE) -> Fingerprint:
    """This process's fingerprint of ``package``."""
    return Fingerprint(_code_hash(package), _dependency_versions(package))


def _code_hash(package: str) -> str:
    """The modules Python can import from the package: no notebook checkpoints,
    editor lock files or dangling links."""
    digest = hashlib.sha256()
    spec = importlib.util.find_spec(package)
    for root in map(Path, (spec.submodule_search_locations or []) if spec else []):
        for path in sorted(root.rglob("*.py")):
            relative = path.relative_to(root)
            names = [*relative.parent.parts, path.stem]
            if all(name.isidentifier() for name in names) and path.is_file():
                digest.update(relative.as_posix().encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()


def _dependency_versions(package: str) -> dict[str, str | None]:
    """Installed versions of the package's distribution and everything it
    requires, with the extras it asks for; None for one that is missing."""
    versions: dict[str, str | None] = {}
    seen: set[tuple[str, frozenset[str]]] = set()
    todo = [(package, frozenset[str]())]
    if _distribution(package) is None:
        todo = [(root, frozenset()) for root in FALLBACK_ROOTS]
    while todo:
        name, extras = todo.pop()
        key = _normalised(name)
        if (key, extras) in seen:
            continue
        seen.add((key, extras))
        distribution = _distribution(name)
        versions[key] = distribution.version if distribution else None
        for text in (distribution.requires if distribution else None) or []:
            try:
                requirement = Requirement(text)
            except InvalidRequirement:
                continue
            marker = requirement.marker
            if marker is None or any(
                marker.evaluate({"extra": extra}) for extra in {"", *extras}
            ):
                todo.append((requirement.name, frozenset(requirement.extras)))
    return versions


def _distribution(name: str) -> importlib.metadata.Distribution | None:
    try:
        return importlib.metadata.distribution(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def _normalised(name: str) -> str:
    """A distribution name as PEP 503 compares them."""
    return re.sub(r"[-_.]+", "-", name).lower()
