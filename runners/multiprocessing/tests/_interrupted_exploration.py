"""A user's script, run as a child process by the Ctrl+C test.

Usage: python _interrupted_exploration.py STORAGE MARKER_FOLDER {resume,exit}

It explores 30 slow runs on two workers. Each run drops a marker file when
its job is done, so the test knows when to press Ctrl+C. The script catches
the interrupt, reports what was stored and which worker processes are left,
then (with ``resume``) resumes the exploration with fast runs in the same
process and reports again, as JSON lines. A persistent storage is resumed
by the test itself instead (``exit``), as a later script would.
"""

from __future__ import annotations

import json
import multiprocessing
import sys
import time
from pathlib import Path

from pypet_rebuild.environment import Environment
from pypet_rebuild.plugins import get_plugin_host
from pypet_rebuild.storage.records import RunStatus
from pypet_rebuild.trajectory import Trajectory

RUNS = 30


def slow_job(traj: Trajectory, markers: str, seconds: float) -> int:
    time.sleep(seconds)
    traj.add_result("square", traj.n**2)
    Path(markers, f"{traj.idx}.done").touch()
    return traj.n**2


def completed(storage: str) -> list[int]:
    with get_plugin_host().open_storage(storage) as backend:
        return [r.idx for r in backend.load_run_infos("interrupted") if r.status is RunStatus.COMPLETED]


def report(**fields: object) -> None:
    print(json.dumps(fields), flush=True)


def main(storage: str, markers: str, then: str) -> None:
    traj = Trajectory("interrupted")
    traj.add_parameter("n", 0)
    traj.explore({"n": list(range(RUNS))})
    options = {"runner": "multiprocessing", "ncores": 2, "progress": False, "log_to_console": False}
    with Environment(traj, storage, batch_size=1, **options) as env:
        try:
            env.run(slow_job, markers, 0.3)
        except KeyboardInterrupt:
            interrupted = True
        else:
            interrupted = False
        children = len(multiprocessing.active_children())
    report(interrupted=interrupted, stored=completed(storage), children=children)
    if not interrupted or then == "exit":
        return
    with Environment("interrupted", storage, resume=True, **options) as env:
        resumed = [idx for idx, _ in env.run(slow_job, markers, 0.0)]
    report(resumed=resumed, stored=completed(storage))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3])
