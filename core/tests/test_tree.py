from __future__ import annotations

import pickle

import pytest

from pypet_rebuild import (
    DuplicateNameError,
    InvalidNameError,
    NodeNotFoundError,
    NotUniqueNodeError,
    Parameter,
    Trajectory,
)


@pytest.fixture
def traj() -> Trajectory:
    traj = Trajectory("tree", comment="for tree tests")
    traj.add_parameter("neuron.tau", 10.0, comment="membrane time constant")
    traj.add_parameter("neuron.v_rest", -70.0)
    traj.add_parameter("synapse.tau", 5.0)
    traj.add_parameter("n_steps", 100)
    traj.add_result("summary.mean", 1.5)
    return traj


def test_natural_naming_returns_values_and_nodes(traj: Trajectory) -> None:
    assert traj.parameters.neuron.tau == 10.0
    assert traj["neuron.v_rest"] == -70.0
    node = traj.get("neuron.tau")
    assert isinstance(node, Parameter)
    assert node.full_name == "parameters.neuron.tau"
    assert node.name == "tau" and node.branch == "parameters" and node.depth == 3
    assert node.is_leaf and not node.is_group and not node.is_root
    assert node.parent is traj.parameters.neuron and node.root is traj


def test_shortcuts_find_unique_nodes_and_reject_ambiguous_ones(traj: Trajectory) -> None:
    assert traj.n_steps == 100
    assert traj.v_rest == -70.0
    assert traj.mean == 1.5
    with pytest.raises(NotUniqueNodeError, match="parameters.neuron.tau.*parameters.synapse.tau"):
        traj.tau  # noqa: B018
    assert traj.synapse.tau == 5.0
    assert traj.parameters.neuron.tau == 10.0


def test_shallower_match_wins_over_deeper_one() -> None:
    traj = Trajectory("t")
    traj.add_parameter("x", 1)
    traj.add_parameter("deep.er.x", 2)
    assert traj.parameters.x == 1


def test_missing_nodes_raise_a_lookup_error_that_names_them(traj: Trajectory) -> None:
    with pytest.raises(NodeNotFoundError, match="nothing"):
        traj.nothing  # noqa: B018
    assert not hasattr(traj, "nothing")
    assert getattr(traj, "nothing", "default") == "default"
    assert traj.get("nothing", None) is None
    assert "neuron.tau" in traj and "nothing" not in traj
    with pytest.raises(NodeNotFoundError):
        traj["neuron.tau.deeper"]


def test_groups_comments_annotations_and_iteration(traj: Trajectory) -> None:
    group = traj.add_parameter_group("network.layers", comment="two layers")
    group.annotations["source"] = "paper"
    assert traj.get("network.layers").comment == "two layers"
    assert traj.parameters.network.layers.annotations == {"source": "paper"}
    assert traj.get("neuron.tau").comment == "membrane time constant"
    leaves = [leaf.full_name for leaf in traj.iter_leaves()]
    assert leaves == [
        "parameters.neuron.tau", "parameters.neuron.v_rest", "parameters.synapse.tau",
        "parameters.n_steps", "results.summary.mean",
    ]
    assert traj.parameters.to_dict(fast_access=True)["parameters.n_steps"] == 100
    assert set(traj.parameters.neuron.children) == {"tau", "v_rest"}
    assert [n.name for n in traj.parameters.iter_nodes(recursive=False)] == ["neuron", "synapse", "n_steps", "network"]


def test_links_resolve_to_their_target(traj: Trajectory) -> None:
    traj.results.add_link("tau_used", traj.get("neuron.tau"))
    assert traj.results.tau_used == 10.0
    assert traj.results.links == {"tau_used": "parameters.neuron.tau"}
    with pytest.raises(NodeNotFoundError):
        traj.results.add_link("broken", "parameters.missing")
    with pytest.raises(DuplicateNameError):
        traj.results.add_link("summary", "parameters.n_steps")


@pytest.mark.parametrize("name", ["1abc", "with space", "a-b", "", "class", "name", "f_get", "v_idx", "crun"])
def test_invalid_and_reserved_names_are_rejected_at_the_call(name: str) -> None:
    traj = Trajectory("t")
    with pytest.raises(InvalidNameError):
        traj.add_parameter(f"group.{name}" if name else "group.", 1)
    assert "group" not in traj.parameters.children or not traj.parameters.group.children


def test_invalid_trajectory_name() -> None:
    with pytest.raises(InvalidNameError, match="trajectory"):
        Trajectory("my trajectory")


def test_duplicate_names_are_rejected(traj: Trajectory) -> None:
    with pytest.raises(DuplicateNameError, match="n_steps"):
        traj.add_parameter("n_steps", 3)
    with pytest.raises(DuplicateNameError):
        traj.add_parameter("n_steps.below", 3)
    assert traj.n_steps == 100


def test_repr_and_html(traj: Trajectory) -> None:
    assert repr(traj) == "<Trajectory 'tree': 1 runs, nothing explored>"
    text = str(traj)
    assert "tau  10.0" in text and "neuron/" in text
    html = traj._repr_html_()
    assert "<details>" in html and "v_rest" in html
    assert "parameters.neuron.tau" in repr(traj.get("neuron.tau"))


def test_trajectory_pickles_without_its_storage(traj: Trajectory) -> None:
    clone = pickle.loads(pickle.dumps(traj))
    assert clone.parameters.neuron.tau == 10.0 and clone.storage is None
    assert clone.get("neuron.tau").root is clone


def test_remove_items_without_storage(traj: Trajectory) -> None:
    traj.remove_items("summary.mean", from_storage=False)
    assert "summary.mean" not in traj
