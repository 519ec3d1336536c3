"""MPI smoke benchmark: 1,000 CPU-bound runs of about 10 ms, serial vs mpiexec.

    /work/venv/bin/python benchmarks/mpi_smoke.py [--runs 1000] [--ms 10] [--ranks 2 3] [--repeat 1]

Without mpiexec this script is the driver: it calibrates the work, times the
serial runner in this process, then launches itself under
``mpiexec -n N`` for each N and prints a table. Rank 0 of the MPI runner
only coordinates, so ``-n N`` has ``N - 1`` computing ranks. Two times are
given per row: ``env.run`` alone (measured by rank 0) and the whole launch
(mpiexec, interpreter and MPI start-up included), plus the share of one
core that rank 0 used while coordinating and storing. With ``--repeat`` the
configurations take turns and the best time of each is shown, so that a
burst of load from other processes hits them alike; the load average is
printed because a shared machine has fewer free cores than ``nproc`` says.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from pypet_rebuild import Environment, Trajectory

MPIEXEC = Path(sys.executable).with_name("mpiexec")
TARGET = 1.8


def cpu_work(loops: int) -> int:
    """Pure-Python arithmetic: one core busy, no I/O, nothing to vectorise."""
    total = 0
    for i in range(loops):
        total = (total + i * i) % 1_000_003
    return total


def calibrate(ms: float) -> int:
    """Loops of ``cpu_work`` that take ``ms`` milliseconds (best of five probes)."""
    probe = 200_000
    best = min(_timed(cpu_work, probe) for _ in range(5))
    return max(1, int(probe * ms / 1000 / best))


def _timed(function: object, *args: object) -> float:
    started = time.perf_counter()
    function(*args)  # type: ignore[operator]
    return time.perf_counter() - started


def job(traj: Trajectory, loops: int) -> int:
    value = cpu_work(loops)
    traj.add_result("value", value)
    return value


def explore(runner: str, runs: int, loops: int) -> tuple[float, float, bool, int]:
    """Seconds ``env.run`` took, CPU seconds this process spent in it, whether
    this process coordinates, runs returned."""
    traj = Trajectory("mpi_smoke")
    traj.add_parameter("seed", 0)
    traj.explore({"seed": list(range(runs))})
    options = {"runner": runner, "progress": False, "log_to_console": False}
    with Environment(traj, "memory://", **options) as env:
        started, cpu_started = time.perf_counter(), time.process_time()
        returned = env.run(job, loops)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        return elapsed, cpu, env.runner.is_coordinator, len(returned)


def run_as_rank(runs: int, loops: int) -> None:
    elapsed, cpu, coordinator, returned = explore("mpi", runs, loops)
    if coordinator:
        print("TIMING", json.dumps({"seconds": elapsed, "cpu": cpu, "runs": returned}), flush=True)


def launch(ranks: int, runs: int, loops: int) -> tuple[float, float, float]:
    """``env.run`` seconds and rank 0's CPU share during it, and the launch's wall time."""
    command = [str(MPIEXEC), "-n", str(ranks), sys.executable, __file__, "--as-rank", "--runs", str(runs)]
    started = time.perf_counter()
    done = subprocess.run([*command, "--loops", str(loops)], capture_output=True, text=True, timeout=600, check=True)
    wall = time.perf_counter() - started
    line = next(line for line in done.stdout.splitlines() if line.startswith("TIMING "))
    timing = json.loads(line.split(" ", 1)[1])
    assert timing["runs"] == runs, f"rank 0 returned {timing['runs']} runs, expected {runs}"
    return timing["seconds"], timing["cpu"] / timing["seconds"], wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--ms", type=float, default=10.0, help="milliseconds of work per run")
    parser.add_argument("--ranks", type=int, nargs="+", default=[2, 3])
    parser.add_argument("--repeat", type=int, default=1, help="take turns this many times, keep the best")
    parser.add_argument("--loops", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--as-rank", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.as_rank:
        run_as_rank(args.runs, args.loops)
        return
    loops = calibrate(args.ms)
    load_before = os.getloadavg()[0]
    serial = float("inf")
    best: dict[int, tuple[float, float, float]] = {}
    for _ in range(args.repeat):
        serial = min(serial, explore("serial", args.runs, loops)[0])
        for ranks in args.ranks:
            measured = launch(ranks, args.runs, loops)
            best[ranks] = min(best.get(ranks, measured), measured)
    print(f"{args.runs} runs of ~{args.ms:g} ms ({loops} loops each), best of {args.repeat}; "
          f"{os.cpu_count()} cores, load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after\n")
    print(f"{'runner':<26}{'env.run s':>10}{'speed-up':>10}{'rank 0 CPU':>11}{'launch s':>10}{'speed-up':>10}")
    print(f"{'serial (in process)':<26}{serial:>10.2f}{1:>10.2f}{'':>11}{serial:>10.2f}{1:>10.2f}")
    for ranks in args.ranks:
        seconds, coordinator_share, wall = best[ranks]
        label = f"mpiexec -n {ranks} ({ranks - 1} worker{'s' if ranks > 2 else ''})"
        print(
            f"{label:<26}{seconds:>10.2f}{serial / seconds:>10.2f}{coordinator_share:>10.1%} "
            f"{wall:>10.2f}{serial / wall:>10.2f}"
        )
    print(f"\ntarget: >= {TARGET}x over serial; rank 0 only coordinates, so -n N computes on N - 1 ranks")


if __name__ == "__main__":
    main()
