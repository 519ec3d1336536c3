"""DEAP evolutionary search through a pypet-rebuild Environment.

Each generation becomes new points of the trajectory (``generation``,
``ind_idx``), evaluated by whatever runner the Environment has; every
individual and its fitness is stored per run, and the hall of fame and the
logbook are kept as results.
"""

from __future__ import annotations

from pypet_rebuild_deap.evolution import (
    EvaluationFailedError,
    add_evolution_parameters,
    evaluate_population,
    evolve,
    store_hall_of_fame,
    store_logbook,
)

__all__ = [
    "EvaluationFailedError",
    "add_evolution_parameters",
    "evaluate_population",
    "evolve",
    "store_hall_of_fame",
    "store_logbook",
]
