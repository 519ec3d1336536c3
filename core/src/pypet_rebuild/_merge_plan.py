"""Deciding what a merge does, from parameter records alone.

Kept apart from the I/O in ``merging`` so that the rules (which parameters
become explored, which runs are duplicates, what is an error) read in one
place and can be tested without any storage.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pypet_rebuild.errors import MergeError
from pypet_rebuild.storage.records import NodeRecord
from pypet_rebuild.values import pack, type_key, values_equal

__all__ = ["MergePlan", "plan_merge", "trajectory_length"]


def trajectory_length(parameters: Sequence[NodeRecord]) -> int:
    """The number of points of a stored exploration (1 when nothing is explored)."""
    lengths = {len(r.explored) for r in parameters if r.explored is not None}
    if len(lengths) > 1:
        raise MergeError(f"stored explored ranges have different lengths {sorted(lengths)}; the store is damaged")
    return lengths.pop() if lengths else 1


@dataclass
class MergePlan:
    """What appending one source exploration to the target changes.

    ``used_runs`` are the source's run indices that are appended, ascending;
    the k-th of them becomes target run ``old_length + k``. ``ranges`` holds
    the new explored range of every parameter the merge changes.
    """

    old_length: int
    used_runs: list[int]
    ranges: dict[str, list[Any]] = field(default_factory=dict)

    @property
    def new_length(self) -> int:
        return self.old_length + len(self.used_runs)

    def new_index(self) -> dict[int, int]:
        return {src: self.old_length + k for k, src in enumerate(self.used_runs)}


def _value(record: NodeRecord) -> Any:
    return (record.data or {}).get("value")


def _column(record: NodeRecord, length: int) -> list[Any]:
    return list(record.explored) if record.explored is not None else [_value(record)] * length


def _point_key(values: Sequence[Any]) -> tuple[bytes, ...]:
    """A hashable identity of one parameter-space point."""
    return tuple(pack(v) for v in values)


def _check_same_parameters(target: Mapping[str, NodeRecord], source: Mapping[str, NodeRecord]) -> None:
    missing, extra = sorted(set(target) - set(source)), sorted(set(source) - set(target))
    if missing or extra:
        raise MergeError(
            "both trajectories must have the same parameters to merge: "
            + (f"the other trajectory lacks {missing}" if missing else "")
            + ("; " if missing and extra else "")
            + (f"only the other trajectory has {extra}" if extra else "")
            + "; add the missing parameters (with their default) or pass them in ignore_data"
        )
    for path, mine in target.items():
        theirs = source[path]
        mine_kind = type_key(_column(mine, 1)[0])
        their_kind = type_key(_column(theirs, 1)[0])
        if mine_kind != their_kind:
            raise MergeError(
                f"parameter {path!r} holds {mine_kind} here but {their_kind} in the other trajectory; "
                "a merged exploration needs one type per parameter"
            )


def plan_merge(
    target: Mapping[str, NodeRecord],
    source: Mapping[str, NodeRecord],
    *,
    remove_duplicates: bool = False,
) -> MergePlan:
    """Compare two trajectories' parameters (path -> record) and plan the merge.

    As in pypet: a parameter explored in either trajectory, or whose default
    differs between them, is explored in the result (the runs of a
    trajectory that did not explore it keep its default). Parameters present
    in only one trajectory, or holding different types, are a ``MergeError``.
    With ``remove_duplicates``, source points equal to a target point in every
    changed parameter are dropped; a merge that would add nothing is an error.
    """
    _check_same_parameters(target, source)
    old_length = trajectory_length(list(target.values()))
    source_length = trajectory_length(list(source.values()))
    changed = [
        path
        for path in sorted(target)
        if target[path].explored is not None
        or source[path].explored is not None
        or not values_equal(_value(target[path]), _value(source[path]))
    ]
    used = list(range(source_length))
    constant_differs = any(
        target[p].explored is None and source[p].explored is None for p in changed
    )
    if remove_duplicates and changed and not constant_differs:
        mine = [_column(target[p], old_length) for p in changed]
        theirs = [_column(source[p], source_length) for p in changed]
        seen = {_point_key(point) for point in zip(*mine)}
        used = [i for i in used if _point_key([column[i] for column in theirs]) not in seen]
    elif remove_duplicates and not changed:
        used = []
    if not used:
        raise MergeError(
            "the merge would add no runs: every point of the other trajectory is already explored here "
            "(is it the same trajectory?); merge without remove_duplicates to append them anyway"
        )
    plan = MergePlan(old_length, used)
    for path in changed:
        theirs = _column(source[path], source_length)
        plan.ranges[path] = _column(target[path], old_length) + [theirs[i] for i in used]
    return plan
