"""scipy.sparse <-> portable tree.

Why store the raw component arrays instead of a dense copy: sparse matrices in
simulations are often huge and mostly empty, and users expect to get back the
exact structure (format, class, explicit zeros) they stored. Imported lazily so
that scipy stays optional.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from pypet_rebuild._value_codecs import check_dtype, unsupported
from pypet_rebuild.errors import PypetRebuildError

# Component attributes per format; coo is handled separately (its coords).
_COMPONENTS = {
    "csr": ("data", "indices", "indptr"),
    "csc": ("data", "indices", "indptr"),
    "bsr": ("data", "indices", "indptr"),
    "dia": ("data", "offsets"),
}
SUPPORTED_FORMATS = ("csr", "csc", "bsr", "dia", "coo")


def _sparse_class(name: str) -> type:
    import scipy.sparse as sp

    cls = getattr(sp, name, None)
    if not isinstance(cls, type) or not name.endswith(
        tuple(f"{fmt}_{kind}" for fmt in SUPPORTED_FORMATS for kind in ("matrix", "array"))
    ):
        raise PypetRebuildError(
            f"malformed portable tree: {name!r} is not a supported scipy.sparse class"
        )
    return cls


def encode_sparse(value: Any, where: str) -> dict:
    """Encode one csr/csc/bsr/dia/coo matrix or array, keeping its class."""
    import scipy.sparse as sp

    cls = type(value)
    if not sp.issparse(value) or getattr(sp, cls.__name__, None) is not cls:
        raise unsupported(value, where)
    fmt = value.format
    if fmt not in SUPPORTED_FORMATS:
        raise unsupported(
            value,
            where,
            f"(sparse format {fmt!r}; convert with .tocsr() or .tocoo() first)",
        )
    check_dtype(value.dtype, value, where)
    payload: dict[str, Any] = {
        "class": cls.__name__,
        "shape": [int(n) for n in value.shape],
    }
    if fmt == "coo":
        coords = value.coords if hasattr(value, "coords") else (value.row, value.col)
        payload["coords"] = [np.array(c, copy=True) for c in coords]
        payload["data"] = np.array(value.data, copy=True)
    else:
        for attr in _COMPONENTS[fmt]:
            payload[attr] = np.array(getattr(value, attr), copy=True)
    if fmt == "bsr":
        payload["blocksize"] = [int(n) for n in value.blocksize]
    return {"t": "sparse", "v": payload}


def decode_sparse(payload: dict, array: Callable[[Any], np.ndarray]) -> Any:
    """Rebuild the sparse object from its components without densifying."""
    cls = _sparse_class(payload["class"])
    shape = tuple(int(n) for n in payload["shape"])
    fmt = payload["class"].split("_")[0]
    if fmt == "coo":
        coords = tuple(array(c) for c in payload["coords"])
        return cls((array(payload["data"]), coords), shape=shape)
    parts = tuple(array(payload[attr]) for attr in _COMPONENTS[fmt])
    if fmt == "bsr":
        return cls(parts, shape=shape, blocksize=tuple(payload["blocksize"]))
    return cls(parts, shape=shape)
