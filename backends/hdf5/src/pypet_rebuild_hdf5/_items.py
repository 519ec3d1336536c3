"""How one value becomes one HDF5 dataset, and back.

Numbers, numeric arrays and plain strings are stored natively, so h5py,
PyTables and HDFView users read them without pypet-rebuild. Everything else
falls back to the core's portable encoding: JSON text when the encoded tree
holds no arrays (dicts, lists, tuples, ...), else one ``values.pack`` blob as
a ``uint8`` array. The *tag* saying which form a dataset has is kept by the
caller (in the node's JSON attribute), so reading needs no extra attribute
reads.

Tags: ``float``, ``int``, ``bool``, ``complex`` (Python scalars, 0-d
datasets), ``npscalar`` (numpy scalars, 0-d), ``ndarray``, ``str`` (UTF-8
fixed-length string), ``bytes`` (``uint8`` array), ``json``, ``packed``.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

import h5py
import numpy as np

from pypet_rebuild.values import decode, encode, pack, split_arrays, unpack

__all__ = [
    "PreparedItem",
    "prepare_item",
    "prepare_range",
    "write_item",
    "read_item",
    "read_range",
    "stack_key",
    "SCALAR_KEYS",
    "rows_to_values",
    "row_to_value",
    "to_portable_json",
    "from_portable_json",
]

_INT64 = (-(2**63), 2**63 - 1)
_NATIVE_KINDS = frozenset("biufc")
# Stack keys of Python scalars are these very tuples, so columns can compare them with ``is``.
_PYTHON_SCALARS = {
    float: ("float", np.dtype("f8"), ()),
    bool: ("bool", np.dtype("?"), ()),
    complex: ("complex", np.dtype("c16"), ()),
    int: ("int", np.dtype("i8"), ()),
}
SCALAR_KEYS = {key: key for key in _PYTHON_SCALARS.values()}


def _native_dtype(dtype: np.dtype, *, allow_strings: bool) -> bool:
    """Dtypes h5py writes and reads back identically (no structured, unicode or time types)."""
    if dtype.fields is not None or dtype.subdtype is not None:
        return False
    if dtype.kind == "S":
        return allow_strings and dtype.itemsize > 0
    if dtype.kind not in _NATIVE_KINDS:
        return False
    return not (dtype.kind == "f" and dtype.itemsize > 8) and not (dtype.kind == "c" and dtype.itemsize > 16)


def stack_key(value: Any) -> tuple[str, np.dtype, tuple[int, ...]] | None:
    """(tag, dtype, row shape) if ``value`` can be a row of a stacked column, else None.

    Values of one column stack when their keys are equal; anything else is
    stored per run. Only native byte order stacks, so a column has one dtype.
    """
    cls = type(value)
    scalar = _PYTHON_SCALARS.get(cls)
    if scalar is not None:
        return scalar if cls is not int or _INT64[0] <= value <= _INT64[1] else None
    if isinstance(value, np.generic):
        if _native_dtype(value.dtype, allow_strings=False) and value.dtype.isnative:
            return "npscalar", value.dtype, ()
        return None
    if cls is np.ndarray and value.size > 0 and value.dtype.isnative:
        if _native_dtype(value.dtype, allow_strings=True):
            return "ndarray", value.dtype, value.shape
    return None


def row_to_value(tag: str, row: Any) -> Any:
    """One stored row (numpy scalar or array) as the value that was stored."""
    if tag == "float":
        return float(row)
    if tag == "int":
        return int(row)
    if tag == "bool":
        return bool(row)
    if tag == "complex":
        return complex(row)
    if tag == "npscalar":
        return row[()] if isinstance(row, np.ndarray) else row
    return without_h5py_metadata(np.asarray(row))


def rows_to_values(tag: str, rows: np.ndarray) -> list[Any]:
    """A stacked column as the list of stored values, without a Python loop for scalars."""
    if tag in ("float", "int", "bool", "complex"):
        return rows.tolist()
    if tag == "npscalar":
        return list(rows)
    if rows.ndim == 1:
        return [rows[i:i + 1].reshape(()) for i in range(len(rows))]
    return list(rows)


# -- JSON helpers for small encoded values (annotations, metadata) ---------------------


def to_portable_json(value: Any) -> Any:
    """A JSON-ready form of any storable value: its portable tree, or a packed blob in base64."""
    tree = encode(value)
    _, arrays = split_arrays(tree)
    if arrays:
        return {"packed": base64.b64encode(pack(value)).decode("ascii")}
    return tree


def from_portable_json(obj: Any) -> Any:
    """Inverse of :func:`to_portable_json`; these places never hold pickles,
    so the codec refuses one here whatever the reader allowed."""
    if isinstance(obj, dict) and set(obj) == {"packed"}:
        return unpack(base64.b64decode(obj["packed"]), metadata=True)
    return decode(obj, metadata=True)


# -- items ---------------------------------------------------------------------------


@dataclass
class PreparedItem:
    """A value already turned into what goes on disk: validated before anything is written."""

    tag: str
    array: np.ndarray

    def same_as(self, dataset: h5py.Dataset) -> bool:
        """Whether ``dataset`` already holds exactly this (so rewriting can be skipped)."""
        if dataset.shape != self.array.shape or dataset.dtype != self.array.dtype:
            return False
        stored = dataset[()]
        return np.asarray(stored).tobytes() == self.array.tobytes()


def _text_array(text: str) -> np.ndarray:
    encoded = text.encode("utf-8")
    return np.array(encoded, dtype=h5py.string_dtype("utf-8", max(1, len(encoded))))


def _json_text(tree: Any) -> str:
    return json.dumps(tree, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def prepare_item(value: Any, *, pickled: bool = False) -> PreparedItem:
    """Choose the stored form of one item (raises the codec's error for unsupported values)."""
    if pickled:
        return PreparedItem("packed", np.frombuffer(pack(value, allow_pickle=True), dtype=np.uint8))
    cls = type(value)
    key = stack_key(value)
    if key is not None and key[0] != "ndarray":
        return PreparedItem(key[0], np.asarray(value, dtype=key[1]))
    if cls is np.ndarray and _native_dtype(value.dtype, allow_strings=True):
        return PreparedItem("ndarray", np.asarray(value, order="C"))
    if cls is str and "\x00" not in value:
        return PreparedItem("str", _text_array(value))
    if cls is bytes:
        return PreparedItem("bytes", np.frombuffer(value, dtype=np.uint8))
    tree = encode(value)
    _, arrays = split_arrays(tree)
    if not arrays:
        return PreparedItem("json", _text_array(_json_text(tree)))
    return PreparedItem("packed", np.frombuffer(pack(value), dtype=np.uint8))


def prepare_range(values: list[Any]) -> PreparedItem:
    """An explored range: one stacked array when all values stack together, else packed."""
    kinds = {type(v) for v in values}
    if len(kinds) == 1 and kinds <= {float, bool, complex}:  # the common case, without a per-value loop
        tag, dtype, _ = _PYTHON_SCALARS[kinds.pop()]
        return PreparedItem("range:" + tag, np.array(values, dtype=dtype))
    keys = {stack_key(v) for v in values}
    if len(keys) == 1 and None not in keys:
        tag, dtype, _ = keys.pop()  # type: ignore[misc]
        return PreparedItem("range:" + tag, np.stack([np.asarray(v, dtype=dtype) for v in values]))
    return PreparedItem("packed", np.frombuffer(pack(list(values)), dtype=np.uint8))


def write_item(group: h5py.Group, name: str, item: PreparedItem, filters: dict[str, Any]) -> None:
    """Create dataset ``name`` (replacing one of that name) unless it already holds ``item``."""
    existing = group.get(name)
    if isinstance(existing, h5py.Dataset):
        if item.same_as(existing):
            return
        del group[name]
    elif existing is not None:
        del group[name]
    array = item.array
    options = filters if array.ndim >= 1 and array.size > 0 else {}
    group.create_dataset(name, data=array, **options)


def without_h5py_metadata(array: np.ndarray) -> np.ndarray:
    """h5py marks byte-string dtypes with its encoding; the user stored a plain
    dtype, and numpy warns when such metadata meets other storage formats."""
    if array.dtype.metadata is None:
        return array
    return array.view(np.dtype(array.dtype.descr if array.dtype.names else array.dtype.str))


def read_item(dataset: h5py.Dataset, tag: str) -> Any:
    raw = dataset[()]
    if tag in ("float", "int", "bool", "complex", "npscalar"):
        return row_to_value(tag, raw)
    if tag == "ndarray":
        return without_h5py_metadata(np.asarray(raw))
    if tag == "str":
        return bytes(raw).decode("utf-8")
    if tag == "bytes":
        return np.asarray(raw, dtype=np.uint8).tobytes()
    if tag == "json":
        return decode(json.loads(bytes(raw).decode("utf-8")), copy=False)
    return unpack(np.asarray(raw, dtype=np.uint8).tobytes())


def read_range(dataset: h5py.Dataset, tag: str) -> list[Any]:
    if tag.startswith("range:"):
        return rows_to_values(tag[len("range:"):], dataset[()])
    return unpack(np.asarray(dataset[()], dtype=np.uint8).tobytes(), metadata=True)
