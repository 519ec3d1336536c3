"""Reading PyTables' HDF5 objects with h5py, the way pypet's storage service did.

pypet wrote through PyTables, which pickles any attribute it cannot store
natively and unpickles it again on read, silently. Reading through h5py
instead keeps every byte in view: a pickle stream that builds more than
plain data is only unpickled when the caller allowed it, otherwise it is an
``UnsafeValueError`` naming it.
"""

from __future__ import annotations

import io
import pickle
import pickletools
from collections.abc import Mapping
from typing import Any

import h5py
import numpy as np

from pypet_rebuild.errors import StorageError, UnsafeValueError

__all__ = [
    "text",
    "attributes",
    "is_pickle",
    "unpickle",
    "unpickle_plain",
    "read_table",
    "read_array",
    "recall_native",
]

ENCODING = "utf-8"

# pypet's scalar type names (as stored in ``*_SCALAR_TYPE`` attributes).
_SCALAR_TYPES: dict[str, Any] = {
    "bool": bool,
    "complex": complex,
    "float": float,
    "int": int,
    "str": str,
    "bytes": bytes,
    "bool_": np.bool_,
    "string_": np.bytes_,
    "bytes_": np.bytes_,
    **{
        name: getattr(np, name)
        for name in (
            "complex64", "complex128", "float32", "float64", "int8", "int16", "int32", "int64",
            "uint8", "uint16", "uint32", "uint64",
        )
    },
}
# Files from Python 2 (pypet 0.1) spell them "<type 'int'>"; their ``str`` held bytes of text.
_SCALAR_TYPES.update({f"<type '{name}'>": cls for name, cls in list(_SCALAR_TYPES.items())})
_SCALAR_TYPES.update({"<type 'unicode'>": str, "<type 'long'>": int})
_SCALAR_TYPES.update({f"<type 'numpy.{name}'>": getattr(np, name) for name in ("bool_", "complex64", "complex128", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")})


def text(value: Any) -> str:
    """A stored string attribute or cell as ``str``."""
    if isinstance(value, (bytes, np.bytes_)):
        return bytes(value).decode(ENCODING)
    return str(value)


def is_pickle(data: bytes) -> bool:
    """Whether ``data`` is one complete pickle stream, judged without executing it."""
    if not data or not (data[:1] == b"\x80" or data[-1:] == b"."):
        return False
    try:
        end = 0
        for opcode, _arg, position in pickletools.genops(data):
            end = position if position is not None else end
            if opcode.name == "STOP":
                return position == len(data) - 1
    except Exception:  # not a pickle stream: plain bytes that happen to look like one
        return False
    return False


class _PlainData(pickle.Unpickler):
    """Builds only plain data: builtin containers and scalars, numpy arrays.

    PyTables pickled what HDF5 could not hold natively (a list annotation,
    pandas' text columns); such streams name no callable outside this list,
    so loading them runs none of the file's code.
    """

    _ALLOWED = {
        ("builtins", "set"), ("builtins", "frozenset"), ("builtins", "complex"), ("builtins", "bytearray"),
        ("__builtin__", "set"), ("__builtin__", "frozenset"), ("__builtin__", "complex"),
        ("copy_reg", "_reconstructor"), ("copyreg", "_reconstructor"), ("builtins", "object"),
        ("numpy", "ndarray"), ("numpy", "dtype"),
        ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
    }

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"{module}.{name}")
        return super().find_class(module, name)


def _refusal(where: str, detail: str = "") -> UnsafeValueError:
    return UnsafeValueError(
        f"{where} was pickled by pypet{detail}; unpickling runs code stored in the file, so it is "
        "refused: pass allow_pickle=True (load_trajectory(..., allow_pickle=True) or "
        "import-pypet --allow-pickle) only for files you trust"
    )


def unpickle(data: bytes, where: str, allow_pickle: bool) -> Any:
    """Unpickle one of pypet's pickled leaves, only where the reader allowed it."""
    if not allow_pickle:
        raise _refusal(where)
    return pickle.loads(data)


def unpickle_plain(data: bytes, where: str, allow_pickle: bool) -> Any:
    """Unpickle what PyTables pickled on pypet's behalf: plain data always, anything else if allowed."""
    try:
        return _PlainData(io.BytesIO(data)).load()
    except pickle.UnpicklingError as error:
        if not allow_pickle:
            raise _refusal(where, f" and needs {error}, which is more than plain data") from None
    return pickle.loads(data)


def _attribute_value(value: Any, where: str, allow_pickle: bool) -> Any:
    if isinstance(value, (bytes, np.bytes_)):
        raw = bytes(value)
        if is_pickle(raw):
            return unpickle_plain(raw, where, allow_pickle)
        return raw.decode(ENCODING)
    if isinstance(value, np.ndarray) and value.dtype.kind == "S":
        return np.char.decode(value, ENCODING)
    return value


def attributes(node: h5py.HLObject, where: str, allow_pickle: bool, prefix: str = "") -> dict[str, Any]:
    """The node's attributes starting with ``prefix`` (prefix removed), decoded."""
    found = {}
    for key in node.attrs:
        if key.startswith(prefix):
            found[key[len(prefix):]] = _attribute_value(node.attrs[key], f"attribute {key!r} of {where}", allow_pickle)
    return found


def _convert_scalar(value: Any, type_name: str | None) -> Any:
    if isinstance(value, np.ndarray) and value.shape in ((), (1,)):
        value = value.reshape(-1)[0]
    if type_name is None:
        return value
    target = _SCALAR_TYPES.get(type_name)
    if target is None:
        raise StorageError(f"pypet stored a value of the unknown type {type_name!r}")
    if target is str:
        return text(value)
    if type(value) is target:
        return value
    if target is bytes:
        return bytes(value)
    if isinstance(value, np.generic) and target in (int, float, bool, complex):
        return target(value.item())
    return target(value)


def recall_native(data: Any, attrs: Mapping[str, Any], prefix: str) -> Any:
    """Give ``data`` back the Python type pypet recorded in ``attrs`` (its ``COLL_TYPE``/``SCALAR_TYPE``)."""
    coll = attrs.get(prefix + "COLL_TYPE")
    scalar = attrs.get(prefix + "SCALAR_TYPE")
    coll = text(coll) if coll is not None else None
    scalar = text(scalar) if scalar is not None else None
    if coll == "COLL_SCALAR":
        return _convert_scalar(data, scalar)
    if coll in ("COLL_LIST", "COLL_TUPLE"):
        items = [_convert_scalar(item, scalar) for item in (data.tolist() if isinstance(data, np.ndarray) and scalar is None else list(data))]
        return tuple(items) if coll == "COLL_TUPLE" else items
    if coll == "COLL_EMPTY_DICT":
        return {}
    if isinstance(data, np.ndarray):
        if scalar in ("str", "<type 'str'>") and data.dtype.kind == "S":
            data = np.char.decode(data, ENCODING)
        if coll == "COLL_MATRIX":
            return np.asarray(data)  # numpy.matrix is deprecated; its data comes back as an array
    return data


def _read_raw(dataset: h5py.Dataset) -> Any:
    """The dataset's values with strings byte for byte.

    PyTables marks fixed-length strings null-terminated, so a plain h5py read
    stops at the first zero byte, and pickles and ``bytes`` values hold
    zeros; reading in the file's own type copies the bytes unconverted.
    """
    if dataset.shape is None:
        return np.array([], dtype=dataset.dtype)
    if dataset.dtype.kind not in "SV" or dataset.size == 0:
        return dataset[()]
    out = np.empty(dataset.shape, dtype=dataset.dtype)
    dataset.id.read(h5py.h5s.ALL, h5py.h5s.ALL, out, mtype=dataset.id.get_type())
    return out[()] if out.ndim == 0 else out


def read_table(table: h5py.Dataset, type_attrs: Mapping[str, Any] | None = None) -> dict[str, list[Any]]:
    """A PyTables table as ``{column: values}``, values recalled to their stored types."""
    attrs = type_attrs if type_attrs is not None else {k: table.attrs[k] for k in table.attrs}
    rows = _read_raw(table)
    columns = {}
    for column in rows.dtype.names or ():
        prefix = f"SRVC_COLUMN_{column}_"
        columns[column] = [recall_native(np.asarray(value), attrs, prefix) if prefix + "COLL_TYPE" in attrs else value for value in rows[column]]
    return columns


def _vlarray_rows(array: h5py.Dataset, where: str, allow_pickle: bool) -> list[Any]:
    kind = text(array.attrs.get("PSEUDOATOM", b""))
    rows = list(array[()])
    if kind == "object":
        return [unpickle_plain(np.asarray(row, dtype=np.uint8).tobytes(), where, allow_pickle) for row in rows]
    if kind == "vlstring":
        return [np.asarray(row, dtype=np.uint8).tobytes() for row in rows]
    if kind == "vlunicode":
        return [np.asarray(row, dtype=np.uint32).tobytes().decode("utf-32-le") for row in rows]
    return [np.asarray(row) for row in rows]


def read_array(array: h5py.Dataset, where: str, allow_pickle: bool) -> Any:
    """A PyTables (C/E/VL)Array as pypet read it, types recalled from its attributes."""
    attrs = {k: array.attrs[k] for k in array.attrs}
    if text(attrs.get("CLASS", b"")) == "VLARRAY":
        data: Any = _vlarray_rows(array, where, allow_pickle)
    else:
        data = _read_raw(array)
        if text(attrs.get("FLAVOR", b"numpy")) == "python":
            data = data.tolist() if isinstance(data, np.ndarray) and data.ndim > 0 else data
    return recall_native(data, attrs, "SRVC_DATA_")
