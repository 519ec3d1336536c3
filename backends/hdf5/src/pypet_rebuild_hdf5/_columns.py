"""Extendable per-run datasets: rows of values plus the run index of each row.

Every per-run table in the file is a ``Rows``: a ``values`` dataset whose
first axis grows by one row per run (chunked, extended in batches) and a
``run_index`` dataset saying which run each row belongs to. A row whose
run index is -1 was replaced by a later store of that run and is ignored.
The map from run index to row is built from ``run_index`` with one read,
the first time a single run is looked up, and kept while the file is open.
"""

from __future__ import annotations

from typing import Any

import h5py
import numpy as np

from pypet_rebuild_hdf5._items import without_h5py_metadata

__all__ = ["Rows", "chunk_rows", "big_rows", "PACKED_DTYPE"]

PACKED_DTYPE = h5py.vlen_dtype(np.uint8)
_TARGET_CHUNK_BYTES = 64 * 1024
_MAX_CHUNK_ROWS = 1024
_DIRECT_ROW_BYTES = 64 * 1024  # rows at least this big are written one chunk at a time, unstacked


def chunk_rows(row_bytes: int) -> int:
    """Rows per chunk: about 64 KiB per chunk, at most 1024 rows, at least one.

    Small enough that a short exploration makes a small file, big enough that
    100,000 runs of a scalar need only 98 chunks per column.
    """
    return max(1, min(_MAX_CHUNK_ROWS, _TARGET_CHUNK_BYTES // max(row_bytes, 1)))


class Rows:
    """One values dataset plus its run index, inside ``group``; created on first append."""

    def __init__(self, group: h5py.Group, values_name: str = "values", index_name: str = "run_index") -> None:
        self.group = group
        self.values_name = values_name
        self.index_name = index_name
        self._inverse: np.ndarray | None = None
        self._datasets: tuple[h5py.Dataset, h5py.Dataset] | None = None

    def _opened(self) -> tuple[h5py.Dataset, h5py.Dataset] | None:
        """The two datasets, opened once (opening costs more than a small read)."""
        if self._datasets is None and self.index_name in self.group:
            self._datasets = (self.group[self.values_name], self.group[self.index_name])
        return self._datasets

    @property
    def values(self) -> h5py.Dataset | None:
        opened = self._opened()
        return opened[0] if opened is not None else None

    @property
    def index(self) -> h5py.Dataset | None:
        opened = self._opened()
        return opened[1] if opened is not None else None

    def __len__(self) -> int:
        index = self.index
        return 0 if index is None else index.shape[0]

    # -- lookups ---------------------------------------------------------------------

    def _rows_of(self) -> np.ndarray:
        """Dense map run index -> row (-1: no row), built with one read."""
        if self._inverse is None:
            index = self.index
            runs = index[()] if index is not None else np.zeros(0, dtype=np.int64)
            live = np.flatnonzero(runs >= 0)
            inverse = np.full(int(runs.max()) + 1 if len(runs) else 0, -1, dtype=np.int64)
            inverse[runs[live]] = live
            self._inverse = inverse
        return self._inverse

    def row_of(self, idx: int) -> int:
        rows = self._rows_of()
        return int(rows[idx]) if 0 <= idx < len(rows) else -1

    def read(self) -> tuple[np.ndarray, Any]:
        """All live rows: (run indices, values) in stored order, one read each."""
        index, values = self.index, self.values
        if index is None or values is None:
            return np.zeros(0, dtype=np.int64), None
        runs, data = index[()], without_h5py_metadata(values[()])
        live = runs >= 0
        if live.all():
            return runs, data
        return runs[live], data[live]

    # -- writes ----------------------------------------------------------------------

    def _create(self, dtype: np.dtype, row_shape: tuple[int, ...], filters: dict[str, Any]) -> None:
        row_bytes = dtype.itemsize * int(np.prod(row_shape, dtype=np.int64)) if dtype != PACKED_DTYPE else 512
        rows = chunk_rows(row_bytes)
        # HDF5 cannot checksum variable-length rows (their bytes live on the heap): packed
        # values carry a CRC of their own instead.
        value_filters = {k: v for k, v in filters.items() if k != "fletcher32"} if dtype == PACKED_DTYPE else filters
        self.group.create_dataset(
            self.values_name, shape=(0, *row_shape), maxshape=(None, *row_shape), dtype=dtype,
            chunks=(rows, *row_shape), **value_filters,
        )
        self.group.create_dataset(
            self.index_name, shape=(0,), maxshape=(None,), dtype=np.int64, chunks=(max(rows, 1024),), **filters
        )

    def append(self, runs: np.ndarray, rows: Any, dtype: np.dtype, row_shape: tuple[int, ...],
               filters: dict[str, Any]) -> None:
        """Add rows for ``runs``: a stacked array, a list of big arrays, or a list of blobs."""
        if self.index is None:
            self._create(dtype, row_shape, filters)
        values, index = self.values, self.index
        assert values is not None and index is not None
        start, count = index.shape[0], len(runs)
        values.resize(start + count, axis=0)
        index.resize(start + count, axis=0)
        if dtype == PACKED_DTYPE:
            blobs = np.empty(count, dtype=object)
            for i, blob in enumerate(rows):
                blobs[i] = np.frombuffer(blob, dtype=np.uint8)
            values.write_direct(blobs, np.s_[0:count], np.s_[start:start + count])
        elif isinstance(rows, list):
            direct = not filters and values.chunks[0] == 1 and values.dtype.isnative
            for i, row in enumerate(rows):
                if direct:
                    values.id.write_direct_chunk((start + i,) + (0,) * len(row_shape), np.ascontiguousarray(row))
                else:
                    values[start + i] = row
        else:
            values[start:start + count] = rows
        index[start:start + count] = runs
        if self._inverse is not None:
            top = int(runs.max()) + 1
            if top > len(self._inverse):
                self._inverse = np.concatenate([self._inverse, np.full(top - len(self._inverse), -1, np.int64)])
            self._inverse[runs] = np.arange(start, start + count)

    def drop(self, runs: np.ndarray) -> None:
        """Forget the rows of ``runs`` (marking them -1) so a new store can replace them."""
        if self.index is None:
            return
        rows_of = self._rows_of()
        inside = runs[runs < len(rows_of)]
        rows = np.unique(rows_of[inside])
        rows = rows[rows >= 0]
        if len(rows):
            self.index[rows.tolist()] = -1
            rows_of[inside] = -1


def big_rows(dtype: np.dtype, row_shape: tuple[int, ...]) -> bool:
    """Whether rows are big enough to be written one by one instead of stacked in memory."""
    return dtype.itemsize * int(np.prod(row_shape, dtype=np.int64)) >= _DIRECT_ROW_BYTES

