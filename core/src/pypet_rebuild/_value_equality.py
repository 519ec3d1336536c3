"""Strict deep equality used to prove that a value survived storage.

Why not ``==``: numpy and pandas overload it elementwise, ``1 == 1.0 == True``
hides type changes, and ``nan != nan`` would make every float column with a
missing value look corrupted. Here equal means same type all the way down
and same content, with nan equal to nan.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def values_equal(a: Any, b: Any) -> bool:
    if type(a) is not type(b):
        return False
    cls = type(a)
    if a is None:
        return True
    if cls is float:
        return _floats_equal(a, b)
    if cls is complex:
        return _floats_equal(a.real, b.real) and _floats_equal(a.imag, b.imag)
    if cls in (bool, int, str, bytes):
        return a == b
    if cls is list or cls is tuple:
        return len(a) == len(b) and all(values_equal(x, y) for x, y in zip(a, b))
    if cls is dict:
        return a.keys() == b.keys() and all(values_equal(a[k], b[k]) for k in a)
    if cls is np.ndarray:
        return arrays_equal(a, b)
    if isinstance(a, np.generic):
        return a.dtype == b.dtype and arrays_equal(np.asarray(a), np.asarray(b))
    module = cls.__module__
    if module.startswith("pandas"):
        return _pandas_equal(a, b)
    if module.startswith("scipy.sparse"):
        return _sparse_equal(a, b)
    try:
        return bool(a == b)
    except Exception:  # ambiguous truth values, comparison not implemented
        return False


def _floats_equal(x: float, y: float) -> bool:
    return x == y or (math.isnan(x) and math.isnan(y))


def arrays_equal(a: np.ndarray, b: np.ndarray) -> bool:
    """Same dtype, shape and values; nan equals nan, NaT equals NaT."""
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    if a.dtype.names is not None:
        return all(arrays_equal(a[name], b[name]) for name in a.dtype.names)
    kind = a.dtype.kind
    if kind in "fc":
        return bool(np.array_equal(a, b, equal_nan=True))
    if kind in "mM":
        na, nb = np.isnat(a), np.isnat(b)
        return bool(np.array_equal(na, nb) and np.array_equal(a[~na], b[~nb]))
    if kind == "V":
        return np.ascontiguousarray(a).tobytes() == np.ascontiguousarray(b).tobytes()
    return bool(np.array_equal(a, b))


def _sparse_equal(a: Any, b: Any) -> bool:
    try:
        if a.format != b.format or a.shape != b.shape or a.dtype != b.dtype:
            return False
        return arrays_equal(a.toarray(), b.toarray())
    except Exception:
        return False


def _pandas_equal(a: Any, b: Any) -> bool:
    import pandas as pd
    import pandas.testing as pdt

    try:
        if isinstance(a, pd.DataFrame):
            pdt.assert_frame_equal(
                a, b, check_exact=True, check_index_type=True, check_column_type=True,
                check_names=True, check_categorical=True, check_freq=True,
                check_flags=True,
            )
            return _index_types_equal(a.index, b.index) and _index_types_equal(
                a.columns, b.columns
            )
        if isinstance(a, pd.Series):
            pdt.assert_series_equal(
                a, b, check_exact=True, check_index_type=True, check_names=True,
                check_categorical=True, check_freq=True, check_flags=True,
            )
            return _index_types_equal(a.index, b.index)
        if isinstance(a, pd.Index):
            pdt.assert_index_equal(a, b, exact=True, check_exact=True)
            return _index_types_equal(a, b)
    except (AssertionError, TypeError, ValueError):
        return False
    try:
        return bool(a == b)
    except Exception:
        return False


def _index_types_equal(a: Any, b: Any) -> bool:
    if type(a) is not type(b) or a.dtype != b.dtype:
        return False
    names_a, names_b = list(a.names), list(b.names)
    return len(names_a) == len(names_b) and all(
        values_equal(x, y) for x, y in zip(names_a, names_b)
    )
