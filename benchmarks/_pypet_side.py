"""The original pypet's side of each workload; runs in the separate pypet
environment (pypet 0.6.1, numpy < 2), one fresh interpreter per measurement.

Usage: ``<pypet-venv>/bin/python _pypet_side.py '<json spec>'``; prints one
JSON object on its last line. The spec's ``environment`` dict is passed to
``pypet.Environment`` as it is, so the orchestrator alone decides (and
reports) each configuration.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from pypet import Environment, load_trajectory, pypetconstants

from _workdata import payload_array


def trivial_job(traj: Any) -> None:
    traj.f_add_result("z", traj.x * traj.y)


def array_job(traj: Any) -> None:
    traj.f_add_result("arr", payload_array(traj.v_idx, traj.length))


def _explore(traj: Any, job: str, n: int) -> Callable[[Any], None]:
    if job == "trivial":
        traj.f_add_parameter("x", 1.0)
        traj.f_add_parameter("y", 1.0)
        traj.f_explore({"x": [float(i) for i in range(n)], "y": [2.0] * n})
        return trivial_job
    if job == "array":
        traj.f_add_parameter("length", 131072)
        traj.f_add_parameter("seed", 0)
        traj.f_explore({"seed": list(range(n))})
        return array_job
    raise SystemExit(f"unknown job {job!r}")


def run_workload(spec: dict[str, Any]) -> dict[str, Any]:
    """Explore ``n`` points, run the job, time ``env.run`` alone."""
    n, filename = int(spec["n"]), spec["filename"]
    setup_started = time.perf_counter()
    env = Environment(trajectory="bench", filename=filename, overwrite_file=True, **spec["environment"])
    traj = env.trajectory
    job = _explore(traj, spec["job"], n)
    run_started, cpu_started = time.perf_counter(), time.process_time()
    results = env.run(job)
    run_finished, cpu_finished = time.perf_counter(), time.process_time()
    env.disable_logging()
    return {
        "n": n,
        "returned": len(results),
        "setup_seconds": run_started - setup_started,
        "run_seconds": run_finished - run_started,
        "per_run_seconds": (run_finished - run_started) / n,
        "run_cpu_seconds": cpu_finished - cpu_started,
        "file_bytes": os.path.getsize(filename),
    }


def collect_workload(spec: dict[str, Any]) -> dict[str, Any]:
    """Load a stored trajectory and gather one scalar result from every run.

    Loading the results' data in the same pass is pypet's fastest way here:
    a skeleton plus ``auto_load`` visits the file once per run instead.
    """
    started, cpu_started = time.perf_counter(), time.process_time()
    traj = load_trajectory(
        name="bench",
        filename=spec["filename"],
        load_parameters=pypetconstants.LOAD_DATA,
        load_derived_parameters=pypetconstants.LOAD_SKELETON,
        load_results=pypetconstants.LOAD_DATA,
    )
    loaded = time.perf_counter()
    by_run = traj.f_get_from_runs("z", fast_access=True)
    column = np.fromiter(by_run.values(), dtype=np.float64, count=len(by_run))
    finished, cpu_finished = time.perf_counter(), time.process_time()
    expected = np.arange(len(column), dtype=np.float64) * 2.0
    return {
        "load_seconds": loaded - started,
        "column_seconds": finished - loaded,
        "total_seconds": finished - started,
        "cpu_seconds": cpu_finished - cpu_started,
        "count": int(len(column)),
        "values_correct": bool(np.array_equal(column, expected)),
    }


WORKLOADS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "run": run_workload,
    "collect": collect_workload,
}


def main() -> None:
    spec = json.loads(sys.argv[1])
    print(json.dumps(WORKLOADS[spec["workload"]](spec)), flush=True)


if __name__ == "__main__":
    main()
