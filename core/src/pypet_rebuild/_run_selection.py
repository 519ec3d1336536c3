"""Which runs one ``Environment`` executes when it is one of many writers.

An array task, or any launcher of the user's, resumes a stored trajectory
and runs only the indices it was given (``Environment(..., resume=True,
runs=indices)``). Such a writer adds runs and nothing else: it leaves the
trajectory's nodes and metadata to whoever created it, so that any number
of writers can store runs of one trajectory at the same time. Without
``resume``, ``runs`` restricts what the creating environment runs
(``runs=[]``: store the trajectory, run nothing, leave the runs to others).
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Sequence

from pypet_rebuild.errors import ExplorationError

__all__ = ["checked_runs", "selected_pending"]


def checked_runs(runs: Iterable[int] | None) -> frozenset[int] | None:
    """The given run indices as a set, or ``None`` for "every run"."""
    if runs is None:
        return None
    try:
        return frozenset(operator.index(idx) for idx in runs)
    except TypeError as exc:
        raise ExplorationError(f"runs must be an iterable of whole run indices, got {runs!r}") from exc


def selected_pending(pending: Sequence[int], selection: frozenset[int] | None, length: int) -> list[int]:
    """The pending runs that ``selection`` names, in run order; names outside the trajectory are an error."""
    if selection is None:
        return list(pending)
    outside = sorted(idx for idx in selection if not 0 <= idx < length)
    if outside:
        raise ExplorationError(
            f"runs {outside[:10]} are not runs of this trajectory, which has "
            + (f"runs 0 to {length - 1}" if length else "no runs (explore it first)")
        )
    return [idx for idx in pending if idx in selection]
