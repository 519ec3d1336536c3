"""pandas Series/DataFrame <-> portable tree.

Why not ``to_json`` or pickle: JSON loses dtypes (int vs float, object vs
string, categories) and index types, and pickle ties stored data to the
pandas version. Instead every column becomes a numpy array plus a little JSON
metadata saying how to rebuild the exact pandas dtype. Imported lazily so
that pandas stays optional for users who never store pandas objects.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np
import pandas as pd

from pypet_rebuild._value_codecs import check_dtype, unsupported
from pypet_rebuild.errors import PypetRebuildError, UnsupportedTypeError

Encode = Callable[[Any, str], dict]

_MASKED_DTYPES = frozenset(
    {"Int8", "Int16", "Int32", "Int64", "UInt8", "UInt16", "UInt32", "UInt64",
     "Float32", "Float64", "boolean"}
)


def encode_pandas(value: Any, encode: Encode, where: str) -> dict:
    """Encode a Series or DataFrame (exact classes only; subclasses would lose their type)."""
    if type(value) is pd.Series:
        return {
            "t": "pandas.series",
            "v": {
                "name": encode(value.name, f"{where}.name"),
                "index": _encode_index(value.index, encode, f"{where}.index"),
                "values": _encode_column(value, encode, where),
            },
        }
    if type(value) is pd.DataFrame:
        data = [
            _encode_column(value.iloc[:, i], encode, f"{where}[column {i}]")
            for i in range(value.shape[1])
        ]
        return {
            "t": "pandas.dataframe",
            "v": {
                "index": _encode_index(value.index, encode, f"{where}.index"),
                "columns": _encode_index(value.columns, encode, f"{where}.columns"),
                "data": data,
                "n_rows": int(value.shape[0]),
            },
        }
    raise unsupported(value, where)


def _encode_index(index: pd.Index, encode: Encode, where: str) -> dict:
    if type(index) is pd.RangeIndex:
        return {
            "kind": "range",
            "start": int(index.start),
            "stop": int(index.stop),
            "step": int(index.step),
            "name": encode(index.name, f"{where}.name"),
        }
    if isinstance(index, pd.MultiIndex):
        return {
            "kind": "multi",
            "levels": [_encode_index(lvl, encode, where) for lvl in index.levels],
            "codes": [np.array(c, copy=True) for c in index.codes],
            "names": [encode(n, f"{where}.names") for n in index.names],
        }
    freq = getattr(index, "freqstr", None)
    return {
        "kind": "index",
        "values": _encode_column(index, encode, where),
        "name": encode(index.name, f"{where}.name"),
        "freq": freq if isinstance(freq, str) else None,
    }


def _encode_column(values: pd.Series | pd.Index, encode: Encode, where: str) -> dict:
    """One column (or index) -> {"kind": ..., arrays...} that names its pandas dtype."""
    dtype = values.dtype
    if isinstance(dtype, np.dtype):
        if dtype.kind == "O":
            return _encode_object(values.to_numpy(), encode, where)
        check_dtype(dtype, values, where)
        return {"kind": "numpy", "data": np.array(values.to_numpy(), copy=True)}
    if isinstance(dtype, pd.CategoricalDtype):
        return {
            "kind": "category",
            "ordered": bool(dtype.ordered),
            "categories": _encode_index(dtype.categories, encode, f"{where}.categories"),
            "codes": np.array(values.array.codes, copy=True),
        }
    if isinstance(dtype, pd.StringDtype):
        mask = np.asarray(values.isna(), dtype=bool)
        text = np.asarray(values.to_numpy(dtype=object, na_value=""), dtype=object)
        na = dtype.na_value
        return {
            "kind": "string",
            "storage": str(dtype.storage),
            "na": "nan" if isinstance(na, float) and math.isnan(na) else "NA",
            "data": text.astype(str) if len(text) else np.array([], dtype="U1"),
            "mask": mask,
        }
    if isinstance(dtype, pd.DatetimeTZDtype):
        utc = pd.DatetimeIndex(values).tz_convert(None)
        return {"kind": "datetimetz", "tz": str(dtype.tz), "data": utc.to_numpy().copy()}
    if getattr(dtype, "name", None) in _MASKED_DTYPES:
        numpy_dtype = dtype.numpy_dtype
        return {
            "kind": "masked",
            "dtype": dtype.name,
            "data": values.to_numpy(dtype=numpy_dtype, na_value=numpy_dtype.type(0)).copy(),
            "mask": np.asarray(values.isna(), dtype=bool),
        }
    raise UnsupportedTypeError(
        f"pandas columns of dtype '{dtype}' (at {where}) cannot be stored; convert "
        "the column to a numpy, string, category or nullable integer/float dtype"
    )


def _encode_object(arr: np.ndarray, encode: Encode, where: str) -> dict:
    # Plain strings (the common case) go into one 'U' array; 'U' drops trailing
    # NULs, so strings ending in one take the general path.
    if all(type(x) is str and not x.endswith("\x00") for x in arr):
        data = arr.astype(str) if len(arr) else np.array([], dtype="U1")
        return {"kind": "object_str", "data": data}
    return {
        "kind": "object",
        "items": [encode(x, f"{where}[{i}]") for i, x in enumerate(arr)],
    }


def decode_pandas(tag: str, payload: dict, decoder: Any) -> Any:
    """Rebuild a Series or DataFrame from :func:`encode_pandas` output."""
    if tag == "pandas.series":
        index = _decode_index(payload["index"], decoder)
        values = _decode_column(payload["values"], decoder)
        return pd.Series(
            values, index=index, name=decoder.decode(payload["name"]),
            dtype=values.dtype, copy=False,
        )
    index = _decode_index(payload["index"], decoder)
    columns = _decode_index(payload["columns"], decoder)
    n_rows = int(payload["n_rows"])
    data = {
        i: pd.Series(arr, dtype=arr.dtype, copy=False)
        for i, arr in enumerate(_decode_column(c, decoder) for c in payload["data"])
    }
    frame = pd.DataFrame(data, index=pd.RangeIndex(n_rows)) if data else pd.DataFrame(
        index=pd.RangeIndex(n_rows)
    )
    frame.index = index
    frame.columns = columns
    return frame


def _decode_index(spec: dict, decoder: Any) -> pd.Index:
    kind = spec["kind"]
    if kind == "range":
        return pd.RangeIndex(
            spec["start"], spec["stop"], spec["step"], name=decoder.decode(spec["name"])
        )
    if kind == "multi":
        return pd.MultiIndex(
            levels=[_decode_index(lvl, decoder) for lvl in spec["levels"]],
            codes=[decoder.array(c) for c in spec["codes"]],
            names=[decoder.decode(n) for n in spec["names"]],
            verify_integrity=False,
        )
    if kind != "index":
        raise PypetRebuildError(f"malformed portable tree: unknown pandas index kind {kind!r}")
    values = _decode_column(spec["values"], decoder)
    name = decoder.decode(spec["name"])
    freq = spec.get("freq")
    if freq and isinstance(values, np.ndarray) and values.dtype.kind == "M":
        return pd.DatetimeIndex(values, name=name, freq=freq)
    if freq and isinstance(values, np.ndarray) and values.dtype.kind == "m":
        return pd.TimedeltaIndex(values, name=name, freq=freq)
    if freq and isinstance(getattr(values, "dtype", None), pd.DatetimeTZDtype):
        return pd.DatetimeIndex(values, name=name, freq=freq)
    return pd.Index(values, dtype=values.dtype, name=name, copy=False)


def _decode_column(spec: dict, decoder: Any) -> Any:
    """Return a numpy array or pandas ExtensionArray with the stored dtype."""
    kind = spec["kind"]
    if kind == "numpy":
        return decoder.array(spec["data"])
    if kind == "object_str":
        return decoder.array(spec["data"]).astype(object)
    if kind == "object":
        out = np.empty(len(spec["items"]), dtype=object)
        for i, item in enumerate(spec["items"]):
            out[i] = decoder.decode(item)
        return out
    if kind == "category":
        categories = _decode_index(spec["categories"], decoder)
        return pd.Categorical.from_codes(
            decoder.array(spec["codes"]), categories=categories, ordered=bool(spec["ordered"])
        )
    if kind == "string":
        text = decoder.array(spec["data"]).astype(object)
        mask = decoder.array(spec["mask"]).astype(bool)
        na = np.nan if spec["na"] == "nan" else pd.NA
        text[mask] = na
        try:
            dtype = pd.StringDtype(storage=spec["storage"], na_value=na)
            return pd.array(text, dtype=dtype)
        except ImportError:  # stored with pyarrow, which is not installed here
            return pd.array(text, dtype=pd.StringDtype(storage="python", na_value=na))
    if kind == "datetimetz":
        utc = pd.DatetimeIndex(decoder.array(spec["data"])).tz_localize("UTC")
        return utc.tz_convert(spec["tz"]).array
    if kind == "masked":
        arr = pd.array(decoder.array(spec["data"]), dtype=spec["dtype"])
        arr[decoder.array(spec["mask"]).astype(bool)] = pd.NA
        return arr
    raise PypetRebuildError(f"malformed portable tree: unknown pandas column kind {kind!r}")
