"""The runner's settings: one merge, one address rule, one check naming the key."""

import signal

import pytest
from distributed import LocalCluster

from {{ cookiecutter.python_package }}.runner.errors import (
    DaskSettingsError,
)
from {{ cookiecutter.python_package }}.runner.settings import (
    ADDRESS_ENV_VAR,
    DaskSettings,
    check,
    cluster_keywords,
    import_cluster_class,
    merge,
    resolve,
)

CONFIGURED = {
    "address": None,
    "cluster_kwargs": {"n_workers": 2, "threads_per_worker": 1},
    "tag_options": {"gpu": {"resources": {"GPU": 1}}},
}


def test_overrides_update_blocks_key_by_key():
    merged = merge(CONFIGURED, {"cluster_kwargs": {"n_workers": 4}})
    assert merged["cluster_kwargs"] == {"n_workers": 4, "threads_per_worker": 1}
    assert CONFIGURED["cluster_kwargs"]["n_workers"] == 2  # not changed in place


@pytest.mark.parametrize(
    ("configured", "overrides", "given", "environment", "expected"),
    [
        ("tcp://conf:8786", {}, False, None, "tcp://conf:8786"),
        ("tcp://conf:8786", {}, False, "tcp://env:8786", "tcp://env:8786"),
        (
            "tcp://conf:8786",
            {"address": "tcp://arg:8786"},
            False,
            "tcp://env:8786",
            "tcp://arg:8786",
        ),
        # --params dask_client.address=tcp://param:8786 is in the configured block
        ("tcp://param:8786", {}, True, "tcp://env:8786", "tcp://param:8786"),
        # empty, given for the run: start a cluster, whatever the environment says
        ("", {}, True, "tcp://env:8786", None),
        ("tcp://conf:8786", {"address": ""}, False, "tcp://env:8786", None),
    ],
)
def test_address_precedence(
    monkeypatch, configured, overrides, given, environment, expected
):
    if environment:
        monkeypatch.setenv(ADDRESS_ENV_VAR, environment)
    else:
        monkeypatch.delenv(ADDRESS_ENV_VAR, raising=False)
    assert resolve({"address": configured}, overrides, given).address == expected


def test_defaults_and_a_full_block():
    assert check({}) == DaskSettings()
    settings = check(
        {**CONFIGURED, "node_timeout": 30, "fuse": False, "adapt": {"maximum": 4}}
    )
    assert settings.cluster_kwargs == {"n_workers": 2, "threads_per_worker": 1}
    assert settings.node_timeout == 30.0 and settings.fuse is False


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ({"adress": "tcp://x:1"}, "dask_client.adress"),
        ({"address": "nowhere"}, "dask_client.address"),
        ({"address": "tls://x:8786"}, "dask_client.security"),
        ({"timeout": 0}, "dask_client.timeout"),
        ({"worker_wait": "soon"}, "dask_client.worker_wait"),
        ({"version_check": "maybe"}, "dask_client.version_check"),
        ({"fuse": "yes"}, "dask_client.fuse"),
        ({"adapt": {"minimum": 3, "maximum": 2}}, "dask_client.adapt.maximum"),
        ({"adapt": {"most": 2}}, "dask_client.adapt.most"),
        ({"cluster_kwargs": {"n_workers": -1}}, "dask_client.cluster_kwargs.n_workers"),
        ({"cluster_kwargs": {"n_worker": 3}}, "dask_client.cluster_kwargs.n_worker"),
        ({"cluster_class": "no.such.Cluster"}, "dask_client.cluster_class"),
        (
            {"security": {"tls_ca_file": "/no/such/ca.pem"}},
            "dask_client.security.tls_ca_file",
        ),
        ({"security": {"tls_cert": "x"}}, "dask_client.security.tls_cert"),
        (
            {"tag_options": {"gpu": {"retries": -1}}},
            "dask_client.tag_options.gpu.retries",
        ),
        ({"tag_options": {"gpu": {"gpus": 1}}}, "dask_client.tag_options.gpu.gpus"),
        (
            {"tag_options": {"gpu": {"resources": {"GPU": 0}}}},
            "dask_client.tag_options.gpu.resources",
        ),
    ],
)
def test_bad_settings_name_their_key(raw, key):
    with pytest.raises(DaskSettingsError) as error:
        check(raw)
    assert str(error.value).startswith(f"{key}:"), error.value


def test_a_misspelt_cluster_keyword_gets_a_suggestion():
    with pytest.raises(DaskSettingsError, match="Did you mean 'n_workers'"):
        check({"cluster_kwargs": {"n_worker": 3}})


def test_local_cluster_keywords_include_what_it_hands_its_workers():
    accepted = cluster_keywords(LocalCluster)
    assert {"n_workers", "threads_per_worker", "memory_limit", "resources"} <= accepted


def test_nothing_to_start_needs_no_cluster_class():
    assert check({"address": "tcp://x:8786", "cluster_class": "not.installed.Cluster"})


def test_importing_a_cluster_class_keeps_the_ctrl_c_handler(tmp_path, monkeypatch):
    """dask_jobqueue 0.9 replaces the SIGINT handler when imported (Ctrl-C then exits
    with status 0): the runner puts the previous one back."""
    (tmp_path / "grabs_sigint.py").write_text(
        "import signal, sys\n"
        "signal.signal(signal.SIGINT, lambda *_: sys.exit())\n"
        "class Cluster:\n    pass\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    before = signal.getsignal(signal.SIGINT)
    assert import_cluster_class("grabs_sigint.Cluster").__name__ == "Cluster"
    assert signal.getsignal(signal.SIGINT) is before
