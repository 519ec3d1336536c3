"""Merging stored trajectories: the other exploration's runs appended to this one.

Works on storage records, so the two trajectories may live in different
backends (an HDF5 file into PostgreSQL and back), and runs stream in batches,
so memory stays bounded whatever their number.

Crash safety. The merged runs are written first, under run indices past the
target's current length: nothing reads a run whose index lies beyond the
explored ranges, so until the commit they are invisible. The commit is one
``store_nodes`` call (all or nothing on every backend) that writes the
lengthened explored ranges together with the merge's ``config.merge`` record.
A kill before it leaves the target as it was; after it, the merge is whole.
The metadata key ``merge_in_progress`` says which merge was interrupted.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pypet_rebuild._merge_plan import MergePlan, plan_merge, trajectory_length
from pypet_rebuild.errors import MergeError
from pypet_rebuild.persistence import resolve_trajectory_name
from pypet_rebuild.plugins import PluginHost, get_plugin_host
from pypet_rebuild.storage.base import StorageBackend
from pypet_rebuild.storage.records import NodeKind, NodeRecord, RunRecord, TrajectoryInfo
from pypet_rebuild.storage.untrusted import checked_records
from pypet_rebuild.transfer import StorageLike, copy_trajectory, open_storage

if TYPE_CHECKING:
    from pypet_rebuild.trajectory import Trajectory

__all__ = ["MergeSummary", "merge_trajectories", "merge_all_in_folder", "merge_into"]

_log = logging.getLogger("pypet_rebuild.merge")

_CONFIG_MERGED = ("config.git", "config.environment", "config.merge")


@dataclass(frozen=True)
class MergeSummary:
    """What one merge did: run counts and the name of its ``config.merge`` record."""

    source: str
    merged_runs: int
    length_before: int
    length_after: int
    record: str


def _is_run_path(path: str) -> bool:
    parts = path.split(".")
    return len(parts) > 1 and parts[1] == "runs"


def _under(path: str, prefixes: Iterable[str]) -> bool:
    return any(path == p or path.startswith(p + ".") for p in prefixes)


def _parameters(records: Sequence[NodeRecord], ignore: set[str]) -> dict[str, NodeRecord]:
    return {
        r.path: r
        for r in records
        if r.kind is NodeKind.PARAMETER and r.path.startswith("parameters.") and r.path not in ignore
    }


def _nodes_to_copy(
    target: Sequence[NodeRecord], source: Sequence[NodeRecord], ignore: set[str], merge_config: bool
) -> list[NodeRecord]:
    """Source nodes outside the runs that the target lacks (pypet's rules).

    Parameters are merged through their ranges, not copied; results, derived
    parameters, groups and links outside the runs are copied when the target
    has nothing at that path, and left alone (with a warning for leaves) when
    it has; config is copied only below git, environment and merge records.
    """
    present = {r.path for r in target}
    chosen = []
    for record in source:
        branch = record.path.split(".", 1)[0]
        if record.path in present or _under(record.path, ignore) or branch == "parameters":
            if record.path in present and branch in ("results", "derived_parameters") and record.kind not in (
                NodeKind.GROUP,
                NodeKind.LINK,
            ) and not _is_run_path(record.path):
                _log.warning("merge: %s exists in both trajectories; the target's is kept", record.path)
            continue
        if _is_run_path(record.path) and record.kind is not NodeKind.GROUP:
            continue
        if branch == "config" and not (merge_config and _under(record.path, _CONFIG_MERGED)):
            continue
        chosen.append(record)
    return chosen


def _merge_record(
    target: TrajectoryInfo,
    source: TrajectoryInfo,
    plan: MergePlan,
    source_length: int,
    *,
    remove_duplicates: bool,
    ignore_data: Sequence[str],
    keep_other_trajectory_info: bool,
) -> tuple[str, list[NodeRecord]]:
    """The ``config.merge.merge_<sha>_<time>`` leaves pypet records for a merge.

    pypet's ``other_trajectory.name`` and ``.comment`` are called
    ``trajectory_name`` and ``trajectory_comment`` here: ``name`` and
    ``comment`` are attributes of every node.
    """
    now = time.time()
    digest = hashlib.sha1(f"{target.name}{target.created}{source.name}{source.created}{now}".encode()).hexdigest()
    name = f"merge_{digest[:7]}_{time.strftime('%Y_%m_%d_%Hh%Mm%Ss', time.localtime(now))}"
    values: dict[str, Any] = {
        "merged_runs": len(plan.used_runs),
        "timestamp": now,
        "hexsha": digest,
        "remove_duplicates": remove_duplicates,
        "length_before_merge": plan.old_length,
    }
    if ignore_data:
        values["ignore_data"] = tuple(sorted(ignore_data))
    if keep_other_trajectory_info:
        values.update(
            {
                "other_trajectory.trajectory_name": source.name,
                "other_trajectory.timestamp": source.created,
                "other_trajectory.length": source_length,
                "other_trajectory.trajectory_comment": source.comment or None,
            }
        )
    prefix = f"config.merge.{name}"
    records = [NodeRecord("config.merge", NodeKind.GROUP, "Settings and information of the merges")]
    records += [
        NodeRecord(f"{prefix}.{key}", NodeKind.PARAMETER, data={"value": value})
        for key, value in values.items()
        if value is not None
    ]
    return name, records


def _copy_runs(
    src: StorageBackend, src_name: str, dst: StorageBackend, dst_name: str, mapping: dict[int, int], batch_size: int
) -> None:
    batch: list[RunRecord] = []
    for info in src.load_run_infos(src_name):
        new_idx = mapping.get(info.idx)
        if new_idx is None:
            continue
        batch.append(replace(info, idx=new_idx, nodes=checked_records(src.load_run(src_name, info.idx))))
        if len(batch) >= batch_size:
            dst.store_runs(dst_name, batch)
            batch = []
    if batch:
        dst.store_runs(dst_name, batch)


def _check_no_stale_runs(dst: StorageBackend, name: str, plan: MergePlan, source_stored: set[int]) -> None:
    """Refuse when runs left by an interrupted merge would become visible unreplaced."""
    mapping = plan.new_index()
    replaced = {mapping[i] for i in source_stored if i in mapping}
    stale = [r.idx for r in dst.load_run_infos(name) if plan.old_length <= r.idx < plan.new_length]
    leftover = sorted(set(stale) - replaced)
    if leftover:
        raise MergeError(
            f"{dst.url!r} holds run records {leftover[:5]}... past the end of {name!r}, left by an interrupted "
            f"merge ({dst.load_info(name).metadata.get('merge_in_progress')}); repeat that merge to complete it"
        )


def _merge_one(
    dst: StorageBackend,
    target: TrajectoryInfo,
    src: StorageBackend,
    source: TrajectoryInfo,
    *,
    remove_duplicates: bool,
    ignore_data: Sequence[str],
    merge_config: bool,
    keep_other_trajectory_info: bool,
    batch_size: int,
) -> MergeSummary:
    ignore = set(ignore_data)
    target_nodes = dst.load_nodes(target.name)
    source_nodes = checked_records(src.load_nodes(source.name))
    plan = plan_merge(
        _parameters(target_nodes, ignore), _parameters(source_nodes, ignore), remove_duplicates=remove_duplicates
    )
    source_runs = {r.idx for r in src.load_run_infos(source.name)}
    _check_no_stale_runs(dst, target.name, plan, source_runs)
    intent = {"source": f"{src.url}#{source.name}", "old_length": plan.old_length, "started": time.time()}
    dst.update_metadata(target.name, {"merge_in_progress": intent})
    _copy_runs(src, source.name, dst, target.name, plan.new_index(), batch_size)

    by_path = {r.path: r for r in target_nodes}
    commit = [replace(by_path[path], explored=values) for path, values in plan.ranges.items()]
    commit += _nodes_to_copy(target_nodes, source_nodes, ignore, merge_config)
    source_length = trajectory_length(list(_parameters(source_nodes, set()).values()))
    name, merge_nodes = _merge_record(
        target,
        source,
        plan,
        source_length,
        remove_duplicates=remove_duplicates,
        ignore_data=ignore_data,
        keep_other_trajectory_info=keep_other_trajectory_info,
    )
    commit += [r for r in merge_nodes if r.path not in by_path]
    dst.store_nodes(target.name, commit)  # the commit point

    explored = list(dst.load_info(target.name).metadata.get("explored_parameters") or [])
    explored += [p for p in plan.ranges if p not in explored]
    history = list(dst.load_info(target.name).metadata.get("merges") or [])
    history.append({"name": name, "source": source.name, "merged_runs": len(plan.used_runs), "at": time.time()})
    dst.update_metadata(target.name, {"explored_parameters": explored, "merges": history, "merge_in_progress": None})
    return MergeSummary(source.name, len(plan.used_runs), plan.old_length, plan.new_length, f"config.merge.{name}")


def _backup(dst: StorageBackend, target: TrajectoryInfo, backup: bool | str | os.PathLike[str]) -> None:
    """Copy the target trajectory aside before changing it (pypet's ``backup``)."""
    if backup is True:
        url = str(dst.url)
        folder = Path(url).parent if "://" not in url else Path.cwd()
        backup = folder / f"backup_{target.name}_{time.strftime('%Y_%m_%d_%Hh%Mm%Ss')}.h5"
    copy_trajectory(dst, backup, target.name)
    _log.info("merge: backed up %s to %s", target.name, backup)


def merge_trajectories(
    target: StorageLike,
    sources: Sequence[StorageLike | tuple[StorageLike, str | None]],
    *,
    target_name: str | None = None,
    remove_duplicates: bool = False,
    ignore_data: Sequence[str] = (),
    move_data: bool = False,
    delete_other_trajectory: bool = False,
    keep_other_trajectory_info: bool = True,
    merge_config: bool = True,
    backup: bool | str | os.PathLike[str] = False,
    batch_size: int = 1000,
    plugin_host: PluginHost | None = None,
) -> list[MergeSummary]:
    """Append the runs of every source trajectory to the target, one after the other.

    A source is a storage (its newest trajectory) or ``(storage, name)``.
    Each source is merged with pypet's rules (see ``plan_merge``) and
    committed on its own, so a failure in the fifth source keeps the first
    four merged. ``move_data`` is accepted for pypet's sake: data is always
    copied (a merge across storages cannot move it); add
    ``delete_other_trajectory=True`` to remove the sources once merged.
    """
    if batch_size < 1:
        raise MergeError(f"batch_size must be a positive number of runs, not {batch_size!r}")
    host = plugin_host or get_plugin_host()
    dst, close_dst = open_storage(target, host)
    summaries = []
    try:
        info = resolve_trajectory_name(dst, target_name)
        if backup:
            _backup(dst, info, backup)
        for entry in sources:
            storage, name = entry if isinstance(entry, tuple) else (entry, None)
            same = storage is target or storage is dst or (
                not isinstance(storage, StorageBackend)
                and not isinstance(target, StorageBackend)
                and os.fspath(storage) == os.fspath(target)
            )
            src, close_src = (dst, False) if same else open_storage(storage, host)
            try:
                source = resolve_trajectory_name(src, name)
                if src is dst and source.name == info.name:
                    raise MergeError(f"cannot merge {info.name!r} with itself; name another trajectory")
                summaries.append(
                    _merge_one(
                        dst,
                        info,
                        src,
                        source,
                        remove_duplicates=remove_duplicates,
                        ignore_data=ignore_data,
                        merge_config=merge_config,
                        keep_other_trajectory_info=keep_other_trajectory_info,
                        batch_size=batch_size,
                    )
                )
                _log.info("merge: %d runs of %s appended to %s", summaries[-1].merged_runs, source.name, info.name)
                if delete_other_trajectory:
                    src.delete_trajectory(source.name)
            finally:
                if close_src:
                    src.close()
        if move_data and not delete_other_trajectory:
            _log.warning("merge: move_data copies the data (a merge never moves it); the sources are unchanged")
        return summaries
    finally:
        if close_dst:
            dst.close()


def merge_all_in_folder(
    folder: str | os.PathLike[str],
    *,
    target: StorageLike | None = None,
    pattern: str = "*.h5",
    **options: Any,
) -> list[MergeSummary]:
    """Merge the trajectories of every file in ``folder`` into the first one (sorted by name).

    With ``target`` the files are all merged into that storage's newest
    trajectory instead. Each file's newest trajectory is the one merged.
    """
    files = sorted(Path(folder).glob(pattern))
    if target is None:
        if len(files) < 2:
            raise MergeError(f"{os.fspath(folder)!r} holds {len(files)} file(s) matching {pattern!r}; need two to merge")
        target, files = files[0], files[1:]
    elif not files:
        raise MergeError(f"{os.fspath(folder)!r} holds no file matching {pattern!r}")
    return merge_trajectories(target, list(files), **options)


def merge_into(traj: Trajectory, other: Trajectory, **options: Any) -> MergeSummary:
    """``traj.merge(other)``: merge two stored trajectories, then refresh ``traj`` from storage."""
    from pypet_rebuild.persistence import fill_trajectory

    for which, t in (("this", traj), ("the other", other)):
        if t.storage is None:
            raise MergeError(
                f"{which} trajectory {t.name!r} is not stored; merging works on stored trajectories "
                "(run it through an Environment, or load it with load_trajectory)"
            )
    assert traj.storage is not None and other.storage is not None
    (summary,) = merge_trajectories(traj.storage, [(other.storage, other.name)], target_name=traj.name, **options)
    info = traj.storage.load_info(traj.name)
    traj.metadata = dict(info.metadata)
    fill_trajectory(traj, traj.storage, load_results=0)
    return summary
