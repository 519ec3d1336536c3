"""Merging stored trajectories: pypet's rules, across backends, and crash safety."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import numpy as np
import pytest

from pypet_rebuild import (
    Environment,
    MergeError,
    Trajectory,
    cartesian_product,
    get_plugin_host,
    load_trajectory,
    merge_all_in_folder,
    merge_trajectories,
)

BACKENDS = ["memory", "hdf5", "sqlite", "mongomock"]


def _url(kind: str, tmp_path: Path, tag: str) -> str:
    scheme = {"memory": "memory", "hdf5": "hdf5", "sqlite": "sqlite", "mongomock": "mongomock"}[kind]
    if get_plugin_host().storage.for_scheme(scheme) is None:
        reason = f"the backend for {kind} is not installed"
        if os.environ.get("CI"):
            pytest.fail(reason + " (CI installs every backend)")
        pytest.skip(reason)
    return {
        "memory": f"memory://{uuid.uuid4().hex}",
        "hdf5": str(tmp_path / f"{tag}.h5"),
        "sqlite": f"sqlite:///{tmp_path / f'{tag}.db'}",
        "mongomock": f"mongomock://{uuid.uuid4().hex}",
    }[kind]


def _product(traj: Trajectory) -> None:
    traj.add_result("z", traj.x * traj.y)
    traj.add_result("trace", np.full(3, traj.x))


def _make(url: str, name: str, xs: list[float], y: float = 2.0, *, explore_y: list[float] | None = None) -> None:
    traj = Trajectory(name, comment=f"{name} comment")
    traj.add_parameter("x", 0.0)
    traj.add_parameter("y", y)
    traj.add_result("summary", text=f"made by {name}")
    traj.explore(cartesian_product({"x": xs, "y": explore_y}) if explore_y else {"x": xs})
    with Environment(traj, url, progress=False, log_to_console=False, log_folder=None) as env:
        env.run(_product)


def _column(url: str, name: str, item: str = "z") -> dict[int, float]:
    traj = load_trajectory(url, name)
    indices, values = traj.get_column(item)
    return dict(zip(indices.tolist(), values.tolist()))


@pytest.mark.parametrize("kind", BACKENDS)
def test_runs_are_appended_and_renumbered(kind: str, tmp_path: Path) -> None:
    url = _url(kind, tmp_path, "both")
    _make(url, "first", [1.0, 2.0])
    _make(url, "second", [3.0, 4.0, 5.0])
    (summary,) = merge_trajectories(url, [(url, "second")], target_name="first")
    assert (summary.merged_runs, summary.length_before, summary.length_after) == (3, 2, 5)
    merged = load_trajectory(url, "first")
    assert len(merged) == 5
    assert merged.explored_parameters["parameters.x"].range == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert _column(url, "first") == {0: 2.0, 1: 4.0, 2: 6.0, 3: 8.0, 4: 10.0}
    assert merged.is_completed()
    merged.idx = 3
    assert merged.x == 4.0
    np.testing.assert_array_equal(merged.results.runs.crun.trace, np.full(3, 4.0))
    record = merged.get(summary.record)
    assert record.merged_runs == 3 and record.other_trajectory.trajectory_name == "second"
    assert merged.metadata["merges"][-1]["source"] == "second"
    assert merged.results.summary.text == "made by first"


@pytest.mark.parametrize("kind", BACKENDS)
def test_remove_duplicates_drops_points_already_explored(kind: str, tmp_path: Path) -> None:
    url = _url(kind, tmp_path, "dup")
    _make(url, "first", [1.0, 2.0])
    _make(url, "second", [2.0, 3.0])
    (summary,) = merge_trajectories(url, [(url, "second")], target_name="first", remove_duplicates=True)
    assert summary.merged_runs == 1
    assert _column(url, "first") == {0: 2.0, 1: 4.0, 2: 6.0}


def test_differing_constant_parameter_becomes_explored(tmp_path: Path) -> None:
    url = str(tmp_path / "constant.h5")
    _make(url, "first", [1.0, 2.0], y=2.0)
    _make(url, "second", [1.0, 2.0], y=10.0)
    merge_trajectories(url, [(url, "second")], target_name="first", remove_duplicates=True)
    merged = load_trajectory(url, "first")
    assert merged.explored_parameters["parameters.y"].range == [2.0, 2.0, 10.0, 10.0]
    assert _column(url, "first") == {0: 2.0, 1: 4.0, 2: 10.0, 3: 20.0}


def test_parameter_only_explored_in_the_other_trajectory(tmp_path: Path) -> None:
    url = str(tmp_path / "grid.h5")
    _make(url, "first", [1.0])
    _make(url, "second", [1.0], explore_y=[3.0, 4.0])
    merge_trajectories(url, [(url, "second")], target_name="first")
    merged = load_trajectory(url, "first")
    assert merged.explored_parameters["parameters.y"].range == [2.0, 3.0, 4.0]
    assert merged.explored_parameters["parameters.x"].range == [1.0, 1.0, 1.0]


def test_different_parameters_are_refused_and_the_target_is_untouched(tmp_path: Path) -> None:
    url = str(tmp_path / "mismatch.h5")
    _make(url, "first", [1.0, 2.0])
    other = Trajectory("other")
    other.add_parameter("x", 0.0)
    other.add_parameter("w", 1)
    other.explore({"x": [5.0]})
    with Environment(other, url, progress=False, log_to_console=False, log_folder=None) as env:
        env.run(lambda traj: traj.add_result("z", traj.x))
    before = _column(url, "first")
    with pytest.raises(MergeError, match=r"lacks \['parameters.y'\].*only the other trajectory has \['parameters.w'\]"):
        merge_trajectories(url, [(url, "other")], target_name="first")
    assert _column(url, "first") == before and len(load_trajectory(url, "first")) == 2


def test_type_mismatch_and_empty_merges_are_errors(tmp_path: Path) -> None:
    url = str(tmp_path / "types.h5")
    _make(url, "first", [1.0, 2.0])
    other = Trajectory("ints")
    other.add_parameter("x", 0)
    other.add_parameter("y", 2.0)
    other.explore({"x": [1, 2]})
    with Environment(other, url, progress=False, log_to_console=False, log_folder=None) as env:
        env.run(lambda traj: traj.add_result("z", float(traj.x)))
    with pytest.raises(MergeError, match="'parameters.x' holds float here but int"):
        merge_trajectories(url, [(url, "ints")], target_name="first")
    _make(url, "same", [1.0, 2.0])
    with pytest.raises(MergeError, match="would add no runs"):
        merge_trajectories(url, [(url, "same")], target_name="first", remove_duplicates=True)
    with pytest.raises(MergeError, match="with itself"):
        merge_trajectories(url, [(url, "first")], target_name="first")


@pytest.mark.parametrize(("source_kind", "target_kind"), [("hdf5", "sqlite"), ("sqlite", "hdf5"), ("mongomock", "hdf5")])
def test_merge_across_backends(source_kind: str, target_kind: str, tmp_path: Path) -> None:
    source, target = _url(source_kind, tmp_path, "src"), _url(target_kind, tmp_path, "dst")
    _make(target, "main", [1.0])
    _make(source, "extra", [7.0, 8.0])
    merge_trajectories(target, [source], delete_other_trajectory=True)
    assert _column(target, "main") == {0: 2.0, 1: 14.0, 2: 16.0}
    assert [i.name for i in get_plugin_host().open_storage(source).list_trajectories()] == []


def test_trajectory_merge_method_refreshes_the_tree(tmp_path: Path) -> None:
    url = str(tmp_path / "method.h5")
    _make(url, "first", [1.0, 2.0])
    _make(str(tmp_path / "other.h5"), "second", [3.0])
    traj = load_trajectory(url, "first")
    other = load_trajectory(str(tmp_path / "other.h5"))
    summary = traj.merge(other, keep_other_trajectory_info=False)
    assert summary.merged_runs == 1 and len(traj) == 3
    assert traj.explored_parameters["parameters.x"].range == [1.0, 2.0, 3.0]
    traj.idx = 2
    assert traj.results.runs.crun.z == 6.0
    assert "other_trajectory" not in traj.get(summary.record)
    with pytest.raises(MergeError, match="not stored"):
        traj.merge(Trajectory("loose"))


def test_merge_all_in_folder_and_many_sources(tmp_path: Path) -> None:
    for k in range(4):
        _make(str(tmp_path / f"part_{k}.h5"), f"part{k}", [float(10 * k + 1), float(10 * k + 2)])
    summaries = merge_all_in_folder(tmp_path, batch_size=1)
    assert [s.merged_runs for s in summaries] == [2, 2, 2]
    assert _column(str(tmp_path / "part_0.h5"), "part0") == {
        i: 2.0 * x for i, x in enumerate([1.0, 2.0, 11.0, 12.0, 21.0, 22.0, 31.0, 32.0])
    }
    with pytest.raises(MergeError, match="need two"):
        merge_all_in_folder(tmp_path / "nothing-here")


def test_pending_runs_of_the_other_trajectory_stay_pending(tmp_path: Path) -> None:
    url = str(tmp_path / "pending.h5")
    _make(url, "first", [1.0])
    partial = Trajectory("partial")
    partial.add_parameter("x", 0.0)
    partial.add_parameter("y", 2.0)
    partial.explore({"x": [5.0, 6.0]})
    with Environment(partial, url, progress=False, log_to_console=False, log_folder=None) as env:
        env.run(lambda traj: traj.add_result("z", traj.x * traj.y) if traj.x < 6 else (_ for _ in ()).throw(OSError("x")))
    merge_trajectories(url, [(url, "partial")], target_name="first")
    merged = load_trajectory(url, "first")
    assert merged.pending_runs() == [2]
    with Environment("first", url, resume=True, progress=False, log_to_console=False, log_folder=None) as env:
        env.run(_product)
    assert _column(url, "first") == {0: 2.0, 1: 10.0, 2: 12.0}


_KILLED_MERGE = textwrap.dedent(
    """
    import os, sys
    from pypet_rebuild import get_plugin_host, merge_trajectories
    backend = get_plugin_host().open_storage(sys.argv[1])
    real = backend.store_nodes
    def die_at_commit(name, records):
        if any(r.path.startswith("config.merge") for r in records):
            os.kill(os.getpid(), 9)
        return real(name, records)
    backend.store_nodes = die_at_commit
    merge_trajectories(backend, [(sys.argv[1], "second")], target_name="first", batch_size=2)
    """
)


@pytest.mark.parametrize("kind", ["hdf5", "sqlite"])
def test_a_merge_killed_before_its_commit_leaves_the_target_as_it_was(kind: str, tmp_path: Path) -> None:
    url = _url(kind, tmp_path, "killed")
    _make(url, "first", [1.0, 2.0])
    _make(url, "second", [3.0, 4.0, 5.0])
    before = _column(url, "first")
    done = subprocess.run([sys.executable, "-c", _KILLED_MERGE, url], capture_output=True, text=True, timeout=120)
    assert done.returncode == -signal.SIGKILL, done.stderr
    after = load_trajectory(url, "first")
    assert len(after) == 2 and after.is_completed() and _column(url, "first") == before
    assert after.metadata["merge_in_progress"]["old_length"] == 2
    merge_trajectories(url, [(url, "second")], target_name="first")
    assert _column(url, "first") == {0: 2.0, 1: 4.0, 2: 6.0, 3: 8.0, 4: 10.0}
    assert load_trajectory(url, "first").metadata["merge_in_progress"] is None
