"""The tree outside the runs: one HDF5 group per node, one dataset per item.

``parameters.neuron.tau`` lives at ``/<trajectory>/parameters/neuron/tau``.
Its JSON attribute ``pypet_node`` holds kind, comment, annotations, link
target, the items' stored forms (tags, see ``_items``) and the explored
range's form; the items are datasets named after them (``value`` for a
parameter) and the explored range is the dataset ``_range``. Groups without
the attribute are parents nobody stored explicitly and are not nodes.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import h5py

from pypet_rebuild.errors import StorageError
from pypet_rebuild.storage.records import NodeKind, NodeRecord

from pypet_rebuild_hdf5._items import (
    PreparedItem,
    from_portable_json,
    prepare_item,
    prepare_range,
    read_item,
    read_range,
    to_portable_json,
    write_item,
)

__all__ = ["NODE_ATTRIBUTE", "RANGE_DATASET", "PreparedNode", "prepare_nodes", "store_nodes", "load_nodes",
           "load_items", "remove_nodes", "item_dataset", "check_path", "meta_json", "record_from_meta"]

NODE_ATTRIBUTE = "pypet_node"
RANGE_DATASET = "_range"


def check_path(path: str) -> list[str]:
    """The components of a dotted path, refusing any HDF5 could not name or we reserve."""
    parts = path.split(".") if isinstance(path, str) else [""]
    if any(not p or "/" in p or p.startswith("_") for p in parts):
        raise StorageError(
            f"cannot store a node at {path!r}: every component of the dotted path must be a "
            "non-empty name without '/' that does not start with '_'"
        )
    return parts


def meta_json(record: NodeRecord) -> dict[str, Any]:
    """What the node attribute holds besides item tags: empty fields are left out."""
    meta: dict[str, Any] = {"kind": record.kind.value}
    if record.comment:
        meta["comment"] = record.comment
    if record.annotations:
        meta["annotations"] = to_portable_json(record.annotations)
    if record.link_target is not None:
        meta["link"] = record.link_target
    if record.pickled:
        meta["pickled"] = list(record.pickled)
    return meta


def record_from_meta(path: str, meta: dict[str, Any]) -> NodeRecord:
    annotations = meta.get("annotations")
    return NodeRecord(
        path,
        NodeKind(meta["kind"]),
        meta.get("comment", ""),
        from_portable_json(annotations) if annotations is not None else {},
        link_target=meta.get("link"),
        pickled=tuple(meta.get("pickled", ())),
    )


@dataclass
class PreparedNode:
    path: str
    parts: list[str]
    meta: dict[str, Any]
    items: dict[str, PreparedItem] | None
    explored: PreparedItem | None


def prepare_nodes(records: Sequence[NodeRecord]) -> list[PreparedNode]:
    """Encode every record first, so a bad value fails before anything is written."""
    prepared = []
    for record in records:
        parts = check_path(record.path)
        items = None
        if record.data is not None:
            pickled = set(record.pickled)
            items = {name: prepare_item(value, pickled=name in pickled) for name, value in record.data.items()}
        explored = prepare_range(record.explored) if record.explored is not None else None
        if items is not None and RANGE_DATASET in items:
            raise StorageError(f"{record.path!r}: the item name {RANGE_DATASET!r} is reserved by the HDF5 backend")
        prepared.append(PreparedNode(record.path, parts, meta_json(record), items, explored))
    return prepared


def _node_group(root: h5py.Group, parts: list[str], path: str) -> h5py.Group:
    group = root
    for part in parts:
        child = group.get(part)
        if child is None:
            child = group.create_group(part)
        elif not isinstance(child, h5py.Group):
            raise StorageError(f"cannot store a node at {path!r}: {part!r} is an item of a stored leaf")
        group = child
    return group


def store_nodes(root: h5py.Group, nodes: Sequence[PreparedNode], filters: dict[str, Any]) -> None:
    for node in nodes:
        group = _node_group(root, node.parts, node.path)
        old_text = group.attrs.get(NODE_ATTRIBUTE)
        old = json.loads(old_text) if old_text is not None else {}
        meta = dict(node.meta)
        if node.items is None:
            if "items" in old:
                meta["items"] = old["items"]
        else:
            for stale in set(old.get("items", {})) - set(node.items):
                del group[stale]
            for name, item in node.items.items():
                if isinstance(group.get(name), h5py.Group):
                    raise StorageError(f"{node.path!r}: item {name!r} has the name of a child node")
                write_item(group, name, item, filters)
            meta["items"] = {name: item.tag for name, item in node.items.items()}
        if node.explored is None:
            if RANGE_DATASET in group:
                del group[RANGE_DATASET]
        else:
            write_item(group, RANGE_DATASET, node.explored, filters)
            meta["range"] = node.explored.tag
        text = json.dumps(meta, ensure_ascii=False, separators=(",", ":"))
        if text != old_text:
            group.attrs[NODE_ATTRIBUTE] = text


def _walk(group: h5py.Group, path: str, found: list[tuple[str, h5py.Group, dict[str, Any]]]) -> None:
    for name in group:
        if name.startswith("_") or group.get(name, getclass=True) is not h5py.Group:
            continue
        child = group[name]
        child_path = f"{path}.{name}" if path else name
        text = child.attrs.get(NODE_ATTRIBUTE)
        if text is not None:
            found.append((child_path, child, json.loads(text)))
        _walk(child, child_path, found)


def _record(path: str, group: h5py.Group, meta: dict[str, Any], with_data: bool) -> NodeRecord:
    record = record_from_meta(path, meta)
    if "range" in meta:
        record.explored = read_range(group[RANGE_DATASET], meta["range"])
    if with_data and "items" in meta:
        record.data = {name: read_item(group[name], tag) for name, tag in meta["items"].items()}
    return record


def load_nodes(root: h5py.Group, prefix: str, with_data: bool) -> list[NodeRecord]:
    found: list[tuple[str, h5py.Group, dict[str, Any]]] = []
    if prefix:
        if any(part.startswith("_") for part in prefix.split(".")):
            return []
        start = root.get("/".join(prefix.split(".")))
        if not isinstance(start, h5py.Group):
            return []
        text = start.attrs.get(NODE_ATTRIBUTE)
        if text is not None:
            found.append((prefix, start, json.loads(text)))
        _walk(start, prefix, found)
    else:
        _walk(root, "", found)
    found.sort(key=lambda entry: (entry[0].count("."), entry[0]))
    return [_record(path, group, meta, with_data) for path, group, meta in found]


def _stored_node(root: h5py.Group, path: str) -> tuple[h5py.Group, dict[str, Any]] | None:
    group = root.get("/".join(path.split("."))) if path and not path.startswith(".") else None
    if not isinstance(group, h5py.Group) or path.split(".", 1)[0].startswith("_"):
        return None
    text = group.attrs.get(NODE_ATTRIBUTE)
    return (group, json.loads(text)) if text is not None else None


def item_dataset(root: h5py.Group, path: str, item: str, where: str) -> tuple[h5py.Dataset, str]:
    """The dataset and tag of one stored item, or a StorageError naming what is missing."""
    stored = _stored_node(root, path)
    if stored is None or "items" not in stored[1]:
        raise StorageError(f"{where} holds no data at {path!r}")
    group, meta = stored
    if item not in meta["items"]:
        raise StorageError(f"{path!r} in {where} has no item {item!r}; it holds {sorted(meta['items'])}")
    return group[item], meta["items"][item]


def load_items(root: h5py.Group, path: str, items: Sequence[str] | None, where: str) -> dict[str, Any]:
    stored = _stored_node(root, path)
    if stored is None or "items" not in stored[1]:
        raise StorageError(f"{where} holds no data at {path!r}")
    group, meta = stored
    wanted = list(meta["items"]) if items is None else list(items)
    missing = [name for name in wanted if name not in meta["items"]]
    if missing:
        raise StorageError(f"{path!r} in {where} has no item(s) {missing}; it holds {sorted(meta['items'])}")
    return {name: read_item(group[name], meta["items"][name]) for name in wanted}


def remove_nodes(root: h5py.Group, paths: Sequence[str]) -> None:
    for path in paths:
        key = "/".join(path.split("."))
        if path and not path.startswith("_") and key in root:
            del root[key]
