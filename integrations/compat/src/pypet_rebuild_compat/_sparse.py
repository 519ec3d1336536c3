"""pypet's two ways of storing a scipy sparse matrix.

From pypet 0.6 on, a matrix is one hex string of an ``.npz`` file (read here
with scipy, which refuses pickles). Before, it was split into components
stored as separate items: ``format``, ``data``, ``indices``, ``indptr`` and
``shape`` (``data``, ``offsets`` and ``shape`` for dia matrices), with an
``is_dia`` flag; an empty matrix had the data ``'__empty__'``.
"""

from __future__ import annotations

import io
from typing import Any

from pypet_rebuild.errors import StorageError

from pypet_rebuild_compat._pytables import text

__all__ = ["SPARSE_ID", "from_hex_npz", "component_names", "from_components", "split_results"]

SPARSE_ID = "__spsp__"
_DIA = ("format", "data", "offsets", "shape")
_OTHER = ("format", "data", "indices", "indptr", "shape")


def from_hex_npz(serial: Any) -> Any:
    import scipy.sparse as sparse

    return sparse.load_npz(io.BytesIO(bytes.fromhex(text(serial))))


def component_names(is_dia: Any) -> tuple[str, ...]:
    return _DIA if int(is_dia) else _OTHER


def from_components(parts: dict[str, Any]) -> Any:
    """A matrix from its components, keyed by ``component_names``."""
    import scipy.sparse as sparse

    kind = text(parts["format"])
    shape = tuple(int(n) for n in parts["shape"])
    data = parts["data"]
    classes = {"csr": sparse.csr_matrix, "csc": sparse.csc_matrix, "bsr": sparse.bsr_matrix, "dia": sparse.dia_matrix}
    if kind not in classes:
        raise StorageError(f"pypet stored a sparse matrix of the unknown format {kind!r}")
    if isinstance(data, str) and data == "__empty__":
        return classes[kind](shape)
    if kind == "dia":
        return sparse.dia_matrix((data, parts["offsets"]), shape=shape)
    return classes[kind]((data, parts["indices"], parts["indptr"]), shape=shape)


def split_results(items: dict[str, Any]) -> dict[str, Any]:
    """A ``SparseResult``'s items with its matrices put back together."""
    data: dict[str, Any] = {}
    for key, value in items.items():
        base, marker, rest = key.partition(SPARSE_ID)
        if not marker:
            data[key] = value
        elif rest == "":
            data[base] = from_hex_npz(value)
        elif rest == "is_dia":
            data[base] = from_components({name: items[f"{base}{SPARSE_ID}{name}"] for name in component_names(value)})
    return data
