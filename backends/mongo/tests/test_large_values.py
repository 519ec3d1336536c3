"""Values over ``large_value_bytes`` go to GridFS and come back; replaced,
removed and deleted values take their files with them."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from pypet_rebuild.storage.records import NodeKind, NodeRecord, RunRecord, TrajectoryInfo
from pypet_rebuild.values import values_equal
from pypet_rebuild_mongo import MongoBackend

THRESHOLD = 1024  # bytes: a few hundred floats already count as large


@pytest.fixture
def small(open_backend: Callable[..., MongoBackend]) -> MongoBackend:
    backend = open_backend(large_value_bytes=THRESHOLD, chunk_bytes=4096)
    backend.create_trajectory(TrajectoryInfo("traj", time.time()))
    return backend


def _files(backend: MongoBackend) -> int:
    return backend.database["large_values.files"].count_documents({})


def _node(backend: MongoBackend, path: str) -> dict[str, Any]:
    return backend.database["nodes"].find_one({"path": path})


def test_a_large_item_is_stored_in_gridfs_and_loads_back(
    small: MongoBackend, open_backend: Callable[..., MongoBackend]
) -> None:
    big = np.arange(1000.0)
    small.store_nodes("traj", [NodeRecord("results.r", NodeKind.RESULT, data={"big": big, "small": 3})])
    assert _files(small) == 1
    doc = _node(small, "results.r")
    assert set(doc["data"]["big"]) == {"gridfs"} and doc["data"]["small"]["v"] == 3
    reopened = open_backend(large_value_bytes=THRESHOLD)
    assert values_equal(reopened.load_items("traj", "results.r", ["big"])["big"], big)
    (record,) = reopened.load_nodes("traj")
    assert values_equal(record.data["big"], big) and record.data["small"] == 3


def test_items_that_fit_alone_but_not_together_move_biggest_first(small: MongoBackend) -> None:
    data = {"a": np.zeros(80), "b": np.ones(60), "c": 1.0}  # 640 + 480 bytes > 1024
    small.store_nodes("traj", [NodeRecord("results.r", NodeKind.RESULT, data=data)])
    stored = _node(small, "results.r")["data"]
    assert "gridfs" in stored["a"] and "gridfs" not in stored["b"] and _files(small) == 1
    assert all(values_equal(data[k], v) for k, v in small.load_items("traj", "results.r").items())


def test_a_large_explored_range_goes_to_gridfs(small: MongoBackend) -> None:
    explored = [float(i) for i in range(500)]
    small.store_nodes("traj", [NodeRecord("parameters.x", NodeKind.PARAMETER, data={"value": 0.0}, explored=explored)])
    assert _files(small) == 1
    (skeleton,) = small.load_nodes("traj", with_data=False)
    assert skeleton.explored == explored and skeleton.data is None


def test_replacing_keeping_and_removing_a_node_manage_its_files(small: MongoBackend) -> None:
    small.store_nodes("traj", [NodeRecord("results.r", NodeKind.RESULT, data={"big": np.zeros(500)})])
    small.store_nodes("traj", [NodeRecord("results.r", NodeKind.RESULT, data={"big": np.ones(500)})])
    assert _files(small) == 1 and values_equal(small.load_items("traj", "results.r")["big"], np.ones(500))
    small.store_nodes("traj", [NodeRecord("results.r", NodeKind.RESULT, comment="only the comment")])
    assert _files(small) == 1 and values_equal(small.load_items("traj", "results.r")["big"], np.ones(500))
    small.remove_nodes("traj", ["results"])
    assert _files(small) == 0 and small.load_nodes("traj") == []


def test_an_explicitly_pickled_large_item_round_trips(small: MongoBackend) -> None:
    value = set(range(1000))
    small.store_nodes("traj", [NodeRecord("results.p", NodeKind.RESULT, data={"s": value}, pickled=("s",))])
    assert _files(small) == 1
    assert small.load_items("traj", "results.p")["s"].unpickle() == value  # never unpickled by the backend


def test_large_run_values_in_columns_runs_and_replacement(
    small: MongoBackend, make_run: Callable[..., RunRecord]
) -> None:
    values = {i: np.arange(500.0) * i for i in range(5)}
    small.store_runs("traj", [make_run(i, big=values[i], z=float(i)) for i in range(5)])
    assert _files(small) == 5
    indices, loaded = small.load_column("traj", "results.big", "big")
    assert list(indices) == list(range(5)) and all(values_equal(values[i], v) for i, v in zip(indices, loaded))
    indices, stacked = small.load_column_array("traj", "results.big", "big")
    assert stacked.shape == (5, 500) and values_equal(stacked[3], values[3])
    (big_leaf, _) = small.load_run("traj", 2)
    assert values_equal(big_leaf.data["big"], values[2])

    small.store_runs("traj", [make_run(2, big=np.full(500, -1.0), z=-1.0)])
    assert _files(small) == 5
    assert values_equal(small.load_column("traj", "results.big", "big")[1][2], np.full(500, -1.0))
    small.delete_trajectory("traj")
    assert _files(small) == 0
