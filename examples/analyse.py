"""A second script, as after a day of simulations: open the stored file and analyse.

Nothing here re-runs anything: the parameters, the explored ranges and every
run's results come from the file written by ``cellular_automaton.py``.
"""

from __future__ import annotations

import sys

import numpy as np

from pypet_rebuild import load_trajectory


def main(storage: str = "results/cellular_automaton.h5") -> None:
    traj = load_trajectory(storage, "cellular_automaton")  # skeleton; results load on access
    print(traj)
    indices, density = traj.get_column("final_density")  # one read for all runs
    for rule in sorted(set(traj.get("rule_number").range)):
        runs = traj.find_idx("rule_number", lambda r, rule=rule: r == rule)
        print(f"rule {rule:>3}: mean final density {np.mean(density[runs]):.3f} over runs {runs}")
    traj.idx = 3
    print(f"run 3 used rule {traj.rule_number} from a {traj.initial_name} row;"
          f" its pattern has shape {traj.results.runs.crun.pattern.shape}")


if __name__ == "__main__":
    main(*sys.argv[1:])
