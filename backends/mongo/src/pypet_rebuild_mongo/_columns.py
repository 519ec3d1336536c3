"""Per-run values as column chunks: the layout of the ``run_items`` collection.

Why chunks rather than one document per run and item: a column of 100,000
runs then lives in about a hundred documents (one per stored batch, split
when it passes ``chunk_bytes``), so reading it is one indexed query that
moves a hundred documents instead of a hundred thousand, and the index holds
one entry per chunk instead of one per run.

A chunk body holds the run indices in ``idx`` and the values either

- *stacked*: ``{"stack": kind, "array": <binary>}`` when every value has the
  same exact type and, for numpy values, dtype and shape (Python floats, ints
  and bools, numpy scalars, arrays of one shape). The column is then one
  array, and ``load_column_array`` concatenates chunks without decoding
  values one by one; or
- *generic*: ``{"values": [...]}``, each value in the BSON form of
  ``_bson_values``, or a ``{"gridfs": id}`` reference for a value too large
  for a document (``LargeValue`` placeholders until the writer uploads them).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from pypet_rebuild.values import default_registry
from pypet_rebuild_mongo._bson_values import (
    LARGE_VALUE_KEY,
    array_to_binary,
    binary_to_array,
    decode_value,
    encode_value,
    is_large_marker,
)

__all__ = ["DecodedChunk", "LargeValue", "build_chunks", "chunk_without", "stacked_signature"]

_SIMPLE_KINDS = frozenset("biufcmMSU")
_INT64 = np.iinfo(np.int64)
_PLAIN_KINDS = {float: "float", int: "int", bool: "bool"}
_PLAIN_DTYPES = {"float": np.float64, "int": np.int64, "bool": np.bool_}
_LARGE_PLACEHOLDER_SIZE = 64

LoadLarge = Callable[[Any], Any]


@dataclass
class LargeValue:
    """A value bound for GridFS; the writer uploads it and stores a reference."""

    idx: int
    value: Any
    allow_pickle: bool


def _simple_dtype(dtype: np.dtype) -> bool:
    return dtype.kind in _SIMPLE_KINDS and dtype.names is None and dtype.subdtype is None


def _stack(values: Sequence[Any]) -> tuple[str, np.ndarray] | None:
    """The values as one array, if they can be given back exactly from it."""
    first = values[0]
    cls = type(first)
    if not all(type(value) is cls for value in values):
        return None
    kind = _PLAIN_KINDS.get(cls)
    if kind == "int" and not all(_INT64.min <= value <= _INT64.max for value in values):
        return None
    if kind is not None:
        return kind, np.array(values, dtype=_PLAIN_DTYPES[kind])
    if default_registry().tag_for(cls) is not None:
        return None  # a plugin owns this type; its codec must see every value
    if isinstance(first, np.generic) and _simple_dtype(first.dtype):
        if all(value.dtype == first.dtype for value in values):
            return "numpy", np.array(values, dtype=first.dtype)
    if cls is np.ndarray and first.ndim > 0 and _simple_dtype(first.dtype):
        if all(value.dtype == first.dtype and value.shape == first.shape for value in values):
            return "ndarray", np.stack(values, dtype=first.dtype)  # keeps the byte order
    return None


def build_chunks(
    entries: Sequence[tuple[int, Any, bool]], *, chunk_bytes: int, large_value_bytes: int
) -> list[dict[str, Any]]:
    """Chunk bodies for one column from ``(idx, value, allow_pickle)`` entries.

    Encoding happens here, before anything is written, so an unstorable
    value fails the whole batch up front.
    """
    indices = [idx for idx, _, _ in entries]
    values = [value for _, value, _ in entries]
    stacked = None if any(pickle for _, _, pickle in entries) else _stack(values)
    if stacked is not None:
        kind, array = stacked
        row_bytes = max(1, array.nbytes // len(array))
        if row_bytes <= large_value_bytes:
            rows = max(1, chunk_bytes // row_bytes)
            return [
                {"idx": indices[start:start + rows], "stack": kind, "array": array_to_binary(array[start:start + rows])}
                for start in range(0, len(array), rows)
            ]
    chunks: list[dict[str, Any]] = []
    current: dict[str, Any] = {"idx": [], "values": []}
    size = 0
    for idx, value, allow_pickle in entries:
        stored, value_size = encode_value(value, allow_pickle=allow_pickle)
        if value_size > large_value_bytes:
            stored, value_size = LargeValue(idx, value, allow_pickle), _LARGE_PLACEHOLDER_SIZE
        if current["idx"] and size + value_size > chunk_bytes:
            chunks.append(current)
            current, size = {"idx": [], "values": []}, 0
        current["idx"].append(idx)
        current["values"].append(stored)
        size += value_size
    chunks.append(current)
    return chunks


def stacked_signature(body: dict[str, Any], array: np.ndarray) -> tuple[str, str, tuple[int, ...]]:
    """What must agree between chunks for their arrays to form one column."""
    return body["stack"], array.dtype.str, array.shape[1:]


def _stacked_values(kind: str, array: np.ndarray) -> list[Any]:
    if kind in _PLAIN_DTYPES:
        return array.tolist()  # exact Python floats, ints and bools
    return list(array)  # numpy scalars, or one array per row


class DecodedChunk:
    """A chunk read back; arrays decoded once, values on demand."""

    def __init__(self, body: dict[str, Any]) -> None:
        self.body = body
        self.indices: list[int] = list(body["idx"])
        self.array = binary_to_array(body["array"]) if "stack" in body else None
        self._positions: dict[int, int] | None = None

    @property
    def stacked(self) -> bool:
        return self.array is not None

    def position(self, idx: int) -> int | None:
        if self._positions is None:
            self._positions = {value: pos for pos, value in enumerate(self.indices)}
        return self._positions.get(idx)

    def values(self, load_large: LoadLarge) -> list[Any]:
        if self.array is not None:
            return _stacked_values(self.body["stack"], self.array)
        return [_decode(stored, load_large) for stored in self.body["values"]]

    def value_at(self, pos: int, load_large: LoadLarge) -> Any:
        if self.array is not None:
            return _stacked_values(self.body["stack"], self.array[pos:pos + 1])[0]
        return _decode(self.body["values"][pos], load_large)


def _decode(stored: Any, load_large: LoadLarge) -> Any:
    if is_large_marker(stored):
        return load_large(stored[LARGE_VALUE_KEY])
    return decode_value(stored)


def chunk_without(body: dict[str, Any], drop: set[int]) -> dict[str, Any] | None:
    """The chunk with the runs in ``drop`` removed, or None if nothing is left."""
    keep = [pos for pos, idx in enumerate(body["idx"]) if idx not in drop]
    if not keep:
        return None
    kept = {key: value for key, value in body.items() if key not in ("idx", "values", "array")}
    kept["idx"] = [body["idx"][pos] for pos in keep]
    if "stack" in body:
        kept["array"] = array_to_binary(binary_to_array(body["array"])[keep])
    else:
        kept["values"] = [body["values"][pos] for pos in keep]
    return kept
