"""The relational layout: every table the SQL backend reads and writes.

All tables carry the prefix ``pypet_`` so that a database shared with other
applications is left alone. ``docs/sql.md`` describes each table for people
who query results with plain SQL. Bump ``SCHEMA_VERSION`` whenever a table
changes in a way an older reader would misread.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import mysql

from pypet_rebuild.errors import SchemaVersionError
from pypet_rebuild.plugins import mask_url

from pypet_rebuild_sql._engine import WRITE_OPTION, translate_errors

__all__ = ["SCHEMA_VERSION", "TABLE_PREFIX", "metadata", "schema", "trajectories", "nodes", "node_items",
           "runs", "run_nodes", "run_items", "run_paths", "TRAJECTORY_TABLES", "ensure_schema"]

SCHEMA_VERSION = 1
TABLE_PREFIX = "pypet_"

# MySQL cannot index unbounded text and caps BLOB at 64 KiB; elsewhere text
# and binary columns stay unbounded.
_Key = sa.Text().with_variant(sa.String(255), "mysql", "mariadb")
_Blob = sa.LargeBinary().with_variant(mysql.LONGBLOB(), "mysql", "mariadb")
_Text = sa.Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")

# Any fixed number: the PostgreSQL advisory lock that serialises table creation.
_CREATION_LOCK = 0x7079706574  # "pypet"

metadata = sa.MetaData()


def _traj_id() -> sa.Column:
    """The trajectory a row belongs to (``pypet_trajectories.id``).

    Deliberately not a FOREIGN KEY: its per-row check more than doubles the
    server time of bulk-inserting runs on PostgreSQL. The backend deletes a
    trajectory's rows from every table itself, in one transaction.
    """
    return sa.Column("traj_id", sa.Integer, primary_key=True)


def _value_columns() -> list[sa.Column]:
    """One stored value: a native number when it is a plain scalar (so SQL can
    query it), otherwise a ``pypet_rebuild.values.pack`` blob."""
    return [
        sa.Column("value_type", sa.String(32), nullable=True),
        sa.Column("number", sa.Double, nullable=True),
        sa.Column("blob", _Blob, nullable=True),
    ]


def _node_columns() -> list[sa.Column]:
    """What describes a node apart from its items; shared by the nodes outside
    the runs and the per-run nodes, which are stored alike."""
    return [
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("comment", _Text, nullable=False),
        sa.Column("annotations", _Blob, nullable=True),
        sa.Column("explored", _Blob, nullable=True),
        sa.Column("link_target", _Key, nullable=True),
        sa.Column("pickled", _Text, nullable=False),
        sa.Column("has_data", sa.Boolean, nullable=False),
    ]


schema = sa.Table(
    f"{TABLE_PREFIX}schema",
    metadata,
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("written_by", sa.String(64), nullable=False),
)

trajectories = sa.Table(
    f"{TABLE_PREFIX}trajectories",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", _Key, nullable=False, unique=True),
    sa.Column("created", sa.Double, nullable=False),
    sa.Column("comment", _Text, nullable=False),
    sa.Column("metadata", sa.JSON, nullable=False),
)

nodes = sa.Table(
    f"{TABLE_PREFIX}nodes",
    metadata,
    _traj_id(),
    sa.Column("path", _Key, primary_key=True),
    *_node_columns(),
)

node_items = sa.Table(
    f"{TABLE_PREFIX}node_items",
    metadata,
    _traj_id(),
    sa.Column("path", _Key, primary_key=True),
    sa.Column("item", _Key, primary_key=True),
    sa.Column("position", sa.Integer, nullable=False),
    *_value_columns(),
)

runs = sa.Table(
    f"{TABLE_PREFIX}runs",
    metadata,
    _traj_id(),
    sa.Column("idx", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("started", sa.Double, nullable=False),
    sa.Column("finished", sa.Double, nullable=False),
    sa.Column("error", _Text, nullable=True),
)

run_nodes = sa.Table(
    f"{TABLE_PREFIX}run_nodes",
    metadata,
    _traj_id(),
    sa.Column("idx", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("run_path", _Key, primary_key=True),
    *_node_columns(),
)

# The primary key (traj_id, run_path, item, idx) is the index that makes one
# item of one run path across all runs a single range scan.
run_items = sa.Table(
    f"{TABLE_PREFIX}run_items",
    metadata,
    _traj_id(),
    sa.Column("run_path", _Key, primary_key=True),
    sa.Column("item", _Key, primary_key=True),
    sa.Column("idx", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("position", sa.Integer, nullable=False),
    *_value_columns(),
    sa.Index(f"{TABLE_PREFIX}run_items_by_run", "traj_id", "idx"),
)

# Every run path any run stored, so listing them never scans the runs.
run_paths = sa.Table(
    f"{TABLE_PREFIX}run_paths",
    metadata,
    _traj_id(),
    sa.Column("run_path", _Key, primary_key=True),
)

# Child tables first: the order in which a trajectory's rows are deleted.
TRAJECTORY_TABLES = (run_items, run_nodes, run_paths, runs, node_items, nodes)


def _stored_version(connection: sa.Connection) -> int | None:
    """The recorded schema version; None for a database without our tables."""
    if not sa.inspect(connection).has_table(schema.name):
        return None
    versions = connection.execute(sa.select(schema.c.version)).scalars().all()
    return max(versions) if versions else -1


def ensure_schema(engine: sa.Engine, url: str, written_by: str) -> None:
    """Create the tables in a database that has none of them, or check that
    the stored schema version is the one this code reads and writes.

    Creation runs in one write transaction (SQLite: ``BEGIN IMMEDIATE``;
    PostgreSQL: an advisory lock), so two processes opening a new database at
    once do not both create it. Tables of other applications are not touched.
    """
    shown = mask_url(url)
    with translate_errors(url, "checking the pypet-rebuild tables"):
        with engine.connect() as connection:
            found = _stored_version(connection)
        if found is None:
            with engine.execution_options(**{WRITE_OPTION: True}).begin() as connection:
                if connection.dialect.name == "postgresql":
                    connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _CREATION_LOCK})
                found = _stored_version(connection)
                if found is None:
                    ours = set(sa.inspect(connection).get_table_names()) & set(metadata.tables)
                    if ours:
                        raise SchemaVersionError(
                            f"{shown!r} holds the tables {sorted(ours)} but no {schema.name} table recording "
                            "their layout version; they were not written by pypet-rebuild-sql or the database "
                            "is damaged; use another database, or drop those tables"
                        )
                    metadata.create_all(connection)
                    connection.execute(schema.insert(), {"version": SCHEMA_VERSION, "written_by": written_by})
                    found = SCHEMA_VERSION
    if found != SCHEMA_VERSION:
        raise SchemaVersionError(
            f"{shown!r} holds pypet-rebuild tables of schema version {found}, but this "
            f"{written_by} reads and writes schema version {SCHEMA_VERSION}; open it with the "
            "pypet-rebuild-sql release that wrote it (copy the trajectories to a new database with "
            "pypet_rebuild.transfer.copy_trajectory), or use a new database"
        )
