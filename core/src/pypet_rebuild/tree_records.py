"""Turning tree nodes into storage records and back."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from pypet_rebuild.errors import InvalidCommentError
from pypet_rebuild.leaves import Parameter, Result
from pypet_rebuild.runs import RunsGroup
from pypet_rebuild.storage.records import NodeKind, NodeRecord, run_name
from pypet_rebuild.storage.untrusted import check_record, pickled_items
from pypet_rebuild.tree import Group, Leaf, Node

if TYPE_CHECKING:
    from pypet_rebuild.trajectory import Trajectory

__all__ = ["node_records", "leaf_record", "add_records", "add_run_records", "take_run_records", "checked_comment"]


def checked_comment(comment: object, where: str) -> str:
    """``comment`` if every backend can store it. PostgreSQL text cannot hold NUL,
    so it is refused for all backends alike, before anything is stored."""
    if not isinstance(comment, str):
        raise InvalidCommentError(f"the comment of {where} must be a str, got {type(comment).__name__}")
    if "\x00" in comment:
        raise InvalidCommentError(
            f"the comment of {where} contains a NUL character ('\\x00'), which not every storage can "
            "hold; remove it (e.g. comment.replace('\\x00', ''))"
        )
    return comment


def leaf_record(leaf: Leaf, path: str, *, with_data: bool = True) -> NodeRecord:
    if isinstance(leaf, Parameter):
        data = {"value": leaf._default} if with_data and leaf._loaded else None
        explored = list(leaf._range) if leaf._range is not None else None
        comment = checked_comment(leaf.comment, repr(path))
        return NodeRecord(path, NodeKind.PARAMETER, comment, dict(leaf.annotations), data, explored)
    assert isinstance(leaf, Result)
    data = dict(leaf._items) if with_data and leaf._items is not None else None
    comment = checked_comment(leaf.comment, repr(path))
    return NodeRecord(
        path, NodeKind.RESULT, comment, dict(leaf.annotations), data, pickled=tuple(sorted(leaf._pickled))
    )


def node_records(traj: Trajectory, nodes: Iterable[Node] | None = None) -> list[NodeRecord]:
    """Records for ``nodes`` (default: every node outside the runs), links included."""
    nodes = list(traj._all_nodes_outside_runs() if nodes is None else nodes)
    records = []
    for node in nodes:
        if isinstance(node, Leaf):
            records.append(leaf_record(node, node.full_name))
        else:
            assert isinstance(node, Group)
            comment = checked_comment(node.comment, repr(node.full_name))
            records.append(NodeRecord(node.full_name, NodeKind.GROUP, comment, dict(node.annotations)))
    for node in [traj, *nodes]:
        if isinstance(node, Group):
            prefix = node.full_name + "." if node.full_name else ""
            records.extend(
                NodeRecord(prefix + name, NodeKind.LINK, link_target=target)
                for name, target in node._links.items()
            )
    return records


def _leaf_from_record(record: NodeRecord) -> Leaf:
    if record.kind is NodeKind.PARAMETER:
        parameter = Parameter(record.name, comment=record.comment)
        if record.data is None:
            parameter._loaded = False
        else:
            parameter._default = record.data.get("value")
        if record.explored is not None:
            parameter._range = list(record.explored)
        return parameter
    result = Result(record.name, comment=record.comment)
    result._items = None if record.data is None else dict(record.data)
    result._pickled = set(record.pickled) | pickled_items(record.data)
    return result


def add_records(traj: Trajectory, records: Iterable[NodeRecord]) -> None:
    """Build (or refresh) nodes from records, parents before children."""
    links = []
    for record in sorted(records, key=lambda r: r.path.count(".")):
        check_record(record)
        if record.kind is NodeKind.LINK:
            links.append(record)
            continue
        parent_path, _, name = record.path.rpartition(".")
        parent = traj._ensure_group(parent_path) if parent_path else traj
        if record.kind is NodeKind.GROUP:
            group = parent._children.get(name)
            if group is None:
                group = parent._add_child(RunsGroup(name) if name == "runs" else Group(name))
            node: Node = group
        else:
            if name in parent._children:
                parent.remove_child(name)
            node = parent._add_child(_leaf_from_record(record))
            if isinstance(node, Parameter) and node._range is not None:
                traj._explored[node.full_name] = node
                traj._length = len(node._range)
        node.comment = record.comment
        node.annotations = dict(record.annotations)
    for record in links:
        parent_path, _, name = record.path.rpartition(".")
        parent = traj._ensure_group(parent_path) if parent_path else traj
        parent._links[name] = record.link_target or ""


def add_run_records(run_group: Group, records: Iterable[NodeRecord]) -> None:
    """Rebuild one run's leaves below its run group from run-path records."""
    for record in records:
        check_record(record)
        rest = record.path.split(".", 1)[1]
        parent_path, _, _name = rest.rpartition(".")
        parent = run_group._ensure_group(parent_path) if parent_path else run_group
        leaf = _leaf_from_record(record)
        leaf.annotations = dict(record.annotations)
        parent._add_child(leaf)


def take_run_records(traj: Trajectory, idx: int) -> list[NodeRecord]:
    """Detach run ``idx``'s groups from the tree and return their leaves as records.

    The tree keeps no per-run data after a run, so memory stays flat over a
    million runs; the runs group fetches them back from storage on demand.
    """
    records: list[NodeRecord] = []
    name = run_name(idx)
    for branch in ("results", "derived_parameters"):
        group = traj._runs_group(branch)._children.pop(name, None)
        if group is None:
            continue
        group._parent = None  # detached: full names below it are now run-relative
        for leaf in group.iter_leaves():
            records.append(leaf_record(leaf, f"{branch}.{leaf.full_name}"))
    return records
