"""A brand-new HDF5 store whose first writer is killed before its first commit.

The child process SIGKILLs itself at the n-th write HDF5 makes (a named
crash point, see ``pypet_rebuild._crash_points``), so every early window
is hit deterministically. What is left must read as an empty store and be
started anew by the next writer, with a warning; never a file that only
deleting by hand can fix.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import pytest

from pypet_rebuild._crash_points import CRASH_VARIABLE
from pypet_rebuild.environment import Environment
from pypet_rebuild.errors import StorageWarning
from pypet_rebuild.trajectory import Trajectory
from pypet_rebuild_hdf5 import open_hdf5

_CHILD = textwrap.dedent("""
    import sys
    from pypet_rebuild.environment import Environment
    from pypet_rebuild.trajectory import Trajectory

    traj = Trajectory("t")
    traj.add_parameter("x", 0.0)
    traj.explore({"x": [1.0, 2.0, 3.0]})
    with Environment(traj, sys.argv[1], log_to_console=False, progress=False) as env:
        env.run(lambda t: t.x * 2)
""")


def _killed_at(path: Path, point: str) -> None:
    environment = {**os.environ, CRASH_VARIABLE: point}
    done = subprocess.run([sys.executable, "-c", _CHILD, str(path)], env=environment, capture_output=True, timeout=120)
    assert done.returncode == -signal.SIGKILL, done.stderr.decode()[-2000:]


@pytest.mark.parametrize("point", ["hdf5.write:1", "hdf5.write:2", "hdf5.write:3", "hdf5.write:5", "hdf5.commit:1"])
def test_a_new_file_killed_before_its_first_commit_reads_empty_and_is_started_anew(
    tmp_path: Path, point: str
) -> None:
    path = tmp_path / "new.h5"
    _killed_at(path, point)
    with open_hdf5(str(path)) as backend:
        assert backend.list_trajectories() == []
    traj = Trajectory("t")
    traj.add_parameter("x", 0.0)
    traj.explore({"x": [1.0, 2.0]})
    leftover = path.stat().st_size
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        with Environment(traj, str(path), log_to_console=False, progress=False) as env:
            results = env.run(lambda t: t.x * 2)
    assert results == [(0, 2.0), (1, 4.0)]
    started_anew = [w for w in seen if issubclass(w.category, StorageWarning) and "first commit" in str(w.message)]
    assert bool(started_anew) == (leftover > 0)
    with open_hdf5(str(path)) as backend:
        assert [info.name for info in backend.list_trajectories()] == ["t"]
