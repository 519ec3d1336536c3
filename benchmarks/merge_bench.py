"""Merge benchmark: many stored explorations of trivial runs merged into one HDF5 file.

Issue 11's target: 100 trajectories of 10,000 trivial runs each merged into
one file in <= 10 s on the 2-core machine. The sources are made once by a
real Environment run (z = x * y per run) and copied file by file, so every
source has the layout a real exploration leaves. Reported: the merge's wall
time (median of the repetitions), runs per second, and the load average.

    python benchmarks/merge_bench.py                 # 100 x 10,000 runs, 3 repetitions
    python benchmarks/merge_bench.py --sources 10 --runs 1000 --repeat 1
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import time
from pathlib import Path

from pypet_rebuild import Environment, Trajectory, load_trajectory, merge_trajectories

OUT = Path(__file__).resolve().parent / "out" / "merge"


def _product(traj: Trajectory) -> None:
    traj.add_result("z", traj.x * traj.y)


def make_source(path: Path, runs: int, offset: float) -> None:
    traj = Trajectory("part")
    traj.add_parameter("x", 0.0)
    traj.add_parameter("y", 2.0)
    traj.explore({"x": [offset + i for i in range(runs)]})
    with Environment(traj, path, progress=False, log_to_console=False, log_folder=None) as env:
        env.run(_product)


def one_merge(folder: Path, sources: int, template: Path) -> float:
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    files = []
    for k in range(sources + 1):
        files.append(folder / f"part_{k:03d}.h5")
        shutil.copyfile(template, files[-1])
    started = time.perf_counter()
    merge_trajectories(files[0], files[1:], batch_size=10_000)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=int, default=100, help="trajectories merged into the first one")
    parser.add_argument("--runs", type=int, default=10_000, help="runs per trajectory")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    template = OUT / f"template_{args.runs}.h5"
    if template.exists():
        template.unlink()
    made = time.perf_counter()
    make_source(template, args.runs, 0.0)
    made = time.perf_counter() - made
    times = []
    for _ in range(args.repeat):
        load_before = os.getloadavg()[0]
        times.append(one_merge(OUT / "files", args.sources, template))
        print(f"merge of {args.sources} x {args.runs} runs: {times[-1]:.2f} s (load {load_before:.2f})", flush=True)
    merged = load_trajectory(OUT / "files" / "part_000.h5")
    total = args.runs * (args.sources + 1)
    assert len(merged) == total and merged.is_completed(), "the merged trajectory is incomplete"
    median = statistics.median(times)
    report = {
        "sources": args.sources,
        "runs_per_source": args.runs,
        "merged_runs": args.runs * args.sources,
        "median_s": round(median, 3),
        "runs_per_s": round(args.runs * args.sources / median),
        "one_source_by_environment_s": round(made, 3),
        "target_s": 10.0,
        "met": median <= 10.0,
        "load_average": [round(v, 2) for v in os.getloadavg()],
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
