"""The ``nodes`` collection: the tree outside the runs, one document per node version.

A node document holds kind, comment, annotations (escaped keys, queryable),
link target, the names of its items in order (``items``), their values under
``data`` (escaped item names as field names, so one item can be projected
without reading the others), the explored range as one value, and in
``large`` the GridFS files it refers to. The biggest values move to GridFS
until the rest fits within ``large_value_bytes``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from pypet_rebuild.errors import StorageError
from pypet_rebuild.plugins import mask_url
from pypet_rebuild.storage.records import NodeKind, NodeRecord
from pypet_rebuild_mongo._bson_values import (
    LARGE_VALUE_KEY,
    decode_mapping,
    decode_value,
    encode_mapping,
    encode_value,
    is_large_marker,
)
from pypet_rebuild_mongo._keys import escape_key
from pypet_rebuild_mongo._store import Snapshot, Store, latest_versions

__all__ = ["NodeStore"]

_EXPLORED = None  # the key under which a node's explored range waits for GridFS


def subtree_condition(paths: Sequence[str]) -> dict[str, Any]:
    """Match each path and everything below it (an anchored, index-using regex)."""
    alternatives: list[dict[str, Any]] = []
    for path in paths:
        alternatives.append({"path": path})
        alternatives.append({"path": {"$regex": f"^{re.escape(path)}\\."}})
    return {"$or": alternatives}


class NodeStore:
    """Reads and writes node documents through a ``Store``."""

    def __init__(self, store: Store, large_value_bytes: int) -> None:
        self.store = store
        self.large_value_bytes = large_value_bytes
        store.settlers.append(self)

    # -- writing ----------------------------------------------------------------------

    def _encode(self, record: NodeRecord) -> tuple[dict[str, Any], list[tuple[str | None, Any, bool]]]:
        """The document and the values that must go to GridFS; raises for
        unstorable values before anything is written."""
        doc: dict[str, Any] = {
            "path": record.path,
            "kind": NodeKind(record.kind).value,
            "comment": record.comment,
            "annotations": encode_mapping(record.annotations),
            "link_target": record.link_target,
            "pickled": list(record.pickled),
            "items": None if record.data is None else list(record.data),
            "data": None,
            "explored": None,
            "large": [],
        }
        sized: list[tuple[int, str | None, Any, Any, bool]] = []
        if record.data is not None:
            doc["data"] = {}
            for item, value in record.data.items():
                allow = item in record.pickled
                stored, size = encode_value(value, allow_pickle=allow)
                doc["data"][escape_key(item)] = stored
                sized.append((size, item, stored, value, allow))
        if record.explored is not None:
            stored, size = encode_value(record.explored)
            doc["explored"] = stored
            sized.append((size, _EXPLORED, stored, record.explored, False))
        pending: list[tuple[str | None, Any, bool]] = []
        total = sum(entry[0] for entry in sized)
        for size, key, _, value, allow in sorted(sized, key=lambda entry: entry[0], reverse=True):
            if total <= self.large_value_bytes:
                break
            pending.append((key, value, allow))
            total -= size
        return doc, pending

    def write(self, name: str, records: Sequence[NodeRecord]) -> None:
        snapshot = self.store.snapshot(name)
        latest = {record.path: record for record in records}
        encoded = {path: self._encode(record) for path, record in latest.items()}
        keep_data = [path for path, record in latest.items() if record.data is None]
        if keep_data:
            projection = {"path": 1, "seq": 1, "items": 1, "data": 1, "large": 1}
            stored = latest_versions(
                self.store.nodes.find(snapshot.query(path={"$in": keep_data}), projection), "path"
            )
            for path, old in stored.items():
                doc = encoded[path][0]
                doc["items"], doc["data"], doc["large"] = old.get("items"), old.get("data"), list(old.get("large", ()))
        if not encoded:
            return
        with self.store.writing(snapshot) as seq:
            documents = []
            for path, (doc, pending) in encoded.items():
                for key, value, allow in pending:
                    file_id = self.store.large.put(value, allow_pickle=allow, traj=snapshot.uid, seq=seq, path=path)
                    marker = {LARGE_VALUE_KEY: file_id}
                    if key is _EXPLORED:
                        doc["explored"] = marker
                    else:
                        doc["data"][escape_key(key)] = marker
                    doc["large"].append(file_id)
                documents.append({"traj": snapshot.uid, "seq": seq, **doc})
            self.store.nodes.insert_many(documents, ordered=False)
            self.store.commit(snapshot, seq)
        self.store.settle(snapshot, seq)

    def settle(self, snapshot: Snapshot, seq: int) -> None:
        """Delete the versions write ``seq`` replaced, and the files only they used."""
        nodes = self.store.nodes
        written = list(nodes.find({"seq": seq, "traj": snapshot.uid}, {"path": 1, "large": 1}))
        if not written:
            return
        paths = [doc["path"] for doc in written]
        replaced = list(nodes.find({"path": {"$in": paths}, "traj": snapshot.uid, "seq": {"$lt": seq}}, {"large": 1}))
        if not replaced:
            return
        still_used = {file_id for doc in written for file_id in doc.get("large", ())}
        self.store.large.delete(
            {file_id for doc in replaced for file_id in doc.get("large", ()) if file_id not in still_used}
        )
        nodes.delete_many({"_id": {"$in": [doc["_id"] for doc in replaced]}})

    def remove(self, name: str, paths: Sequence[str]) -> None:
        """Delete every version of the nodes and their subtrees, then their files."""
        snapshot = self.store.snapshot(name)
        if not paths:
            return
        query = {"traj": snapshot.uid, **subtree_condition(paths)}
        doomed = list(self.store.nodes.find(query, {"large": 1}))
        self.store.nodes.delete_many({"_id": {"$in": [doc["_id"] for doc in doomed]}})
        self.store.large.delete({file_id for doc in doomed for file_id in doc.get("large", ())})

    # -- reading ----------------------------------------------------------------------

    def _value(self, stored: Any, *, metadata: bool = False) -> Any:
        if is_large_marker(stored):
            return self.store.large.get(stored[LARGE_VALUE_KEY], metadata=metadata)
        return decode_value(stored, metadata=metadata)

    def _record(self, doc: dict[str, Any], with_data: bool) -> NodeRecord:
        data = None
        if with_data and doc.get("data") is not None:
            stored = doc["data"]
            data = {item: self._value(stored[escape_key(item)]) for item in doc["items"]}
        explored = doc.get("explored")
        return NodeRecord(
            doc["path"],
            NodeKind(doc["kind"]),
            doc.get("comment", ""),
            decode_mapping(doc.get("annotations")),
            data,
            None if explored is None else self._value(explored, metadata=True),
            doc.get("link_target"),
            tuple(doc.get("pickled", ())),
        )

    def _find(self, snapshot: Snapshot, condition: dict[str, Any], projection: Any) -> list[dict[str, Any]]:
        docs = list(self.store.nodes.find(snapshot.query(**condition), projection))
        return docs if snapshot.single_versions else list(latest_versions(docs, "path").values())

    def load(self, name: str, prefix: str, with_data: bool) -> list[NodeRecord]:
        snapshot = self.store.snapshot(name)
        condition = subtree_condition([prefix]) if prefix else {}
        docs = self._find(snapshot, condition, None if with_data else {"data": 0})
        docs.sort(key=lambda doc: (doc["path"].count("."), doc["path"]))
        return [self._record(doc, with_data) for doc in docs]

    def load_items(self, name: str, path: str, items: Sequence[str] | None) -> dict[str, Any]:
        snapshot = self.store.snapshot(name)
        projection: dict[str, int] = {"path": 1, "seq": 1, "items": 1}
        if items is None:
            projection["data"] = 1
        else:
            projection.update({f"data.{escape_key(item)}": 1 for item in items})
        docs = self._find(snapshot, {"path": path}, projection)
        if not docs or docs[0].get("items") is None:
            raise StorageError(
                f"{mask_url(self.store.url)!r} holds no data at {path!r} in trajectory {name!r}"
            )
        held = docs[0]["items"]
        wanted = list(held) if items is None else list(items)
        missing = [item for item in wanted if item not in held]
        if missing:
            raise StorageError(f"{path!r} has no item(s) {missing}; it holds {sorted(held)}")
        return {item: self._value(value) for item, value in _projected_items(docs[0], wanted).items()}


def _projected_items(document: dict[str, Any], wanted: list[str]) -> dict[str, Any]:
    """The stored items of a document read with a ``data.<item>`` projection.

    MongoDB nests the projected fields (``{"data": {"b": ...}}``); nx-27017
    returns them under their dotted names (``{"data.b": ...}``). Escaped item
    names hold no dots, so both forms are read without ambiguity.
    """
    nested = document.get("data") or {}
    found = {}
    for item in wanted:
        key = escape_key(item)
        found[item] = nested[key] if key in nested else document[f"data.{key}"]
    return found
