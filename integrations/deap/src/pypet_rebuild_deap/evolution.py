"""The generation loop: DEAP proposes individuals, the Environment evaluates and stores them.

Why individuals travel as plain lists: DEAP's ``creator`` classes are made
at run time, so a worker started with ``spawn`` (or an MPI rank) cannot
unpickle them unless the user's module recreates them on import. A list of
genes always travels; the fitness comes back as a tuple of floats and is set
on the real individual in the coordinating process.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from deap import algorithms, tools

from pypet_rebuild.errors import PypetRebuildError

if TYPE_CHECKING:
    from pypet_rebuild import Environment, Trajectory

__all__ = [
    "EvaluationFailedError",
    "StoredEvaluation",
    "add_evolution_parameters",
    "evaluate_population",
    "evolve",
    "store_hall_of_fame",
    "store_logbook",
]


class EvaluationFailedError(PypetRebuildError):
    """An individual's evaluation raised; its run holds the traceback."""


class StoredEvaluation:
    """Calls ``evaluate(traj, genes)`` in a run and stores ``individual`` and ``fitness`` there.

    Carries the evaluation's ``__module__``/``__qualname__`` so that runners
    name the user's function in their errors.
    """

    def __init__(self, evaluate: Callable[..., Sequence[float]]) -> None:
        self.evaluate = evaluate
        self.__module__ = getattr(evaluate, "__module__", type(evaluate).__module__)
        self.__qualname__ = getattr(evaluate, "__qualname__", type(evaluate).__qualname__)

    def __call__(self, traj: Trajectory, genes: list[Any]) -> tuple[float, ...]:
        fitness = self.evaluate(traj, genes)
        if np.ndim(fitness) == 0:
            raise TypeError(
                f"{self.__qualname__} returned {fitness!r}; DEAP fitnesses are sequences, return e.g. (value,)"
            )
        values = tuple(float(f) for f in fitness)
        traj.add_result("individual", np.asarray(genes), comment="the genes evaluated in this run")
        traj.add_result("fitness", np.asarray(values), comment="the fitness values of this run's individual")
        return values


def add_evolution_parameters(traj: Trajectory) -> None:
    """Add ``generation`` and ``ind_idx``, the parameters each generation is explored over."""
    traj.add_parameter("generation", 0, comment="the generation an evaluated individual belongs to")
    traj.add_parameter("ind_idx", 0, comment="the individual's position in its generation's population")


def evaluate_population(
    env: Environment,
    evaluate: Callable[..., Sequence[float]],
    population: Sequence[Any],
    generation: int,
) -> int:
    """Evaluate the individuals without a valid fitness as new runs of ``env``; set their fitness.

    The trajectory is expanded by one point per such individual
    (``generation``, ``ind_idx`` = its index in ``population``) and the runs
    are executed by ``env.run_map`` on the environment's runner. Returns how
    many were evaluated. A failed evaluation raises
    :class:`EvaluationFailedError` after every run of the generation is stored.
    """
    traj = env.trajectory
    invalid = [(k, ind) for k, ind in enumerate(population) if not ind.fitness.valid]
    if not invalid:
        return 0
    if traj.pending_runs() and traj.explored_parameters:
        raise EvaluationFailedError(
            f"trajectory {traj.name!r} has runs that are not completed ({traj.pending_runs()[:10]}); "
            "run or resume them before evaluating a new generation"
        )
    traj.expand({"generation": [generation] * len(invalid), "ind_idx": [k for k, _ in invalid]})
    returned = env.run_map(StoredEvaluation(evaluate), [list(ind) for _, ind in invalid])
    failed = [idx for idx, value in returned if value is None]
    if failed:
        raise EvaluationFailedError(
            f"the evaluation of generation {generation} failed in the runs {failed}; their errors are "
            "stored with the runs (traj.run_info(idx).error)"
        )
    for (_, ind), (_, fitness) in zip(invalid, returned):
        ind.fitness.values = fitness
    return len(invalid)


def _set_result(traj: Trajectory, name: str, comment: str, **items: Any) -> None:
    result = traj.results.get(name, None)
    if result is None:
        traj.add_result(name, comment=comment, **items)
    else:
        result.set(**items)
    if traj.storage is not None:
        traj.store_items(f"results.{name}")


def store_hall_of_fame(traj: Trajectory, hall_of_fame: tools.HallOfFame, name: str = "hall_of_fame") -> None:
    """Keep the hall of fame as a result: ``individuals`` (one row each) and their ``fitness``."""
    _set_result(
        traj, name, "the best individuals found so far, best first",
        individuals=np.asarray([list(ind) for ind in hall_of_fame]),
        fitness=np.asarray([ind.fitness.values for ind in hall_of_fame], dtype=float),
    )


def store_logbook(traj: Trajectory, logbook: tools.Logbook, name: str = "logbook") -> None:
    """Keep the logbook as a result with one array per column (``gen``, ``nevals``, statistics)."""
    keys = list(dict.fromkeys(key for record in logbook for key in record))
    columns = {key: np.asarray(logbook.select(key)) for key in keys}
    _set_result(traj, name, "one entry per generation", **columns)


def evolve(
    env: Environment,
    toolbox: Any,
    population: list[Any],
    generations: int,
    *,
    cxpb: float,
    mutpb: float,
    elite: int = 0,
    stats: tools.Statistics | None = None,
    hall_of_fame: tools.HallOfFame | None = None,
) -> tuple[list[Any], tools.Logbook]:
    """A simple generational loop evaluated through ``env``: select, vary, keep ``elite`` best.

    ``toolbox`` provides ``select``, ``mate``, ``mutate`` and ``evaluate``
    (``evaluate(traj, genes) -> fitness tuple``, importable by the runner's
    workers). Generation 0 evaluates ``population`` as given. After every
    generation the logbook and the hall of fame are stored, so an
    interrupted search keeps everything up to its last generation.
    """
    logbook = tools.Logbook()
    logbook.header = ["gen", "nevals", *(stats.fields if stats is not None else [])]
    traj = env.trajectory
    for generation in range(generations + 1):
        if generation:
            elites = [toolbox.clone(ind) for ind in tools.selBest(population, elite)]
            offspring = toolbox.select(population, len(population) - len(elites))
            population = elites + algorithms.varAnd(offspring, toolbox, cxpb, mutpb)
        evaluated = evaluate_population(env, toolbox.evaluate, population, generation)
        if hall_of_fame is not None:
            hall_of_fame.update(population)
            store_hall_of_fame(traj, hall_of_fame)
        logbook.record(gen=generation, nevals=evaluated, **(stats.compile(population) if stats else {}))
        store_logbook(traj, logbook)
    return population, logbook
