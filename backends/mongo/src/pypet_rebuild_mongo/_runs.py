"""The ``runs`` (status) and ``run_items`` (column chunks) collections.

A batch of runs is one versioned write (see ``_store``): the column chunks
first, then one status document per run, then the commit, each an
``insert_many`` -- a handful of round trips per batch, however many runs it
holds. A run's status document also lists the leaves the run added (path,
kind, item names, comment, annotations), so ``load_run`` without data and
``load_run_infos`` never touch the chunks.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import numpy as np

from pypet_rebuild.storage.records import NodeKind, NodeRecord, RunRecord, RunStatus
from pypet_rebuild_mongo._bson_values import LARGE_VALUE_KEY, decode_mapping, decode_value, encode_mapping, encode_value
from pypet_rebuild_mongo._columns import DecodedChunk, LargeValue, build_chunks, stacked_signature
from pypet_rebuild_mongo._store import Snapshot, Store, latest_versions

__all__ = ["RunStore"]

_CACHED_CHUNKS = 64  # chunks kept decoded for load_run; each at most about chunk_bytes


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


def _leaf_record(meta: dict[str, Any]) -> NodeRecord:
    explored = meta.get("explored")
    return NodeRecord(
        meta["path"],
        NodeKind(meta["kind"]),
        meta.get("comment", ""),
        decode_mapping(meta.get("annotations")),
        None,
        None if explored is None else decode_value(explored),
        meta.get("link_target"),
        tuple(meta.get("pickled", ())),
    )


class RunStore:
    """Reads and writes runs through a ``Store``."""

    def __init__(self, store: Store, *, chunk_bytes: int, large_value_bytes: int) -> None:
        self.store = store
        self.chunk_bytes = chunk_bytes
        self.large_value_bytes = large_value_bytes
        self._chunks: OrderedDict[Any, DecodedChunk] = OrderedDict()

    # -- writing ----------------------------------------------------------------------

    def store_batch(self, name: str, runs: Sequence[RunRecord]) -> None:
        snapshot = self.store.snapshot(name)
        latest = {run.idx: run for run in runs}  # a run listed twice: the later record wins
        columns: dict[tuple[str, str], list[tuple[int, Any, bool]]] = {}
        statuses: list[dict[str, Any]] = []
        for idx in sorted(latest):
            run = latest[idx]
            leaves = {node.path: node for node in run.nodes}
            for node in leaves.values():
                for item, value in (node.data or {}).items():
                    columns.setdefault((node.path, item), []).append((idx, value, item in node.pickled))
            statuses.append({
                "idx": int(idx),
                "status": RunStatus(run.status).value,
                "started": float(run.started),
                "finished": float(run.finished),
                "error": run.error,
                "nodes": [_leaf_meta(node) for node in leaves.values()],
            })
        chunks = [
            {"run_path": path, "item": item, **body}
            for (path, item), entries in columns.items()
            for body in build_chunks(entries, chunk_bytes=self.chunk_bytes, large_value_bytes=self.large_value_bytes)
        ]
        if not statuses:
            return
        with self.store.writing(snapshot) as seq:
            for chunk in chunks:
                self._upload_large(snapshot, seq, chunk)
                chunk.update(traj=snapshot.uid, seq=seq)
            if chunks:
                self.store.run_items.insert_many(chunks, ordered=False)
            for status in statuses:
                status.update(traj=snapshot.uid, seq=seq)
            self.store.runs.insert_many(statuses, ordered=False)
            run_paths = {meta["path"] for status in statuses for meta in status["nodes"]}
            self.store.commit(snapshot, seq, run_paths)
        self.store.settle(snapshot, seq, nodes=False, runs=sorted(latest))

    def _upload_large(self, snapshot: Snapshot, seq: int, chunk: dict[str, Any]) -> None:
        values = chunk.get("values", ())
        for pos, stored in enumerate(values):
            if isinstance(stored, LargeValue):
                file_id = self.store.large.put(
                    stored.value, allow_pickle=stored.allow_pickle, traj=snapshot.uid, seq=seq, idx=stored.idx
                )
                values[pos] = {LARGE_VALUE_KEY: file_id}
                chunk.setdefault("large", []).append(file_id)

    # -- reading ----------------------------------------------------------------------

    def _statuses(self, snapshot: Snapshot, projection: Any, **condition: Any) -> list[dict[str, Any]]:
        docs = list(self.store.runs.find(snapshot.query(**condition), projection))
        if snapshot.single_versions:
            return docs
        return list(latest_versions(docs, "idx").values())

    def load_infos(self, name: str) -> list[RunRecord]:
        snapshot = self.store.snapshot(name)
        docs = sorted(self._statuses(snapshot, {"nodes": 0}), key=lambda doc: doc["idx"])
        return [
            RunRecord(doc["idx"], RunStatus(doc["status"]), doc["started"], doc["finished"], doc.get("error"))
            for doc in docs
        ]

    def load_run(self, name: str, idx: int, with_data: bool) -> list[NodeRecord]:
        snapshot = self.store.snapshot(name)
        docs = self._statuses(snapshot, None, idx=int(idx))
        if not docs:
            return []
        status = max(docs, key=lambda doc: doc["seq"])
        records = sorted((_leaf_record(meta) for meta in status["nodes"]), key=lambda record: record.path)
        if not with_data:
            return records
        chunks = {(c.body["run_path"], c.body["item"]): c for c in self._chunks_holding(snapshot, status["seq"], idx)}
        items = {meta["path"]: meta["items"] for meta in status["nodes"]}
        for record in records:
            if items[record.path] is not None:
                record.data = {}
                for item in items[record.path]:
                    chunk = chunks[(record.path, item)]
                    record.data[item] = chunk.value_at(chunk.position(idx), self.store.large.get)
        return records

    def _chunks_holding(self, snapshot: Snapshot, seq: int, idx: int) -> list[DecodedChunk]:
        """The chunks of write ``seq`` that hold run ``idx``, through a small
        cache: iterating over runs reads each chunk once, not once per run.
        Chunks never change their visible entries, so cached ones stay valid."""
        query = {"seq": seq, "idx": int(idx), "traj": snapshot.uid}
        ids = [doc["_id"] for doc in self.store.run_items.find(query, {"_id": 1})]
        missing = [chunk_id for chunk_id in ids if chunk_id not in self._chunks]
        if missing:
            for body in self.store.run_items.find({"_id": {"$in": missing}}):
                self._chunks[body["_id"]] = DecodedChunk(body)
        found = []
        for chunk_id in ids:
            self._chunks.move_to_end(chunk_id)
            found.append(self._chunks[chunk_id])
        while len(self._chunks) > _CACHED_CHUNKS:
            self._chunks.popitem(last=False)
        return found

    def list_paths(self, name: str) -> list[str]:
        snapshot = self.store.snapshot(name)
        if snapshot.single_versions:
            return sorted(snapshot.document.get("run_paths", ()))
        docs = self._statuses(snapshot, {"idx": 1, "seq": 1, "nodes.path": 1})
        return sorted({meta["path"] for doc in docs for meta in doc.get("nodes", ())})

    def _column_chunks(self, name: str, run_path: str, item: str) -> tuple[list[DecodedChunk], list[np.ndarray]]:
        """The column's chunks, and per chunk a mask of the entries to use
        (all of them unless a replaced run's old entries may still exist)."""
        snapshot = self.store.snapshot(name)
        docs = self.store.run_items.find(snapshot.query(run_path=run_path, item=item))
        chunks = [DecodedChunk(body) for body in docs]
        if snapshot.single_versions:
            return chunks, [np.ones(len(chunk.indices), dtype=bool) for chunk in chunks]
        current = {doc["idx"]: doc["seq"] for doc in self._statuses(snapshot, {"idx": 1, "seq": 1})}
        masks = [
            np.array([current.get(idx) == chunk.body["seq"] for idx in chunk.indices], dtype=bool)
            for chunk in chunks
        ]
        return chunks, masks

    def _column_values(self, chunks: list[DecodedChunk], masks: list[np.ndarray]) -> tuple[np.ndarray, list[Any]]:
        pairs: list[tuple[int, Any]] = []
        for chunk, mask in zip(chunks, masks):
            values = chunk.values(self.store.large.get)
            pairs.extend((idx, value) for idx, value, keep in zip(chunk.indices, values, mask) if keep)
        pairs.sort(key=lambda pair: pair[0])
        return np.array([idx for idx, _ in pairs], dtype=np.int64), [value for _, value in pairs]

    def load_column(self, name: str, run_path: str, item: str) -> tuple[np.ndarray, list[Any]]:
        return self._column_values(*self._column_chunks(name, run_path, item))

    def load_column_array(self, name: str, run_path: str, item: str) -> tuple[np.ndarray, np.ndarray]:
        """Stacked chunks of one kind, dtype and row shape are concatenated as
        they are; any other column goes value by value, like ``np.asarray``."""
        chunks, masks = self._column_chunks(name, run_path, item)
        signatures = {stacked_signature(c.body, c.array) for c in chunks if c.array is not None}
        if not chunks or len(signatures) != 1 or not all(chunk.stacked for chunk in chunks):
            indices, values = self._column_values(chunks, masks)
            return indices, np.asarray(values)
        indices = np.concatenate([np.asarray(c.indices, dtype=np.int64)[m] for c, m in zip(chunks, masks)])
        stacked = np.concatenate([c.array[m] for c, m in zip(chunks, masks)])
        order = np.argsort(indices, kind="stable")
        return indices[order], stacked[order]
