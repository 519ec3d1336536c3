"""One example of every supported value type, for conformance tests.

Why a catalogue in the library rather than in one test file: every storage
backend (including third-party plugins) runs the same round-trip tests over
these values, so a type added here is automatically tested everywhere.
Built fresh on each call so tests may mutate what they get.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def sample_values() -> dict[str, Any]:
    """Values that are valid parameter values (and therefore results too)."""
    values: dict[str, Any] = {
        "bool_": True,
        "bool_false": False,
        "int_": 42,
        "int_negative": -7,
        "int_zero": 0,
        "int_big": 2**100 + 1,
        "int_big_negative": -(2**70),
        "float_": 3.25,
        "float_negative_zero": -0.0,
        "float_nan": float("nan"),
        "float_inf": float("inf"),
        "float_neg_inf": float("-inf"),
        "float_tiny": 5e-324,
        "complex_": 1.5 - 2.0j,
        "complex_nan": complex(float("nan"), 1.0),
        "str_": "hello",
        "str_empty": "",
        "str_unicode": "Grüße, 世界 \u2603 \U0001f600",
        "str_with_nul": "a\x00b\x00",
        "bytes_": b"\x00\x01binary\xff",
        "bytes_empty": b"",
        "tuple_mixed": (1, 2.5, "x", True, b"y", 1j),
        "tuple_empty": (),
        "list_floats": [0.1, 0.2, float("nan")],
        "list_strs": ["a", "bc", ""],
        "list_empty": [],
        "list_numpy_scalars": [np.int32(1), np.float64(2.0)],
        "np_int8": np.int8(-8),
        "np_int16": np.int16(-16),
        "np_int32": np.int32(-32),
        "np_int64": np.int64(-(2**62)),
        "np_uint8": np.uint8(200),
        "np_uint16": np.uint16(60000),
        "np_uint32": np.uint32(4_000_000_000),
        "np_uint64": np.uint64(2**64 - 1),
        "np_float16_scalar": np.float16(1.5),
        "np_float32_scalar": np.float32(0.1),
        "np_float64_scalar": np.float64(0.1),
        "np_float64_nan": np.float64("nan"),
        "np_complex64_scalar": np.complex64(1 + 2j),
        "np_complex128_scalar": np.complex128(-1 - 0.5j),
        "np_bool_scalar": np.bool_(True),
        "np_str_scalar": np.str_("numpy text"),
        "np_bytes_scalar": np.bytes_(b"numpy bytes"),
        "np_datetime64_scalar": np.datetime64("2024-02-29T12:30", "m"),
        "np_timedelta64_scalar": np.timedelta64(90, "s"),
        "array_float64_2d": np.arange(12, dtype=np.float64).reshape(3, 4) / 7,
        "array_float64_nan": np.array([1.0, np.nan, np.inf, -np.inf]),
        "array_float32": np.linspace(0, 1, 5, dtype=np.float32),
        "array_float16": np.array([0.5, 1.5], dtype=np.float16),
        "array_int8": np.array([-128, 0, 127], dtype=np.int8),
        "array_int16": np.array([1, -2, 3], dtype=np.int16),
        "array_int64_3d": np.arange(24, dtype=np.int64).reshape(2, 3, 4),
        "array_uint64": np.array([0, 2**64 - 1], dtype=np.uint64),
        "array_bool": np.array([True, False, True]),
        "array_complex128": np.array([1 + 1j, np.nan + 0j, -2j]),
        "array_complex64": np.array([1 + 1j], dtype=np.complex64),
        "array_bytes_S5": np.array([b"ab", b"cdefg", b""], dtype="S5"),
        "array_unicode_U7": np.array(["ä", "seven77", ""], dtype="U7"),
        "array_structured": np.array(
            [(1, 2.5, b"x", (3, [1.0, 2.0])), (-1, np.nan, b"yy", (4, [0.0, -1.0]))],
            dtype=[
                ("i", "<i4"), ("f", "<f8"), ("s", "S2"),
                ("nested", [("n", "<u2"), ("v", "<f4", (2,))]),
            ],
        ),
        "array_empty": np.zeros((0,), dtype=np.float64),
        "array_empty_2d": np.zeros((0, 3), dtype=np.int32),
        "array_0d": np.array(5.5),
        "array_fortran": np.asfortranarray(np.arange(6, dtype=np.int32).reshape(2, 3)),
        "array_big_endian": np.array([1, 2, 3], dtype=">i4"),
        "array_datetime64": np.array(["2020-01-01", "NaT", "1970-01-01"], dtype="M8[D]"),
        "array_timedelta64": np.array([1, 2, -3], dtype="m8[ms]"),
    }
    values.update(_sparse_samples())
    values.update(_pandas_samples())
    return values


def sample_result_values() -> dict[str, Any]:
    """``sample_values()`` plus values only results may hold."""
    values = sample_values()
    values.update(
        {
            "none": None,
            "dict_nested": {"a": 1, "b": {"c": [1.0, "x"], "d": np.arange(3)}},
            "dict_order": {"z": 1, "a": 2, "m": 3},
            "dict_array_key_name": {"__array__": 0, "t": "not a tag", "v": None},
            "list_nested": [1, [2, [3, (4.0, None)]], {"k": "v"}],
            "tuple_nested": ((1, 2), [3, 4], ()),
            "list_with_none": [None, 1, None],
            "list_of_arrays": [np.arange(3), np.ones((2, 2), dtype=np.float32)],
            "empty_dict": {},
            "empty_list": [],
            "empty_tuple": (),
        }
    )
    return values


def _sparse_samples() -> dict[str, Any]:
    try:
        import scipy.sparse as sp
    except ImportError:
        return {}
    dense = np.array([[0.0, 1.5, 0.0, 0.0], [2.0, 0.0, 0.0, 3.0], [0.0, 0.0, 4.0, 0.0],
                      [0.0, 0.0, 0.0, -1.0]])
    out: dict[str, Any] = {
        "sparse_csr": sp.csr_matrix(dense),
        "sparse_csc": sp.csc_matrix(dense),
        "sparse_bsr": sp.bsr_matrix(dense, blocksize=(2, 2)),
        "sparse_dia": sp.dia_matrix(dense),
        "sparse_coo": sp.coo_matrix(dense),
        "sparse_csr_int": sp.csr_matrix(np.eye(3, dtype=np.int64)),
        "sparse_csr_empty": sp.csr_matrix((5, 2), dtype=np.float32),
        "sparse_csr_complex": sp.csr_matrix(np.array([[0, 1j], [2, 0]])),
    }
    if hasattr(sp, "csr_array"):
        out.update(
            {
                "sparse_csr_array": sp.csr_array(dense),
                "sparse_csc_array": sp.csc_array(dense),
                "sparse_bsr_array": sp.bsr_array(dense, blocksize=(2, 2)),
                "sparse_dia_array": sp.dia_array(dense),
                "sparse_coo_array": sp.coo_array(dense),
            }
        )
    return out


def _pandas_samples() -> dict[str, Any]:
    try:
        import pandas as pd
    except ImportError:
        return {}
    mixed = pd.DataFrame(
        {
            "ints": np.array([1, 2, 3], dtype=np.int64),
            "floats": [0.5, np.nan, 2.0],
            "objects": pd.Series(["a", "bb", "ccc"], dtype=object),
            "bools": [True, False, True],
        },
        index=pd.Index([10, 20, 30], name="row"),
    )
    return {
        "series_float": pd.Series([1.0, np.nan, 3.5], name="x"),
        "series_int_unnamed": pd.Series(np.arange(4, dtype=np.int32)),
        "series_str_index": pd.Series([1, 2], index=pd.Index(["a", "b"], dtype=object)),
        "series_string_dtype": pd.Series(["a", None, "c"], dtype="string"),
        "series_default_str": pd.Series(["x", "y"]),
        "series_object_mixed": pd.Series([1, "a", None, 2.5], dtype=object),
        "series_category": pd.Series(pd.Categorical(["lo", "hi", "lo"], ["lo", "hi"], ordered=True)),
        "series_datetime": pd.Series(pd.date_range("2021-01-01", periods=3, freq="D")),
        "series_datetime_tz": pd.Series(pd.date_range("2021-01-01", periods=2, tz="UTC")),
        "series_nullable_int": pd.Series([1, None, 3], dtype="Int64"),
        "series_nullable_bool": pd.Series([True, None], dtype="boolean"),
        "series_empty": pd.Series([], dtype=np.float64),
        "dataframe_mixed": mixed,
        "dataframe_int_columns": pd.DataFrame(np.arange(6).reshape(2, 3)),
        "dataframe_datetime_index": pd.DataFrame(
            {"v": [1.0, 2.0]},
            index=pd.date_range("2020-01-01", periods=2, freq="h", name="when"),
        ),
        "dataframe_multiindex": pd.DataFrame(
            {"v": [1, 2, 3, 4]},
            index=pd.MultiIndex.from_product([["a", "b"], [1, 2]], names=["k", "n"]),
        ),
        "dataframe_empty": pd.DataFrame(),
        "dataframe_no_rows": pd.DataFrame({"a": pd.Series([], dtype=np.int64)}),
    }
