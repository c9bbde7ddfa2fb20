"""How nodes become Dask tasks: chains fuse, tag options annotate, data flows
only where a node reads it."""

from kedro.pipeline import Pipeline, node

from {{ cookiecutter.python_package }}.runner.fusion import (
    fuse_chains,
)
from {{ cookiecutter.python_package }}.runner.graph import (
    build_graph,
    task_options,
)
from {{ cookiecutter.python_package }}.runner.run_spec import (
    RunSpec,
)


def identity(x):
    return x


def add(x, y):
    return x + y


# a -> b -> c, then c feeds two branches that join again
DIAMOND = Pipeline(
    [
        node(identity, "a", "b", name="first"),
        node(identity, "b", "c", name="second"),
        node(identity, "c", "d", name="left", tags=["gpu"]),
        node(identity, "c", "e", name="right"),
        node(add, ["d", "e"], "f", name="join"),
    ]
)


def spec(memory):
    return RunSpec(
        token="t0ken", run_id=None, package_name=None, hooks=False, is_async=False,
        client_pid=0, env=None, conf_source=None, persisted={},
        memory=dict.fromkeys(memory), fingerprint="x", version_check="error",
    )  # fmt: skip


def graph_of(pipeline, memory, feed):
    """The graph with the datasets ``memory`` in memory, the rest persisted."""
    return build_graph(
        pipeline,
        spec=spec(memory),
        feed=feed,
        tag_options={},
        node_timeout=None,
        fuse=True,
    )


def diamond_graph(memory):
    return graph_of(DIAMOND, memory, feed={"a": 1})


def names(groups):
    return [[n.name for n in group] for group in groups]


def test_only_single_links_fuse():
    assert names(fuse_chains(DIAMOND, lambda n: "same")) == [
        ["first", "second"],
        ["left"],
        ["right"],
        ["join"],
    ]


def test_nodes_with_other_options_do_not_fuse():
    assert names(fuse_chains(DIAMOND, lambda n: n.name)) == [
        ["first"], ["second"], ["left"], ["right"], ["join"],
    ]  # fmt: skip
    assert len(fuse_chains(DIAMOND, lambda n: None)) == 5


def test_tag_options_become_annotations_and_the_smallest_time_limit():
    left = next(n for n in DIAMOND.nodes if n.name == "left")
    options = task_options(
        left,
        {"gpu": {"resources": {"GPU": 1}, "retries": 2, "timeout": 5}},
        node_timeout=60,
    )
    assert options.annotations == {"resources": {"GPU": 1}, "retries": 2}
    assert options.timeout == 5


def test_the_graph_has_a_task_per_group_and_names_free_outputs():
    graph = diamond_graph(memory="bcdef")
    assert [key[1] for key in graph.groups] == [
        "first..second",
        "left",
        "right",
        "join",
    ]
    assert set(graph.free_outputs) == {"f"}
    layers = graph.graph.layers
    assert all(not deps for deps in graph.graph.dependencies.values())
    assert len({id(deps) for deps in graph.graph.dependencies.values()}) == len(layers)
    # One Dask task group per run (key[0]): the scheduler keeps a record per group.
    assert all(key[0] == "kedro-t0ken" for layer in layers.values() for key in layer)


def test_a_run_of_independent_nodes_has_a_task_group_per_node():
    """Else Dask would take them for root tasks and queue them (test_local_cluster)."""
    pipeline = Pipeline([node(identity, "x", f"y{i}", name=f"n{i}") for i in range(3)])
    graph = graph_of(pipeline, memory=[f"y{i}" for i in range(3)], feed={"x": 1})
    assert [key[0] for key in graph.groups] == ["n0", "n1", "n2"]


def test_a_node_whose_inputs_are_all_in_storage_may_run_on_any_worker():
    """Persisted d and e: 'join' only waits for its parents, so Dask may place it
    on any worker; 'left' takes c in memory, so it goes where c is."""
    graph = diamond_graph(memory="bcf")
    everything = {
        k: task for layer in graph.graph.layers.values() for k, task in layer.items()
    }
    tasks = {key[1]: everything[key] for key in graph.groups}
    assert tasks["join"].data_producer
    assert not tasks["left"].data_producer and not tasks["right"].data_producer
    assert not tasks["first..second"].data_producer  # no parent: Dask spreads those


def test_a_chain_labelled_like_a_node_keeps_a_key_of_its_own():
    """A fused chain a..b beside a node named "a..b": two tasks, two keys."""
    pipeline = Pipeline(
        [
            node(identity, "x", "m", name="a"),
            node(identity, "m", "y", name="b"),
            node(identity, "x", "z", name="a..b"),
        ]
    )
    graph = graph_of(pipeline, "myz", feed={"x": 1})
    assert sorted(len(nodes) for nodes in graph.groups.values()) == [1, 2]
