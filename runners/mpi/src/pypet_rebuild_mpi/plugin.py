"""Registers the ``mpi`` runner with pypet-rebuild.

Importing ``mpi4py`` here (and not ``mpi4py.MPI``, which would initialise
MPI in every process that merely lists its plugins) makes a missing mpi4py
show up as this plugin failing to load, with the install hint for the
``mpi`` extra.
"""

from __future__ import annotations

from typing import Any

import mpi4py  # noqa: F401  (a missing mpi4py must fail the plugin load, see above)

from pypet_rebuild.plugins import hookimpl
from pypet_rebuild.registries import RunnerRegistry

__all__ = ["pypet_rebuild_register_runners"]


def make_mpi_runner(**options: Any) -> Any:
    """Imports the runner, and so MPI, only when an MPI runner is asked for."""
    from pypet_rebuild_mpi.runner import MPIRunner

    return MPIRunner(**options)


@hookimpl
def pypet_rebuild_register_runners(registry: RunnerRegistry) -> None:
    registry.add("mpi", make_mpi_runner)
