"""pypet's leaves: reading one leaf group's items, then undoing what its class did.

pypet stored a leaf as an HDF5 group holding one HDF5 object per item, each
tagged with how it was written (``SRVC_STORE``: a table, a dict, an array,
a pandas object, a nested group). The leaf's class (``SRVC_INIT_CLASS_NAME``)
then decides what the items mean: a ``Parameter`` keeps its value in a
one-row table, an ``ArrayParameter`` in arrays named by index, a
``SparseParameter`` as an npz file in hex, the ``Pickle*`` classes as pickles.
"""

from __future__ import annotations

from typing import Any

import h5py
import numpy as np

from pypet_rebuild.errors import StorageError
from pypet_rebuild.values import PickledValue

from pypet_rebuild_compat._pytables import read_array, read_table, text, unpickle
from pypet_rebuild_compat._sparse import SPARSE_ID, component_names, from_components, from_hex_npz, split_results

__all__ = [
    "LeafData",
    "read_items",
    "parameter_value",
    "result_items",
    "explored_range",
    "explored_items",
    "is_parameter_class",
]

_ARRAY_ID = "__rr__"
_PROTOCOL = "__pckl_prtcl__"
_PARAMETER_CLASSES = {"Parameter", "ArrayParameter", "SparseParameter", "PickleParameter"}


class LeafData:
    """One leaf group's location, class and how to read it."""

    def __init__(self, group: h5py.Group, full_name: str, path: str, allow_pickle: bool) -> None:
        self.group = group
        self.full_name = full_name
        self.path = path  # of the file, for pandas
        self.allow_pickle = allow_pickle
        self.class_name = text(group.attrs.get("SRVC_INIT_CLASS_NAME", b"Result"))

    def where(self, item: str | None = None) -> str:
        return f"item {item!r} of {self.full_name!r}" if item else repr(self.full_name)


def _placeholder(dump: bytes) -> PickledValue:
    return PickledValue({"t": "pickle", "v": np.frombuffer(bytes(dump), dtype=np.uint8).copy()})


def is_parameter_class(class_name: str, branch: str) -> bool:
    return class_name in _PARAMETER_CLASSES or branch in ("parameters", "derived_parameters", "config")


def _read_pandas(leaf: LeafData, node: h5py.Group, item: str) -> Any:
    """pandas' own reader does the work, after every pickled block was
    checked here (PyTables unpickles them without asking)."""
    import pandas as pd

    def check(name: str, obj: Any) -> None:
        if isinstance(obj, h5py.Dataset) and text(obj.attrs.get("PSEUDOATOM", b"")) == "object":
            read_array(obj, f"{leaf.where(item)} (pandas column block {name!r})", leaf.allow_pickle)

    node.visititems(check)
    return pd.read_hdf(leaf.path, key=node.name)


def _read_node(leaf: LeafData, node: Any, item: str) -> Any:
    flag = text(node.attrs.get("SRVC_STORE", b""))
    if flag == "TABLE" or flag == "DICT":
        columns = _read_split_table(node) if isinstance(node, h5py.Group) else read_table(node)
        if flag == "DICT":
            return {key: values[0] for key, values in columns.items()}
        import pandas as pd

        return pd.DataFrame({key: pd.Series(values, dtype=object) for key, values in columns.items()})
    if flag in ("ARRAY", "CARRAY", "EARRAY", "VLARRAY"):
        return read_array(node, leaf.where(item), leaf.allow_pickle)
    if flag in ("FRAME", "SERIES"):
        return _read_pandas(leaf, node, item)
    raise StorageError(
        f"cannot read {leaf.where(item)}: pypet stored it as {flag or 'an unmarked node'!r}, "
        "which this reader does not know (shared data and pandas panels are not supported)"
    )


def _read_split_table(group: h5py.Group) -> dict[str, list[Any]]:
    """A table pypet split into several because it had too many columns."""
    types_name = f"{group.name.rsplit('/', 1)[-1]}__SRVC_STORE"
    type_rows = read_table(group[types_name], {})
    type_attrs = {text(k): text(v) for k, v in zip(type_rows["field_name"], type_rows["data_type"])}
    columns: dict[str, list[Any]] = {}
    for name in group:
        if name != types_name:
            columns.update(read_table(group[name], type_attrs))
    return columns


def read_items(leaf: LeafData, wanted: set[str] | None = None, group: h5py.Group | None = None, prefix: str = "") -> dict[str, Any]:
    """The leaf's stored items by (dotted) name, as pypet's load dict held them."""
    found: dict[str, Any] = {}
    for name, node in (group if group is not None else leaf.group).items():
        key = f"{prefix}.{name}" if prefix else name
        if text(node.attrs.get("SRVC_STORE", b"")) == "NESTED_GROUP":
            found.update(read_items(leaf, wanted, node, key))
        elif wanted is None or key in wanted:
            found[key] = _read_node(leaf, node, key)
    return found


def _explored_matrix(items: dict[str, Any], index: int, table: Any, row: int) -> Any:
    if f"xspm{SPARSE_ID}{index:08d}" in items:
        return from_hex_npz(items[f"xspm{SPARSE_ID}{index:08d}"])
    names = component_names(table["is_dia"].iloc[row])
    for pattern in (f"explored{SPARSE_ID}.set_{index // 1000:05d}.xspm_{{}}_{index:08d}", f"xspm{SPARSE_ID}{{}}{SPARSE_ID}{index:08d}"):
        if pattern.format(names[0]) in items:
            return from_components({name: items[pattern.format(name)] for name in names})
    raise StorageError(f"pypet's explored sparse matrix number {index} is missing")


def _array_name(index: int, items: dict[str, Any]) -> str:
    for name in (f"explored{_ARRAY_ID}.set_{index // 1000:05d}.xa_{index:08d}", f"xa{_ARRAY_ID}{index:08d}"):
        if name in items:
            return name
    raise StorageError(f"pypet's explored array number {index} is missing")


def parameter_value(leaf: LeafData, items: dict[str, Any]) -> Any:
    """The default value of a pypet parameter from its items."""
    if leaf.class_name == "PickleParameter":
        return unpickle(items["data"], leaf.where(), leaf.allow_pickle) if "data" in items else None
    if f"data{SPARSE_ID}" in items:
        return from_hex_npz(items[f"data{SPARSE_ID}"])
    if f"data{SPARSE_ID}is_dia" in items:
        names = component_names(items[f"data{SPARSE_ID}is_dia"])
        return from_components({name: items[f"data{SPARSE_ID}{name}"] for name in names})
    if f"data{_ARRAY_ID}" in items:
        return items[f"data{_ARRAY_ID}"]
    if "data" in items:
        table = items["data"]
        return table["data"].iloc[0] if hasattr(table, "iloc") else table
    return None


def explored_range(leaf: LeafData, items: dict[str, Any]) -> list[Any] | None:
    """The explored values of a pypet parameter, or None if it was not explored."""
    for key in (f"explored_data{SPARSE_ID}", f"explored_data{_ARRAY_ID}", "explored_data"):
        if key not in items:
            continue
        table = items[key]
        if key == "explored_data" and leaf.class_name != "PickleParameter":
            return list(table["data"])
        indices = [int(i) for i in table["idx"]]
        if key.endswith(SPARSE_ID):
            return [_explored_matrix(items, i, table, row) for row, i in enumerate(indices)]
        if key.endswith(_ARRAY_ID):
            return [items[_array_name(i, items)] for i in indices]
        return [unpickle(items[f"xp_{i:08d}"], leaf.where(f"xp_{i:08d}"), leaf.allow_pickle) for i in indices]
    return None


def explored_items(leaf: LeafData) -> dict[str, Any]:
    """Only the items an explored range needs (for a skeleton)."""
    names = set(leaf.group)
    if not any(n.startswith("explored_data") for n in names):
        return {}
    return read_items(leaf, None) if names - {"data", "explored_data"} else read_items(leaf, {"explored_data"})


def result_items(leaf: LeafData, items: dict[str, Any]) -> tuple[dict[str, Any], tuple[str, ...]]:
    """A pypet result's items and the names of those that were pickles."""
    if leaf.class_name == "PickleResult":
        # Placeholders: the core unpickles them where the reader allows it,
        # and copying moves their bytes without running them.
        data = {key: _placeholder(value) for key, value in items.items() if key != _PROTOCOL}
        return data, tuple(sorted(data))
    return split_results(items), ()

