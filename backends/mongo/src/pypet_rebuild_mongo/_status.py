"""Run status records, many runs per document: the layout of the ``runs`` collection.

Why not one document per run: reading the status of 100,000 runs (what
loading a trajectory or resuming one does first) would move 100,000
documents; as chunks of up to ``chunk_bytes`` it moves about a hundred. A
status chunk holds parallel arrays, one element per run::

    {traj, seq, lo, hi,                  # lo/hi: smallest and largest run index
     idx: [...], status: [...], started: [...], finished: [...], error: [...],
     leaves: [...],                      # per run, an index into shapes
     shapes: [[{path, kind, items, ...}, ...], ...]}

``shapes`` lists each distinct set of leaves the chunk's runs added (path,
kind, item names, and comment, annotations, pickled, link target when set).
Runs of one exploration nearly always add the same leaves, so a chunk of a
thousand runs usually holds one shape.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import bson

from pypet_rebuild.storage.records import NodeKind, NodeRecord, RunRecord, RunStatus
from pypet_rebuild_mongo._bson_values import decode_mapping, decode_value, encode_mapping, encode_value

__all__ = ["StatusEntry", "build_status_chunks", "leaf_record", "status_entries", "status_without"]

_PER_RUN_BYTES = 64
_PARALLEL = ("idx", "status", "started", "finished", "error", "leaves")


def _leaf_meta(node: NodeRecord) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "path": node.path,
        "kind": NodeKind(node.kind).value,
        "items": None if node.data is None else list(node.data),
    }
    if node.comment:
        meta["comment"] = node.comment
    if node.annotations:
        meta["annotations"] = encode_mapping(node.annotations)
    if node.pickled:
        meta["pickled"] = list(node.pickled)
    if node.link_target is not None:
        meta["link_target"] = node.link_target
    if node.explored is not None:
        meta["explored"] = encode_value(node.explored)[0]
    return meta


def leaf_record(meta: dict[str, Any]) -> NodeRecord:
    """The record of one leaf a run added, without its data."""
    explored = meta.get("explored")
    return NodeRecord(
        meta["path"],
        NodeKind(meta["kind"]),
        meta.get("comment", ""),
        decode_mapping(meta.get("annotations")),
        None,
        None if explored is None else decode_value(explored, metadata=True),
        meta.get("link_target"),
        tuple(meta.get("pickled", ())),
    )


def _new_chunk() -> dict[str, Any]:
    return {**{field: [] for field in _PARALLEL}, "shapes": []}


def build_status_chunks(runs: Sequence[RunRecord], *, chunk_bytes: int) -> list[dict[str, Any]]:
    """Status chunks for runs given in index order, one record per index."""
    chunks: list[dict[str, Any]] = []
    current, shapes, size = _new_chunk(), {}, 0
    for run in runs:
        leaves = [_leaf_meta(node) for node in {node.path: node for node in run.nodes}.values()]
        identity = bson.encode({"leaves": leaves})  # exact: equal bytes, equal leaves
        run_size = _PER_RUN_BYTES + len(run.error or "") + (0 if identity in shapes else len(identity))
        if current["idx"] and size + run_size > chunk_bytes:
            chunks.append(current)
            current, shapes, size = _new_chunk(), {}, 0
        if identity not in shapes:
            shapes[identity] = len(current["shapes"])
            current["shapes"].append(leaves)
        for field, value in zip(_PARALLEL, (
            int(run.idx), RunStatus(run.status).value, float(run.started), float(run.finished),
            run.error, shapes[identity],
        )):
            current[field].append(value)
        size += run_size
    chunks.append(current)
    for chunk in chunks:
        chunk["lo"], chunk["hi"] = min(chunk["idx"]), max(chunk["idx"])
    return chunks


@dataclass
class StatusEntry:
    """One run's status as read from a chunk."""

    idx: int
    seq: int
    record: RunRecord
    leaves: list[dict[str, Any]] | None  # None when the chunk was read without shapes


def status_entries(chunk: dict[str, Any]) -> Iterator[StatusEntry]:
    shapes = chunk.get("shapes")
    for pos, idx in enumerate(chunk["idx"]):
        record = RunRecord(
            idx, RunStatus(chunk["status"][pos]), chunk["started"][pos], chunk["finished"][pos], chunk["error"][pos]
        )
        leaves = None if shapes is None else shapes[chunk["leaves"][pos]]
        yield StatusEntry(idx, chunk["seq"], record, leaves)


def status_without(chunk: dict[str, Any], drop: set[int]) -> dict[str, Any] | None:
    """The chunk with the runs in ``drop`` removed (and shapes no run uses
    any more), or None if nothing is left."""
    keep = [pos for pos, idx in enumerate(chunk["idx"]) if idx not in drop]
    if not keep:
        return None
    kept = {key: value for key, value in chunk.items() if key not in (*_PARALLEL, "shapes")}
    for field in _PARALLEL:
        kept[field] = [chunk[field][pos] for pos in keep]
    used = sorted(set(kept["leaves"]))
    kept["shapes"] = [chunk["shapes"][shape] for shape in used]
    kept["leaves"] = [used.index(shape) for shape in kept["leaves"]]
    kept["lo"], kept["hi"] = min(kept["idx"]), max(kept["idx"])
    return kept
