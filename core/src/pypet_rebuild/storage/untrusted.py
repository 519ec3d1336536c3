"""What the core does with the records a backend hands back: trust nothing.

Why this module exists: the codec never unpickles (see
``pypet_rebuild.values.decode``), so a backend that decodes everything the
same way returns :class:`~pypet_rebuild.values.PickledValue` placeholders
wherever stored data held a pickle. This module is the second line: before
records become tree nodes, the core refuses placeholders in the places that
never legitimately hold pickles (metadata, annotations, parameters, explored
ranges), whatever backend produced them, and it unpickles result items only
where the reader allowed it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from pypet_rebuild._pickled import PickledValue, unsafe_item, unsafe_place
from pypet_rebuild.storage.records import NodeKind, NodeRecord, TrajectoryInfo

__all__ = [
    "check_info",
    "check_record",
    "refuse_pickles",
    "pickled_items",
    "reveal",
    "reveal_column",
    "mark_pickled",
    "checked_records",
]


def refuse_pickles(value: Any, where: str) -> None:
    """Raise ``UnsafeValueError`` if ``value`` is or contains a placeholder.

    Placeholders stand for whole values, so one level of containers is
    checked element by element (a backend may decode entries of a mapping or
    a range one by one) and deeper levels only for small containers.
    """
    if type(value) is PickledValue:
        raise unsafe_place(where)
    if isinstance(value, Mapping):
        for key, item in value.items():
            refuse_pickles(item, f"{where}[{key!r}]")
    elif isinstance(value, (list, tuple)) and PickledValue in map(type, value):
        raise unsafe_place(where)


def check_info(info: TrajectoryInfo) -> TrajectoryInfo:
    """The trajectory's metadata may never hold a pickle."""
    refuse_pickles(info.metadata, f"the metadata of trajectory {info.name!r}")
    return info


def check_record(record: NodeRecord) -> NodeRecord:
    """Annotations, explored ranges and parameter values may never hold a pickle."""
    refuse_pickles(record.annotations, f"the annotations of {record.path!r}")
    if record.explored is not None:
        refuse_pickles(record.explored, f"the explored range of {record.path!r}")
    if record.kind is NodeKind.PARAMETER and record.data is not None:
        refuse_pickles(record.data, f"the value of parameter {record.path!r}")
    return record


def pickled_items(data: Mapping[str, Any] | None) -> set[str]:
    """Items of a record's data that hold a pickle still not unpickled."""
    return {key for key, value in (data or {}).items() if type(value) is PickledValue}


def mark_pickled(records: Iterable[NodeRecord]) -> list[NodeRecord]:
    """Records whose ``pickled`` names every placeholder item, so a store
    writes their bytes back unchanged (copying, merging) instead of refusing."""
    marked = []
    for record in records:
        found = pickled_items(record.data)
        if found - set(record.pickled):
            record.pickled = tuple(sorted(found | set(record.pickled)))
        marked.append(record)
    return marked


def checked_records(records: Iterable[NodeRecord]) -> list[NodeRecord]:
    """Records moving between stores (copy, merge): checked, placeholders marked."""
    return mark_pickled(check_record(record) for record in records)


def reveal(value: Any, *, allowed: bool, where: str) -> Any:
    """The value itself: unpickled if it is a placeholder and the reader allowed it."""
    if type(value) is not PickledValue:
        return value
    if not allowed:
        raise unsafe_item(where)
    return value.unpickle()


def reveal_column(values: Any, run_path: str, *, allowed: bool) -> Any:
    """A column of per-run values (list or array) with placeholders revealed.

    Only results can hold pickles; a placeholder in a derived parameter's
    column is refused like any parameter's.
    """
    if PickledValue not in map(type, values):
        return values
    if not run_path.startswith("results."):
        raise unsafe_place(f"the per-run values of {run_path!r}")
    where = f"a per-run value of {run_path!r}"
    revealed = [reveal(value, allowed=allowed, where=where) for value in values]
    return revealed if isinstance(values, list) else np.asarray(revealed)
