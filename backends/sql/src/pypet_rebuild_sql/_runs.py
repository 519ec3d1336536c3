"""The per-run half of the SQL backend: batches of runs in, runs and columns out.

A batch of runs is a handful of statements whatever its size: one bulk
insert (executemany) per table, plus the deletes of runs it replaces.
Reading one item of one run path across all runs is one query on the
primary key of ``pypet_run_items``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import sqlalchemy as sa

from pypet_rebuild.storage.records import NodeRecord, RunRecord

from pypet_rebuild_sql import _schema as tables
from pypet_rebuild_sql._engine import translate_errors
from pypet_rebuild_sql._rows import group_items, records_from_rows, run_batch_rows
from pypet_rebuild_sql._statements import bulk_insert, chunks, delete_where_in, insert_ignoring_duplicates

if TYPE_CHECKING:
    from pypet_rebuild_sql.backend import SQLBackend

__all__ = ["RunTables"]

class RunTables:
    """Reads and writes ``pypet_runs``, ``pypet_run_nodes``, ``pypet_run_items``
    and ``pypet_run_paths`` for one backend."""

    def __init__(self, backend: SQLBackend) -> None:
        self.backend = backend

    def store(self, name: str, runs: Sequence[RunRecord]) -> None:
        run_rows, node_rows, value_rows, paths = run_batch_rows(runs)  # packs every value first
        r, n, i, p = tables.runs, tables.run_nodes, tables.run_items, tables.run_paths
        with self.backend.write(f"storing {len(run_rows)} runs of {name!r}") as connection:
            traj_id = self.backend.trajectory_id(connection, name)
            indices = sorted(row["idx"] for row in run_rows)
            replaced: list[int] = []
            for chunk in chunks(indices):
                replaced.extend(connection.execute(
                    sa.select(r.c.idx).where(r.c.traj_id == traj_id, r.c.idx.in_(chunk))
                ).scalars())
            orphan_candidates = self._paths_of(connection, traj_id, replaced) - paths if replaced else set()
            for table in (i, n, r):
                delete_where_in(connection, table, traj_id, "idx", replaced)
            for table, rows in ((r, run_rows), (n, node_rows), (i, value_rows)):
                for row in rows:
                    row["traj_id"] = traj_id
                bulk_insert(connection, table, rows)
            known = set(connection.execute(sa.select(p.c.run_path).where(p.c.traj_id == traj_id)).scalars())
            new_paths = [{"traj_id": traj_id, "run_path": path} for path in sorted(paths - known)]
            if new_paths:
                insert_ignoring_duplicates(connection, p, new_paths)
            if orphan_candidates:
                self._forget_unused_paths(connection, traj_id, orphan_candidates)

    def _paths_of(self, connection: sa.Connection, traj_id: int, indices: list[int]) -> set[str]:
        n = tables.run_nodes
        found: set[str] = set()
        for chunk in chunks(indices):
            found.update(connection.execute(
                sa.select(n.c.run_path).where(n.c.traj_id == traj_id, n.c.idx.in_(chunk)).distinct()
            ).scalars())
        return found

    def _forget_unused_paths(self, connection: sa.Connection, traj_id: int, candidates: set[str]) -> None:
        """Drop run paths that only replaced runs had, so that listing the run
        paths answers as if the replaced runs had never been stored."""
        n, p = tables.run_nodes, tables.run_paths
        for path in sorted(candidates):
            still_used = connection.execute(
                sa.select(n.c.idx).where(n.c.traj_id == traj_id, n.c.run_path == path).limit(1)
            ).first()
            if still_used is None:
                connection.execute(p.delete().where(p.c.traj_id == traj_id, p.c.run_path == path))

    def load_run(self, name: str, idx: int, with_data: bool) -> list[NodeRecord]:
        n, i = tables.run_nodes, tables.run_items
        with self.backend.read(f"loading run {idx} of {name!r}") as connection:
            traj_id = self.backend.trajectory_id(connection, name)
            node_query = sa.select(n).where(n.c.traj_id == traj_id, n.c.idx == idx)
            node_rows = connection.execute(node_query).mappings().all()
            items: dict[Any, list[Any]] = {}
            if with_data:
                item_rows = connection.execute(sa.select(i).where(i.c.traj_id == traj_id, i.c.idx == idx))
                items = group_items(item_rows.mappings(), "run_path")
        ordered = sorted(node_rows, key=lambda row: row["run_path"])
        with translate_errors(self.backend.url, f"loading run {idx} of {name!r}", reading=True):
            return records_from_rows(ordered, "run_path", items, with_data)

    def column(self, name: str, run_path: str, item: str) -> tuple[np.ndarray, tuple[Sequence[Any], ...]]:
        """Run indices (ascending) and the stored cells of one item of one run
        path as three parallel columns (types, numbers, blobs): one query,
        joined to the trajectory by name."""
        i, t = tables.run_items, tables.trajectories
        query = (
            sa.select(i.c.idx, i.c.value_type, i.c.number, i.c.blob)
            .select_from(i.join(t, t.c.id == i.c.traj_id))
            .where(t.c.name == name, i.c.run_path == run_path, i.c.item == item)
            .order_by(i.c.idx)
        )
        with self.backend.read(f"loading {run_path!r} item {item!r} across the runs of {name!r}") as connection:
            rows = connection.execute(query).all()
            if not rows:
                self.backend.trajectory_id(connection, name)  # raises if the trajectory is missing
                return np.zeros(0, dtype=np.int64), ((), (), ())
        indices, types, numbers, blobs = zip(*rows)
        return np.asarray(indices, dtype=np.int64), (types, numbers, blobs)
