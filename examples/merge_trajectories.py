"""Two explorations run apart (two machines, two days), merged into one.

Each half of a sweep over the damping of an oscillator is stored in its own
HDF5 file, as two separate scripts would leave them. ``merge_trajectories``
appends the second file's runs to the first; a third, overlapping file is
merged with ``remove_duplicates=True`` so that points already explored are
not added twice. The merged trajectory is then analysed like any other.

Run it from the repository root: ``python examples/merge_trajectories.py``.
"""

from __future__ import annotations

import math
from pathlib import Path

from pypet_rebuild import Environment, Trajectory, load_trajectory, merge_trajectories

FOLDER = Path("results/merge_example")


def oscillate(traj: Trajectory) -> None:
    """Amplitude of a damped oscillator after ten periods."""
    periods = 10.0
    amplitude = math.exp(-traj.damping * 2.0 * math.pi * periods / traj.frequency)
    traj.add_result("amplitude", amplitude, comment="amplitude left after ten periods")


def sweep(filename: str, dampings: list[float]) -> Path:
    """One script's exploration, stored in its own file."""
    path = FOLDER / filename
    traj = Trajectory("damping_sweep", comment=f"dampings {dampings}")
    traj.add_parameter("damping", 0.0, comment="damping rate in 1/s")
    traj.add_parameter("frequency", 2.0, comment="frequency in Hz")
    traj.explore({"damping": dampings})
    with Environment(traj, path, overwrite=True, progress=False, log_to_console=False) as env:
        env.run(oscillate)
    return path


def main() -> None:
    first = sweep("monday.h5", [0.01, 0.02, 0.03])
    second = sweep("tuesday.h5", [0.04, 0.05])
    overlapping = sweep("wednesday.h5", [0.05, 0.06])
    merge_trajectories(first, [second])
    (summary,) = merge_trajectories(first, [overlapping], remove_duplicates=True)
    print(f"wednesday added {summary.merged_runs} new run(s); the merged sweep has {summary.length_after} runs")

    merged = load_trajectory(first)
    _, amplitudes = merged.get_column("amplitude")
    print("damping  amplitude")
    for damping, amplitude in zip(merged.explored_parameters["parameters.damping"].range, amplitudes):
        print(f"{damping:7.2f}  {amplitude:9.5f}")


if __name__ == "__main__":
    main()
