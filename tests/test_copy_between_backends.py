"""Copying a trajectory with every value type through every pair of backends."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import uuid
from pathlib import Path

import numpy as np
import pytest

from pypet_rebuild import Environment, Trajectory, get_plugin_host, load_trajectory
from pypet_rebuild.transfer import copy_trajectory
from pypet_rebuild.values import sample_result_values, sample_values, values_equal

BACKENDS = ["memory", "hdf5", "sqlite", "mongomock"]


def _available(kind: str) -> bool:
    host = get_plugin_host()
    scheme = {"memory": "memory", "hdf5": "hdf5", "sqlite": "sqlite", "mongomock": "mongomock"}[kind]
    return host.storage.for_scheme(scheme) is not None


def _url(kind: str, tmp_path: Path, tag: str) -> str:
    if not _available(kind):
        reason = f"the backend for {kind} is not installed or failed to load"
        if os.environ.get("CI"):
            pytest.fail(reason + " (CI installs every backend, so this is a failure)")
        pytest.skip(reason)
    return {
        "memory": f"memory://{uuid.uuid4().hex}",
        "hdf5": str(tmp_path / f"{tag}.h5"),
        "sqlite": f"sqlite:///{tmp_path / f'{tag}.db'}",
        "mongomock": f"mongomock://{uuid.uuid4().hex}",
    }[kind]


SAMPLES = sample_result_values()


def _job(traj: Trajectory) -> None:
    traj.add_result("z", traj.x * 2.0)
    traj.add_result("vector", np.arange(3) * traj.x)
    if traj.idx == 0:
        traj.add_result("everything", **SAMPLES)


def _source(url: str) -> None:
    traj = Trajectory("copied", comment="every value type")
    traj.add_parameter("x", 1.0)
    for key, value in sample_values().items():
        traj.add_parameter(f"samples.{key}", value)
    traj.add_result("outside", **SAMPLES)
    traj.explore({"x": [1.0, 2.0, 3.0]})
    with Environment(traj, url, progress=False, log_to_console=False) as env:
        env.run(_job)


def _assert_same(source: Trajectory, copy: Trajectory) -> None:
    assert copy.name == source.name and len(copy) == len(source) and copy.comment == source.comment
    for key, value in sample_values().items():
        assert values_equal(copy.get(f"samples.{key}").value, value), key
    for key, value in SAMPLES.items():
        assert values_equal(copy.results.outside[key], value), key
        assert values_equal(copy.results.runs.run_00000000.everything[key], value), key
    assert copy.get_column("z")[1].tolist() == [2.0, 4.0, 6.0]
    assert [r.status for r in copy.run_infos] == [r.status for r in source.run_infos]


@pytest.mark.parametrize(("src_kind", "dst_kind"), list(itertools.permutations(BACKENDS, 2)))
def test_copy_preserves_everything(tmp_path: Path, src_kind: str, dst_kind: str) -> None:
    src, dst = _url(src_kind, tmp_path, "src"), _url(dst_kind, tmp_path, "dst")
    _source(src)
    copy_trajectory(src, dst)
    _assert_same(load_trajectory(src), load_trajectory(dst))


def test_copy_command_line(tmp_path: Path) -> None:
    src, dst = _url("hdf5", tmp_path, "src"), _url("sqlite", tmp_path, "dst")
    _source(src)
    result = subprocess.run(
        [sys.executable, "-m", "pypet_rebuild", "copy", src, dst, "--new-name", "renamed"],
        capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stderr
    assert load_trajectory(dst).name == "renamed"
    assert load_trajectory(dst).get_column("z")[1].tolist() == [2.0, 4.0, 6.0]


