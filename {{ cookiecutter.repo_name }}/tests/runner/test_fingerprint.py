"""What code a process runs, as the client and its workers compare it."""

import importlib.metadata
import sys

from {{ cookiecutter.python_package }}.runner import (
    fingerprint as fingerprints,
)
from {{ cookiecutter.python_package }}.runner.fingerprint import (
    Fingerprint,
)


def test_the_project_and_what_it_depends_on():
    found = fingerprints.fingerprint()
    assert found.packages["kedro"] == importlib.metadata.version("kedro")
    assert found.packages["distributed"] == importlib.metadata.version("distributed")
    assert "pytest" not in found.packages  # installed, but not a dependency


def test_versions_are_those_importlib_reports():
    packages = fingerprints.fingerprint().packages
    assert len(packages) > 20  # the whole closure, not only the direct requirements
    for name, version in packages.items():
        assert version == importlib.metadata.version(name), name


def test_the_first_installation_on_sys_path_wins_as_for_imports(tmp_path, monkeypatch):
    for folder, version in (("first", "2.0"), ("second", "1.0")):
        info = tmp_path / folder / f"fake_pkg-{version}.dist-info"
        info.mkdir(parents=True)
        (info / "METADATA").write_text(f"Name: fake-pkg\nVersion: {version}\n\nText")
    monkeypatch.setattr(
        sys, "path", [str(tmp_path / "first"), str(tmp_path / "second")]
    )
    fingerprints._metadata_folders.cache_clear()
    try:
        assert fingerprints._metadata("Fake.Pkg") == ("2.0", [])
        assert importlib.metadata.version("fake-pkg") == "2.0"
    finally:
        monkeypatch.undo()
        fingerprints._metadata_folders.cache_clear()


def test_requirements_that_apply_here_and_only_those():
    found = fingerprints._requirement
    assert found("pandas[parquet,s3] >=2; python_version >= '3.8'", frozenset()) == (
        "pandas",
        frozenset({"parquet", "s3"}),
    )
    assert found("tool @ https://example.com/tool.whl", frozenset()) == (
        "tool",
        frozenset(),
    )
    assert found("pyarrow; extra == 'parquet'", frozenset()) is None
    assert found("pyarrow; extra == 'parquet'", frozenset({"parquet"}))[0] == "pyarrow"
    assert found("pywin32; sys_platform == 'win32'", frozenset()) is None
    assert found("broken; python_version >>> '3'", frozenset()) is None


def test_only_modules_python_imports_count(tmp_path, monkeypatch):
    package = tmp_path / "shipped"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "nodes.py").write_text("x = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    before = fingerprints._code_hash("shipped")
    (package / ".ipynb_checkpoints").mkdir()
    (package / ".ipynb_checkpoints" / "nodes-checkpoint.py").write_text("x = 2\n")
    (package / "sub" / ".#nodes.py").symlink_to(package / "missing")  # an editor lock
    assert fingerprints._code_hash("shipped") == before
    (package / "sub" / "nodes.py").write_text("x = 3\n")
    assert fingerprints._code_hash("shipped") != before
    sys.modules.pop("shipped", None)


def test_differences_name_what_differs():
    client = Fingerprint("a" * 64, {"kedro": "1.7.0", "numpy": "2.4.0"})
    worker = Fingerprint("b" * 64, {"kedro": "1.7.0", "numpy": "2.3.0"})
    assert client.differences(worker) == [
        "the project's code differs (here aaaaaaaaaaaa, there bbbbbbbbbbbb)",
        "numpy 2.4.0 here, 2.3.0 there",
    ]
    assert client.digest != worker.digest and client.differences(client) == []


def test_a_project_run_from_its_folder_compares_like_an_installed_one(monkeypatch):
    """A client may run the project from its source folder (not pip-installed)
    while workers run the installed image: the same requirements, from pyproject."""
    package = fingerprints.PROJECT_PACKAGE
    installed = fingerprints._dependency_versions(package)
    real = fingerprints._metadata
    monkeypatch.setattr(
        fingerprints, "_metadata", lambda n: None if n == package else real(n)
    )
    assert fingerprints._dependency_versions(package) == installed
