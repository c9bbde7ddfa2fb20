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
import os
import re
import sys
import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from packaging.markers import InvalidMarker, Marker

# The project's top-level package: the runner is part of it.
PROJECT_PACKAGE = __name__.split(".")[0]
# PEP 508: a requirement's name and [extras] (its ;marker split off before).
_NAME_AND_EXTRAS = re.compile(
    r"\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(?:\[([^\]]*)\])?"
)
_EXTRA = re.compile(r"extra\s*==\s*['\"]([^'\"]+)['\"]")
_VERSION = re.compile(r"^Version: *(\S+)", re.MULTILINE)
_REQUIRES = re.compile(r"^Requires-Dist: *(.+)$", re.MULTILINE)
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
    folder = _metadata_folders().get(_normalised(name))
    if folder is not None:
        text = _read(Path(folder, "METADATA")) or _read(Path(folder, "PKG-INFO"))
    else:  # not in a folder on sys.path (a zip, a custom finder): ask importlib
        try:
            distribution = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            return None
        text = distribution.read_text("METADATA") or distribution.read_text("PKG-INFO")
    headers = (text or "").split("\n\n", 1)[0]
    version = _VERSION.search(headers)
    if version is None:
        return None  # no version: as good as not installed
    return version[1], _REQUIRES.findall(headers)


@cache
def _metadata_folders() -> dict[str, str]:
    """The metadata folder of each distribution installed in a folder on sys.path,
    by normalised name; the first on sys.path wins, as it does for imports. One
    listing per folder, not one search of every folder per distribution."""
    found: dict[str, str] = {}
    for entry in sys.path:
        try:
            names = sorted(os.listdir(entry or "."))
        except OSError:
            continue  # a zip file, or gone
        for child in names:
            if child.endswith((".dist-info", ".egg-info")):
                # name-version.dist-info, name.egg-info, name-version-pyX.Y.egg-info
                stem = child.removesuffix(".dist-info").removesuffix(".egg-info")
                name = _normalised(stem.partition("-")[0])
                found.setdefault(name, os.path.join(entry or ".", child))
    return found


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return None


def _requirement(
    text: str, extras: frozenset[str]
) -> tuple[str, frozenset[str]] | None:
    """(name, extras) of a Requires-Dist line that applies here, else None."""
    requirement, _, marker = text.partition(";")
    marker = marker.strip()
    needs = _EXTRA.search(marker) if marker else None
    if needs and needs[1] not in extras:
        return None  # an extra nobody asked for: the common case, decided cheaply
    found = _NAME_AND_EXTRAS.match(requirement)
    if found is None or (marker and not _marker_holds(marker, extras)):
        return None
    wanted = (found[2] or "").split(",")
    return found[1], frozenset(e.strip() for e in wanted if e.strip())


@cache
def _marker_holds(marker: str, extras: frozenset[str]) -> bool:
    """Whether a requirement's environment marker holds here, for any of ``extras``
    or none (parsed once per marker: many requirements share theirs)."""
    try:
        parsed = Marker(marker)
    except InvalidMarker:
        return False
    return any(parsed.evaluate({"extra": extra}) for extra in {"", *extras})


def _normalised(name: str) -> str:
    """A distribution name as PEP 503 compares them."""
    return re.sub(r"[-_.]+", "-", name).lower()
