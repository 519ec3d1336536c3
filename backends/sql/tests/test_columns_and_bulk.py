"""Columns across runs come back in one query; batches go in as bulk inserts;
plain scalars are stored as numbers that SQL can query."""

from __future__ import annotations

import numpy as np
import pytest
import sqlalchemy as sa
from sqlalchemy import event

from pypet_rebuild.storage.records import NodeKind, NodeRecord, RunRecord, RunStatus
from pypet_rebuild.values import values_equal

from pypet_rebuild_sql import SQLBackend, _statements
from pypet_rebuild_sql._cells import from_cell, stack_cells, to_cell


class _StatementLog:
    """Every SQL statement the backend sends, except transaction control,
    including the COPY statements it streams rows with on PostgreSQL."""

    def __init__(self, engine: sa.Engine, monkeypatch: pytest.MonkeyPatch) -> None:
        self.statements: list[str] = []
        event.listen(engine, "before_cursor_execute", self._record)
        copy_rows = _statements._copy_rows

        def logged_copy(connection: sa.Connection, table: sa.Table, rows: list) -> None:
            self.statements.append(f"COPY INTO {table.name}")
            copy_rows(connection, table, rows)

        monkeypatch.setattr(_statements, "_copy_rows", logged_copy)

    def _record(self, conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001
        if statement.split()[0].upper() not in ("BEGIN", "COMMIT", "ROLLBACK"):
            self.statements.append(statement)

    def __len__(self) -> int:
        return len(self.statements)


def _runs(indices: range) -> list[RunRecord]:
    return [
        RunRecord(i, RunStatus.COMPLETED, 1.0, 2.0, None, [
            NodeRecord("results.z", NodeKind.RESULT, data={"z": i * 0.5}),
            NodeRecord("results.n", NodeKind.RESULT, data={"n": i, "label": f"run {i}"}),
        ])
        for i in indices
    ]


def test_a_batch_of_a_thousand_runs_is_a_few_bulk_statements(
    backend: SQLBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = _StatementLog(backend.engine, monkeypatch)
    backend.store_runs("t", _runs(range(1000)))  # 1000 run rows, 2000 node rows, 3000 item rows
    assert len(log) <= 12, log.statements
    inserts = [s for s in log.statements if s.lstrip().upper().startswith(("INSERT", "COPY"))]
    assert len({s.split()[2] for s in inserts}) == 4  # runs, run nodes, run items, run paths
    assert len(backend.load_run_infos("t")) == 1000
    log.statements.clear()
    backend.store_runs("t", _runs(range(1000)))  # replaces every run: deletes in bulk too
    assert len(log) <= 20, log.statements
    assert len(backend.load_run_infos("t")) == 1000


def test_one_item_across_all_runs_is_one_query(backend: SQLBackend, monkeypatch: pytest.MonkeyPatch) -> None:
    backend.store_runs("t", _runs(range(300)))
    backend.load_column("t", "results.z", "z")  # the pool now holds a ready connection
    log = _StatementLog(backend.engine, monkeypatch)
    indices, values = backend.load_column("t", "results.z", "z")
    assert len(log) == 1
    indices_array, stacked = backend.load_column_array("t", "results.n", "label")
    assert len(log) == 2
    assert list(indices) == list(indices_array) == list(range(300))
    assert values == [i * 0.5 for i in range(300)] and stacked[7] == "run 7"


def test_scalars_are_native_numbers_for_sql_queries(backend: SQLBackend) -> None:
    backend.store_runs("t", _runs(range(10)))
    with backend.engine.connect() as connection:
        mean, count = connection.execute(sa.text(
            "SELECT AVG(number), COUNT(*) FROM pypet_run_items i JOIN pypet_trajectories t ON t.id = i.traj_id "
            "WHERE t.name = 't' AND i.run_path = 'results.z' AND i.item = 'z' AND i.number > 1"
        )).one()
    assert count == 7 and mean == pytest.approx(np.mean([i * 0.5 for i in range(3, 10)]))


@pytest.mark.parametrize("values", [
    [1, 2, 3], [1.5, -2.0], [True, False], [np.float32(1.5), np.float32(2.0)], [np.int16(3), np.int16(-4)],
    [np.bool_(True), np.bool_(False)], [1, 2.5], [np.float64(1.0), 2.0], [1.0, float("nan")],
    [np.arange(3), np.arange(3) + 1], ["a", "bc"], [2**60, 1],
])
def test_stacked_columns_equal_numpy_asarray_of_the_values(backend: SQLBackend, values: list) -> None:
    backend.store_runs("t", [
        RunRecord(i, RunStatus.COMPLETED, 1.0, 2.0, None, [NodeRecord("results.x", NodeKind.RESULT, data={"x": v})])
        for i, v in enumerate(values)
    ])
    _, loaded = backend.load_column("t", "results.x", "x")
    _, stacked = backend.load_column_array("t", "results.x", "x")
    assert all(values_equal(a, b) for a, b in zip(values, loaded))
    expected = np.asarray(values)
    assert stacked.dtype == expected.dtype and stacked.shape == expected.shape
    assert np.array_equal(stacked, expected, equal_nan=expected.dtype.kind == "f")


NATIVE = [0, -7, 2**53, 1.25, -1e300, 0.0, True, False, np.float64(2.5), np.float32(0.1), np.float16(3.0),
          np.int64(-(2**53)), np.uint8(255), np.uint64(7), np.bool_(True), np.int32(5)]
PACKED = [float("nan"), float("inf"), -0.0, 2**53 + 1, np.uint64(2**63), np.float64("nan"), np.longdouble(1.5),
          np.complex128(1 + 2j), "text", None, [1, 2], np.arange(2)]


@pytest.mark.parametrize("value", NATIVE, ids=repr)
def test_plain_scalars_become_numbers_and_come_back_as_their_type(value: object) -> None:
    value_type, number, blob = to_cell(value)
    assert value_type is not None and blob is None and isinstance(number, float)
    restored = from_cell(value_type, number, blob)
    assert type(restored) is type(value) and values_equal(value, restored)
    assert stack_cells((value_type,), (number,), (blob,)).dtype == np.asarray([value]).dtype


@pytest.mark.parametrize("value", PACKED, ids=repr)
def test_other_values_are_packed_blobs(value: object) -> None:
    value_type, number, blob = to_cell(value)
    assert value_type is None and number is None and isinstance(blob, bytes)
    restored = from_cell(value_type, number, blob)
    assert type(restored) is type(value) and values_equal(value, restored)


AWKWARD_TEXT = "tab\there, newline\nand\r\nback\\slash \\N \\x00 ünïcødé ✓"


def test_text_and_bytes_that_need_escaping_in_bulk_loads_round_trip(backend: SQLBackend) -> None:
    blob_like = bytes(range(256))
    backend.store_runs("t", [RunRecord(0, RunStatus.FAILED, 1.5, -0.0, AWKWARD_TEXT, [
        NodeRecord("results.odd", NodeKind.RESULT, AWKWARD_TEXT, {AWKWARD_TEXT: 1},
                   data={"text": AWKWARD_TEXT, "raw": blob_like, "neg": -0.0}),
    ])])
    backend.store_nodes("t", [NodeRecord("results.top", NodeKind.RESULT, AWKWARD_TEXT, data={"text": AWKWARD_TEXT})])
    (info,) = backend.load_run_infos("t")
    assert info.error == AWKWARD_TEXT and info.finished == 0.0
    (record,) = backend.load_run("t", 0)
    assert record.comment == AWKWARD_TEXT and record.annotations == {AWKWARD_TEXT: 1}
    assert record.data is not None and record.data["text"] == AWKWARD_TEXT and record.data["raw"] == blob_like
    assert str(record.data["neg"]) == "-0.0"
    (top,) = backend.load_nodes("t")
    assert top.comment == AWKWARD_TEXT and backend.load_items("t", "results.top") == {"text": AWKWARD_TEXT}
