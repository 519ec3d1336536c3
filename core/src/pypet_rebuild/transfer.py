"""Copying a trajectory between any two storages, record by record."""

from __future__ import annotations

import os
from typing import Any

from pypet_rebuild.persistence import resolve_trajectory_name
from pypet_rebuild.plugins import PluginHost, get_plugin_host
from pypet_rebuild.storage.base import StorageBackend
from pypet_rebuild.storage.records import TrajectoryInfo
from pypet_rebuild.storage.untrusted import check_info, checked_records

__all__ = ["copy_trajectory", "open_storage", "StorageLike"]

StorageLike = str | os.PathLike[str] | StorageBackend


def open_storage(storage: StorageLike, host: PluginHost) -> tuple[StorageBackend, bool]:
    """The backend for ``storage``, and whether the caller opened it (and must close it)."""
    if isinstance(storage, StorageBackend):
        return storage, False
    return host.open_storage(storage), True


def copy_trajectory(
    source: StorageLike,
    destination: StorageLike,
    name: str | None = None,
    *,
    index: int = -1,
    new_name: str | None = None,
    overwrite: bool = False,
    batch_size: int = 1000,
    plugin_host: PluginHost | None = None,
) -> TrajectoryInfo:
    """Copy one trajectory (nodes, explored ranges, runs and their status).

    Runs move in batches, so a trajectory larger than memory copies in
    bounded memory. Pickled result items move as bytes, never unpickled, so
    copying untrusted data runs none of its code and needs no
    ``allow_pickle``; a pickle where none belongs (metadata, annotations,
    parameters) stops the copy with ``UnsafeValueError``. Returns the
    destination's trajectory info.
    """
    host = plugin_host or get_plugin_host()
    src, close_src = open_storage(source, host)
    dst, close_dst = open_storage(destination, host)
    try:
        info = check_info(resolve_trajectory_name(src, name, index))
        target = TrajectoryInfo(new_name or info.name, info.created, info.comment, dict(info.metadata))
        dst.create_trajectory(target, overwrite=overwrite)
        dst.store_nodes(target.name, checked_records(src.load_nodes(info.name)))
        batch: list[Any] = []
        for run in src.load_run_infos(info.name):
            run.nodes = checked_records(src.load_run(info.name, run.idx))
            batch.append(run)
            if len(batch) >= batch_size:
                dst.store_runs(target.name, batch)
                batch = []
        if batch:
            dst.store_runs(target.name, batch)
        return target
    finally:
        if close_src:
            src.close()
        if close_dst:
            dst.close()
