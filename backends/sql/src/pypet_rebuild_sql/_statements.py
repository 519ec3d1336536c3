"""Statement helpers shared by the trajectory and run halves of the backend:
bulk deletes and inserts that stay a handful of statements per call on every
database, whatever the number of rows."""

from __future__ import annotations

import io
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import postgresql, sqlite

__all__ = ["bulk_insert", "chunks", "delete_where_in", "insert_ignoring_duplicates"]

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


def bulk_insert(connection: sa.Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    """Insert many rows in one go: ``COPY ... FROM STDIN`` on PostgreSQL with
    psycopg2 (about four times faster than a multi-row INSERT, measured on a
    batch of 1000 runs), one executemany everywhere else."""
    if not rows:
        return
    if connection.dialect.name == "postgresql" and connection.dialect.driver == "psycopg2":
        _copy_rows(connection, table, rows)
    else:
        connection.execute(table.insert(), rows)


def _copy_rows(connection: sa.Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    quote = connection.dialect.identifier_preparer.quote
    columns = [column.name for column in table.columns if column.name in rows[0]]
    statement = f"COPY {quote(table.name)} ({', '.join(map(quote, columns))}) FROM STDIN"
    text = "".join("\t".join([_copy_text(row[name]) for name in columns]) + "\n" for row in rows)
    dbapi = connection.dialect.loaded_dbapi
    try:
        with connection.connection.driver_connection.cursor() as cursor:
            cursor.copy_expert(statement, io.StringIO(text))
    except dbapi.Error as exc:
        # The same exception SQLAlchemy would raise, so callers handle one kind.
        raise sa_exc.DBAPIError.instance(statement, None, exc, dbapi.Error) from exc


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(value: Any) -> str:
    """One field in PostgreSQL's COPY text format."""
    if value is None:
        return "\\N"
    if isinstance(value, (bool, np.bool_)):
        return "t" if value else "f"
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "\\\\x" + bytes(value).hex()  # bytea hex input, its backslash escaped for COPY
    if isinstance(value, str):
        return value.translate(_COPY_ESCAPES)
    if isinstance(value, numbers.Integral):
        return str(int(value))
    return repr(float(value))  # 'nan', 'inf' and '-0.0' are valid float8 input
