"""All or nothing: failed writes roll back and lose nothing already committed."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator

import numpy as np
import pytest

from pypet_rebuild import get_plugin_host
from pypet_rebuild.errors import StorageError, StorageLockedError, TrajectoryNotFoundError, UnsupportedTypeError
from pypet_rebuild.storage.records import NodeKind, NodeRecord, RunRecord, RunStatus, TrajectoryInfo

from pypet_rebuild_sql import SQLBackend

REFUSAL = "no space left on device, simulated"


def _run(idx: int, value: object) -> RunRecord:
    return RunRecord(idx, RunStatus.COMPLETED, 1.0, 2.0, None, [
        NodeRecord("results.z", NodeKind.RESULT, "z", data={"z": value}),
        NodeRecord("results.v", NodeKind.RESULT, data={"v": np.arange(3) * idx}),
    ])


@contextlib.contextmanager
def _failing_inserts(backend: SQLBackend, table: str) -> Iterator[None]:
    """A trigger that makes the database refuse rows of ``table``, as a full
    disk would: the failure comes from the database, halfway through a
    transaction whose earlier statements succeeded."""
    if backend.engine.dialect.name == "sqlite":
        create = [f"CREATE TRIGGER refuse BEFORE INSERT ON {table} BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END"]
        drop = ["DROP TRIGGER refuse"]
    else:
        create = [
            "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN RAISE EXCEPTION '{REFUSAL}'; END $$",
            f"CREATE TRIGGER refuse BEFORE INSERT ON {table} FOR EACH ROW EXECUTE FUNCTION refuse()",
        ]
        drop = [f"DROP TRIGGER refuse ON {table}", "DROP FUNCTION refuse()"]
    with backend.engine.begin() as connection:
        for statement in create:
            connection.exec_driver_sql(statement)
    try:
        yield
    finally:
        with backend.engine.begin() as connection:
            for statement in drop:
                connection.exec_driver_sql(statement)


def test_a_batch_failing_halfway_stores_none_of_its_runs(backend: SQLBackend) -> None:
    backend.store_runs("t", [_run(i, float(i)) for i in range(5)])
    with _failing_inserts(backend, "pypet_run_items"), pytest.raises(StorageError, match=f"storing 5 runs.*{REFUSAL}"):
        backend.store_runs("t", [_run(i, float(i)) for i in range(5, 10)])
    reopened = get_plugin_host().open_storage(backend.url)
    try:
        assert [r.idx for r in reopened.load_run_infos("t")] == list(range(5))
        indices, values = reopened.load_column("t", "results.z", "z")
        assert list(indices) == list(range(5)) and values == [0.0, 1.0, 2.0, 3.0, 4.0]
        assert reopened.load_run("t", 7) == []
    finally:
        reopened.close()


def test_a_failed_replacement_keeps_the_replaced_runs(backend: SQLBackend) -> None:
    backend.store_runs("t", [_run(0, 0.5), _run(1, 1.5)])
    with _failing_inserts(backend, "pypet_run_nodes"), pytest.raises(StorageError, match=REFUSAL):
        backend.store_runs("t", [_run(1, 99.0)])  # deletes run 1, then fails re-inserting it
    indices, values = get_plugin_host().open_storage(backend.url).load_column("t", "results.z", "z")
    assert list(indices) == [0, 1] and values == [0.5, 1.5]


def test_a_node_batch_failing_halfway_keeps_the_stored_nodes(backend: SQLBackend) -> None:
    backend.store_nodes("t", [NodeRecord("results.r", NodeKind.RESULT, data={"r": 1, "s": "x"})])
    with _failing_inserts(backend, "pypet_node_items"), pytest.raises(StorageError, match=REFUSAL):
        backend.store_nodes("t", [NodeRecord("results.r", NodeKind.RESULT, data={"r": 2})])
    assert backend.load_items("t", "results.r") == {"r": 1, "s": "x"}


def test_an_unstorable_value_in_a_batch_stores_nothing(backend: SQLBackend) -> None:
    with pytest.raises(UnsupportedTypeError):
        backend.store_runs("t", [_run(0, 1.0), _run(1, {1, 2})])
    assert backend.load_run_infos("t") == [] and backend.list_run_paths("t") == []


def test_runs_of_a_missing_trajectory_are_refused(backend: SQLBackend) -> None:
    with pytest.raises(TrajectoryNotFoundError, match="'nope'.*'t'"):
        backend.store_runs("nope", [_run(0, 1.0)])
    assert backend.load_run_infos("t") == []


def test_metadata_that_is_not_json_is_refused_before_anything_changes(backend: SQLBackend) -> None:
    with pytest.raises(StorageError, match="JSON"):
        backend.create_trajectory(TrajectoryInfo("u", 2.0, metadata={"array": np.arange(2)}))
    with pytest.raises(StorageError, match="JSON"):
        backend.update_metadata("t", {"nan": float("nan")})
    assert [i.name for i in backend.list_trajectories()] == ["t"]
    assert backend.load_info("t").metadata == {}


def test_replacing_runs_forgets_run_paths_no_run_has_any_more(backend: SQLBackend) -> None:
    backend.store_runs("t", [_run(0, 1.0), RunRecord(1, RunStatus.COMPLETED, 1.0, 2.0, None, [
        NodeRecord("results.only_in_one", NodeKind.RESULT, data={"only_in_one": 1})])])
    assert backend.list_run_paths("t") == ["results.only_in_one", "results.v", "results.z"]
    backend.store_runs("t", [RunRecord(1, RunStatus.FAILED, 1.0, 2.0, "boom")])
    assert backend.list_run_paths("t") == ["results.v", "results.z"]
    backend.store_runs("t", [RunRecord(0, RunStatus.FAILED, 1.0, 2.0, "boom")])
    assert backend.list_run_paths("t") == []


def test_a_writer_that_waits_too_long_for_the_sqlite_lock_gets_a_locked_error(sqlite_url: str) -> None:
    with get_plugin_host().open_storage(sqlite_url, timeout=0.2) as backend:
        backend.create_trajectory(TrajectoryInfo("t", 1.0))
        holder = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # another process holding the write lock
        try:
            with pytest.raises(StorageLockedError, match="another process kept the database locked") as raised:
                backend.store_runs("t", [_run(0, 1.0)])
            assert sqlite_url in str(raised.value)
            assert backend.load_run_infos("t") == []  # readers are not blocked meanwhile
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        backend.store_runs("t", [_run(0, 1.0)])
        assert [r.idx for r in backend.load_run_infos("t")] == [0]
