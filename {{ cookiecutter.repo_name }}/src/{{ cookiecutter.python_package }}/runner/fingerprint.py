"""What code a process runs: a hash of the project's package and the versions of
its locked requirements. The client compares its own with every worker's, so that
a worker running an older image is noticed before it runs old code."""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

# A pinned line of a pip-compile lock: "name==version".
_PINNED = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==", re.MULTILINE)


@dataclass(frozen=True)
class Fingerprint:
    code: str  # sha256 of the package's files
    packages: dict[str, str | None] = field(default_factory=dict)  # name -> version

    @property
    def digest(self) -> str:
        """One hash of it all: what each task carries (the whole is for the checks
        before a run)."""
        text = repr((self.code, sorted(self.packages.items())))
        return hashlib.sha256(text.encode()).hexdigest()

    def differences(self, other: Fingerprint) -> list[str]:
        """What ``other`` (a worker's) runs differently from this (the client's)."""
        found = []
        if other.code != self.code:
            found.append(
                f"the project's code differs (here {self.code[:12]}, there {other.code[:12]})"
            )
        for name, version in sorted(self.packages.items()):
            theirs = other.packages.get(name)
            if theirs != version:
                found.append(
                    f"{name} {version or 'missing'} here, {theirs or 'missing'} there"
                )
        return found


def locked_packages(project_path: Path) -> tuple[str, ...]:
    """The package names pinned in the project's lock, if it has one."""
    lock = project_path / "requirements.txt"
    return (
        tuple(sorted(set(_PINNED.findall(lock.read_text())))) if lock.is_file() else ()
    )


@cache
def fingerprint(package_name: str | None, packages: tuple[str, ...]) -> Fingerprint:
    """This process's fingerprint; computed once per process."""
    installed = _installed_versions()
    versions = {name: installed.get(_normalised(name)) for name in packages}
    return Fingerprint(_code_hash(package_name), versions)


def _code_hash(package_name: str | None) -> str:
    digest = hashlib.sha256()
    spec = importlib.util.find_spec(package_name) if package_name else None
    locations = list(spec.submodule_search_locations or []) if spec else []
    for root in map(Path, locations):
        # Python files only: an editable checkout and an installed wheel of the same
        # code hash alike.
        for path in sorted(root.rglob("*.py")):
            if "__pycache__" not in path.parts:
                digest.update(path.relative_to(root).as_posix().encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()


def _installed_versions() -> dict[str, str]:
    """Every installed distribution's version, in one pass over the environment
    (one ``importlib.metadata.version`` call per package scans it every time)."""
    return {
        _normalised(dist.metadata["Name"]): dist.version
        for dist in importlib.metadata.distributions()
        if dist.metadata["Name"]
    }


def _normalised(name: str) -> str:
    """A distribution name as PEP 503 compares them."""
    return re.sub(r"[-_.]+", "-", name).lower()
