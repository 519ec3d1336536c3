"""The storage contract: records, the backend base class and packing helpers."""

from __future__ import annotations

from pypet_rebuild.storage.base import Capability, StorageBackend
from pypet_rebuild.storage.packing import pack_items, unpack_items
from pypet_rebuild.storage.records import NodeKind, NodeRecord, RunRecord, RunStatus, TrajectoryInfo, run_name

__all__ = [
    "Capability",
    "NodeKind",
    "NodeRecord",
    "RunRecord",
    "RunStatus",
    "StorageBackend",
    "TrajectoryInfo",
    "pack_items",
    "run_name",
    "unpack_items",
]
