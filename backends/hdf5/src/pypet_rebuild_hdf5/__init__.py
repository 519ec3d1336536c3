"""pypet-rebuild's HDF5 storage backend: columnar per-run results, crash-safe writes.

Open it through the core (``Environment(..., storage="results.h5")``,
``load_trajectory("results.h5")``) or directly with ``open_hdf5(url, **options)``.
"""

from __future__ import annotations

from pypet_rebuild_hdf5.backend import HDF5Backend, open_hdf5

__all__ = ["HDF5Backend", "open_hdf5"]
