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
import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement

# The project's top-level package: the runner is part of it.
PROJECT_PACKAGE = __name__.split(".")[0]
# Where to start when the project has neither metadata nor a pyproject.toml.
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
    """Installed versions of everything the project requires (and they require,
    with the extras asked for); None for one that is missing. The project's own
    version is left out: its code is compared instead."""
    versions: dict[str, str | None] = {}
    seen: set[tuple[str, frozenset[str]]] = set()
    todo = [
        w
        for text in _project_requirements(package)
        if (w := _requirement(text, frozenset()))
    ]
    while todo:
        name, extras = todo.pop()
        key = _normalised(name)
        if (key, extras) in seen:
            continue
        seen.add((key, extras))
        found = _metadata(name)
        versions[key] = found[0] if found else None
        for text in found[1] if found else []:
            wanted = _requirement(text, extras)
            if wanted is not None:
                todo.append(wanted)
    return versions


def _project_requirements(package: str) -> list[str]:
    """The project's requirements: from its installed metadata, or, when it runs
    from its source folder without being installed, from its pyproject.toml."""
    installed = _metadata(package)
    if installed is not None:
        return installed[1]
    spec = importlib.util.find_spec(package)
    locations = (spec.submodule_search_locations or []) if spec else []
    for folder in map(Path, locations):
        for parent in folder.parents:
            pyproject = parent / "pyproject.toml"
            if pyproject.is_file():
                project = tomllib.loads(pyproject.read_text()).get("project", {})
                return list(project.get("dependencies", []))
    return list(FALLBACK_ROOTS)


def _metadata(name: str) -> tuple[str, list[str]] | None:
    """(version, Requires-Dist lines) of an installed distribution. Read from its
    METADATA headers directly: the email parser behind ``Distribution.version``
    costs five times as much, for every package of the closure."""
    try:
        distribution = importlib.metadata.distribution(name)
    except importlib.metadata.PackageNotFoundError:
        return None
    text = (
        distribution.read_text("METADATA") or distribution.read_text("PKG-INFO") or ""
    )
    headers = text.split("\n\n", 1)[0]
    version = re.search(r"^Version: *(\S+)", headers, re.MULTILINE)
    requires = re.findall(r"^Requires-Dist: *(.+)$", headers, re.MULTILINE)
    return (version[1] if version else distribution.version), requires


def _requirement(
    text: str, extras: frozenset[str]
) -> tuple[str, frozenset[str]] | None:
    """(name, extras) of a Requires-Dist line that applies here, else None."""
    marker = text.partition(";")[2]
    needs = re.search(r"extra\s*==\s*['\"]([^'\"]+)['\"]", marker)
    if needs and needs[1] not in extras:
        return None  # an extra nobody asked for: the common case, decided cheaply
    try:
        requirement = Requirement(text)
    except InvalidRequirement:
        return None
    if requirement.marker is not None and not any(
        requirement.marker.evaluate({"extra": extra}) for extra in {"", *extras}
    ):
        return None
    return requirement.name, frozenset(requirement.extras)


def _normalised(name: str) -> str:
    """A distribution name as PEP 503 compares them."""
    return re.sub(r"[-_.]+", "-", name).lower()
