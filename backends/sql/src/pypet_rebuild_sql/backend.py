"""The SQL storage backend: trajectories in relational tables via SQLAlchemy.

One database holds any number of trajectories. Every method is one
transaction: writes take the database's write lock for their whole duration
and either commit everything or nothing; reads see one consistent state.
Per-run values are stored one row per run, run path and item, keyed so that
one item across all runs is one indexed range scan (see ``docs/sql.md``).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Sequence
from importlib import metadata as distribution_metadata
from typing import Any, ClassVar

import numpy as np
import sqlalchemy as sa

from pypet_rebuild.errors import StorageError, TrajectoryNotFoundError
from pypet_rebuild.plugins import mask_url
from pypet_rebuild.storage.base import Capability, StorageBackend
from pypet_rebuild.storage.records import NodeRecord, RunRecord, TrajectoryInfo

from pypet_rebuild_sql import _schema as tables
from pypet_rebuild_sql._cells import decode_cells, stack_cells
from pypet_rebuild_sql._engine import WRITE_OPTION, create_storage_engine, translate_errors
from pypet_rebuild_sql._rows import (
    checked_values, group_items, item_data, item_rows, node_row, records_from_rows, run_record_from_row,
)
from pypet_rebuild_sql._runs import RunTables
from pypet_rebuild_sql._statements import bulk_insert, delete_where_in

__all__ = ["SQLBackend"]


def _written_by() -> str:
    try:
        return f"pypet-rebuild-sql {distribution_metadata.version('pypet-rebuild-sql')}"
    except distribution_metadata.PackageNotFoundError:
        return "pypet-rebuild-sql"


def _in_subtree(column: sa.ColumnElement[str], prefix: str) -> sa.ColumnElement[bool]:
    """``column`` equals ``prefix`` or lies below it; exact and case-sensitive
    on every database, unlike LIKE (whose ``_`` is a wildcard)."""
    below = prefix + "."
    return sa.or_(column == prefix, sa.func.substr(column, 1, len(below)) == below)


def _checked_metadata(metadata: dict[str, Any], url: str) -> dict[str, Any]:
    try:
        json.dumps(metadata, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise StorageError(
            f"trajectory metadata for {mask_url(url)!r} must be JSON (str keys; str, number, bool, "
            f"None, list and dict values; no NaN): {exc}"
        ) from exc
    return metadata


class SQLBackend(StorageBackend):
    """Stores trajectories in the ``pypet_*`` tables of one SQL database."""

    capabilities: ClassVar[frozenset[str]] = frozenset(
        {Capability.COLUMNAR, Capability.PERSISTENT, Capability.CONCURRENT_WRITERS, Capability.TRANSACTIONS}
    )

    def __init__(self, url: str, **options: Any) -> None:
        super().__init__(url)
        self.engine = create_storage_engine(url, options)
        self._writer = self.engine.execution_options(**{WRITE_OPTION: True})
        # SQLite reads see one snapshot anyway; PostgreSQL needs asking, so that
        # a read of several statements never mixes two writers' states.
        self._reader = (
            self.engine.execution_options(isolation_level="REPEATABLE READ")
            if self.engine.dialect.name == "postgresql" else self.engine
        )
        try:
            tables.ensure_schema(self.engine, url, _written_by())
        except BaseException:
            self.engine.dispose()
            raise
        self._runs = RunTables(self)

    def close(self) -> None:
        self.engine.dispose()

    # -- transactions ----------------------------------------------------------

    @contextlib.contextmanager
    def write(self, action: str) -> Iterator[sa.Connection]:
        """One write transaction, committed on success, rolled back on any error."""
        with translate_errors(self.url, action), self._writer.begin() as connection:
            yield connection

    @contextlib.contextmanager
    def read(self, action: str) -> Iterator[sa.Connection]:
        with translate_errors(self.url, action, reading=True), self._reader.connect() as connection:
            yield connection

    def trajectory_id(self, connection: sa.Connection, name: str, *, lock: bool = False) -> int:
        """The row id of trajectory ``name``; ``TrajectoryNotFoundError`` if none."""
        query = sa.select(tables.trajectories.c.id).where(tables.trajectories.c.name == name)
        if lock:
            query = query.with_for_update()
        found = connection.execute(query).scalar_one_or_none()
        if found is None:
            raise self.not_found(connection, name)
        return int(found)

    def not_found(self, connection: sa.Connection, name: str) -> TrajectoryNotFoundError:
        names = connection.execute(sa.select(tables.trajectories.c.name)).scalars().all()
        return TrajectoryNotFoundError(
            f"{mask_url(self.url)!r} holds no trajectory {name!r}; it holds {sorted(names)}"
        )

    # -- trajectories --------------------------------------------------------

    def list_trajectories(self) -> list[TrajectoryInfo]:
        t = tables.trajectories
        with self.read("listing trajectories") as connection:
            rows = connection.execute(sa.select(t).order_by(t.c.created, t.c.id)).mappings().all()
        return [TrajectoryInfo(r["name"], r["created"], r["comment"], dict(r["metadata"])) for r in rows]

    def create_trajectory(self, info: TrajectoryInfo, *, overwrite: bool = False) -> None:
        metadata = _checked_metadata(info.metadata, self.url)
        t = tables.trajectories
        with self.write(f"creating trajectory {info.name!r}") as connection:
            old = connection.execute(sa.select(t.c.id).where(t.c.name == info.name)).scalar_one_or_none()
            if old is not None:
                if not overwrite:
                    raise StorageError(
                        f"{mask_url(self.url)!r} already holds a trajectory {info.name!r}; pass overwrite=True "
                        "to replace it, resume=True to continue it, or choose another name"
                    )
                self._delete_rows(connection, int(old))
            connection.execute(
                t.insert().values(name=info.name, created=info.created, comment=info.comment, metadata=metadata)
            )

    def _delete_rows(self, connection: sa.Connection, traj_id: int) -> None:
        for table in tables.TRAJECTORY_TABLES:
            connection.execute(table.delete().where(table.c.traj_id == traj_id))
        connection.execute(tables.trajectories.delete().where(tables.trajectories.c.id == traj_id))

    def delete_trajectory(self, name: str) -> None:
        with self.write(f"deleting trajectory {name!r}") as connection:
            self._delete_rows(connection, self.trajectory_id(connection, name))

    def load_info(self, name: str) -> TrajectoryInfo:
        t = tables.trajectories
        with self.read(f"loading trajectory {name!r}") as connection:
            row = connection.execute(sa.select(t).where(t.c.name == name)).mappings().one_or_none()
            if row is None:
                raise self.not_found(connection, name)
        return TrajectoryInfo(row["name"], row["created"], row["comment"], dict(row["metadata"]))

    def update_metadata(self, name: str, metadata: dict[str, Any]) -> None:
        _checked_metadata(metadata, self.url)
        t = tables.trajectories
        with self.write(f"updating the metadata of {name!r}") as connection:
            traj_id = self.trajectory_id(connection, name, lock=True)
            stored = connection.execute(sa.select(t.c.metadata).where(t.c.id == traj_id)).scalar_one()
            merged = {**stored, **metadata}
            connection.execute(t.update().where(t.c.id == traj_id).values(metadata=merged))

    # -- nodes outside the runs ------------------------------------------------

    def store_nodes(self, name: str, records: Sequence[NodeRecord]) -> None:
        latest = {record.path: record for record in records}
        node_rows = {path: node_row(record, record.data is not None) for path, record in latest.items()}
        value_rows = [
            {**row, "path": path}
            for path, record in latest.items() if record.data is not None
            for row in item_rows(record)
        ]
        n, i = tables.nodes, tables.node_items
        with self.write(f"storing {len(latest)} nodes of {name!r}") as connection:
            traj_id = self.trajectory_id(connection, name)
            stored = dict(connection.execute(sa.select(n.c.path, n.c.has_data).where(n.c.traj_id == traj_id)).all())
            for path, row in node_rows.items():
                if latest[path].data is None:
                    row["has_data"] = bool(stored.get(path, False))
            delete_where_in(connection, n, traj_id, "path", [path for path in latest if path in stored])
            with_data = [path for path, record in latest.items() if record.data is not None and stored.get(path)]
            delete_where_in(connection, i, traj_id, "path", with_data)
            bulk_insert(connection, n, [{**row, "traj_id": traj_id, "path": p} for p, row in node_rows.items()])
            bulk_insert(connection, i, [{**row, "traj_id": traj_id} for row in value_rows])

    def load_nodes(self, name: str, *, prefix: str = "", with_data: bool = True) -> list[NodeRecord]:
        n, i = tables.nodes, tables.node_items
        with self.read(f"loading the nodes of {name!r}") as connection:
            traj_id = self.trajectory_id(connection, name)
            node_query = sa.select(n).where(n.c.traj_id == traj_id)
            item_query = sa.select(i).where(i.c.traj_id == traj_id)
            if prefix:
                node_query = node_query.where(_in_subtree(n.c.path, prefix))
                item_query = item_query.where(_in_subtree(i.c.path, prefix))
            node_rows = connection.execute(node_query).mappings().all()
            items = group_items(connection.execute(item_query).mappings(), "path") if with_data else {}
        ordered = sorted(node_rows, key=lambda r: (r["path"].count("."), r["path"]))
        with translate_errors(self.url, f"loading the nodes of {name!r}", reading=True):
            return records_from_rows(ordered, "path", items, with_data)

    def load_items(self, name: str, path: str, items: Sequence[str] | None = None) -> dict[str, Any]:
        n, i = tables.nodes, tables.node_items
        with self.read(f"loading {path!r} of {name!r}") as connection:
            traj_id = self.trajectory_id(connection, name)
            has_data = connection.execute(
                sa.select(n.c.has_data).where(n.c.traj_id == traj_id, n.c.path == path)
            ).scalar_one_or_none()
            if not has_data:
                raise StorageError(f"{mask_url(self.url)!r} holds no data at {path!r} in trajectory {name!r}")
            of_leaf = sa.and_(i.c.traj_id == traj_id, i.c.path == path)
            query = sa.select(i).where(of_leaf).order_by(i.c.position)
            if items is not None:
                query = query.where(i.c.item.in_(list(items)))
            with checked_values(repr(path)):
                by_item = item_data(connection.execute(query).mappings())
            missing = [item for item in items or () if item not in by_item]
            if missing:
                stored = connection.execute(sa.select(i.c.item).where(of_leaf)).scalars().all()
                raise StorageError(f"{path!r} has no item(s) {missing}; it holds {sorted(stored)}")
        return by_item if items is None else {item: by_item[item] for item in items}

    def remove_nodes(self, name: str, paths: Sequence[str]) -> None:
        with self.write(f"removing nodes of {name!r}") as connection:
            traj_id = self.trajectory_id(connection, name)
            for table in (tables.node_items, tables.nodes):
                for path in paths:
                    below = _in_subtree(table.c.path, path)
                    connection.execute(table.delete().where(table.c.traj_id == traj_id, below))

    # -- runs --------------------------------------------------------------------

    def store_runs(self, name: str, runs: Sequence[RunRecord]) -> None:
        self._runs.store(name, runs)

    def load_run_infos(self, name: str) -> list[RunRecord]:
        r = tables.runs
        with self.read(f"loading the runs of {name!r}") as connection:
            traj_id = self.trajectory_id(connection, name)
            rows = connection.execute(
                sa.select(r.c.idx, r.c.status, r.c.started, r.c.finished, r.c.error)
                .where(r.c.traj_id == traj_id).order_by(r.c.idx)
            ).all()
        return [run_record_from_row(row) for row in rows]

    def load_run(self, name: str, idx: int, *, with_data: bool = True) -> list[NodeRecord]:
        return self._runs.load_run(name, idx, with_data)

    def list_run_paths(self, name: str) -> list[str]:
        p = tables.run_paths
        with self.read(f"listing the run paths of {name!r}") as connection:
            traj_id = self.trajectory_id(connection, name)
            paths = connection.execute(sa.select(p.c.run_path).where(p.c.traj_id == traj_id)).scalars().all()
        return sorted(paths)

    def load_column(self, name: str, run_path: str, item: str) -> tuple[np.ndarray, list[Any]]:
        indices, cells = self._runs.column(name, run_path, item)
        with translate_errors(self.url, f"loading {run_path!r} of {name!r}", reading=True):
            with checked_values(f"item {item!r}"):
                return indices, decode_cells(*cells)

    def load_column_array(self, name: str, run_path: str, item: str) -> tuple[np.ndarray, np.ndarray]:
        indices, cells = self._runs.column(name, run_path, item)
        with translate_errors(self.url, f"loading {run_path!r} of {name!r}", reading=True):
            with checked_values(f"item {item!r}"):
                return indices, stack_cells(*cells)
