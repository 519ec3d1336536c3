"""Our side of each workload, run in a fresh interpreter per measurement.

Usage: ``python _ours_side.py '<json spec>'``; prints one JSON object on its
last line of output. A fresh process per measurement keeps peak-RSS figures
clean and stops one workload's caches from flattering the next. Under
``mpiexec`` only the coordinating rank prints.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

import _our_jobs
from _workdata import payload_array


def _peak_rss_kib() -> int:
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def _local_file(storage: str) -> str | None:
    """The file behind a file-based storage (HDF5 path, ``sqlite:///``), else None."""
    if storage.startswith("sqlite:///"):
        return storage[len("sqlite:///"):]
    return None if "://" in storage else storage


def _file_bytes(storage: str) -> int | None:
    path = _local_file(storage)
    return os.path.getsize(path) if path and os.path.isfile(path) else None


def _start_fresh(storage: str) -> None:
    """Delete a file left by an earlier benchmark run (and its side files).

    Overwriting a trajectory inside an existing file reuses the file's free
    space, which is slower and bigger than a new file; every measurement
    starts from nothing, like pypet's ``overwrite_file=True`` and PyTables'
    mode ``"w"``.
    """
    path = _local_file(storage)
    if path is None:
        return
    for suffix in ("", ".lock", ".journal", "-journal", "-wal", "-shm"):
        if os.path.isfile(path + suffix):
            os.remove(path + suffix)


def _explored_trajectory(job: str, n: int, params: dict[str, Any]) -> tuple[Any, Callable[[Any], None]]:
    from pypet_rebuild import Trajectory

    traj = Trajectory("bench")
    if job in ("trivial", "returning"):
        traj.add_parameter("x", 1.0)
        traj.add_parameter("y", 1.0)
        traj.explore({"x": [float(i) for i in range(n)], "y": [2.0] * n})
        return traj, _our_jobs.trivial_job if job == "trivial" else _our_jobs.returning_job
    if job == "array":
        traj.add_parameter("length", int(params.get("length", 131072)))
        traj.add_parameter("seed", 0)
        traj.explore({"seed": list(range(n))})
        return traj, _our_jobs.array_job
    if job == "cpu":
        traj.add_parameter("loops", int(params["loops"]))
        traj.add_parameter("seed", 0)
        traj.explore({"seed": list(range(n))})
        return traj, _our_jobs.cpu_job
    raise SystemExit(f"unknown job {job!r}")


def run_workload(spec: dict[str, Any]) -> dict[str, Any] | None:
    """Explore ``n`` points, run the job through the Environment, time ``run()``."""
    from pypet_rebuild import Environment

    n = int(spec["n"])
    storage = spec["storage"]
    traj, job = _explored_trajectory(spec["job"], n, spec.get("params", {}))
    rank = os.environ.get("PMI_RANK", os.environ.get("OMPI_COMM_WORLD_RANK", "0"))
    if rank == "0" and spec.get("fresh", True):
        _start_fresh(storage)
    rss_explored = _peak_rss_kib()
    setup_started = time.perf_counter()
    env = Environment(
        traj,
        storage,
        runner=spec.get("runner", "serial"),
        progress=False,
        log_to_console=False,
        overwrite=True,
        **spec.get("env_options", {}),
        **spec.get("runner_options", {}),
    )
    run_started, cpu_started = time.perf_counter(), time.process_time()
    results = env.run(job)
    run_finished, cpu_finished = time.perf_counter(), time.process_time()
    coordinator = env.runner.is_coordinator
    env.close()
    closed = time.perf_counter()
    if not coordinator:
        return None
    completed = sum(1 for idx in range(n) if traj.is_completed(idx))
    collected = _collect(storage, "bench", "z", n) if spec.get("collect") else {}
    return {
        "collect": collected,
        "n": n,
        "completed": completed,
        "returned": len(results),
        "setup_seconds": run_started - setup_started,
        "run_seconds": run_finished - run_started,
        "close_seconds": closed - run_finished,
        "per_run_seconds": (run_finished - run_started) / n,
        "run_cpu_seconds": cpu_finished - cpu_started,
        "file_bytes": _file_bytes(storage),
        "rss_explored_kib": rss_explored,
        "rss_peak_kib": _peak_rss_kib(),
    }


def _collect(storage: str, name: str, result: str, expected_count: int) -> dict[str, Any]:
    """Open a stored trajectory as a skeleton, read one result column, check it.

    The trivial job stores ``z = 2 * idx``, so the column is checked exactly.
    """
    from pypet_rebuild import get_plugin_host, load_trajectory

    started, cpu_started = time.perf_counter(), time.process_time()
    get_plugin_host()  # plugin discovery, timed apart: an analysis script pays it once
    discovered = time.perf_counter()
    traj = load_trajectory(storage, name)
    loaded = time.perf_counter()
    indices, values = traj.get_column(result)
    column = np.asarray(values, dtype=np.float64)
    finished, cpu_finished = time.perf_counter(), time.process_time()
    expected = np.arange(expected_count, dtype=np.float64) * 2.0
    return {
        "discovery_seconds": discovered - started,
        "load_seconds": loaded - discovered,
        "column_seconds": finished - loaded,
        "total_seconds": finished - started,
        "cpu_seconds": cpu_finished - cpu_started,
        "count": int(len(column)),
        "values_correct": bool(np.array_equal(np.asarray(indices), np.arange(expected_count))
                               and np.array_equal(column, expected)),
    }


def collect_workload(spec: dict[str, Any]) -> dict[str, Any]:
    """Reload a trajectory that an earlier process stored (the analysis script case)."""
    figures = _collect(spec["storage"], spec.get("name", "bench"), spec.get("result", "z"), int(spec["n"]))
    return dict(figures, rss_peak_kib=_peak_rss_kib())


def _largest_array_filters(path: str) -> dict[str, Any]:
    """The filters of the biggest dataset in an HDF5 file (ours, after the array run).

    Copying them, rather than assuming them, keeps the PyTables floor at the
    same compression whatever the backend chooses; h5py-written files read
    the same way through PyTables.
    """
    import tables

    with tables.open_file(path, "r") as handle:
        leaves = [node for node in handle.walk_nodes("/") if isinstance(node, tables.Leaf)]
        if not leaves:
            raise SystemExit(f"{path} holds no dataset to copy filters from")
        largest = max(leaves, key=lambda leaf: leaf.size_on_disk)
        filters = largest.filters
        return {
            "complib": filters.complib or "zlib",
            "complevel": int(filters.complevel),
            "shuffle": bool(filters.shuffle),
            "bitshuffle": bool(filters.bitshuffle),
            "fletcher32": bool(filters.fletcher32),
        }


def pytables_workload(spec: dict[str, Any]) -> dict[str, Any]:
    """Write the array workload's arrays with PyTables directly: the floor.

    One extendable array, one row (one chunk) per run, appended as each run's
    array is made: what a careful hand-written script would do, with the
    filters copied from the file in ``spec["match"]``. With ``spec["fsync"]``
    the file is synced to disk once at the end, as durable as our default.
    """
    import tables

    n, length, path = int(spec["n"]), int(spec["length"]), spec["path"]
    settings = _largest_array_filters(spec["match"])
    filters = tables.Filters(**settings)
    started = time.perf_counter()
    with tables.open_file(path, "w") as handle:
        rows = handle.create_earray(
            "/", "arr", tables.Float64Atom(), shape=(0, length), filters=filters,
            chunkshape=(1, length), expectedrows=n,
        )
        for idx in range(n):
            rows.append(payload_array(idx, length)[np.newaxis, :])
    if spec.get("fsync"):
        descriptor = os.open(path, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
    seconds = time.perf_counter() - started
    return {"n": n, "seconds": seconds, "per_run_seconds": seconds / n, "file_bytes": os.path.getsize(path),
            "filters": settings}


WORKLOADS: dict[str, Callable[[dict[str, Any]], dict[str, Any] | None]] = {
    "run": run_workload,
    "collect": collect_workload,
    "pytables": pytables_workload,
}


def main() -> None:
    spec = json.loads(sys.argv[1])
    figures = WORKLOADS[spec["workload"]](spec)
    if figures is not None:
        print(json.dumps(figures), flush=True)


if __name__ == "__main__":
    main()
