"""Reading pickled results is the reader's choice, on every reading path.

Harmless pickles (sets) stand in for hostile ones here; the conformance
suite in ``pypet_rebuild.testing.untrusted`` plants live ones in real stores.
"""

from __future__ import annotations

import uuid

import pytest

from pypet_rebuild import Environment, Trajectory, UnsafeValueError, load_trajectory
from pypet_rebuild.transfer import copy_trajectory
from pypet_rebuild.values import PickledValue


def _job(traj: Trajectory) -> None:
    traj.add_result("s", {traj.x}, allow_pickle=True)
    traj.add_result("z", float(traj.x))


@pytest.fixture
def url() -> str:
    """A named memory store holding trajectory ``t`` with pickled results in and outside runs."""
    url = f"memory://{uuid.uuid4().hex}"
    traj = Trajectory("t")
    traj.add_parameter("x", 1)
    traj.explore({"x": [1, 2, 3]})
    traj.add_result("outside", bag={"a", "b"}, plain=3, allow_pickle=True)
    env = Environment(traj, url, log_to_console=False, progress=False)
    env.run(_job)
    env.close()
    return url


def test_touching_a_pickled_item_is_refused_with_the_fix(url: str) -> None:
    traj = load_trajectory(url)
    assert traj.results.outside.plain == 3  # plain items of the same result still load
    with pytest.raises(UnsafeValueError, match=r"(?s)'bag'.*pickled.*runs code.*allow_pickle=True"):
        traj.results.outside.bag
    assert isinstance(traj.results.outside.items()["bag"], PickledValue)
    with pytest.raises(UnsafeValueError):
        traj.results.runs.run_00000001.s


def test_allow_pickle_on_load_trajectory(url: str) -> None:
    traj = load_trajectory(url, allow_pickle=True)
    assert traj.results.outside.bag == {"a", "b"}
    assert traj.results.runs.run_00000001.s == {2}
    assert traj.get_from_runs("s") == {f"run_{i:08d}": {i + 1} for i in range(3)}


def test_setting_allow_pickle_after_loading(url: str) -> None:
    traj = load_trajectory(url)
    traj.allow_pickle = True
    assert traj.results.outside.bag == {"a", "b"}


def test_load_items_decodes_the_items_it_names(url: str) -> None:
    traj = load_trajectory(url)
    traj.load_items("results.outside", allow_pickle=True)
    assert traj.results.outside.bag == {"a", "b"}
    assert not traj.allow_pickle


def test_columns_across_runs(url: str) -> None:
    traj = load_trajectory(url)
    assert traj.get_from_runs("z") == {f"run_{i:08d}": float(i + 1) for i in range(3)}
    with pytest.raises(UnsafeValueError, match="results.s"):
        traj.get_from_runs("s")
    with pytest.raises(UnsafeValueError, match="results.s"):
        traj.get_column("s")
    assert list(traj.get_from_runs("s", allow_pickle=True).values()) == [{1}, {2}, {3}]
    indices, values = traj.get_column("s", allow_pickle=True)
    assert list(indices) == [0, 1, 2] and list(values) == [{1}, {2}, {3}]


def test_resume_passes_the_permission_on(url: str) -> None:
    env = Environment("t", url, resume=True, allow_pickle=True, log_to_console=False, progress=False)
    env.trajectory.load_items("results.outside")
    assert env.trajectory.results.outside.bag == {"a", "b"}
    env.close()
    env = Environment("t", url, resume=True, log_to_console=False, progress=False)
    env.trajectory.load_items("results.outside")
    with pytest.raises(UnsafeValueError):
        env.trajectory.results.outside.bag
    env.close()


def test_copy_moves_the_bytes_without_unpickling(url: str) -> None:
    target = f"memory://{uuid.uuid4().hex}"
    copy_trajectory(url, target)
    with pytest.raises(UnsafeValueError):
        load_trajectory(target).results.outside.bag
    copied = load_trajectory(target, allow_pickle=True)
    assert copied.results.outside.bag == {"a", "b"}
    assert copied.get_from_runs("s") == {f"run_{i:08d}": {i + 1} for i in range(3)}


def test_a_loaded_placeholder_is_stored_back_unchanged(url: str) -> None:
    traj = load_trajectory(url)
    traj.add_result("extra", 1.0)
    traj.store()
    assert load_trajectory(url, allow_pickle=True).results.outside.bag == {"a", "b"}


def test_a_placeholder_cannot_go_into_a_parameter_or_annotation(url: str) -> None:
    traj = load_trajectory(url)
    placeholder = traj.results.outside.items()["bag"]
    with pytest.raises(UnsafeValueError, match="never in metadata, annotations or parameters"):
        traj.add_derived_parameter("p", placeholder)
    traj.results.outside.annotations["a"] = placeholder
    with pytest.raises(UnsafeValueError):
        traj.store()
    assert not load_trajectory(url).results.outside.annotations
