"""Statement helpers shared by the trajectory and run halves of the backend:
bulk deletes and inserts that stay a handful of statements per call on every
database, whatever the number of rows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

__all__ = ["chunks", "delete_where_in", "insert_ignoring_duplicates"]

_IN_CHUNK = 500  # bound parameters per IN (...): far below every database's limit


def chunks(values: Sequence[Any]) -> list[Sequence[Any]]:
    return [values[start:start + _IN_CHUNK] for start in range(0, len(values), _IN_CHUNK)]


def delete_where_in(
    connection: sa.Connection, table: sa.Table, traj_id: int, column: str, values: Sequence[Any]
) -> None:
    """Delete a trajectory's rows whose ``column`` is one of ``values``: one
    statement per 500 values (an executemany of single-row deletes would be
    one round trip per row on PostgreSQL)."""
    for chunk in chunks(list(values)):
        connection.execute(table.delete().where(table.c.traj_id == traj_id, table.c[column].in_(chunk)))


def insert_ignoring_duplicates(connection: sa.Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    """Insert rows whose key may already exist: another process storing runs
    of the same trajectory may add the same key at the same moment."""
    dialect = connection.dialect.name
    if dialect == "sqlite":
        statement: Any = sqlite.insert(table).on_conflict_do_nothing()
    elif dialect == "postgresql":
        statement = postgresql.insert(table).on_conflict_do_nothing()
    elif dialect in ("mysql", "mariadb"):
        statement = table.insert().prefix_with("IGNORE")
    else:
        statement = table.insert()
    connection.execute(statement, rows)
