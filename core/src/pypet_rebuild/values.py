"""Which values pypet-rebuild can store, and their backend-neutral form.

Why this module exists: every storage backend (HDF5, SQL, MongoDB,
in-memory, third-party plugins) must give back exactly what was stored --
equal and of the same type. Rather than teaching each backend every Python,
numpy, pandas and scipy type, values are turned here into a *portable tree*
made of JSON primitives plus numpy arrays of non-object dtypes, and back.
A backend then only stores JSON and raw arrays (or one :func:`pack` blob).

Pickle is never a silent fallback: it is used only when the caller passes
``allow_pickle=True``, because pickled data breaks across library versions
and executes code on load. Reading is the mirror image: :func:`decode` and
:func:`unpack` are the one way stored values come back, for every backend,
and they never unpickle. A value holding a pickle comes back as a
:class:`PickledValue` placeholder (or, for metadata, is refused); only the
core unpickles it, where the reader passed ``allow_pickle=True``.
"""

from __future__ import annotations

import io
import json
import struct
from typing import Any, Callable, Sequence

import numpy as np

from pypet_rebuild._pickled import PickledValue, PickleMet, unsafe_place
from pypet_rebuild._checksums import seal, unseal
from pypet_rebuild._value_codecs import (
    BUILTIN_TAGS,
    PLUGIN_PREFIX,
    SCALAR_TYPES,
    Decoder,
    Encoder,
    check_value,
    type_name,
)
from pypet_rebuild._value_equality import values_equal
from pypet_rebuild._value_samples import sample_result_values, sample_values
from pypet_rebuild.errors import PypetRebuildError, StorageError

__all__ = [
    "ValueTypeRegistry",
    "PickledValue",
    "default_registry",
    "check_parameter_value",
    "check_result_value",
    "encode",
    "decode",
    "split_arrays",
    "join_arrays",
    "pack",
    "unpack",
    "array_to_bytes",
    "array_from_bytes",
    "values_equal",
    "sample_values",
    "sample_result_values",
    "type_key",
]

_ARRAY_MARKER = "__array__"
_PACK_MAGIC = b"PYPETRB-VALUE\x00\x01\n"
_PACK_LENGTH = struct.Struct("<Q")


class ValueTypeRegistry:
    """Types taught by plugins. Each maps a class to a tag and two functions.

    ``to_portable(obj)`` must return a value the codec already supports (for
    example a tuple or a dict of arrays); ``from_portable`` inverts it. Lookup
    is by exact class, so a subclass is never silently stored as its base
    class and loaded back as the wrong type.
    """

    def __init__(self, *, deferred_loader: Callable[[], None] | None = None) -> None:
        self._by_class: dict[type, tuple[str, Callable[[Any], Any], Callable[[Any], Any]]] = {}
        self._by_tag: dict[str, tuple[str, Callable[[Any], Any], Callable[[Any], Any]]] = {}
        self._deferred_loader = deferred_loader

    def add(
        self,
        cls: type,
        tag: str,
        to_portable: Callable[[Any], Any],
        from_portable: Callable[[Any], Any],
    ) -> None:
        """Teach the codec one more type; refuse anything that would be ambiguous on load."""
        if not isinstance(cls, type):
            raise PypetRebuildError(f"value types must be classes, got {cls!r}")
        if not isinstance(tag, str) or not tag:
            raise PypetRebuildError(
                f"the tag for value type {type_name(cls)!r} must be a non-empty str, got {tag!r}"
            )
        if tag in BUILTIN_TAGS or tag.startswith(PLUGIN_PREFIX):
            raise PypetRebuildError(
                f"tag {tag!r} for value type {type_name(cls)!r} is reserved by the "
                "builtin value codecs; choose a tag such as 'mypackage.MyType'"
            )
        if cls in _BUILTIN_CLASSES:
            raise PypetRebuildError(
                f"{type_name(cls)!r} is already supported natively and cannot be re-registered"
            )
        if cls in self._by_class:
            raise PypetRebuildError(
                f"value type {type_name(cls)!r} is already registered with tag "
                f"{self._by_class[cls][0]!r}; register each type only once"
            )
        if tag in self._by_tag:
            other = next(c for c, e in self._by_class.items() if e[0] == tag)
            raise PypetRebuildError(
                f"tag {tag!r} is already used by value type {type_name(other)!r}; "
                f"choose a different tag for {type_name(cls)!r}"
            )
        if not callable(to_portable) or not callable(from_portable):
            raise PypetRebuildError(
                f"to_portable and from_portable for {type_name(cls)!r} must be callables"
            )
        entry = (tag, to_portable, from_portable)
        self._by_class[cls] = entry
        self._by_tag[tag] = entry

    def __contains__(self, cls: object) -> bool:
        return cls in self._by_class

    def tags(self) -> list[str]:
        return list(self._by_tag)

    def merge_into(self, other: ValueTypeRegistry) -> None:
        """Copy these types into ``other``, skipping any it already has under
        the same tag: plugin hosts rebuilt in one process (tests) register
        the same plugin's types again into the process-wide registry."""
        for cls, (tag, to_portable, from_portable) in self._by_class.items():
            if other.tag_for(cls) != tag:
                other.add(cls, tag, to_portable, from_portable)

    def tag_for(self, cls: type) -> str | None:
        """The tag ``cls`` was registered with, or None."""
        entry = self._by_class.get(cls)
        return entry[0] if entry else None

    def _load_deferred(self) -> bool:
        """Run the deferred loader once; True if it ran (so a lookup may now succeed).

        The process-wide registry is filled by the plugin host, which a
        script that never opened an Environment (``traj.add_parameter("tau",
        10 * ms)`` first) or a runner's worker process has not built yet: the
        codecs call this before they call a type unknown.
        """
        loader, self._deferred_loader = self._deferred_loader, None
        if loader is None:
            return False
        loader()
        return True

    # Used by the codec modules; not part of the public surface.
    def _entry_for_type(self, cls: type) -> tuple[str, Callable, Callable] | None:
        return self._by_class.get(cls)

    def _entry_for_tag(self, tag: str) -> tuple[str, Callable, Callable] | None:
        return self._by_tag.get(tag)


_BUILTIN_CLASSES = frozenset((type(None), *SCALAR_TYPES, list, tuple, dict, np.ndarray))
def _build_plugin_host() -> None:
    from pypet_rebuild.plugins import get_plugin_host

    get_plugin_host()


_DEFAULT_REGISTRY = ValueTypeRegistry(deferred_loader=_build_plugin_host)


def default_registry() -> ValueTypeRegistry:
    """The process-wide registry that the plugin manager fills from plugins."""
    return _DEFAULT_REGISTRY


def _registry(registry: ValueTypeRegistry | None) -> ValueTypeRegistry:
    return _DEFAULT_REGISTRY if registry is None else registry


def check_parameter_value(value: Any, registry: ValueTypeRegistry | None = None) -> None:
    """Raise UnsupportedTypeError unless ``value`` may be a parameter's value.

    Parameters are explored and compared, so they are restricted to scalars,
    flat lists/tuples of scalars, numpy, pandas, scipy.sparse and registered
    types; None, dicts and nested containers are for results only.
    """
    check_value(value, _registry(registry), parameter=True)


def check_result_value(value: Any, registry: ValueTypeRegistry | None = None) -> None:
    """Raise UnsupportedTypeError unless ``value`` can be stored as a result."""
    check_value(value, _registry(registry), parameter=False)


def encode(
    value: Any, registry: ValueTypeRegistry | None = None, *, allow_pickle: bool = False
) -> dict:
    """Turn ``value`` into a portable tree ``{"t": tag, "v": payload}``.

    Arrays in the tree are copies, so later in-place changes to the user's
    arrays do not alter what a backend holds.
    """
    return Encoder(_registry(registry), allow_pickle).encode(value)


def decode(
    tree: dict, registry: ValueTypeRegistry | None = None, *, copy: bool = True, metadata: bool = False
) -> Any:
    """Rebuild the value of a portable tree, never unpickling.

    A tree that contains a pickle anywhere becomes one :class:`PickledValue`
    holding the tree. With ``metadata=True`` (trajectory metadata,
    annotations, explored ranges: places that never hold pickles) it raises
    ``UnsafeValueError`` instead. ``copy=False`` lets a backend that just read
    fresh arrays skip a copy; keep the default when the tree stays alive
    (e.g. an in-memory store).
    """
    try:
        return Decoder(_registry(registry), copy=copy).decode(tree)
    except PickleMet:
        if metadata:
            raise unsafe_place("stored metadata, annotations or an explored range") from None
        return PickledValue(tree)


def split_arrays(tree: Any) -> tuple[Any, list[np.ndarray]]:
    """Replace every array by ``{"__array__": k}``; the rest is plain JSON.

    Backends store the JSON in a text column/attribute and the arrays in
    whatever native form they have (datasets, blobs, GridFS).
    """
    arrays: list[np.ndarray] = []

    def walk(node: Any) -> Any:
        if isinstance(node, np.ndarray):
            arrays.append(node)
            return {_ARRAY_MARKER: len(arrays) - 1}
        if isinstance(node, dict):
            return {key: walk(item) for key, item in node.items()}
        if isinstance(node, (list, tuple)):
            return [walk(item) for item in node]
        return node

    return walk(tree), arrays


def join_arrays(tree: Any, arrays: Sequence[np.ndarray]) -> Any:
    """Inverse of :func:`split_arrays`."""

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            if len(node) == 1 and _ARRAY_MARKER in node:
                index = node[_ARRAY_MARKER]
                if type(index) is not int or not 0 <= index < len(arrays):
                    raise PypetRebuildError(
                        f"array reference {index!r} is out of range for {len(arrays)} arrays"
                    )
                return arrays[index]
            return {key: walk(item) for key, item in node.items()}
        if isinstance(node, list):
            return [walk(item) for item in node]
        return node

    return walk(tree)


def array_to_bytes(a: np.ndarray) -> bytes:
    """Serialise one array in npy format (never pickled)."""
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.asanyarray(a), allow_pickle=False)
    return buffer.getvalue()


def array_from_bytes(b: bytes) -> np.ndarray:
    """Inverse of :func:`array_to_bytes`; refuses pickled object arrays."""
    return np.lib.format.read_array(io.BytesIO(b), allow_pickle=False)


def pack(
    value: Any, registry: ValueTypeRegistry | None = None, *, allow_pickle: bool = False
) -> bytes:
    """One self-describing blob: magic, JSON header length, JSON, then npy arrays.

    For backends that can only store bytes per value (key-value stores, SQL
    BLOB columns).
    """
    tree, arrays = split_arrays(encode(value, registry, allow_pickle=allow_pickle))
    header = json.dumps(
        {"tree": tree, "n_arrays": len(arrays)}, allow_nan=False, separators=(",", ":")
    ).encode("utf-8")
    buffer = io.BytesIO()
    buffer.write(_PACK_MAGIC)
    buffer.write(_PACK_LENGTH.pack(len(header)))
    buffer.write(header)
    for array in arrays:
        np.lib.format.write_array(buffer, array, allow_pickle=False)
    return seal(buffer.getvalue())


def unpack(data: bytes, registry: ValueTypeRegistry | None = None, *, metadata: bool = False) -> Any:
    """Inverse of :func:`pack`; like :func:`decode`, it never unpickles.

    A blob whose checksum fails is a ``DamagedDataError``; one that is not
    one :func:`pack` wrote whole (truncated, crafted) is a ``StorageError``,
    never a crash deep in numpy or json.
    """
    data = unseal(bytes(data))
    if not data.startswith(_PACK_MAGIC):
        raise StorageError("data is not a pypet-rebuild value blob (bad magic bytes); the stored data is damaged")
    try:
        start = len(_PACK_MAGIC)
        (length,) = _PACK_LENGTH.unpack_from(data, start)
        start += _PACK_LENGTH.size
        if start + length > len(data):
            raise ValueError(f"header of {length} bytes runs past the end")
        header = json.loads(data[start:start + length].decode("utf-8"))
        buffer = io.BytesIO(data)
        buffer.seek(start + length)
        arrays = [
            np.lib.format.read_array(buffer, allow_pickle=False)
            for _ in range(int(header["n_arrays"]))
        ]
        tree = join_arrays(header["tree"], arrays)
    except (ValueError, TypeError, KeyError, EOFError, struct.error, UnicodeDecodeError, PypetRebuildError) as exc:
        raise StorageError(
            f"a stored value blob is damaged and cannot be read ({type(exc).__name__}: {exc}); "
            "restore the file from a backup or re-run the runs that stored it"
        ) from exc
    return decode(tree, registry, copy=False, metadata=metadata)


def type_key(value: Any, registry: ValueTypeRegistry | None = None) -> str:
    """A stable name for a value's kind, to check that an explored range holds one type.

    ``bool`` and ``int`` differ, and so do ``float`` and ``numpy.float64``;
    arrays of any dtype are ``"ndarray"``; registered types are
    ``"plugin:<tag>"``; sparse objects are ``"scipy.<class name>"``.
    """
    cls = type(value)
    if cls in _BUILTIN_CLASSES:
        return "ndarray" if cls is np.ndarray else cls.__name__
    tag = _registry(registry).tag_for(cls)
    if tag is not None:
        return PLUGIN_PREFIX + tag
    if isinstance(value, np.generic):
        return f"numpy.{cls.__name__}"
    module = cls.__module__
    if module.startswith("pandas"):
        return f"pandas.{cls.__name__}"
    if module.startswith("scipy.sparse"):
        return f"scipy.{cls.__name__}"
    return f"{module}.{cls.__qualname__}"
