"""What the client sends its workers: every persisted dataset exactly as the
client's catalog holds it, credentials by name only, or a reason it cannot."""

from pathlib import Path
from unittest import mock

import pytest
from kedro.io import (
    AbstractDataset,
    DataCatalog,
    MemoryDataset,
    SharedMemoryDataCatalog,
    Version,
)
from kedro.pipeline import Pipeline, node
from kedro_datasets.json import JSONDataset
from kedro_datasets.pandas import CSVDataset

from {{ cookiecutter.python_package }}.runner.hooks import (
    RunContext,
)
from {{ cookiecutter.python_package }}.runner.run_spec import (
    add_memory_datasets,
    classify_datasets,
    portable,
    with_credentials,
)

KEYS = {"key": "AKIA-TEST", "secret": "not-a-real-secret"}


def rebuilt(name, spec, credentials=None):
    config = with_credentials(spec.config, credentials or {})
    return AbstractDataset.from_config(
        name, config, spec.load_version, spec.save_version
    )


def test_a_dataset_made_in_code_travels_with_an_absolute_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    spec = portable(
        "cars", CSVDataset(filepath="cars.csv", save_args={"index": False}), None
    )
    assert spec.config["filepath"] == str(tmp_path / "cars.csv")
    dataset = rebuilt("cars", spec)
    assert isinstance(dataset, CSVDataset)
    assert dataset._describe()["save_args"]["index"] is False


def test_versions_a_dataset_was_made_with_travel_with_it(tmp_path):
    dataset = JSONDataset(
        filepath=str(tmp_path / "m.json"), version=Version("2020-01-01", None)
    )
    spec = portable("m", dataset, None)
    assert spec.load_version == "2020-01-01"
    assert spec.save_version == dataset.resolve_save_version()  # one for every worker
    assert rebuilt("m", spec).resolve_load_version() == "2020-01-01"


class PausedJSONDataset(JSONDataset):
    """A project's own dataset that passes its keywords on to its parent."""

    def __init__(self, *, pause: float = 0, **kwargs):
        super().__init__(**kwargs)
        self.pause = pause


def test_a_subclass_taking_keywords_travels_with_them(tmp_path):
    dataset = PausedJSONDataset(
        pause=3, filepath=str(tmp_path / "p.json"), version=Version(None, "2020-01-01")
    )
    spec = portable("p", dataset, None)
    assert "kwargs" not in spec.config and spec.config["pause"] == 3
    assert spec.config["versioned"] is True and spec.save_version == "2020-01-01"
    assert rebuilt("p", spec).pause == 3


def test_the_class_travels_as_the_path_a_worker_imports(tmp_path):
    spec = portable("m", JSONDataset(filepath=str(tmp_path / "m.json")), None)
    assert spec.config["type"] == "kedro_datasets.json.json_dataset.JSONDataset"


def test_a_class_no_worker_can_import_by_its_path_is_not_portable(tmp_path):
    class LocalJSONDataset(JSONDataset):  # its path names no importable class
        pass

    dataset = LocalJSONDataset(filepath=str(tmp_path / "l.json"))
    assert "cannot be rebuilt" in portable("l", dataset, None)


def test_a_dataset_changed_after_it_was_made_is_not_portable(tmp_path):
    dataset = JSONDataset(filepath=str(tmp_path / "a.json"))
    dataset._filepath = Path(tmp_path / "elsewhere.json")  # what a hook might do
    assert "changed after it was made" in portable("a", dataset, None)


def test_an_object_kedro_cannot_describe_is_not_portable():
    assert "cannot describe it" in portable("mocked", mock.Mock(), None)


def test_credentials_travel_as_their_configured_name():
    context = RunContext(env="dask", conf_source=None, credentials={"store": KEYS})
    dataset = CSVDataset(filepath="s3://bucket/a.csv", credentials=dict(KEYS))
    spec = portable("a", dataset, context)
    assert spec.config["credentials"] == "store"
    assert "not-a-real-secret" not in repr(spec)
    assert rebuilt("a", spec, {"store": KEYS})._protocol == "s3"


@pytest.mark.parametrize(
    ("context", "hint"),
    [
        (
            RunContext(env=None, conf_source=None, credentials={"other": {"key": "x"}}),
            "conf/<env>",
        ),
        (None, "DaskRunnerHooks"),
    ],
)
def test_credentials_only_this_process_has_are_not_portable(context, hint):
    reason = portable(
        "a", CSVDataset(filepath="s3://b/a.csv", credentials=dict(KEYS)), context
    )
    assert "credentials are not among the configured ones" in reason and hint in reason


def test_a_secret_outside_credentials_is_not_portable():
    dataset = CSVDataset(filepath="s3://b/a.csv", fs_args={"secret": "written-inline"})
    assert "secret written inline ('fs_args.secret')" in portable("a", dataset, None)


def test_a_worker_without_the_named_credentials_is_told_which():
    with pytest.raises(KeyError, match="store"):
        with_credentials({"type": "x", "credentials": "store"}, {})


def test_datasets_are_sorted_into_persisted_in_memory_and_given_values(tmp_path):
    pipeline = Pipeline([node(len, "given", "counted"), node(abs, "counted", "saved")])
    catalog = DataCatalog(
        {
            "given": MemoryDataset([1, 2, 3]),
            "saved": JSONDataset(filepath=str(tmp_path / "s.json")),
            "weird": mock.Mock(),
        }
    )
    data = classify_datasets(pipeline, catalog, None)
    assert data.feed == {"given": [1, 2, 3]}
    assert set(data.memory) == {"counted"}
    assert set(data.persisted) == {"saved"} and not data.not_portable


def test_produced_datasets_no_pattern_names_are_made_as_kedro_would():
    pipeline = Pipeline(
        [
            node(len, "given", "counted"),
            node(abs, "counted", "result"),
            node(abs, "result", "kept"),
        ]
    )
    kept = MemoryDataset(copy_mode="assign")
    ours, kedros = DataCatalog({"kept": kept}), DataCatalog({"kept": kept})
    add_memory_datasets(pipeline, ours)
    for name in pipeline.datasets():
        kedros.get(name, fallback_to_runtime_pattern=True)
    assert set(ours.keys()) == {"counted", "result", "kept"}  # no input made up
    assert ours["kept"] is kept
    for name in ours.keys():  # the same class, made with the same arguments
        assert (type(ours[name]), vars(ours[name])) == (
            type(kedros[name]),
            vars(kedros[name]),
        )


def test_what_a_pattern_or_another_runtime_pattern_makes_is_left_to_kedro(tmp_path):
    pipeline = Pipeline([node(len, "given", "counted_json")])
    factories = DataCatalog.from_config(
        {
            "{name}_json": {
                "type": "json.JSONDataset",
                "filepath": str(tmp_path / "{name}"),
            }
        }
    )
    add_memory_datasets(pipeline, factories)
    assert isinstance(factories.get("counted_json"), JSONDataset)
    shared = SharedMemoryDataCatalog()
    add_memory_datasets(pipeline, shared)
    assert not shared.keys()
