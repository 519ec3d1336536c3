"""Values as BSON: the core's portable tree, with arrays as binary fields.

Why the portable tree rather than one opaque blob per value: BSON already
holds JSON-like data natively and pymongo decodes it in C, so a stored value
stays readable in any MongoDB client (``{"t": "float", "v": 0.5}``) and
loading skips the JSON parse a blob would need. Arrays become BSON binary
fields in a compact layout of our own (dtype string, shape, raw bytes):
numpy's npy reader parses its header with ``literal_eval`` and costs tens of
microseconds per array, which dominates when a column holds 100,000 small
arrays. Structured dtypes, which that layout cannot describe, use npy.

Every binary field in a stored tree is an array (the codec stores ``bytes``
values as uint8 arrays), so a binary read back with its subtype lost is
still recognised; see ``_array_subtype``.

Every dictionary key in a tree passes through ``escape_key``; the core's
codec writes user dictionaries as lists of pairs, so user keys only become
field names in annotations, metadata and item maps, which escape them too.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Mapping
from typing import Any

import numpy as np
from bson.binary import Binary

from pypet_rebuild.errors import UnsupportedTypeError
from pypet_rebuild.values import array_from_bytes, array_to_bytes, decode, encode
from pypet_rebuild_mongo._keys import escape_key, unescape_key

__all__ = [
    "LARGE_VALUE_KEY",
    "array_to_binary",
    "binary_to_array",
    "decode_mapping",
    "decode_value",
    "encode_mapping",
    "encode_value",
    "is_large_marker",
]

RAW_ARRAY_SUBTYPE = 0x80  # user-defined BSON binary subtypes start at 0x80
NPY_ARRAY_SUBTYPE = 0x81
_NPY_MAGIC = b"\x93NUMPY"
LARGE_VALUE_KEY = "gridfs"  # {"gridfs": file_id}: the value lives in GridFS
_LONG_TEXT = 1 << 16  # longer strings are measured exactly (UTF-8 may be 4x)
_NODE_OVERHEAD = 12


def array_to_binary(array: np.ndarray) -> Binary:
    """One array as a BSON binary field: raw layout when the dtype string says it all."""
    dtype = array.dtype
    if dtype.names is not None or dtype.subdtype is not None:
        return Binary(array_to_bytes(array), NPY_ARRAY_SUBTYPE)
    dtype_text = dtype.str.encode("ascii")
    header = bytes((len(dtype_text),)) + dtype_text + bytes((array.ndim,))
    header += struct.pack(f"<{array.ndim}q", *array.shape)
    return Binary(header + array.tobytes(order="C"), RAW_ARRAY_SUBTYPE)


def _array_subtype(data: Binary | bytes) -> int:
    """The layout of a stored array. A server that drops binary subtypes
    (nx-27017 hands every binary back as subtype 0, which pymongo reads as
    ``bytes``) leaves the bytes to tell: the npy layout starts with numpy's
    magic, the raw one with the length of a dtype string (never 0x93)."""
    if isinstance(data, Binary) and data.subtype != 0:
        return int(data.subtype)
    return NPY_ARRAY_SUBTYPE if data[: len(_NPY_MAGIC)] == _NPY_MAGIC else RAW_ARRAY_SUBTYPE


def binary_to_array(data: Binary | bytes) -> np.ndarray:
    """Inverse of :func:`array_to_binary`; always a fresh, writable array."""
    subtype = _array_subtype(data)
    if subtype == NPY_ARRAY_SUBTYPE:
        return array_from_bytes(bytes(data))
    if subtype != RAW_ARRAY_SUBTYPE:
        raise ValueError(f"binary field of subtype {subtype} is not a stored array")
    end = 1 + data[0]
    dtype = np.dtype(data[1:end].decode("ascii"))
    ndim = data[end]
    shape = struct.unpack_from(f"<{ndim}q", data, end + 1)
    count = math.prod(shape)
    if count == 0 or dtype.itemsize == 0:
        return np.zeros(shape, dtype)
    flat = np.frombuffer(data, dtype=dtype, count=count, offset=end + 1 + 8 * ndim)
    return flat.reshape(shape).copy()


def _tree_to_bson(tree: Any) -> tuple[Any, int]:
    size = 0

    def walk(node: Any) -> Any:
        nonlocal size
        if isinstance(node, np.ndarray):
            binary = array_to_binary(node)
            size += len(binary)
            return binary
        size += _NODE_OVERHEAD
        if isinstance(node, dict):
            return {escape_key(key): walk(item) for key, item in node.items()}
        if isinstance(node, list):
            return [walk(item) for item in node]
        if isinstance(node, str):
            size += len(node) if len(node) < _LONG_TEXT else len(node.encode("utf-8", "surrogatepass"))
        return node

    return walk(tree), size


def _tree_from_bson(node: Any) -> Any:
    if isinstance(node, dict):
        return {unescape_key(key): _tree_from_bson(item) for key, item in node.items()}
    if isinstance(node, list):
        return [_tree_from_bson(item) for item in node]
    if isinstance(node, bytes):  # Binary is a bytes subclass; the tree holds no other bytes
        return binary_to_array(node)
    return node


def encode_value(value: Any, *, allow_pickle: bool = False) -> tuple[Any, int]:
    """The BSON form of ``value`` and an estimate of its size in bytes.

    Raises the codec's ``UnsupportedTypeError`` for values it cannot store,
    before anything is written.
    """
    return _tree_to_bson(encode(value, allow_pickle=allow_pickle))


def decode_value(stored: Any, *, metadata: bool = False) -> Any:
    """Inverse of :func:`encode_value`; ``metadata`` refuses any pickle."""
    return decode(_tree_from_bson(stored), copy=False, metadata=metadata)


def is_large_marker(stored: Any) -> bool:
    """Whether a stored value is a reference to GridFS rather than the value."""
    return type(stored) is dict and LARGE_VALUE_KEY in stored


def encode_mapping(mapping: Mapping[str, Any]) -> dict[str, Any]:
    """Annotations or metadata: escaped keys, each value in BSON form, so that
    ``{"annotations.unit.v": "mV"}`` can be queried."""
    for key in mapping:
        if type(key) is not str:
            raise UnsupportedTypeError(
                f"annotation and metadata keys must be str; key {key!r} of type "
                f"'{type(key).__name__}' cannot be stored; convert it with str()"
            )
    return {escape_key(key): encode_value(item)[0] for key, item in mapping.items()}


def decode_mapping(stored: Mapping[str, Any] | None) -> dict[str, Any]:
    """Inverse of :func:`encode_mapping`."""
    return {unescape_key(key): decode_value(item, metadata=True) for key, item in (stored or {}).items()}
