"""The schema version record, and databases the backend shares with others."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from pypet_rebuild import get_plugin_host
from pypet_rebuild.errors import SchemaVersionError
from pypet_rebuild.storage.records import NodeKind, NodeRecord, TrajectoryInfo

from pypet_rebuild_sql import SCHEMA_VERSION, TABLE_PREFIX


def _sql(url: str, statement: str) -> list[tuple]:
    engine = sa.create_engine(url.replace("postgres://", "postgresql://"), poolclass=NullPool)
    try:
        with engine.begin() as connection:
            result = connection.exec_driver_sql(statement)
            return [tuple(row) for row in result] if result.returns_rows else []
    finally:
        engine.dispose()


def _table_names(url: str) -> set[str]:
    engine = sa.create_engine(url, poolclass=NullPool)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_new_database_records_the_schema_version(any_new_url: str) -> None:
    get_plugin_host().open_storage(any_new_url).close()
    assert _sql(any_new_url, f"SELECT version FROM {TABLE_PREFIX}schema") == [(SCHEMA_VERSION,)]
    assert all(name.startswith(TABLE_PREFIX) for name in _table_names(any_new_url))


def test_other_schema_version_is_refused_and_left_unchanged(any_new_url: str) -> None:
    with get_plugin_host().open_storage(any_new_url) as backend:
        backend.create_trajectory(TrajectoryInfo("kept", 1.0))
    _sql(any_new_url, f"UPDATE {TABLE_PREFIX}schema SET version = {SCHEMA_VERSION + 1}")
    with pytest.raises(SchemaVersionError) as raised:
        get_plugin_host().open_storage(any_new_url)
    message = str(raised.value)
    assert f"schema version {SCHEMA_VERSION + 1}" in message and f"schema version {SCHEMA_VERSION}" in message
    assert "new database" in message
    assert _sql(any_new_url, f"SELECT name FROM {TABLE_PREFIX}trajectories") == [("kept",)]
    assert _sql(any_new_url, f"SELECT version FROM {TABLE_PREFIX}schema") == [(SCHEMA_VERSION + 1,)]


def test_our_tables_without_a_version_record_are_refused(any_new_url: str) -> None:
    get_plugin_host().open_storage(any_new_url).close()
    _sql(any_new_url, f"DROP TABLE {TABLE_PREFIX}schema")
    with pytest.raises(SchemaVersionError, match="no pypet_schema table"):
        get_plugin_host().open_storage(any_new_url)
    assert f"{TABLE_PREFIX}schema" not in _table_names(any_new_url)


def test_unrelated_tables_are_left_alone(any_new_url: str) -> None:
    _sql(any_new_url, "CREATE TABLE experiments (id INTEGER PRIMARY KEY, label TEXT)")
    _sql(any_new_url, "INSERT INTO experiments VALUES (1, 'keep me')")
    with get_plugin_host().open_storage(any_new_url) as backend:
        backend.create_trajectory(TrajectoryInfo("t", 1.0))
        backend.store_nodes("t", [NodeRecord("results.r", NodeKind.RESULT, data={"r": 1})])
        backend.delete_trajectory("t")
    assert _sql(any_new_url, "SELECT id, label FROM experiments") == [(1, "keep me")]
