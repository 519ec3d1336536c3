"""Runs: status chunks (``runs``, see ``_status``) and value chunks (``run_items``, see ``_columns``).

A batch of runs is one versioned write (see ``_store``): the value chunks,
then the status chunks, then the commit -- two ``insert_many`` calls and a
few updates of the trajectory document per batch, however many runs it
holds. Status chunks also list the leaves each run added, so
``load_run_infos`` and ``load_run`` without data never touch the values.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import numpy as np

from pypet_rebuild.storage.records import NodeRecord, RunRecord
from pypet_rebuild_mongo._bson_values import LARGE_VALUE_KEY
from pypet_rebuild_mongo._columns import DecodedChunk, LargeValue, build_chunks, chunk_without, stacked_signature
from pypet_rebuild_mongo._status import StatusEntry, build_status_chunks, leaf_record, status_entries, status_without
from pypet_rebuild_mongo._store import Snapshot, Store

__all__ = ["RunStore"]

_CACHED_CHUNKS = 64  # value chunks kept decoded for load_run; each at most about chunk_bytes
_WITHOUT_SHAPES = {"shapes": 0}


class RunStore:
    """Reads and writes runs through a ``Store``."""

    def __init__(self, store: Store, *, chunk_bytes: int, large_value_bytes: int) -> None:
        self.store = store
        self.chunk_bytes = chunk_bytes
        self.large_value_bytes = large_value_bytes
        self._chunks: OrderedDict[Any, DecodedChunk] = OrderedDict()
        store.settlers.append(self)

    # -- writing ----------------------------------------------------------------------

    def store_batch(self, name: str, runs: Sequence[RunRecord]) -> None:
        snapshot = self.store.snapshot(name)
        latest = {run.idx: run for run in runs}  # a run listed twice: the later record wins
        if not latest:
            return
        ordered = [latest[idx] for idx in sorted(latest)]
        columns: dict[tuple[str, str], list[tuple[int, Any, bool]]] = {}
        for run in ordered:
            for node in {node.path: node for node in run.nodes}.values():
                for item, value in (node.data or {}).items():
                    columns.setdefault((node.path, item), []).append((int(run.idx), value, item in node.pickled))
        values = [
            {"run_path": path, "item": item, **body}
            for (path, item), entries in columns.items()
            for body in build_chunks(entries, chunk_bytes=self.chunk_bytes, large_value_bytes=self.large_value_bytes)
        ]
        statuses = build_status_chunks(ordered, chunk_bytes=self.chunk_bytes)
        run_paths = {leaf["path"] for chunk in statuses for shape in chunk["shapes"] for leaf in shape}
        with self.store.writing(snapshot) as seq:
            for chunk in values:
                self._upload_large(snapshot, seq, chunk)
            for chunk in (*values, *statuses):
                chunk.update(traj=snapshot.uid, seq=seq)
            if values:
                self.store.run_items.insert_many(values, ordered=False)
            self.store.runs.insert_many(statuses, ordered=False)
            self.store.commit(snapshot, seq, run_paths)
        self.store.settle(snapshot, seq)

    def _upload_large(self, snapshot: Snapshot, seq: int, chunk: dict[str, Any]) -> None:
        values = chunk.get("values", ())
        for pos, stored in enumerate(values):
            if isinstance(stored, LargeValue):
                file_id = self.store.large.put(
                    stored.value, allow_pickle=stored.allow_pickle, traj=snapshot.uid, seq=seq, idx=stored.idx
                )
                values[pos] = {LARGE_VALUE_KEY: file_id}
                chunk.setdefault("large", []).append(file_id)

    def settle(self, snapshot: Snapshot, seq: int) -> None:
        """Remove the older versions of the runs write ``seq`` stored.

        The status chunks go last: as long as they still list an old version,
        a repair finds the leftovers again.
        """
        uid = snapshot.uid
        written = {idx for chunk in self.store.runs.find({"seq": seq, "traj": uid}, {"idx": 1}) for idx in chunk["idx"]}
        if not written:
            return
        overlapping = {"lo": {"$lte": max(written)}, "hi": {"$gte": min(written)}, "traj": uid, "seq": {"$lt": seq}}
        dropped: dict[Any, set[int]] = {}  # status chunk id -> its runs that write seq replaced
        old_chunks = {}
        for chunk in self.store.runs.find(overlapping):
            drop = written.intersection(chunk["idx"])
            if drop:
                dropped[chunk["_id"]], old_chunks[chunk["_id"]] = drop, chunk
        if not dropped:
            return
        by_seq: dict[int, set[int]] = {}
        for chunk_id, drop in dropped.items():
            by_seq.setdefault(old_chunks[chunk_id]["seq"], set()).update(drop)
        for chunk in self.store.run_items.find({"seq": {"$in": sorted(by_seq)}, "traj": uid}):
            if not by_seq[chunk["seq"]].isdisjoint(chunk["idx"]):
                self._rewrite(self.store.run_items, chunk, chunk_without(chunk, by_seq[chunk["seq"]]))
        for old_seq, drop in by_seq.items():
            self.store.large.delete_where(traj=uid, seq=old_seq, idx=sorted(drop))
        for chunk_id, drop in dropped.items():
            self._rewrite(self.store.runs, old_chunks[chunk_id], status_without(old_chunks[chunk_id], drop))
        # Pull only the paths no run holds any more: a ``$set`` of the whole
        # list would drop a path that another writer's commit just added.
        owner = {"_id": snapshot.name, "uid": uid}
        listed = (self.store.trajectories.find_one(owner, {"run_paths": 1}) or {}).get("run_paths", [])
        gone = sorted(set(listed) - set(self._current_paths(uid)))
        if gone:
            self.store.trajectories.update_one(owner, {"$pull": {"run_paths": {"$in": gone}}})

    @staticmethod
    def _rewrite(collection: Any, old: dict[str, Any], new: dict[str, Any] | None) -> None:
        if new is None:
            collection.delete_one({"_id": old["_id"]})
        else:
            collection.replace_one({"_id": old["_id"]}, new)

    def _current_paths(self, uid: Any) -> list[str]:
        """Run paths of the remaining runs, recomputed after some were replaced."""
        chunks = self.store.runs.find({"traj": uid}, {"leaves": 1, "shapes": 1})
        return sorted({leaf["path"] for c in chunks for shape in c["shapes"] for leaf in shape})

    # -- reading ----------------------------------------------------------------------

    def _current(self, snapshot: Snapshot, projection: Any, **condition: Any) -> list[StatusEntry]:
        """Visible status entries, one per run: the highest ``seq`` wins
        while a write is settling."""
        entries: dict[int, StatusEntry] = {}
        # A copy: mongomock adds ``_id`` to the projection it is handed, which
        # would turn the shared exclusion into an inclusion for later reads.
        projection = None if projection is None else dict(projection)
        for chunk in self.store.runs.find(snapshot.query(**condition), projection):
            for entry in status_entries(chunk):
                held = entries.get(entry.idx)
                if held is None or entry.seq > held.seq:
                    entries[entry.idx] = entry
        return [entries[idx] for idx in sorted(entries)]

    def load_infos(self, name: str) -> list[RunRecord]:
        return [entry.record for entry in self._current(self.store.snapshot(name), _WITHOUT_SHAPES)]

    def load_run(self, name: str, idx: int, with_data: bool) -> list[NodeRecord]:
        snapshot = self.store.snapshot(name)
        idx = int(idx)
        found = [e for e in self._current(snapshot, None, lo={"$lte": idx}, hi={"$gte": idx}) if e.idx == idx]
        if not found:
            return []
        (entry,) = found
        leaves = entry.leaves or []
        records = sorted((leaf_record(meta) for meta in leaves), key=lambda record: record.path)
        if not with_data:
            return records
        chunks = {(c.body["run_path"], c.body["item"]): c for c in self._chunks_holding(snapshot, entry.seq, idx)}
        items = {meta["path"]: meta["items"] for meta in leaves}
        for record in records:
            if items[record.path] is not None:
                record.data = {}
                for item in items[record.path]:
                    chunk = chunks[(record.path, item)]
                    record.data[item] = chunk.value_at(chunk.position(idx), self.store.large.get)
        return records

    def _chunks_holding(self, snapshot: Snapshot, seq: int, idx: int) -> list[DecodedChunk]:
        """The value chunks of write ``seq`` that hold run ``idx``, through a
        small cache: iterating over runs reads each chunk once, not once per
        run. A chunk's visible entries never change, so cached ones stay valid."""
        query = {"seq": seq, "idx": idx, "traj": snapshot.uid}
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
        return sorted({leaf["path"] for entry in self._current(snapshot, None) for leaf in entry.leaves or ()})

    def _column_chunks(self, name: str, run_path: str, item: str) -> tuple[list[DecodedChunk], list[np.ndarray]]:
        """The column's chunks, and per chunk a mask of the entries to use
        (all of them unless a replaced run's old entries may still exist)."""
        snapshot = self.store.snapshot(name)
        chunks = [DecodedChunk(body) for body in self.store.run_items.find(snapshot.query(run_path=run_path, item=item))]
        if snapshot.single_versions:
            return chunks, [np.ones(len(chunk.indices), dtype=bool) for chunk in chunks]
        current = {entry.idx: entry.seq for entry in self._current(snapshot, _WITHOUT_SHAPES)}
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
        stacked = np.concatenate([c.array[m] for c, m in zip(chunks, masks)])  # type: ignore[index]
        order = np.argsort(indices, kind="stable")
        return indices[order], stacked[order]
