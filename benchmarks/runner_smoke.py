"""Serial versus multiprocessing(2): per-run overhead and parallel speed-up.

    python benchmarks/runner_smoke.py [--trivial-runs 10000] [--cpu-runs 1000]

(a) the trivial job ``z = x * y`` stored as a result: what each run costs the
    machinery (pypet 0.x measured 7.9 ms per run for this; the target here is
    under 79 us per run, and multiprocessing at most 1.5x the serial time);
(b) a CPU-bound job of about 10 ms per run: the target is a speed-up of at
    least 1.8x on two processes.

Each case runs on ``memory://`` and, when the hdf5 backend is installed, on an
.h5 file in a temporary folder. Times are wall-clock seconds of ``env.run``,
worker start-up included, plus the CPU seconds spent by the coordinator and
its workers together.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from pypet_rebuild.environment import Environment
from pypet_rebuild.plugins import get_plugin_host
from pypet_rebuild.trajectory import Trajectory


def trivial_job(traj: Trajectory) -> float:
    z = traj.x * traj.y
    traj.add_result("z", z)
    return z


def bare_busy(loops: int, factor: int = 3) -> float:
    """The CPU work of ``busy_job``; alone, it is the bare-Pool reference."""
    total = 0.0
    for i in range(loops):
        total += (i * factor) % 7
    return total


def busy_job(traj: Trajectory, loops: int) -> float:
    total = bare_busy(loops, traj.x)
    traj.add_result("total", total)
    return total


def bare_reference(repeat: int, runs: int, loops: int) -> tuple[float, float]:
    """Serial loop versus a spawned ``multiprocessing.Pool(2)``, no pypet-rebuild at all:
    the speed-up this machine allows, against which the runner's is judged."""
    serial, parallel = [], []
    for _ in range(max(1, repeat)):
        started = time.perf_counter()
        for _ in range(runs):
            bare_busy(loops)
        serial.append(time.perf_counter() - started)
        started = time.perf_counter()
        with multiprocessing.get_context("spawn").Pool(2) as pool:
            pool.map(bare_busy, [loops] * runs, chunksize=8)
        parallel.append(time.perf_counter() - started)
    return min(serial), min(parallel)


def loops_for(seconds: float) -> int:
    """How many iterations of the busy loop take ``seconds`` here."""
    loops = 20_000
    while True:
        started = time.perf_counter()
        bare_busy(loops)
        elapsed = time.perf_counter() - started
        if elapsed > 0.05:
            return int(loops * seconds / elapsed)
        loops *= 2


def trajectory(runs: int) -> Trajectory:
    traj = Trajectory("bench")
    traj.add_parameter("x", 1)
    traj.add_parameter("y", 1.0)
    traj.explore({"x": [i % 100 for i in range(runs)], "y": [float(i) for i in range(runs)]})
    return traj


def _cpu_seconds() -> float:
    """CPU time of this process and of its finished children (the workers)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def timed_run(storage: str, runs: int, runner: str, job: Any, *args: Any, **options: Any) -> tuple[float, float]:
    """Wall-clock and CPU seconds of ``env.run``: CPU time shows the overhead
    even on a machine that other work keeps busy."""
    with Environment(trajectory(runs), storage, runner=runner, progress=False, log_to_console=False, **options) as env:
        cpu, started = _cpu_seconds(), time.perf_counter()
        returned = env.run(job, *args)
        elapsed, cpu = time.perf_counter() - started, _cpu_seconds() - cpu
    assert len(returned) == runs
    return elapsed, cpu


def best_of(repeat: int, make_url: Any, runs: int, job: Any, *args: Any) -> tuple[tuple[float, float], ...]:
    """The fastest of ``repeat`` timings of serial and multiprocessing(2), taken
    in turns so that a busy moment of the machine hits both alike."""
    serial, parallel = [], []
    for _ in range(max(1, repeat)):
        serial.append(timed_run(make_url(), runs, "serial", job, *args))
        parallel.append(timed_run(make_url(), runs, "multiprocessing", job, *args, ncores=2))
    return min(serial), min(parallel)


def storages(folder: Path) -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = [("memory", lambda: f"memory://{uuid.uuid4().hex}")]
    if get_plugin_host().storage.for_suffix(".h5") is not None:
        found.append(("hdf5", lambda: str(folder / f"{uuid.uuid4().hex}.h5")))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trivial-runs", type=int, default=10_000)
    parser.add_argument("--cpu-runs", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=3, help="keep the fastest of this many timings")
    options = parser.parse_args()
    loops = loops_for(0.010)
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs (wall times need an idle machine)")
    print(
        f"{'case':<30}{'storage':<9}{'serial s':>10}{'mp(2) s':>10}{'mp/serial':>11}{'mp us/run':>11}"
        f"{'serial cpu s':>14}{'mp cpu s':>10}"
    )
    with tempfile.TemporaryDirectory() as folder:
        for storage_name, make_url in storages(Path(folder)):
            cases = [
                ("start-up only, 2 runs", 2, trivial_job, ()),
                (f"trivial z=x*y, {options.trivial_runs} runs", options.trivial_runs, trivial_job, ()),
                (f"cpu ~10 ms, {options.cpu_runs} runs", options.cpu_runs, busy_job, (loops,)),
            ]
            for label, runs, job, args in cases:
                (serial, serial_cpu), (parallel, parallel_cpu) = best_of(options.repeat, make_url, runs, job, *args)
                print(
                    f"{label:<30}{storage_name:<9}{serial:>10.2f}{parallel:>10.2f}"
                    f"{parallel / serial:>11.2f}{parallel / runs * 1e6:>11.1f}"
                    f"{serial_cpu:>14.2f}{parallel_cpu:>10.2f}"
                )
    serial, parallel = bare_reference(options.repeat, options.cpu_runs, loops)
    print(
        f"{'bare Pool(2), same cpu loop':<30}{'-':<9}{serial:>10.2f}{parallel:>10.2f}{parallel / serial:>11.2f}"
        f"{parallel / options.cpu_runs * 1e6:>11.1f}"
    )
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
