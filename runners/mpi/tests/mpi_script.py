"""A user script, launched by ``test_mpiexec.py`` as ``mpiexec -n N python mpi_script.py MODE STORAGE``.

Every rank runs it unchanged, as a researcher's script would. Rank 0 prints
``RETURNED <json>`` (what ``env.run`` returned) or ``CAUGHT <error>`` so
that the test can check what happened (workers print ``FINISHED <idx>`` in
the ``slow`` mode); stored data is checked by loading
``STORAGE`` afterwards. The test module also imports the trajectory and the
jobs from here to compute the serial reference.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import threading
import time
from typing import Any

import numpy as np

from pypet_rebuild import Environment, RunFailedError, RunnerError, Trajectory, cartesian_product

TRAJECTORY = "mpi_exploration"
FAILING_RUN = 7
UNSENDABLE_RUN = 11
DYING_RUN = 12
EXITING_RUN = 5
STUCK_RUN = 1


def build_trajectory() -> Trajectory:
    """Twenty points, a config entry and a result added before the runs."""
    traj = Trajectory(TRAJECTORY, comment="explored under mpiexec")
    traj.add_parameter("x", 0, comment="first factor")
    traj.add_parameter("factors.y", 0.0)
    traj.add_config("seed", 7)
    traj.add_result("setup.note", "added before the runs")
    traj.explore(cartesian_product({"x": [0, 1, 2, 3, 4], "y": [0.5, 1.0, 1.5, 2.0]}))
    return traj


def product_job(traj: Trajectory, pause: float = 0.0) -> float:
    if pause:
        time.sleep(pause)
    logging.getLogger("pypet_rebuild.job").info("computing run %d", traj.idx)
    z = traj.x * traj.y
    traj.add_result("z", z, comment="product")
    traj.add_result("arrays.vector", np.arange(3) * z)
    traj.add_derived_parameter("doubled", 2 * z)
    return z


def failing_job(traj: Trajectory) -> Any:
    """Run 7 raises; run 11 returns something that cannot travel between processes."""
    if traj.idx == FAILING_RUN:
        raise ValueError(f"run {traj.idx} was told to fail")
    if traj.idx == UNSENDABLE_RUN:
        product_job(traj)
        return threading.Lock()
    return product_job(traj)


def dying_job(traj: Trajectory) -> float:
    """The rank that gets run 12 dies without a word, as a segfault or an OOM kill would."""
    if traj.idx == DYING_RUN:
        time.sleep(0.3)
        os._exit(3)
    return product_job(traj, pause=0.02)


def stuck_job(traj: Trajectory) -> Any:
    """Run 1 takes far longer than the runner waits after rank 0 fails at run 7."""
    if traj.idx == STUCK_RUN:
        time.sleep(30)
    return failing_job(traj)


def exiting_job(traj: Trajectory) -> float:
    """Run 5 exits the interpreter: not a failed run but a broken job."""
    if traj.idx == EXITING_RUN:
        sys.exit(3)
    return product_job(traj)


def slow_job(traj: Trajectory) -> float:
    """Says when each run is done, so that the test can interrupt mid-exploration."""
    z = product_job(traj, pause=0.1)
    print("FINISHED", traj.idx, flush=True)
    return z


def mapped_job(traj: Trajectory, offset: float, *, label: str) -> float:
    """For ``run_map``: each run gets its own offset and label."""
    z = product_job(traj) + offset
    traj.add_result("mapped", value=z, label=label)
    return z


def map_arguments(count: int) -> tuple[list[float], list[str]]:
    return [10.0 * idx for idx in range(count)], [f"point {idx}" for idx in range(count)]


def _refuse_outside_rank_zero() -> LoadsOnlyOnRankZero:
    from mpi4py import MPI

    if MPI.COMM_WORLD.Get_rank() != 0:
        raise ImportError("this argument's module is importable on rank 0 only")
    return LoadsOnlyOnRankZero()


class LoadsOnlyOnRankZero:
    """Stands for a job argument whose module the worker ranks cannot import."""

    def __reduce__(self) -> tuple[Any, tuple[()]]:
        return _refuse_outside_rank_zero, ()


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode")
    parser.add_argument("storage")
    parser.add_argument("--log-folder")
    parser.add_argument("--stop-timeout", type=float, default=60.0)
    args = parser.parse_args(argv)
    mode, storage = args.mode, args.storage
    quiet: dict[str, Any] = {"runner": "mpi", "progress": False, "log_to_console": False, "store_interval": 0.0}
    quiet.update(log_folder=args.log_folder, stop_timeout=args.stop_timeout)
    if mode == "resume":
        env = Environment(TRAJECTORY, storage, resume=True, **quiet)
    else:
        env = Environment(build_trajectory(), storage, fail_fast=mode.startswith("fail_fast"), **quiet)
    report = env.runner.is_coordinator
    with env:
        if mode in ("explore", "resume"):
            returned = env.run(product_job)
        elif mode == "fail":
            returned = [(idx, value if idx != UNSENDABLE_RUN else None) for idx, value in env.run(failing_job)]
        elif mode == "die":
            returned = env.run(dying_job)
        elif mode == "map":
            offsets, labels = map_arguments(len(env.trajectory))
            returned = env.run_map(mapped_job, offsets, label=labels)
        elif mode == "slow":
            returned = env.run(slow_job)
        elif mode == "fail_fast_uncaught":
            returned = env.run(failing_job)
        else:
            try:
                if mode == "fail_fast":
                    env.run(failing_job)
                elif mode == "fail_fast_stuck":
                    env.run(stuck_job)
                elif mode == "unpicklable_job":
                    env.run(lambda traj: traj.x)
                elif mode == "worker_cannot_load":
                    env.run(product_job, LoadsOnlyOnRankZero())
                elif mode == "job_exits":
                    env.run(exiting_job)
                else:
                    raise SystemExit(f"unknown mode {mode!r}")
            except (RunFailedError, RunnerError) as error:
                if report:
                    print("CAUGHT", type(error).__name__, str(error).replace("\n", " | "), flush=True)
            return
    if report:
        print("RETURNED", json.dumps(returned), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
