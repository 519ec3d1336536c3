from __future__ import annotations

import numpy as np
import pytest

from pypet_rebuild import ExplorationError, ParameterLockedError, PypetRebuildError, Trajectory, cartesian_product


@pytest.fixture
def traj() -> Trajectory:
    traj = Trajectory("explore")
    traj.add_parameter("x", 1)
    traj.add_parameter("y", 1.0)
    traj.add_parameter("label", "a")
    return traj


def test_cartesian_product_varies_the_last_fastest() -> None:
    space = cartesian_product({"x": [1, 2], "y": [10.0, 20.0, 30.0]})
    assert space == {"x": [1, 1, 1, 2, 2, 2], "y": [10.0, 20.0, 30.0] * 2}
    ordered = cartesian_product({"x": [1, 2], "y": [10.0, 20.0]}, ["y", "x"])
    assert ordered == {"x": [1, 2, 1, 2], "y": [10.0, 10.0, 20.0, 20.0]}


def test_cartesian_product_with_combined_parameters() -> None:
    space = cartesian_product({"x": [1, 2], "y": [3.0, 4.0], "label": ["a", "b", "c"]}, [("x", "y"), "label"])
    assert space["x"] == [1, 1, 1, 2, 2, 2]
    assert space["y"] == [3.0, 3.0, 3.0, 4.0, 4.0, 4.0]
    assert space["label"] == ["a", "b", "c"] * 2
    with pytest.raises(ExplorationError, match="exactly once"):
        cartesian_product({"x": [1], "y": [2]}, ["x"])
    with pytest.raises(ExplorationError, match="same length"):
        cartesian_product({"x": [1, 2], "y": [2.0]}, [("x", "y")])


def test_explore_zips_equal_length_lists_and_sets_the_run_count(traj: Trajectory) -> None:
    traj.explore({"x": [1, 2, 3], "y": [0.1, 0.2, 0.3]})
    assert len(traj) == 3
    assert sorted(traj.explored_parameters) == ["parameters.x", "parameters.y"]
    assert [(traj.x, traj.y) for _ in traj.iter_runs()] == [(1, 0.1), (2, 0.2), (3, 0.3)]
    assert traj.idx == -1 and traj.x == 1 and traj.crun == "run_ALL"
    traj.idx = 2
    assert traj.x == 3 and traj.crun == "run_00000002"
    traj.idx = -1
    with pytest.raises(IndexError, match="3 runs"):
        traj.idx = 3


def test_explore_errors_leave_the_trajectory_unchanged(traj: Trajectory) -> None:
    with pytest.raises(ExplorationError, match="same length"):
        traj.explore({"x": [1, 2], "y": [0.1]})
    with pytest.raises(ExplorationError, match="value #1"):
        traj.explore({"x": [1, 2.5]})
    with pytest.raises(ExplorationError, match="type int"):
        traj.explore({"x": [1.0, 2.0]})
    with pytest.raises(ExplorationError, match="not a parameter.*add_parameter"):
        traj.explore({"z": [1, 2]})
    with pytest.raises(ExplorationError, match="list of values"):
        traj.explore({"label": "abc"})
    with pytest.raises(ExplorationError, match="empty"):
        traj.explore({"x": []})
    assert len(traj) == 1 and not traj.explored_parameters
    assert not traj.get("x").is_explored


def test_cannot_explore_twice_or_add_parameters_afterwards(traj: Trajectory) -> None:
    traj.explore({"x": [1, 2]})
    with pytest.raises(ExplorationError, match="expand"):
        traj.explore({"y": [1.0, 2.0]})
    with pytest.raises(ExplorationError, match="before calling explore"):
        traj.add_parameter("late", 1)
    traj.add_derived_parameter("fine", 2)
    with pytest.raises(ParameterLockedError, match="expand"):
        traj.get("x").value = 5


def test_exploring_a_locked_parameter_is_an_error(traj: Trajectory) -> None:
    assert traj.x == 1
    with pytest.raises(ParameterLockedError, match="locked"):
        traj.explore({"x": [1, 2]})


def test_expand_appends_points(traj: Trajectory) -> None:
    traj.explore({"x": [1, 2], "y": [0.5, 0.5]})
    traj.expand({"x": [3], "y": [0.7]})
    assert len(traj) == 3 and traj.get("x").range == [1, 2, 3]
    with pytest.raises(ExplorationError, match="exactly the explored parameters"):
        traj.expand({"x": [4]})
    with pytest.raises(ExplorationError, match="type float"):
        traj.expand({"x": [4], "y": [1]})
    assert len(traj) == 3


def test_expand_on_an_unexplored_trajectory_explores(traj: Trajectory) -> None:
    traj.expand({"x": [5, 6]})
    assert len(traj) == 2


def test_find_idx_and_unique_points(traj: Trajectory) -> None:
    traj.explore(cartesian_product({"x": [1, 2, 1], "y": [0.5, 1.5]}))
    assert traj.find_idx(["x", "y"], lambda x, y: x == 2 and y > 1) == [3]
    assert traj.find_idx("x", lambda x: x == 1) == [0, 1, 4, 5]
    points = traj.find_unique_points(["x", "y"])
    assert [(values, idx) for values, idx in points] == [
        ((1, 0.5), [0, 4]), ((1, 1.5), [1, 5]), ((2, 0.5), [2]), ((2, 1.5), [3])
    ]
    assert traj.find_idx("label", lambda label: label == "a") == list(range(6))


def test_array_parameters_explore_and_find_unique_points() -> None:
    traj = Trajectory("arrays")
    traj.add_parameter("w", np.zeros(2))
    traj.explore({"w": [np.zeros(2), np.ones(2), np.zeros(2)]})
    assert [idx for _, idx in traj.find_unique_points()] == [[0, 2], [1]]


def test_parameters_cannot_be_added_during_a_run(traj: Trajectory) -> None:
    traj._run_active = True
    traj._idx = 0
    with pytest.raises(PypetRebuildError, match="during a run"):
        traj.add_parameter("late", 1)
