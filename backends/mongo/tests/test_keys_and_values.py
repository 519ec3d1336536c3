"""Field names MongoDB treats specially, and values through real BSON."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import bson
import numpy as np
import pytest

from pypet_rebuild.storage.records import NodeKind, NodeRecord, RunRecord, RunStatus, TrajectoryInfo
from pypet_rebuild.values import sample_result_values, sample_values, values_equal
from pypet_rebuild_mongo import MongoBackend
from pypet_rebuild_mongo._bson_values import decode_value, encode_value
from pypet_rebuild_mongo._columns import DecodedChunk, build_chunks
from pypet_rebuild_mongo._keys import escape_key, unescape_key

AWKWARD_KEYS = ["a.b", "$x", "%", "%2E", "", "nul\x00here", "x$y.z%", "plain", "ünïcode.ключ"]


def _field_names(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [key for key, value in node.items() for key in [key, *_field_names(value)]]
    if isinstance(node, list):
        return [name for item in node for name in _field_names(item)]
    return []


@pytest.mark.parametrize("key", AWKWARD_KEYS)
def test_escaped_keys_are_safe_field_names_and_round_trip(key: str) -> None:
    escaped = escape_key(key)
    assert escaped and "." not in escaped and "\x00" not in escaped and not escaped.startswith("$")
    assert unescape_key(escaped) == key


def test_escaping_is_injective() -> None:
    assert len({escape_key(key) for key in AWKWARD_KEYS}) == len(AWKWARD_KEYS)


def test_awkward_keys_round_trip_through_the_backend(open_backend: Callable[..., MongoBackend]) -> None:
    mapping = {key: i for i, key in enumerate(AWKWARD_KEYS)}
    nested = {key: {key: [key]} for key in AWKWARD_KEYS}
    backend = open_backend()
    backend.create_trajectory(TrajectoryInfo("traj", time.time(), metadata=mapping))
    backend.update_metadata("traj", {"$later.key": 1})
    node = NodeRecord("results.r", NodeKind.RESULT, annotations=mapping, data={"a.b": nested, "%": 1.5})
    backend.store_nodes("traj", [node])
    leaf = NodeRecord("results.z", NodeKind.RESULT, annotations=mapping, data={"$z": nested})
    backend.store_runs("traj", [RunRecord(0, RunStatus.COMPLETED, 1.0, 2.0, None, [leaf])])
    backend.close()
    backend = open_backend()

    assert backend.load_info("traj").metadata == {**mapping, "$later.key": 1}
    (loaded,) = backend.load_nodes("traj")
    assert loaded.annotations == mapping and loaded.data == {"a.b": nested, "%": 1.5}
    assert backend.load_items("traj", "results.r", ["a.b"]) == {"a.b": nested}
    (run_leaf,) = backend.load_run("traj", 0)
    assert run_leaf.annotations == mapping and run_leaf.data == {"$z": nested}
    assert backend.load_column("traj", "results.z", "$z")[1] == [nested]

    stored = [
        *backend.database["trajectories"].find(),
        *backend.database["nodes"].find(),
        *backend.database["runs"].find(),
        *backend.database["run_items"].find(),
    ]
    names = [name for doc in stored for name in _field_names(doc)]
    assert names and not [n for n in names if "." in n or "\x00" in n or n.startswith("$")]


@pytest.mark.parametrize("key", sorted({**sample_values(), **sample_result_values()}))
def test_every_value_type_survives_real_bson(key: str) -> None:
    """mongomock keeps Python objects as they are; a server sends BSON, which
    turns int64 into bson.Int64 and plain binary into bytes. Encode and
    decode for real, as a server round trip would."""
    value = {**sample_values(), **sample_result_values()}[key]
    stored, _ = encode_value(value)
    assert values_equal(value, decode_value(bson.decode(bson.encode({"v": stored}))["v"]))


@pytest.mark.parametrize(
    "values",
    [
        [0.5, -0.0, float("nan"), 2**0.5],
        [1, 2**62, -(2**63)],
        [True, False],
        [np.float32(1.5), np.float32(-2)],
        [np.datetime64("2020-01-01", "D"), np.datetime64("1999-12-31", "D")],
        [np.arange(3, dtype=">i4"), np.arange(3, dtype=">i4") * 2],
        ["text", 1, None, {"a": (1, 2)}],
    ],
    ids=["float", "int", "bool", "float32", "datetime64", "big-endian-arrays", "mixed"],
)
def test_column_chunks_survive_real_bson(values: list[Any]) -> None:
    entries = [(i, value, False) for i, value in enumerate(values)]
    (body,) = build_chunks(entries, chunk_bytes=2**20, large_value_bytes=2**20)
    chunk = DecodedChunk(bson.decode(bson.encode(body)))
    loaded = chunk.values(lambda file_id: pytest.fail("no value is large here"))
    assert chunk.indices == list(range(len(values)))
    assert all(values_equal(a, b) for a, b in zip(values, loaded))
