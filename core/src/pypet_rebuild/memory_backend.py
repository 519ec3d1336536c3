"""The builtin ``memory://`` backend: a process-local store.

``memory://`` alone is private to one open; ``memory://lab`` names a store
that every open in this process shares. Values are packed exactly as a
persistent backend would pack them, so a type the memory backend accepts is
a type every backend accepts.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from pypet_rebuild.errors import StorageError, TrajectoryNotFoundError
from pypet_rebuild.plugins import hookimpl
from pypet_rebuild.registries import StorageRegistry
from pypet_rebuild.storage.base import StorageBackend
from pypet_rebuild.storage.packing import pack_items, unpack_items
from pypet_rebuild.storage.records import NodeRecord, RunRecord, TrajectoryInfo
from pypet_rebuild.values import pack, unpack

__all__ = ["MemoryBackend"]


@dataclass
class _StoredNode:
    record: NodeRecord  # without data; explored and annotations packed below
    explored: bytes | None
    annotations: bytes
    data: dict[str, bytes] | None


@dataclass
class _StoredTrajectory:
    info: TrajectoryInfo
    nodes: dict[str, _StoredNode] = field(default_factory=dict)
    runs: dict[int, RunRecord] = field(default_factory=dict)
    run_nodes: dict[int, dict[str, _StoredNode]] = field(default_factory=dict)


_NAMED_STORES: dict[str, dict[str, _StoredTrajectory]] = {}
_LOCK = threading.Lock()


def _freeze(record: NodeRecord) -> _StoredNode:
    return _StoredNode(
        replace(record, data=None, explored=None, annotations={}),
        pack(record.explored) if record.explored is not None else None,
        pack(record.annotations),
        pack_items(record.data, record.pickled) if record.data is not None else None,
    )


def _thaw(stored: _StoredNode, with_data: bool) -> NodeRecord:
    return replace(
        stored.record,
        annotations=unpack(stored.annotations, metadata=True),
        explored=unpack(stored.explored, metadata=True) if stored.explored is not None else None,
        data=unpack_items(stored.data) if with_data and stored.data is not None else None,
    )


class MemoryBackend(StorageBackend):
    def __init__(self, url: str) -> None:
        super().__init__(url)
        store_name = url.split("://", 1)[1]
        with _LOCK:
            self._store = _NAMED_STORES.setdefault(store_name, {}) if store_name else {}

    def _get(self, name: str) -> _StoredTrajectory:
        try:
            return self._store[name]
        except KeyError:
            raise TrajectoryNotFoundError(
                f"{self.url!r} holds no trajectory {name!r}; it holds {sorted(self._store)}"
            ) from None

    def list_trajectories(self) -> list[TrajectoryInfo]:
        return sorted((copy.deepcopy(t.info) for t in self._store.values()), key=lambda i: i.created)

    def create_trajectory(self, info: TrajectoryInfo, *, overwrite: bool = False) -> None:
        if info.name in self._store and not overwrite:
            raise StorageError(
                f"{self.url!r} already holds a trajectory {info.name!r}; pass overwrite=True to "
                "replace it, resume=True to continue it, or choose another name"
            )
        pack(info.metadata)  # reject unstorable metadata before anything changes
        self._store[info.name] = _StoredTrajectory(copy.deepcopy(info))

    def delete_trajectory(self, name: str) -> None:
        self._get(name)
        del self._store[name]

    def load_info(self, name: str) -> TrajectoryInfo:
        return copy.deepcopy(self._get(name).info)

    def update_metadata(self, name: str, metadata: dict[str, Any]) -> None:
        stored = self._get(name)
        pack(metadata)
        stored.info.metadata.update(copy.deepcopy(metadata))

    def store_nodes(self, name: str, records: Sequence[NodeRecord]) -> None:
        stored = self._get(name)
        frozen = [_freeze(r) for r in records]  # all packing first: all or nothing
        for node in frozen:
            old = stored.nodes.get(node.record.path)
            if node.data is None and old is not None:
                node.data = old.data
            stored.nodes[node.record.path] = node

    def load_nodes(self, name: str, *, prefix: str = "", with_data: bool = True) -> list[NodeRecord]:
        stored = self._get(name)
        paths = [
            p for p in stored.nodes if not prefix or p == prefix or p.startswith(prefix + ".")
        ]
        paths.sort(key=lambda p: (p.count("."), p))
        return [_thaw(stored.nodes[p], with_data) for p in paths]

    def load_items(self, name: str, path: str, items: Sequence[str] | None = None) -> dict[str, Any]:
        node = self._get(name).nodes.get(path)
        if node is None or node.data is None:
            raise StorageError(f"{self.url!r} holds no data at {path!r} in trajectory {name!r}")
        wanted = list(node.data) if items is None else list(items)
        missing = [i for i in wanted if i not in node.data]
        if missing:
            raise StorageError(f"{path!r} has no item(s) {missing}; it holds {sorted(node.data)}")
        return unpack_items({i: node.data[i] for i in wanted})

    def remove_nodes(self, name: str, paths: Sequence[str]) -> None:
        stored = self._get(name)
        for path in paths:
            for key in [p for p in stored.nodes if p == path or p.startswith(path + ".")]:
                del stored.nodes[key]

    def store_runs(self, name: str, runs: Sequence[RunRecord]) -> None:
        stored = self._get(name)
        frozen = {run.idx: {n.path: _freeze(n) for n in run.nodes} for run in runs}
        for run in runs:
            stored.runs[run.idx] = replace(run, nodes=[])
            stored.run_nodes[run.idx] = frozen[run.idx]

    def load_run_infos(self, name: str) -> list[RunRecord]:
        stored = self._get(name)
        return [replace(stored.runs[i]) for i in sorted(stored.runs)]

    def load_run(self, name: str, idx: int, *, with_data: bool = True) -> list[NodeRecord]:
        nodes = self._get(name).run_nodes.get(idx, {})
        return [_thaw(nodes[p], with_data) for p in sorted(nodes)]

    def list_run_paths(self, name: str) -> list[str]:
        stored = self._get(name)
        return sorted({p for nodes in stored.run_nodes.values() for p in nodes})

    def load_column(self, name: str, run_path: str, item: str) -> tuple[np.ndarray, list[Any]]:
        stored = self._get(name)
        indices, values = [], []
        for idx in sorted(stored.run_nodes):
            node = stored.run_nodes[idx].get(run_path)
            if node is not None and node.data is not None and item in node.data:
                indices.append(idx)
                values.append(unpack(node.data[item]))
        return np.asarray(indices, dtype=np.int64), values


@hookimpl
def pypet_rebuild_register_storage_backends(registry: StorageRegistry) -> None:
    registry.add("memory", MemoryBackend, schemes=("memory",))
