"""Smoke benchmark of the HDF5 backend: the figures its issue asks for.

Run: /work/venv/bin/python benchmarks/hdf5_smoke.py [--runs 100000] [--durability process|fsync]

1. ``store_runs`` of 1000 trivial runs (one float each + status), per batch.
2. File size per run at that many runs.
3. ``load_trajectory`` skeleton + ``get_column`` of the scalar over all runs.
4. 100 runs x 1 MiB array through the backend vs the same arrays written
   with PyTables directly (one ``create_array`` per run).
5. The same 100 x 1 MiB and the trivial runs through ``Environment``.
No assertions: it prints figures (targets in brackets) for the report.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np

from pypet_rebuild import Environment, Trajectory
from pypet_rebuild.persistence import load_trajectory
from pypet_rebuild.storage.records import NodeKind, NodeRecord, RunRecord, RunStatus, TrajectoryInfo
from pypet_rebuild_hdf5 import open_hdf5

MIB_FLOATS = 131072  # 1 MiB of float64


def trivial_batches(path: str, runs: int, durability: str) -> None:
    backend = open_hdf5(path, durability=durability)
    backend.create_trajectory(TrajectoryInfo("trivial", time.time()))
    backend.store_nodes("trivial", [
        NodeRecord("parameters.x", NodeKind.PARAMETER, data={"value": 0.0}, explored=[float(i) for i in range(runs)])
    ])
    costs, cpu = [], []
    for start in range(0, runs, 1000):
        batch = [
            RunRecord(i, RunStatus.COMPLETED, 1e9 + i, 1e9 + i + 0.5, None,
                      [NodeRecord("results.z", NodeKind.RESULT, data={"z": i * 0.5})])
            for i in range(start, min(start + 1000, runs))
        ]
        began, began_cpu = time.perf_counter(), time.process_time()
        backend.store_runs("trivial", batch)
        costs.append(time.perf_counter() - began)
        cpu.append(time.process_time() - began_cpu)
    backend.close()
    size = os.path.getsize(path)
    print(f"store_runs, 1000 trivial runs per batch: median {np.median(costs) * 1e3:.2f} ms, "
          f"mean {np.mean(costs) * 1e3:.2f} ms, CPU median {np.median(cpu) * 1e3:.2f} ms  [a few ms]")
    print(f"file size: {size / runs:.1f} bytes per run at {runs} runs  [<= 100]")
    began = time.perf_counter()
    traj = load_trajectory(path, "trivial")
    loaded = time.perf_counter()
    indices, column = traj.get_column("z")
    done = time.perf_counter()
    assert len(column) == runs and column[-1] == (runs - 1) * 0.5
    print(f"load_trajectory skeleton: {(loaded - began) * 1e3:.0f} ms; get_column over {runs} runs: "
          f"{(done - loaded) * 1e3:.1f} ms; total {(done - began) * 1e3:.0f} ms  [well under 1000 ms]")
    traj.storage.close()  # type: ignore[union-attr]


def big_arrays_backend(folder: str, durability: str, arrays: list[np.ndarray]) -> float:
    path = os.path.join(folder, f"big_{durability}.h5")
    if os.path.exists(path):
        os.remove(path)
    began = time.perf_counter()
    backend = open_hdf5(path, durability=durability)
    backend.create_trajectory(TrajectoryInfo("big", time.time()))
    runs = [RunRecord(i, RunStatus.COMPLETED, 0.0, 1.0, None,
                      [NodeRecord("results.trace", NodeKind.RESULT, data={"trace": a})]) for i, a in enumerate(arrays)]
    backend.store_runs("big", runs)
    backend.close()
    return time.perf_counter() - began


def big_arrays_pytables(folder: str, arrays: list[np.ndarray]) -> float:
    import tables

    path = os.path.join(folder, "big_pytables.h5")
    began = time.perf_counter()
    with tables.open_file(path, "w") as h5:
        for i, array in enumerate(arrays):
            h5.create_array("/", f"run_{i:08d}", array)
    return time.perf_counter() - began


def _big_job(traj: Trajectory) -> None:
    traj.add_result("trace", np.full(MIB_FLOATS, float(traj.idx)))


def _trivial_job(traj: Trajectory) -> None:
    traj.add_result("z", traj.x * 0.5)


def environment_runs(folder: str, durability: str, job, runs: int, name: str) -> float:  # noqa: ANN001
    traj = Trajectory(name)
    traj.add_parameter("x", 0.0)
    traj.explore({"x": [float(i) for i in range(runs)]})
    path = os.path.join(folder, f"{name}_{durability}.h5")
    if os.path.exists(path):
        os.remove(path)
    began, began_cpu = time.perf_counter(), time.process_time()
    with Environment(traj, path, log_to_console=False, progress=False,
                     storage_options={"durability": durability}) as env:
        env.run(job)
    _cpu_seconds[name] = time.process_time() - began_cpu
    return time.perf_counter() - began


_cpu_seconds: dict[str, float] = {}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--durability", choices=["fsync", "process"], default="process")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        print(f"== durability={args.durability}")
        trivial_batches(os.path.join(folder, "trivial.h5"), args.runs, args.durability)
        arrays = [np.random.default_rng(i).random(MIB_FLOATS) for i in range(100)]
        ours = min(big_arrays_backend(folder, args.durability, arrays) for _ in range(3))
        direct = min(big_arrays_pytables(folder, arrays) for _ in range(3))
        print(f"100 x 1 MiB: backend {ours * 1e3:.0f} ms, PyTables directly {direct * 1e3:.0f} ms, "
              f"ratio {ours / direct:.2f}  [<= 1.25]")
        env_big = min(environment_runs(folder, args.durability, _big_job, 100, "big_env") for _ in range(2))
        print(f"Environment, 100 x 1 MiB runs: {env_big * 1e3:.0f} ms")
        env_trivial = environment_runs(folder, args.durability, _trivial_job, args.runs, "trivial_env")
        print(f"Environment, {args.runs} trivial runs: {env_trivial:.1f} s, "
              f"{env_trivial / args.runs * 1e6:.1f} us per run "
              f"(CPU {_cpu_seconds['trivial_env'] / args.runs * 1e6:.1f} us)  [well under 90 us]")
        print(f"load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
