"""A scheduler that only speaks TLS, with certificates made here by `openssl`."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.support import copy_project, kedro, require, run


def make_certificates(folder: Path) -> dict[str, str]:
    """A throwaway CA and one certificate for 127.0.0.1 (scheduler, worker, client)."""
    openssl = shutil.which("openssl")
    require(openssl is not None, "the openssl command is needed to make test certificates")
    days = ["-days", "2"]
    ca = ["-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial"]
    (folder / "ext.cnf").write_text(
        "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n"
    )
    for args in (
        ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
         *days, "-subj", "/CN=test-ca"],
        ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "node.key", "-out", "node.csr",
         "-subj", "/CN=127.0.0.1"],
        ["x509", "-req", "-in", "node.csr", *ca, "-out", "node.pem", *days,
         "-extfile", "ext.cnf"],
    ):  # fmt: skip
        run([openssl, *args], cwd=folder)
    cert, key = str(folder / "node.pem"), str(folder / "node.key")
    return {
        "ca": str(folder / "ca.pem"),
        **{f"{role}_cert": cert for role in ("scheduler", "worker", "client")},
        **{f"{role}_key": key for role in ("scheduler", "worker", "client")},
    }


@pytest.fixture(scope="module")
def tls_cluster(installed_project, cluster_factory, tmp_path_factory):
    project, python = installed_project
    tls = make_certificates(tmp_path_factory.mktemp("certs"))
    cluster = cluster_factory(python, project, workers=[[]], tls=tls)
    assert cluster.address.startswith("tls://")
    return cluster, tls


def test_runs_on_a_tls_only_scheduler(installed_project, tls_cluster, tmp_path):
    project, python = installed_project
    cluster, tls = tls_cluster
    copy = copy_project(project, tmp_path / project.name)
    security = ",".join(
        [
            f"dask_client.address={cluster.address}",
            f"dask_client.security.tls_ca_file={tls['ca']}",
            f"dask_client.security.tls_client_cert={tls['client_cert']}",
            f"dask_client.security.tls_client_key={tls['client_key']}",
            "dask_client.security.require_encryption=true",
        ]
    )
    result = kedro(copy, python, "run", "--env", "dask", "--params", security)
    assert f"Connected to Dask scheduler {cluster.address}" in result.stdout + result.stderr
    assert (copy / "data/08_reporting/best_model.json").exists()


def test_tls_scheduler_refuses_a_client_without_certificates(installed_project, tls_cluster):
    project, python = installed_project
    cluster, _ = tls_cluster
    result = kedro(
        project,
        python,
        "run",
        "--env", "dask",
        "--params", f"dask_client.address={cluster.address},dask_client.timeout=3",
        check=False,
        timeout=60,
    )  # fmt: skip
    assert result.returncode != 0
    # Refused before any connection attempt, naming the setting to fill in.
    assert (
        f"dask_client.security: the address {cluster.address} uses TLS"
        in result.stdout + result.stderr
    )
