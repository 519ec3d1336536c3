"""Batches of runs: bulk writes, all-or-nothing visibility, repairs, column chunks."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import mongomock
import numpy as np
import pytest
from pymongo.errors import AutoReconnect

from pypet_rebuild.errors import StorageError
from pypet_rebuild.storage.records import NodeKind, NodeRecord, RunRecord, RunStatus, TrajectoryInfo
from pypet_rebuild.values import values_equal
from pypet_rebuild_mongo import MongoBackend
from pypet_rebuild_mongo._runs import RunStore
from pypet_rebuild_mongo._store import STALE_WRITE_SECONDS, Store

WRITES = (
    "insert_one", "insert_many", "update_one", "update_many", "replace_one", "delete_one",
    "delete_many", "bulk_write", "find_one_and_update", "find_one_and_replace", "find_one_and_delete",
)


class Killed(BaseException):
    """Stands for kill -9: no except clause of the backend catches it."""


@pytest.fixture
def write_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, str]]]:
    """Every write call any mongomock collection receives, as (collection, method)."""
    calls: list[tuple[str, str]] = []
    for method in WRITES:
        original = getattr(mongomock.collection.Collection, method)

        def counting(self: Any, *args: Any, __name: str = method, __original: Any = original, **kwargs: Any) -> Any:
            calls.append((self.name, __name))
            return __original(self, *args, **kwargs)

        monkeypatch.setattr(mongomock.collection.Collection, method, counting)
    yield calls


def test_a_batch_costs_the_same_few_writes_however_many_runs_it_holds(
    backend: MongoBackend, make_run: Callable[..., RunRecord], write_calls: list[tuple[str, str]]
) -> None:
    counts = []
    for start, size in ((0, 10), (10, 1000)):
        write_calls.clear()
        backend.store_runs("traj", [make_run(i, z=float(i), v=np.arange(3) * i) for i in range(start, start + size)])
        counts.append(sorted(write_calls))
    assert counts[0] == counts[1]
    assert ("runs", "insert_many") in counts[1] and ("run_items", "insert_many") in counts[1]
    assert len(counts[1]) <= 8 and not [call for call in counts[1] if call[1] == "insert_one"]
    assert list(backend.load_column("traj", "results.z", "z")[0]) == list(range(1010))


def test_a_batch_killed_before_its_commit_stays_invisible_until_rolled_back(
    backend: MongoBackend,
    open_backend: Callable[..., MongoBackend],
    make_run: Callable[..., RunRecord],
    trajectory_document: Callable[..., dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    backend.store_runs("traj", [make_run(i, z=float(i)) for i in range(10)])
    with monkeypatch.context() as patch:
        patch.setattr(Store, "commit", lambda *args, **kwargs: (_ for _ in ()).throw(Killed()))
        patch.setattr(Store, "_rollback", lambda *args: None)  # a killed process cleans nothing up
        with pytest.raises(Killed):
            backend.store_runs("traj", [make_run(i, z=100.0 + i, extra=1) for i in range(5, 15)])
    (killed_seq,) = trajectory_document(backend)["open"]
    written = backend.database["runs"].find_one({"seq": killed_seq})  # written, never committed
    assert written is not None and written["idx"] == list(range(5, 15))

    reader = open_backend()  # a later script
    assert [info.idx for info in reader.load_run_infos("traj")] == list(range(10))
    assert reader.load_column("traj", "results.z", "z")[1] == [float(i) for i in range(10)]
    assert reader.load_run("traj", 7)[0].data == {"z": 7.0} and reader.load_run("traj", 12) == []
    assert reader.list_run_paths("traj") == ["results.z"]
    assert reader.load_column_array("traj", "results.extra", "extra")[0].size == 0

    reader.store_runs("traj", [make_run(20, z=20.0)])  # may be another writer at work: left alone
    assert trajectory_document(reader)["open"] == [killed_seq]
    abandoned = time.time() - STALE_WRITE_SECONDS - 1  # as if that long had passed
    reader.database["trajectories"].update_one({"_id": "traj"}, {"$set": {f"opened.{killed_seq}": abandoned}})
    reader.store_runs("traj", [make_run(21, z=21.0)])  # now the next write rolls the leftovers back
    assert trajectory_document(reader)["open"] == []
    assert trajectory_document(reader)["opened"] == {}
    for collection in ("runs", "run_items"):
        assert reader.database[collection].count_documents({"seq": killed_seq}) == 0
    assert [info.idx for info in reader.load_run_infos("traj")] == [*range(10), 20, 21]


def test_a_batch_killed_while_settling_shows_only_the_new_versions(
    backend: MongoBackend,
    open_backend: Callable[..., MongoBackend],
    make_run: Callable[..., RunRecord],
    trajectory_document: Callable[..., dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    backend.store_runs("traj", [make_run(0, z=0.0), make_run(1, z=1.0, old=1), make_run(2, z=2.0)])
    with monkeypatch.context() as patch:
        patch.setattr(RunStore, "settle", lambda *args: (_ for _ in ()).throw(Killed()))
        with pytest.raises(Killed):
            backend.store_runs("traj", [make_run(1, z=-1.0)])  # replaces run 1, without "old"
    assert trajectory_document(backend)["settling"]
    assert backend.database["runs"].count_documents({"idx": 1}) == 2  # both versions still there

    reader = open_backend()
    assert [info.idx for info in reader.load_run_infos("traj")] == [0, 1, 2]
    assert reader.load_column("traj", "results.z", "z")[1] == [0.0, -1.0, 2.0]
    assert list(reader.load_column_array("traj", "results.z", "z")[1]) == [0.0, -1.0, 2.0]
    assert [(r.path, r.data) for r in reader.load_run("traj", 1)] == [("results.z", {"z": -1.0})]
    assert reader.list_run_paths("traj") == ["results.z"]
    assert reader.load_column("traj", "results.old", "old")[1] == []

    reader.store_runs("traj", [make_run(3, z=3.0)])  # the next write finishes the settling
    assert trajectory_document(reader)["settling"] == []
    assert reader.database["runs"].count_documents({"idx": 1}) == 1
    assert reader.list_run_paths("traj") == ["results.z"]


def test_a_failed_write_is_rolled_back_at_once(
    backend: MongoBackend,
    make_run: Callable[..., RunRecord],
    trajectory_document: Callable[..., dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    backend.store_runs("traj", [make_run(0, z=0.0)])
    original = mongomock.collection.Collection.insert_many

    def failing(self: Any, documents: Any, *args: Any, **kwargs: Any) -> Any:
        if self.name == "runs":
            raise AutoReconnect("connection closed")
        return original(self, documents, *args, **kwargs)

    monkeypatch.setattr(mongomock.collection.Collection, "insert_many", failing)
    with pytest.raises(StorageError, match="storing runs"):
        backend.store_runs("traj", [make_run(0, z=9.0), make_run(1, z=1.0)])
    monkeypatch.undo()
    assert trajectory_document(backend)["open"] == []
    assert backend.database["run_items"].count_documents({}) == 1
    assert backend.load_column("traj", "results.z", "z")[1] == [0.0]


def test_a_node_write_killed_before_its_commit_keeps_the_old_version(
    backend: MongoBackend, open_backend: Callable[..., MongoBackend], monkeypatch: pytest.MonkeyPatch
) -> None:
    backend.store_nodes("traj", [NodeRecord("results.r", NodeKind.RESULT, "old", data={"r": 1})])
    with monkeypatch.context() as patch:
        patch.setattr(Store, "commit", lambda *args, **kwargs: (_ for _ in ()).throw(Killed()))
        patch.setattr(Store, "_rollback", lambda *args: None)
        with pytest.raises(Killed):
            backend.store_nodes("traj", [
                NodeRecord("results.r", NodeKind.RESULT, "new", data={"r": 2}),
                NodeRecord("results.s", NodeKind.RESULT, data={"s": 3}),
            ])
    reader = open_backend()
    assert [(r.path, r.comment, r.data) for r in reader.load_nodes("traj")] == [("results.r", "old", {"r": 1})]
    assert reader.load_items("traj", "results.r") == {"r": 1}


def test_a_run_stored_twice_in_one_batch_keeps_the_later_record(
    backend: MongoBackend, make_run: Callable[..., RunRecord]
) -> None:
    failed = RunRecord(4, RunStatus.FAILED, 1.0, 2.0, "boom")
    backend.store_runs("traj", [failed, make_run(4, z=4.0)])
    (info,) = backend.load_run_infos("traj")
    assert info.status is RunStatus.COMPLETED and backend.load_column("traj", "results.z", "z")[1] == [4.0]


def test_small_chunks_split_a_batch_and_still_read_back(
    open_backend: Callable[..., MongoBackend], make_run: Callable[..., RunRecord]
) -> None:
    backend = open_backend(chunk_bytes=64)  # 8 floats per chunk
    backend.create_trajectory(TrajectoryInfo("traj", time.time()))
    backend.store_runs("traj", [make_run(i, z=float(i), label=f"run {i}") for i in range(50)])
    assert backend.database["run_items"].count_documents({"run_path": "results.z"}) == 7
    assert backend.database["run_items"].count_documents({"run_path": "results.label"}) > 1
    indices, column = backend.load_column_array("traj", "results.z", "z")
    assert list(indices) == list(range(50)) and column.tolist() == [float(i) for i in range(50)]
    assert backend.load_column("traj", "results.label", "label")[1] == [f"run {i}" for i in range(50)]
    for idx in (0, 9, 31, 49):
        assert {r.path: r.data for r in backend.load_run("traj", idx)} == {
            "results.label": {"label": f"run {idx}"}, "results.z": {"z": float(idx)}
        }


@pytest.mark.parametrize(
    ("values", "dtype"),
    [
        ([0.5, 1.5], np.float64),
        ([1, 2], np.int64),
        ([True, False], np.bool_),
        ([np.float32(0.5), np.float32(2)], np.float32),
        ([np.arange(3), np.arange(3) * 2], np.int64),
    ],
    ids=["float", "int", "bool", "float32", "arrays"],
)
def test_stackable_columns_keep_exact_types(
    backend: MongoBackend, make_run: Callable[..., RunRecord], values: list[Any], dtype: type
) -> None:
    backend.store_runs("traj", [make_run(i, v=value) for i, value in enumerate(values)])
    assert "stack" in backend.database["run_items"].find_one({"run_path": "results.v"})
    _, column = backend.load_column_array("traj", "results.v", "v")
    assert column.dtype == dtype and values_equal(column, np.asarray(values))
    _, loaded = backend.load_column("traj", "results.v", "v")
    assert all(values_equal(a, b) for a, b in zip(values, loaded))


def test_a_column_of_mixed_batches_reads_like_a_list(backend: MongoBackend, make_run: Callable[..., RunRecord]) -> None:
    backend.store_runs("traj", [make_run(0, v=0.5), make_run(1, v=1.5)])
    backend.store_runs("traj", [make_run(2, v=2), make_run(3, v=3)])
    _, column = backend.load_column_array("traj", "results.v", "v")
    assert column.dtype == np.float64 and column.tolist() == [0.5, 1.5, 2.0, 3.0]
    assert [type(v) for v in backend.load_column("traj", "results.v", "v")[1]] == [float, float, int, int]


def test_status_chunks_share_one_shape_for_runs_with_the_same_leaves(
    backend: MongoBackend, make_run: Callable[..., RunRecord]
) -> None:
    odd = RunRecord(7, RunStatus.COMPLETED, 1.0, 2.0, None, [
        NodeRecord("results.z", NodeKind.RESULT, "special", {"unit": "mV"}, {"z": 7.0}),
    ])
    failed = RunRecord(8, RunStatus.FAILED, 1.0, 2.0, "Traceback: boom")
    backend.store_runs("traj", [*(make_run(i, z=float(i)) for i in range(7)), odd, failed])
    (chunk,) = backend.database["runs"].find()
    assert len(chunk["shapes"]) == 3 and chunk["leaves"][:7] == [chunk["leaves"][0]] * 7
    (leaf,) = backend.load_run("traj", 7)
    assert (leaf.comment, leaf.annotations, leaf.data) == ("special", {"unit": "mV"}, {"z": 7.0})
    assert backend.load_run("traj", 8) == [] and backend.load_run_infos("traj")[8].error == "Traceback: boom"
    assert backend.load_run("traj", 3)[0].comment == ""
