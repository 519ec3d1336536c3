"""Per-run arguments for ``Environment.run_map``.

Why a wrapper rather than a runner feature: every runner already sends the
job to its workers (pickled by reference, once per worker) and calls it with
the trajectory. Wrapping the job with a table of arguments keyed by run
index gives each explored point its own arguments on every runner --
serial, multiprocessing, MPI, third-party -- without any runner knowing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pypet_rebuild.errors import JobError

if TYPE_CHECKING:
    from pypet_rebuild.trajectory import Trajectory

__all__ = ["MappedJob", "map_arguments"]


class MappedJob:
    """Calls ``job(traj, *args[idx], **kwargs[idx])`` for the run ``traj.idx``.

    ``__module__`` and ``__qualname__`` are the wrapped job's, so runners
    that check where a job comes from (an interactive session cannot be
    imported by spawned workers) and name it in errors see the user's job.
    """

    def __init__(self, job: Callable[..., Any], arguments: dict[int, tuple[tuple[Any, ...], dict[str, Any]]]) -> None:
        self.job = job
        self.arguments = arguments
        self.__module__ = getattr(job, "__module__", type(job).__module__)
        self.__qualname__ = getattr(job, "__qualname__", type(job).__qualname__)

    def __call__(self, traj: Trajectory, *shared_args: Any, **shared_kwargs: Any) -> Any:
        args, kwargs = self.arguments[traj.idx]
        return self.job(traj, *shared_args, *args, **shared_kwargs, **kwargs)


def map_arguments(
    job: Callable[..., Any],
    indices: Sequence[int],
    iter_args: Sequence[Iterable[Any]],
    iter_kwargs: Mapping[str, Iterable[Any]],
) -> MappedJob:
    """Zip the iterables with the runs ``indices``: the k-th pending run gets the k-th items."""
    if not callable(job):
        raise JobError(f"the job must be a callable taking the trajectory, got {type(job).__name__}")
    columns = [list(values) for values in iter_args]
    keyed = {name: list(values) for name, values in iter_kwargs.items()}
    for what, column in [*((f"positional iterable {i}", c) for i, c in enumerate(columns)),
                         *((f"keyword iterable {n!r}", c) for n, c in keyed.items())]:
        if len(column) != len(indices):
            raise JobError(
                f"run_map: {what} has {len(column)} items, but {len(indices)} runs are pending; give one "
                "item per explored point not yet run (expand() the trajectory first if needed)"
            )
    arguments = {
        idx: (tuple(column[k] for column in columns), {name: column[k] for name, column in keyed.items()})
        for k, idx in enumerate(indices)
    }
    return MappedJob(job, arguments)
