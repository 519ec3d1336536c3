"""Files written by the real pypet load here exactly as pypet itself loads them."""

from __future__ import annotations

import re
from pathlib import Path

import h5py
import pytest
from our_dump import our_dump

import pypet_rebuild
from pypet_rebuild.storage.records import TrajectoryInfo
from pypet_rebuild_compat._pytables import text


def _ours(path: Path, **options) -> dict:
    traj_names = [info.name for info in _infos(path)]
    return {name: our_dump(pypet_rebuild.load_trajectory(path, name, **options)) for name in traj_names}


def _infos(path: Path) -> list[TrajectoryInfo]:
    with pypet_rebuild.get_plugin_host().open_storage(path) as backend:
        return backend.list_trajectories()


def _root_links(path: Path, name: str, **options) -> dict[str, str]:
    """Links directly below the root, as the backend gives them.

    ``load_trajectory`` loads branch by branch and so drops links at the
    root (a core limitation for every backend); the reader still returns them.
    """
    with pypet_rebuild.get_plugin_host().open_storage(path, **options) as backend:
        return {r.path: r.link_target for r in backend.load_nodes(name, with_data=False) if r.kind.value == "link" and "." not in r.path}


def _without_bare_branches(nodes: dict) -> dict:
    """A trajectory here always has its four branches; pypet only those in the file."""
    bare = {"kind": "group", "comment": "", "annotations": {"dict": {}}}
    return {
        path: form for path, form in nodes.items()
        if "." in path or form != bare or any(other.startswith(path + ".") for other in nodes)
    }


def _without_run_sets(leaves: dict) -> dict:
    """pypet's ``run_set_00000`` groups (its ``$set`` wildcard) are no level of our tree:
    ``results.runs.run_set_00000.run_00000003.z`` is ``results.runs.run_00000003.z`` here."""
    return {re.sub(r"\.runs\.run_set_\d{5}\.", ".runs.", path): form for path, form in leaves.items()}


def _assert_same(ours: dict, theirs: dict, path: Path, **options) -> None:
    assert sorted(ours) == sorted(theirs)
    for name in theirs:
        mine, pypet = ours[name], theirs[name]
        mine["nodes"], pypet["nodes"] = _without_bare_branches(mine["nodes"]), _without_bare_branches(pypet["nodes"])
        pypet["run_leaves"] = _without_run_sets(pypet["run_leaves"])
        mine["links"].update(_root_links(path, name, **options))
        for key in ("comment", "timestamp", "explored", "links", "runs"):
            assert mine[key] == pypet[key], (name, key)
        for key in ("nodes", "run_leaves"):
            assert sorted(mine[key]) == sorted(pypet[key]), (name, key)
            for node_path, form in pypet[key].items():
                assert mine[key][node_path] == form, (name, node_path)


@pytest.mark.parametrize("file_name", ["kinds.hdf5", "two.hdf5"])
def test_pypet_files_load_as_pypet_loads_them(pypet_files: Path, pypet_dump, file_name: str) -> None:
    path = pypet_files / file_name
    _assert_same(_ours(path), pypet_dump(path), path)


def test_pickled_leaves_load_as_pypet_loads_them_when_allowed(pypet_files: Path, pypet_dump) -> None:
    path = pypet_files / "pickled.hdf5"
    _assert_same(_ours(path, allow_pickle=True), pypet_dump(path), path, allow_pickle=True)


def test_pypet_0_1b6_sample_file_loads_as_its_own_overview_tables_say(historic_file: Path) -> None:
    """pypet 0.6.1 itself cannot load this file (its Python 2 class names are
    bytes), so the check is against the overview tables pypet 0.1b6 wrote
    beside the data: explored ranges, each run's parameter summary, and the
    test's result (``z = x * y``)."""
    with h5py.File(historic_file, "r") as h5:
        overview = h5[next(iter(h5))]["overview"]
        ranges = {text(r["name"]): text(r["range"]) for r in overview["explored_parameters"][()] if r["length"] == 9}
        summaries = {int(r["idx"]): text(r["parameter_summary"]) for r in overview["runs"][()]}
    traj = pypet_rebuild.load_trajectory(historic_file)
    assert len(traj) == 9
    for name, stored in ranges.items():
        assert str(tuple(traj.get(f"parameters.{name}").range)) == stored
    for idx, summary in summaries.items():
        traj.idx = idx
        assert summary == f"x: {traj.x},   y: {traj.y}"
        assert traj.results.runs.get(f"run_{idx:08d}.z").get() == traj.x * traj.y
        assert traj.run_info(idx).status.value == "completed"
