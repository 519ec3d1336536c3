"""Elementary cellular automata, the pypet paper's example, in this API.

Six Wolfram rules (10, 30, 90, 110, 184, 190) from a single live cell and
from a random row, 400 cells for 250 steps: twelve runs, each storing its
whole space-time pattern. The table printed at the end comes from the stored
file, not from memory, so it shows what a later analysis script would see.
"""

from __future__ import annotations

import sys

import numpy as np

from pypet_rebuild import Environment, Trajectory, cartesian_product, load_trajectory

RULES = [10, 30, 90, 110, 184, 190]


def initial_row(name: str, ncells: int, seed: int) -> np.ndarray:
    if name == "single":
        row = np.zeros(ncells, dtype=np.int8)
        row[ncells // 2] = 1
        return row
    if name == "random":
        return np.random.default_rng(seed).integers(0, 2, ncells, dtype=np.int8)
    raise ValueError(f"unknown initial state {name!r}: use 'single' or 'random'")


def evolve(rule: int, row: np.ndarray, steps: int) -> np.ndarray:
    """The space-time pattern: one row per step, periodic boundaries."""
    table = np.array([(rule >> k) & 1 for k in range(8)], dtype=np.int8)
    pattern = np.empty((steps, row.size), dtype=np.int8)
    pattern[0] = row
    for step in range(1, steps):
        previous = pattern[step - 1]
        neighbourhood = 4 * np.roll(previous, 1) + 2 * previous + np.roll(previous, -1)
        pattern[step] = table[neighbourhood]
    return pattern


def simulate(traj: Trajectory) -> float:
    row = initial_row(traj.initial_name, traj.ncells, traj.seed)
    pattern = evolve(traj.rule_number, row, traj.steps)
    density = float(pattern[-1].mean())
    traj.add_result("pattern", pattern, comment="cell states, one row per step")
    traj.add_result("final_density", density, comment="fraction of live cells at the last step")
    return density


def main(storage: str = "results/cellular_automaton.h5") -> None:
    traj = Trajectory("cellular_automaton", comment="elementary cellular automata, pypet paper example")
    traj.add_parameter("ncells", 400, comment="number of cells in a row")
    traj.add_parameter("steps", 250, comment="number of time steps")
    traj.add_parameter("rule_number", 30, comment="Wolfram code of the rule")
    traj.add_parameter("initial_name", "random", comment="'single' live cell or a 'random' row")
    traj.add_parameter("seed", 100, comment="seed of the random initial row")
    traj.explore(cartesian_product({"rule_number": RULES, "initial_name": ["single", "random"]}))
    with Environment(traj, storage, overwrite=True, log_folder="logs/cellular_automaton") as env:
        env.run(simulate)

    stored = load_trajectory(storage, "cellular_automaton")
    _, density = stored.get_column("final_density")
    print(f"\n{'run':>4} {'rule':>5} {'initial':>8} {'final density':>14} {'live cells (all steps)':>23}")
    for idx in stored.iter_runs():
        pattern = stored.results.runs.crun.pattern
        print(
            f"{idx:>4} {stored.rule_number:>5} {stored.initial_name:>8} "
            f"{density[idx]:>14.3f} {int(pattern.sum()):>23}"
        )
    print(f"\nstored in {storage}; reload with pypet_rebuild.load_trajectory({storage!r})")


if __name__ == "__main__":
    main(*sys.argv[1:])
