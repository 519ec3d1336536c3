"""pypet-rebuild-mpi: run an exploration across the ranks of an MPI job.

``Environment(..., runner="mpi")`` under ``mpiexec -n N python sim.py``.
Importing this package does not initialise MPI; making a runner does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pypet_rebuild_mpi.runner import MPIRunner

__all__ = ["MPIRunner"]


def __getattr__(name: str) -> Any:
    if name == "MPIRunner":
        from pypet_rebuild_mpi.runner import MPIRunner

        return MPIRunner
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
