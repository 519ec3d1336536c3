"""Kill a writing process at random moments; nothing it reported stored may be lost.

A forked child runs an exploration through ``Environment`` into one HDF5
file and reports every run as soon as ``store_runs`` returned for it. The
parent kills it with SIGKILL at a random moment (mostly after its first
stored batch, so during or between writes; sometimes while it starts or
resumes), then opens the file, checks every reported run is there with its
values, and starts the next child, which resumes. At the end ``resume``
must execute exactly the runs that are still missing.
"""

from __future__ import annotations

import os
import random
import select
import signal
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from pypet_rebuild.environment import Environment
from pypet_rebuild.plugins import get_plugin_host
from pypet_rebuild.storage.records import RunStatus
from pypet_rebuild.trajectory import Trajectory
from pypet_rebuild_hdf5 import HDF5Backend, open_hdf5

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")

NAME = "crashy"
RUNS = 20000  # children sleep 1 ms per run and live < 0.3 s after their first batch: never all
ITERATIONS = 40
_pace = {"seconds": 0.0}  # children run slower, so that they are killed before the end


def _job(traj: Trajectory) -> float:
    time.sleep(_pace["seconds"])
    idx = traj.idx
    traj.add_result("z", traj.x * 2.0)
    traj.add_result("vec", np.arange(5, dtype=np.float64) * traj.x)
    traj.add_result("noise", np.random.default_rng(idx).random(500))
    if idx % 7 == 0:
        traj.add_result("text", f"run {idx}")
    return traj.x * 2.0


def _exploration() -> Trajectory:
    traj = Trajectory(NAME)
    traj.add_parameter("x", 0.0)
    traj.explore({"x": [float(i) for i in range(RUNS)]})
    return traj


def _has_exploration(path: Path) -> bool:
    with open_hdf5(str(path)) as backend:
        if NAME not in [info.name for info in backend.list_trajectories()]:
            return False
        return bool(backend.load_nodes(NAME, prefix="parameters.x", with_data=False))


def _child(path: Path, seed: int, report_fd: int) -> None:
    """Runs in the forked process: resume (or start) and report every stored run."""
    rng = random.Random(seed)
    _pace["seconds"] = 0.001
    report = os.fdopen(report_fd, "w", buffering=1)
    store_runs = HDF5Backend.store_runs

    def reporting(self: HDF5Backend, name: str, runs: list) -> None:  # type: ignore[type-arg]
        store_runs(self, name, runs)
        report.write("".join(f"stored {run.idx}\n" for run in runs))

    HDF5Backend.store_runs = reporting  # type: ignore[method-assign]
    options = {"storage_options": {"durability": rng.choice(["fsync", "process"])},
               "batch_size": rng.randint(1, 30), "log_to_console": False, "progress": False}
    if _has_exploration(path):
        env = Environment(NAME, str(path), resume=True, **options)
    else:
        env = Environment(_exploration(), str(path), overwrite=True, **options)
    with env:
        env.run(_job)


def _run_child(path: Path, seed: int, delay: float, *, after_first_store: bool) -> tuple[set[int], bool]:
    """Fork a child and kill it ``delay`` s after its start or after its first stored batch.

    Returns the runs it reported stored and whether it had reported any when killed.
    """
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child never returns into pytest
        code = 1
        try:
            os.close(read_fd)
            _child(path, seed, write_fd)
            code = 0
        finally:
            os._exit(code)
    os.close(write_fd)
    received = b""
    if after_first_store:  # wait (at most 60 s) for the first report, then a random moment
        while b"\n" not in received and select.select([read_fd], [], [], 60)[0]:
            chunk = os.read(read_fd, 65536)
            if not chunk:
                break
            received += chunk
    time.sleep(delay)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    with os.fdopen(read_fd, "rb") as reports:
        lines = (received + reports.read()).decode().splitlines()
    stored = {int(line.split()[1]) for line in lines if line.startswith("stored ") and line[7:].isdigit()}
    return stored, bool(received)


def _check_stored(path: Path, reported: set[int]) -> set[int]:
    """Every reported run is completed with exactly its values; returns the completed runs."""
    with open_hdf5(str(path)) as backend:
        infos = backend.load_run_infos(NAME)
        completed = {info.idx for info in infos if info.status is RunStatus.COMPLETED}
        assert reported <= completed, f"runs reported stored but missing: {sorted(reported - completed)[:10]}"
        indices, z = backend.load_column_array(NAME, "results.z", "z")
        assert set(indices.tolist()) == completed
        assert np.array_equal(z, indices * 2.0)
        indices, vectors = backend.load_column_array(NAME, "results.vec", "vec")
        assert set(indices.tolist()) == completed
        assert not completed or np.array_equal(vectors, indices[:, None] * np.arange(5.0))
        for idx in sorted(completed)[-3:]:
            noise = {r.path: r.data for r in backend.load_run(NAME, idx)}["results.noise"]
            assert np.array_equal(noise["noise"], np.random.default_rng(idx).random(500))
        text_runs, texts = backend.load_column(NAME, "results.text", "text")
        assert texts == [f"run {i}" for i in text_runs.tolist()]
        assert set(text_runs.tolist()) == {i for i in completed if i % 7 == 0}
    return completed


def test_killed_writers_lose_nothing_they_reported_and_resume_finishes(tmp_path: Path) -> None:
    path = tmp_path / "crash.h5"
    get_plugin_host()  # load the plugins once, not in every child
    rng = random.Random(20240229)
    reported: set[int] = set()
    killed_mid_run = 0
    for iteration in range(ITERATIONS):
        # One child in four is killed at a random moment of its start (creating, resuming,
        # storing the tree); the others at a random moment after their first stored batch.
        mid_run = iteration % 4 != 0
        delay = rng.uniform(0.0, 0.3) if mid_run else rng.uniform(0.0, 0.5)
        stored, killed_mid_run_now = _run_child(path, rng.randrange(2**32), delay, after_first_store=mid_run)
        reported |= stored
        killed_mid_run += killed_mid_run_now
        if path.exists() and path.stat().st_size and _has_exploration(path):
            _check_stored(path, reported)
    assert killed_mid_run >= ITERATIONS // 2, "most children should be killed while storing"
    completed = _check_stored(path, reported)
    assert len(completed) < RUNS, "some runs should be left for the final resume"
    seen: list[int] = []

    def recording_job(traj: Trajectory) -> float:
        seen.append(traj.idx)
        return _job(traj)

    with Environment(NAME, str(path), resume=True, log_to_console=False, progress=False) as env:
        env.run(recording_job)
    assert seen == sorted(set(range(RUNS)) - completed)
    assert _check_stored(path, set(range(RUNS))) == set(range(RUNS))
    assert not Path(str(path) + ".journal").exists() and not Path(str(path) + ".lock").exists()


if __name__ == "__main__":  # pragma: no cover - manual runs with a fixed folder
    sys.exit(pytest.main([__file__, "-q"]))
