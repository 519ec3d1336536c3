"""The builtin half of the value codec: scalars, containers and numpy.

Why a separate module: ``values.py`` is the public face that backends and
plugins read; the walking machinery lives here so that the public module
stays short. Nothing here is public API; names may change freely.

A portable tree node is always ``{"t": tag, "v": payload}``. Payloads hold
only JSON primitives (non-finite floats are written as the strings
``"nan"``, ``"inf"`` and ``"-inf"`` so that the JSON stays strict and every
backend's JSON column accepts it) and numpy arrays of non-object dtypes.
"""

from __future__ import annotations

import math
import pickle
from typing import Any, Callable

import numpy as np

from pypet_rebuild._pickled import PickledValue, PickleMet
from pypet_rebuild.errors import PypetRebuildError, UnsafeValueError, UnsupportedTypeError

PLUGIN_PREFIX = "plugin:"

# Tags written by the builtin codecs. Plugin tags are written as
# ``plugin:<tag>`` so they cannot collide, but we still refuse plugin tags that
# equal a builtin one to keep stored data readable by eye.
BUILTIN_TAGS = frozenset(
    {
        "none", "bool", "int", "bigint", "float", "complex", "str", "bytes",
        "tuple", "list", "dict", "npscalar", "ndarray", "sparse",
        "pandas.series", "pandas.dataframe", "pickle",
    }
)

_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1

# dtype kinds that npy can write without pickling and that compare sensibly.
_ARRAY_KINDS = frozenset("biufcSUVmM")
SCALAR_TYPES = (bool, int, float, complex, str, bytes)

_HINT = (
    "use a list, tuple, dict, numpy array, pandas Series/DataFrame or scipy "
    "sparse matrix instead, or register the type through the "
    "pypet_rebuild_register_value_types hook"
)


def type_name(cls: type) -> str:
    """Name a type the way a user would write it (``set``, ``numpy.ndarray``)."""
    module = cls.__module__
    if module == "builtins":
        return cls.__qualname__
    return f"{module.split('.')[0]}.{cls.__qualname__}"


def _at(where: str) -> str:
    return f" (at {where})" if where and where != "value" else ""


def unsupported(value: Any, where: str = "", detail: str = "") -> UnsupportedTypeError:
    """Build the one error message every unsupported value gets."""
    extra = f" {detail}" if detail else ""
    return UnsupportedTypeError(
        f"values of type '{type_name(type(value))}'{extra}{_at(where)} cannot be "
        f"stored; {_HINT}"
    )


def check_dtype(dtype: np.dtype, value: Any, where: str) -> None:
    """Refuse dtypes that npy could only write by pickling (object, StringDType)."""
    if dtype.fields is not None:
        for name in dtype.names or ():
            check_dtype(dtype.fields[name][0], value, f"{where}[field {name!r}]")
        return
    if dtype.subdtype is not None:
        check_dtype(dtype.subdtype[0], value, where)
        return
    if dtype.kind not in _ARRAY_KINDS or dtype.hasobject:
        raise unsupported(value, where, f"with dtype {dtype}")


def float_to_json(x: float) -> float | str:
    """Keep JSON strict: non-finite floats become short strings."""
    if math.isfinite(x):
        return float(x)
    if math.isnan(x):
        return "nan"
    return "inf" if x > 0 else "-inf"


def float_from_json(payload: float | str | int) -> float:
    return float(payload)


class Encoder:
    """Walks a value once, producing a portable tree.

    ``allow_pickle`` turns the innermost unsupported node into a pickle node,
    so one odd element does not force a whole container into pickle.
    """

    def __init__(self, registry: Any, allow_pickle: bool = False) -> None:
        self.registry = registry
        self.allow_pickle = allow_pickle

    def encode(self, value: Any, where: str = "value") -> dict:
        try:
            return self._encode(value, where)
        except UnsupportedTypeError as exc:
            if not self.allow_pickle:
                raise
            try:
                blob = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
            except Exception as pickle_exc:  # lambdas, open files, ...
                raise UnsupportedTypeError(
                    f"values of type '{type_name(type(value))}'{_at(where)} can "
                    f"neither be stored natively nor pickled: {pickle_exc}"
                ) from exc
            return {"t": "pickle", "v": np.frombuffer(blob, dtype=np.uint8).copy()}

    def _encode(self, value: Any, where: str) -> dict:
        cls = type(value)
        handler = _ENCODERS.get(cls)
        if handler is not None:
            return handler(self, value, where)
        entry = self.registry._entry_for_type(cls)
        if entry is not None:
            tag, to_portable, _ = entry
            portable = to_portable(value)
            return {"t": PLUGIN_PREFIX + tag, "v": self.encode(portable, f"{where}<{tag}>")}
        if isinstance(value, np.generic):
            check_dtype(value.dtype, value, where)
            return {"t": "npscalar", "v": np.array(value)}
        module = cls.__module__
        if module.startswith("pandas"):
            from pypet_rebuild._pandas_codec import encode_pandas

            return encode_pandas(value, self.encode, where)
        if module.startswith("scipy.sparse"):
            from pypet_rebuild._sparse_codec import encode_sparse

            return encode_sparse(value, where)
        if self.registry._load_deferred():  # plugins not loaded in this process yet
            return self._encode(value, where)
        raise unsupported(value, where)

    def _int(self, value: int, where: str) -> dict:
        if _INT64_MIN <= value <= _INT64_MAX:
            return {"t": "int", "v": value}
        return {"t": "bigint", "v": str(value)}

    def _seq(self, value: list | tuple, where: str) -> dict:
        tag = "list" if type(value) is list else "tuple"
        return {"t": tag, "v": [self.encode(x, f"{where}[{i}]") for i, x in enumerate(value)]}

    def _dict(self, value: dict, where: str) -> dict:
        pairs = []
        for key, item in value.items():
            if type(key) is not str:
                raise UnsupportedTypeError(
                    f"dictionary keys must be str; key {key!r} of type "
                    f"'{type_name(type(key))}'{_at(where)} cannot be stored; "
                    "convert the keys with str() or store a list of pairs"
                )
            pairs.append([key, self.encode(item, f"{where}[{key!r}]")])
        return {"t": "dict", "v": pairs}

    def _stored_pickle(self, value: PickledValue, where: str) -> dict:
        """A pickle read from storage goes back unchanged, never unpickled, and
        only where the writer allows pickles (a result item marked pickled)."""
        if not self.allow_pickle:
            raise UnsafeValueError(
                f"the value{_at(where)} is a pickled value read from storage; it can be stored "
                "again only as a result item that allows pickles (add_result(..., "
                "allow_pickle=True)), never in metadata, annotations or parameters"
            )
        return value.tree

    def _ndarray(self, value: np.ndarray, where: str) -> dict:
        check_dtype(value.dtype, value, where)
        # Copy: a backend that keeps the tree in memory must not see later
        # in-place changes the user makes to the array.
        return {"t": "ndarray", "v": np.array(value, order="C", copy=True)}


_ENCODERS: dict[type, Callable[[Encoder, Any, str], dict]] = {
    type(None): lambda e, v, w: {"t": "none", "v": None},
    bool: lambda e, v, w: {"t": "bool", "v": v},
    int: Encoder._int,
    float: lambda e, v, w: {"t": "float", "v": float_to_json(v)},
    complex: lambda e, v, w: {
        "t": "complex", "v": [float_to_json(v.real), float_to_json(v.imag)]
    },
    str: lambda e, v, w: {"t": "str", "v": v},
    bytes: lambda e, v, w: {"t": "bytes", "v": np.frombuffer(v, dtype=np.uint8).copy()},
    list: Encoder._seq,
    tuple: Encoder._seq,
    dict: Encoder._dict,
    np.ndarray: Encoder._ndarray,
    PickledValue: Encoder._stored_pickle,
}


class Decoder:
    """Inverse of :class:`Encoder`; ``copy`` hands out fresh arrays.

    A pickle node raises ``PickleMet`` unless ``load_pickles`` is set, which
    only ``PickledValue.unpickle`` does: the reader's explicit permission.
    """

    def __init__(self, registry: Any, copy: bool = True, *, load_pickles: bool = False) -> None:
        self.registry = registry
        self.copy = copy
        self.load_pickles = load_pickles

    def _pickle(self, payload: Any) -> Any:
        if not self.load_pickles:
            raise PickleMet()
        return pickle.loads(np.asarray(payload, dtype=np.uint8).tobytes())

    def array(self, a: Any) -> np.ndarray:
        if not isinstance(a, np.ndarray):
            raise PypetRebuildError(
                f"malformed portable tree: expected a numpy array, got "
                f"'{type_name(type(a))}'; was join_arrays forgotten?"
            )
        return a.copy() if self.copy else a

    def decode(self, tree: Any) -> Any:
        if not isinstance(tree, dict) or "t" not in tree or "v" not in tree:
            raise PypetRebuildError(
                f"malformed portable tree: expected {{'t': tag, 'v': payload}}, "
                f"got {type_name(type(tree))}"
            )
        tag, payload = tree["t"], tree["v"]
        handler = _DECODERS.get(tag)
        if handler is not None:
            return handler(self, payload)
        if isinstance(tag, str) and tag.startswith(PLUGIN_PREFIX):
            short = tag[len(PLUGIN_PREFIX):]
            entry = self.registry._entry_for_tag(short)
            if entry is None and self.registry._load_deferred():
                entry = self.registry._entry_for_tag(short)
            if entry is not None:
                return entry[2](self.decode(payload))
            raise UnsupportedTypeError(
                f"stored value has type tag {tag!r}, which no installed plugin "
                f"registers; install or enable the plugin that provides value "
                f"type {short!r} (through the pypet_rebuild_register_value_types "
                "hook) and load again"
            )
        raise UnsupportedTypeError(
            f"stored value has unknown type tag {tag!r}; it was probably written "
            "by a newer pypet-rebuild or by a plugin that is not installed"
        )

    def _npscalar(self, payload: Any) -> Any:
        return self.array(payload)[()]

    def _pandas(self, payload: Any, tag: str) -> Any:
        from pypet_rebuild._pandas_codec import decode_pandas

        return decode_pandas(tag, payload, self)

    def _sparse(self, payload: Any) -> Any:
        from pypet_rebuild._sparse_codec import decode_sparse

        return decode_sparse(payload, self.array)


_DECODERS: dict[str, Callable[[Decoder, Any], Any]] = {
    "none": lambda d, p: None,
    "bool": lambda d, p: bool(p),
    "int": lambda d, p: int(p),
    "bigint": lambda d, p: int(p),
    "float": lambda d, p: float_from_json(p),
    "complex": lambda d, p: complex(float_from_json(p[0]), float_from_json(p[1])),
    "str": lambda d, p: str(p),
    "bytes": lambda d, p: d.array(p).tobytes(),
    "list": lambda d, p: [d.decode(x) for x in p],
    "tuple": lambda d, p: tuple(d.decode(x) for x in p),
    "dict": lambda d, p: {str(k): d.decode(x) for k, x in p},
    "npscalar": Decoder._npscalar,
    "ndarray": lambda d, p: d.array(p),
    "sparse": Decoder._sparse,
    "pandas.series": lambda d, p: d._pandas(p, "pandas.series"),
    "pandas.dataframe": lambda d, p: d._pandas(p, "pandas.dataframe"),
    "pickle": Decoder._pickle,
}


def check_value(value: Any, registry: Any, *, parameter: bool, where: str = "value") -> None:
    """Validate without building the tree where that is cheap (arrays, containers)."""
    cls = type(value)
    if cls in SCALAR_TYPES:
        return
    if value is None:
        if parameter:
            raise UnsupportedTypeError(
                "values of type 'NoneType' (None) cannot be parameter values; "
                "give the parameter a real default, or store None as a result"
            )
        return
    if cls is list or cls is tuple:
        for i, item in enumerate(value):
            if parameter:
                if type(item) in SCALAR_TYPES or _is_numpy_scalar(item):
                    continue
                raise UnsupportedTypeError(
                    f"parameter values of type '{cls.__name__}' must be flat lists "
                    f"of bool/int/float/complex/str/bytes; element {i} is of type "
                    f"'{type_name(type(item))}'; nested containers, dicts and None "
                    "can only be stored as results (or use a numpy array)"
                )
            check_value(item, registry, parameter=False, where=f"{where}[{i}]")
        return
    if cls is dict:
        if parameter:
            raise UnsupportedTypeError(
                "values of type 'dict' cannot be parameter values; split the dict "
                "into one parameter per entry, or store it as a result"
            )
        for key, item in value.items():
            if type(key) is not str:
                Encoder(registry)._dict({key: None}, where)  # raises the keyed error
            check_value(item, registry, parameter=False, where=f"{where}[{key!r}]")
        return
    if cls is np.ndarray:
        check_dtype(value.dtype, value, where)
        return
    if registry._entry_for_type(cls) is not None:
        return
    if isinstance(value, np.generic):
        check_dtype(value.dtype, value, where)
        return
    # pandas and sparse objects: their encoders are the validators.
    Encoder(registry)._encode(value, where)


def _is_numpy_scalar(item: Any) -> bool:
    return isinstance(item, np.generic) and item.dtype.kind in _ARRAY_KINDS
