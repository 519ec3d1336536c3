"""Adaptive search with post-processing: refine the grid around the best point.

A coarse grid over (x, y) is run first. After each round the post-processing
looks at the stored values, finds the best point, and explores a grid half
as wide around it; the Environment runs the new points and calls the
post-processing again, until the grid spacing is below a tolerance. This is
the adaptive loop of the pypet paper (section 3.5), in this project's API.

Run it from the repository root: ``python examples/adaptive_search.py``.
"""

from __future__ import annotations

import math
from typing import Any

from pypet_rebuild import Environment, Trajectory, cartesian_product, load_trajectory

PEAK = (0.37, -1.21)  # where the landscape is highest; the search does not know it


def landscape(traj: Trajectory) -> float:
    """A smooth hill with ripples: the 'simulation' of this example."""
    dx, dy = traj.x - PEAK[0], traj.y - PEAK[1]
    height = math.exp(-(dx * dx + dy * dy)) + 0.05 * math.cos(5 * dx) * math.cos(5 * dy)
    traj.add_result("height", height, comment="value of the landscape at (x, y)")
    return height


def refine(traj: Trajectory, results: list[tuple[int, Any]], tolerance: float) -> dict[str, list[float]] | None:
    """Explore a 3 x 3 grid around the best point so far, at half the last spacing."""
    round_number = len(traj.results.rounds.children) if "rounds" in traj.results else 0
    spacing = float(traj.spacing) / 2.0**round_number  # of the grid that was just run
    best_idx, best = max(results, key=lambda pair: pair[1])
    traj.idx = best_idx
    centre = (float(traj.x), float(traj.y))
    traj.idx = -1
    traj.add_result(f"rounds.round_{round_number}", best=best, x=centre[0], y=centre[1], spacing=spacing)
    step = spacing / 2.0
    if step < tolerance:
        return None
    offsets = (-step, 0.0, step)
    return cartesian_product({"x": [centre[0] + d for d in offsets], "y": [centre[1] + d for d in offsets]})


def main() -> None:
    traj = Trajectory("adaptive_search", comment="refining a grid around the highest point")
    traj.add_parameter("x", 0.0, comment="first coordinate")
    traj.add_parameter("y", 0.0, comment="second coordinate")
    traj.add_parameter("spacing", 1.0, comment="spacing of the first, coarse grid")
    traj.explore(cartesian_product({"x": [-2.0, -1.0, 0.0, 1.0, 2.0], "y": [-2.0, -1.0, 0.0, 1.0, 2.0]}))
    with Environment(traj, "results/adaptive_search.h5", overwrite=True, progress=False, log_to_console=False) as env:
        env.add_postprocessing(refine, tolerance=0.01)
        env.run(landscape)

    stored = load_trajectory("results/adaptive_search.h5")
    print(f"{len(stored)} runs in {len(stored.results.rounds)} rounds")
    print("round  spacing      x       y     height")
    for name in sorted(stored.results.rounds.children, key=lambda n: int(n.split("_")[1])):
        r = stored.results.rounds.get(name)
        print(f"{name.split('_')[1]:>5}  {r.spacing:7.4f}  {r.x:6.3f}  {r.y:6.3f}  {r.best:.5f}")


if __name__ == "__main__":
    main()
