"""How one item's value becomes one row's value columns, and back.

Plain scalars (Python and numpy bools, ints and floats that a double holds
exactly) go into the native ``number`` column with their type in
``value_type``, so that SQL users can filter and aggregate them and a column
of them loads without unpacking a blob per run. Everything else is one
``pypet_rebuild.values.pack`` blob; pickle only for items the user named.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from pypet_rebuild.values import pack, unpack

__all__ = ["Cell", "to_cell", "from_cell", "decode_cells", "stack_cells"]

Cell = tuple[str | None, float | None, bytes | None]

_EXACT_INT_LIMIT = 2**53  # every int of at most this magnitude is exact in a double
_NUMPY_PREFIX = "numpy."


def _fits_double(number: float) -> bool:
    # NaN is not storable in SQLite's REAL, and SQLite may store -0.0 as 0.
    return math.isfinite(number) and not (number == 0.0 and math.copysign(1.0, number) < 0)


def to_cell(value: Any, *, allow_pickle: bool = False) -> Cell:
    """``(value_type, number, blob)`` for one value."""
    cls = type(value)
    if cls is bool:
        return "bool", float(value), None
    if cls is int and abs(value) <= _EXACT_INT_LIMIT:
        return "int", float(value), None
    if cls is float and _fits_double(value):
        return "float", value, None
    if isinstance(value, np.generic) and cls is np.dtype(cls).type:
        kind = np.dtype(cls).kind
        if kind == "b":
            return _NUMPY_PREFIX + np.dtype(cls).name, float(value), None
        if kind in "iu" and abs(int(value)) <= _EXACT_INT_LIMIT:
            return _NUMPY_PREFIX + np.dtype(cls).name, float(value), None
        if kind == "f" and np.dtype(cls).itemsize <= 8 and _fits_double(float(value)):
            return _NUMPY_PREFIX + np.dtype(cls).name, float(value), None
    return None, None, pack(value, allow_pickle=allow_pickle)


def _scalar_type(value_type: str) -> type:
    if value_type == "bool":
        return bool
    if value_type == "int":
        return int
    if value_type == "float":
        return float
    return np.dtype(value_type[len(_NUMPY_PREFIX):]).type


def from_cell(value_type: str | None, number: float | None, blob: bytes | None) -> Any:
    """Inverse of :func:`to_cell`."""
    if value_type is None:
        assert blob is not None
        return unpack(blob)
    assert number is not None
    if value_type == "bool":
        return number != 0.0
    if value_type == "int":
        return int(number)
    if value_type == "float":
        return float(number)
    scalar = _scalar_type(value_type)
    if np.dtype(scalar).kind in "iu":
        return scalar(int(number))
    return scalar(number)


Column = Sequence[Any]  # one column of cells: value types, numbers or blobs


def decode_cells(types: Column, numbers: Column, blobs: Column) -> list[Any]:
    """:func:`from_cell` over parallel columns of cells."""
    return list(map(from_cell, types, numbers, blobs))


def stack_cells(types: Column, numbers: Column, blobs: Column) -> np.ndarray:
    """One array of many values, as ``numpy.asarray`` of the decoded list
    would give it, without decoding value by value when all are native
    scalars of one type."""
    if not types:
        return np.asarray([])
    value_type = types[0]
    if value_type is None or types.count(value_type) != len(types):
        return np.asarray(decode_cells(types, numbers, blobs))
    as_double = np.asarray(numbers, dtype=np.float64)
    scalar = _scalar_type(value_type)
    if scalar is bool or np.dtype(scalar).kind == "b":
        return as_double != 0.0
    if scalar is int:
        return as_double.astype(np.int64)
    if scalar is float:
        return as_double
    return as_double.astype(scalar)
