"""Entry point ``hdf5``: registers the backend for ``hdf5://`` URLs and HDF5 file suffixes."""

from __future__ import annotations

from pypet_rebuild.plugins import hookimpl
from pypet_rebuild.registries import StorageRegistry

from pypet_rebuild_hdf5.backend import open_hdf5


@hookimpl
def pypet_rebuild_register_storage_backends(registry: StorageRegistry) -> None:
    registry.add("hdf5", open_hdf5, schemes=("hdf5",), suffixes=(".h5", ".hdf5", ".hdf"))
