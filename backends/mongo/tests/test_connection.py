"""URLs, the layout record, unreachable servers and other bad input."""

from __future__ import annotations

import re
import sys
import time
import uuid
from collections.abc import Callable

import pytest
from pymongo.errors import OperationFailure

from pypet_rebuild.errors import MissingPluginError, SchemaVersionError, StorageError
from pypet_rebuild.plugins import get_plugin_host
from pypet_rebuild.storage.records import NodeKind, NodeRecord, TrajectoryInfo
from pypet_rebuild_mongo import LAYOUT_VERSION, MongoBackend
from pypet_rebuild_mongo._connection import connect, translate_errors


def test_the_same_mongomock_name_shares_data_and_other_names_do_not(url: str) -> None:
    host = get_plugin_host()
    with host.open_storage(url) as writer:
        writer.create_trajectory(TrajectoryInfo("shared", 1.0))
    with host.open_storage(url) as reader, host.open_storage(f"mongomock://{uuid.uuid4().hex}") as other:
        assert [i.name for i in reader.list_trajectories()] == ["shared"]
        assert other.list_trajectories() == []
    with host.open_storage("mongomock://") as private:
        private.create_trajectory(TrajectoryInfo("mine", 1.0))
    with host.open_storage("mongomock://") as private:
        assert private.list_trajectories() == []


def test_all_three_schemes_open_the_mongo_backend(url: str) -> None:
    entry = get_plugin_host().storage.for_scheme("mongodb+srv")
    assert entry is not None and entry.name == "mongo"
    assert {"mongodb", "mongodb+srv", "mongomock"} <= set(entry.schemes)
    with get_plugin_host().open_storage(url) as backend:
        assert isinstance(backend, MongoBackend)


def test_the_database_is_named_by_the_url_or_defaults() -> None:
    for url, expected in (("mongodb://127.0.0.1:1", "pypet_rebuild"), ("mongodb://127.0.0.1:1/lab?w=1", "lab")):
        client, database, owned = connect(url, server_selection_timeout_ms=100)  # connects lazily
        try:
            assert database.name == expected and owned
        finally:
            client.close()


def test_an_unreachable_server_is_a_clear_error_with_the_password_masked() -> None:
    url = "mongodb://alice:s3cret@127.0.0.1:1/lab"
    started = time.monotonic()
    with pytest.raises(StorageError) as raised:
        get_plugin_host().open_storage(url, server_selection_timeout_ms=300)
    message = str(raised.value)
    assert "cannot reach the MongoDB server" in message and "alice:***@127.0.0.1:1/lab" in message
    assert "s3cret" not in message
    assert time.monotonic() - started < 30  # gave up after the selection timeout, not the driver's 30 s default


def test_refused_credentials_are_named_as_such_with_the_password_masked() -> None:
    with pytest.raises(StorageError, match="refused the credentials") as raised:
        with translate_errors("mongodb://bob:hunter2@db.example/lab", "loading nodes"):
            raise OperationFailure("Authentication failed.", code=18)
    assert "bob:***@db.example" in str(raised.value) and "hunter2" not in str(raised.value)
    assert "authSource" in str(raised.value)


def test_a_malformed_url_is_a_storage_error() -> None:
    with pytest.raises(StorageError, match="cannot use the MongoDB URL"):
        get_plugin_host().open_storage("mongodb://127.0.0.1:notaport/lab")


def test_a_database_of_another_layout_version_is_refused(url: str, open_backend: Callable[..., MongoBackend]) -> None:
    backend = open_backend()
    backend.create_trajectory(TrajectoryInfo("traj", 1.0))
    backend.database["schema"].update_one({"_id": "layout"}, {"$set": {"version": LAYOUT_VERSION + 98}})
    with pytest.raises(SchemaVersionError, match=re.escape(url)) as raised:
        open_backend()
    assert f"version {LAYOUT_VERSION + 98}" in str(raised.value)
    backend.database["schema"].update_one({"_id": "layout"}, {"$set": {"version": LAYOUT_VERSION}})
    assert [i.name for i in open_backend().list_trajectories()] == ["traj"]  # nothing was touched


def test_a_database_written_by_something_else_is_refused(open_backend: Callable[..., MongoBackend]) -> None:
    backend = open_backend()
    backend.database["schema"].delete_many({})
    backend.database["trajectories"].insert_one({"_id": "not ours", "anything": 1})
    with pytest.raises(SchemaVersionError, match="not written by pypet-rebuild-mongo"):
        open_backend()


def test_without_mongomock_the_error_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "mongomock", None)
    monkeypatch.setitem(sys.modules, "mongomock.gridfs", None)
    with pytest.raises(MissingPluginError, match="pip install mongomock"):
        get_plugin_host().open_storage("mongomock://anything")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"chunk_size": 10}, "unknown option"),
        ({"large_value_bytes": 0}, "positive int"),
        ({"chunk_bytes": "1MB"}, "positive int"),
        ({"large_value_bytes": 12 * 2**20, "chunk_bytes": 4 * 2**20}, "16 MB"),
    ],
)
def test_bad_options_are_refused_by_name(url: str, options: dict, message: str) -> None:
    with pytest.raises(StorageError, match=message):
        get_plugin_host().open_storage(url, **options)


def test_a_trajectory_replaced_by_another_process_stops_a_write(
    open_backend: Callable[..., MongoBackend]
) -> None:
    first, second = open_backend(), open_backend()
    first.create_trajectory(TrajectoryInfo("traj", 1.0))
    snapshot = first._store.snapshot("traj")
    second.create_trajectory(TrajectoryInfo("traj", 2.0), overwrite=True)
    with pytest.raises(StorageError, match="deleted or overwritten"):
        with first._store.writing(snapshot) as seq:
            first._store.commit(snapshot, seq)
    assert second.load_nodes("traj") == [] and second.load_info("traj").created == 2.0
    second.store_nodes("traj", [NodeRecord("results.r", NodeKind.RESULT, data={"r": 1})])
    assert second.load_items("traj", "results.r") == {"r": 1}
