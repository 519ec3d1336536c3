"""Evolve bit strings towards all ones (one-max) with DEAP, every evaluation stored.

Each generation's new individuals become new runs of the trajectory
(``generation``, ``ind_idx``), evaluated by the chosen runner; the hall of
fame and the logbook are kept as results. Try::

    python examples/deap_one_max.py --runner multiprocessing --ncores 2

and then read ``results/deap_one_max.h5``: ``traj.results.logbook.max`` is
the best fitness of each generation.
"""

from __future__ import annotations

import argparse
import logging
import random

import numpy as np
from deap import base, creator, tools

from pypet_rebuild import Environment, Trajectory
from pypet_rebuild_deap import add_evolution_parameters, evolve

# DEAP's classes, made at import so that every worker process has them too.
if not hasattr(creator, "OneMaxFitness"):
    creator.create("OneMaxFitness", base.Fitness, weights=(1.0,))
    creator.create("BitString", list, fitness=creator.OneMaxFitness)


def count_ones(traj: Trajectory, genes: list[int]) -> tuple[float]:
    """The fitness: how many genes are 1. Runs in a worker, gets plain lists."""
    return (float(sum(genes)),)


def build_toolbox(traj: Trajectory) -> base.Toolbox:
    toolbox = base.Toolbox()
    toolbox.register("bit", random.randint, 0, 1)
    toolbox.register("individual", tools.initRepeat, creator.BitString, toolbox.bit, traj.genes)
    toolbox.register("population", tools.initRepeat, list, toolbox.individual)
    toolbox.register("mate", tools.cxTwoPoint)
    toolbox.register("mutate", tools.mutFlipBit, indpb=traj.flip_probability)
    toolbox.register("select", tools.selTournament, tournsize=traj.tournament_size)
    toolbox.register("evaluate", count_ones)
    return toolbox


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generations", type=int, default=50)
    parser.add_argument("--population", type=int, default=60)
    parser.add_argument("--genes", type=int, default=80)
    parser.add_argument("--runner", default="serial")
    parser.add_argument("--ncores", type=int, default=2)
    parser.add_argument("--storage", default="results/deap_one_max.h5")
    args = parser.parse_args(argv)

    traj = Trajectory("deap_one_max", comment="one-max with DEAP, evaluated through the Environment")
    traj.add_parameter("genes", args.genes, comment="bits per individual")
    traj.add_parameter("population_size", args.population)
    traj.add_parameter("flip_probability", 0.05)
    traj.add_parameter("tournament_size", 3)
    traj.add_parameter("crossover_probability", 0.5)
    traj.add_parameter("mutation_probability", 0.2)
    traj.add_parameter("seed", 42)
    add_evolution_parameters(traj)

    options = {"ncores": args.ncores} if args.runner == "multiprocessing" else {}
    quiet = {"progress": False, "log_level": logging.WARNING}  # two log lines per generation otherwise
    with Environment(traj, args.storage, runner=args.runner, overwrite=True, **quiet, **options) as env:
        random.seed(traj.seed)
        toolbox = build_toolbox(traj)
        stats = tools.Statistics(lambda ind: ind.fitness.values[0])
        stats.register("max", np.max)
        stats.register("mean", np.mean)
        hall_of_fame = tools.HallOfFame(3)
        _, logbook = evolve(
            env, toolbox, toolbox.population(n=traj.population_size), args.generations,
            cxpb=traj.crossover_probability, mutpb=traj.mutation_probability, elite=1,
            stats=stats, hall_of_fame=hall_of_fame,
        )
    for record in logbook[:: max(1, len(logbook) // 10)]:
        print(f"generation {record['gen']:>3}: {record['nevals']:>3} evaluated, best {record['max']:.0f}, mean {record['mean']:.2f}")
    print(f"best individual: {hall_of_fame[0].fitness.values[0]:.0f} of {traj.genes} ones, {len(traj)} runs stored")


if __name__ == "__main__":
    main()
