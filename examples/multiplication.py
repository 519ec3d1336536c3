"""The smallest complete exploration: z = x * y over a grid, stored to HDF5.

Run it, then look at ``results/multiplication.h5`` with ``analyse.py`` or
any HDF5 viewer.
"""

from __future__ import annotations

import sys

from pypet_rebuild import Environment, Trajectory, cartesian_product


def multiply(traj: Trajectory) -> float:
    z = traj.x * traj.y
    traj.add_result("z", z, comment="the product of x and y")
    return z


def main(storage: str = "results/multiplication.h5") -> None:
    traj = Trajectory("multiplication", comment="z = x * y on a small grid")
    traj.add_parameter("x", 1.0, comment="first factor")
    traj.add_parameter("y", 1.0, comment="second factor")
    traj.explore(cartesian_product({"x": [1.0, 2.0, 3.0, 4.0], "y": [6.0, 7.0, 8.0]}))
    with Environment(traj, storage, overwrite=True, log_folder="logs/multiplication") as env:
        results = env.run(multiply)
    print(f"{'run':>5} {'x':>5} {'y':>5} {'z':>6}")
    for idx, z in results:
        traj.idx = idx
        print(f"{idx:>5} {traj.x:>5} {traj.y:>5} {z:>6}")
    traj.idx = -1


if __name__ == "__main__":
    main(*sys.argv[1:])
