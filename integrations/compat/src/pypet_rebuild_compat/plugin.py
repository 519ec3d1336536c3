"""Entry point ``compat``: the read-only backend for files written by pypet.

It answers ``pypet://`` URLs, and any existing file its recogniser finds to
hold a pypet trajectory, whatever the suffix; pypet-rebuild's own HDF5
files are left to the HDF5 backend.
"""

from __future__ import annotations

from pypet_rebuild.plugins import hookimpl
from pypet_rebuild.registries import StorageRegistry

from pypet_rebuild_compat.pypet_file import is_pypet_file, open_pypet


@hookimpl
def pypet_rebuild_register_storage_backends(registry: StorageRegistry) -> None:
    registry.add("pypet", open_pypet, schemes=("pypet",), recognizes=is_pypet_file)
