"""Records to table rows and back, with no database in sight.

Everything that can fail on a value (an unsupported type, a pickle the user
did not allow) fails here, before a transaction starts, so that a bad value
never leaves a batch half-written.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from pypet_rebuild.errors import DamagedDataError
from pypet_rebuild.storage.records import NodeKind, NodeRecord, RunRecord, RunStatus
from pypet_rebuild.values import pack, unpack

from pypet_rebuild_sql._cells import from_cell, to_cell

__all__ = [
    "node_row", "item_rows", "run_batch_rows", "record_from_row", "run_record_from_row", "group_items", "item_data",
    "pack_explored", "unpack_explored",
]


_SCALAR_RANGE_KEY = "pypet_rebuild_sql.scalar_range"


def pack_explored(values: list[Any]) -> bytes:
    """An explored range as one blob. A range of scalars of one plain type
    (Python or numpy bool, int, float) is stored as one typed array rather
    than one JSON number per point, so that a 100,000-point exploration loads
    in milliseconds; anything else is packed as the list it is."""
    kinds = set(map(type, values))
    if len(kinds) == 1:
        (kind,) = kinds
        python = kind in (bool, int, float)
        if python or (issubclass(kind, np.generic) and np.dtype(kind).kind in "biuf"):
            try:
                array = np.asarray(values, dtype=np.int64 if kind is int else None)
            except OverflowError:
                array = None
            if array is not None and array.dtype != object:
                return pack({_SCALAR_RANGE_KEY: "python" if python else "numpy", "values": array})
    return pack(values)


def unpack_explored(blob: bytes) -> list[Any]:
    """Inverse of :func:`pack_explored`."""
    stored = unpack(blob, metadata=True)
    if isinstance(stored, dict):
        array = stored["values"]
        return array.tolist() if stored[_SCALAR_RANGE_KEY] == "python" else list(array)
    return stored


def node_row(record: NodeRecord, has_data: bool) -> dict[str, Any]:
    """The row of one node (tree node or run leaf) without its items."""
    return {
        "kind": record.kind.value,
        "comment": record.comment,
        "annotations": pack(record.annotations) if record.annotations else None,
        "explored": pack_explored(record.explored) if record.explored is not None else None,
        "link_target": record.link_target,
        "pickled": json.dumps(list(record.pickled)) if record.pickled else "[]",
        "has_data": has_data,
    }


def item_rows(record: NodeRecord) -> list[dict[str, Any]]:
    """One row per item of ``record.data`` (which must not be None)."""
    assert record.data is not None
    allowed = set(record.pickled)
    rows = []
    for position, (item, value) in enumerate(record.data.items()):
        value_type, number, blob = to_cell(value, allow_pickle=item in allowed)
        rows.append({"item": item, "position": position, "value_type": value_type, "number": number, "blob": blob})
    return rows


def run_batch_rows(
    runs: Sequence[RunRecord],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]], set[str]]:
    """Rows for ``pypet_runs``, ``pypet_run_nodes`` and ``pypet_run_items``
    plus the run paths used; a run given twice keeps its last record."""
    latest = {run.idx: run for run in runs}
    run_rows, node_rows, value_rows, paths = [], [], [], set()
    for idx, run in latest.items():
        run_rows.append({
            "idx": idx, "status": run.status.value, "started": run.started, "finished": run.finished,
            "error": run.error,
        })
        for record in run.nodes:
            paths.add(record.path)
            row = node_row(record, record.data is not None)
            row.update(idx=idx, run_path=record.path)
            node_rows.append(row)
            if record.data is not None:
                for item in item_rows(record):
                    item.update(idx=idx, run_path=record.path)
                    value_rows.append(item)
    return run_rows, node_rows, value_rows, paths


def record_from_row(row: Mapping[str, Any], path: str, data: dict[str, Any] | None) -> NodeRecord:
    """A ``NodeRecord`` from a node row (``pypet_nodes`` or ``pypet_run_nodes``)."""
    return NodeRecord(
        path=path,
        kind=NodeKind(row["kind"]),
        comment=row["comment"],
        annotations=unpack(row["annotations"], metadata=True) if row["annotations"] is not None else {},
        data=data,
        explored=unpack_explored(row["explored"]) if row["explored"] is not None else None,
        link_target=row["link_target"],
        pickled=tuple(json.loads(row["pickled"])),
    )


_STATUSES = {status.value: status for status in RunStatus}


def run_record_from_row(row: Sequence[Any]) -> RunRecord:
    """A status-only ``RunRecord`` from ``(idx, status, started, finished, error)``."""
    idx, status, started, finished, error = row
    return RunRecord(int(idx), _STATUSES[status], started, finished, error)


def item_data(rows: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """A leaf's data from its item rows."""
    return {row["item"]: from_cell(row["value_type"], row["number"], row["blob"]) for row in rows}


def group_items(rows: Iterable[Mapping[str, Any]], key: str) -> dict[Any, list[Mapping[str, Any]]]:
    """Item rows by ``row[key]``, each list in stored item order."""
    grouped: dict[Any, list[Mapping[str, Any]]] = {}
    for row in sorted(rows, key=lambda r: r["position"]):
        grouped.setdefault(row[key], []).append(row)
    return grouped


@contextlib.contextmanager
def checked_values(what: str) -> Iterator[None]:
    """Name ``what`` was being decoded when a stored value fails its checksum."""
    try:
        yield
    except DamagedDataError as exc:
        raise DamagedDataError(f"{what}: {exc}") from exc


def records_from_rows(
    rows: Iterable[Mapping[str, Any]], path_key: str, items: Mapping[Any, list[Mapping[str, Any]]], with_data: bool
) -> list[NodeRecord]:
    """Node records from node rows and their grouped item rows (tree nodes and run leaves alike)."""
    records = []
    for row in rows:
        path = row[path_key]
        with checked_values(repr(path)):
            data = item_data(items.get(path, [])) if with_data and row["has_data"] else None
            records.append(record_from_row(row, path, data))
    return records
