"""One JSON form for values, shared by both sides of the differential test.

Imported by ``dump_with_pypet.py`` (in pypet's environment) and by our tests,
so the comparison is of like with like: the type is kept in the form, so an
``int`` that comes back as ``numpy.int64`` is a difference, not a match.
"""

import math

import numpy as np


def _float(x):
    x = float(x)
    return repr(x) if math.isnan(x) or math.isinf(x) else x


def normal(value):
    """``value`` as JSON-compatible data that keeps its type."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, bytes):
        return {"bytes": value.hex()}
    if isinstance(value, np.generic):
        return {type(value).__name__: normal(value.item())}
    if isinstance(value, int):
        return {"int": value}
    if isinstance(value, float):
        return {"float": _float(value)}
    if isinstance(value, complex):
        return {"complex": [_float(value.real), _float(value.imag)]}
    if isinstance(value, np.ndarray):
        return {"ndarray": str(value.dtype), "shape": list(value.shape), "values": [normal(v) for v in value.reshape(-1).tolist()]}
    if isinstance(value, (list, tuple)):
        return {type(value).__name__: [normal(v) for v in value]}
    if isinstance(value, (set, frozenset)):
        return {"set": sorted(repr(v) for v in value)}
    if isinstance(value, dict):
        return {"dict": {str(k): normal(v) for k, v in value.items()}}
    if hasattr(value, "isoformat"):
        return {type(value).__name__: value.isoformat()}
    module = type(value).__module__
    if module.startswith("scipy.sparse"):
        return {"sparse": value.format, "shape": list(value.shape), "dense": normal(value.toarray())}
    if module.startswith("pandas") or hasattr(value, "to_frame") or hasattr(value, "columns"):
        return _pandas(value)
    raise TypeError("no normal form for %r" % type(value))


def _dtype(dtype):
    """pandas 3 calls a text column's dtype "str" where pandas 2.2 said "object"."""
    return "object" if str(dtype) in ("str", "string") else str(dtype)


def _pandas(value):
    if hasattr(value, "columns"):
        return {
            "DataFrame": [str(c) for c in value.columns],
            "dtypes": [_dtype(d) for d in value.dtypes],
            "index": normal(value.index.tolist()),
            "columns": {str(c): normal(value[c].tolist()) for c in value.columns},
        }
    return {"Series": str(value.name), "dtype": _dtype(value.dtype), "index": normal(value.index.tolist()), "values": normal(value.tolist())}
