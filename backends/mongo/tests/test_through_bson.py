"""Everything the backend writes, read back the way a server would return it.

mongomock hands back the Python objects it was given; a server sends BSON,
which decodes int64 as ``bson.Int64`` and plain binary as ``bytes``, and
refuses anything BSON cannot encode (numpy scalars, tuples as keys, ...).
Copying every stored document through ``bson.encode``/``bson.decode`` into a
second store and loading from there checks the whole layout against that.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import bson
import numpy as np

from pypet_rebuild.plugins import get_plugin_host
from pypet_rebuild.storage.records import NodeKind, NodeRecord, RunRecord, RunStatus, TrajectoryInfo
from pypet_rebuild.values import sample_result_values, sample_values, values_equal
from pypet_rebuild_mongo import MongoBackend

COLLECTIONS = ("schema", "trajectories", "nodes", "runs", "run_items", "large_values.files", "large_values.chunks")


def _copy_through_bson(source: MongoBackend) -> MongoBackend:
    target = get_plugin_host().open_storage(f"mongomock://{uuid.uuid4().hex}", large_value_bytes=1024)
    for name in COLLECTIONS:
        target.database[name].delete_many({})
        for doc in source.database[name].find():
            target.database[name].insert_one(bson.decode(bson.encode(doc)))
    return target


def test_a_whole_trajectory_loads_back_after_a_bson_round_trip(
    open_backend: Callable[..., MongoBackend], make_run: Callable[..., RunRecord]
) -> None:
    results, parameters = sorted(sample_result_values().items()), sorted(sample_values().items())
    source = open_backend(large_value_bytes=1024)
    source.create_trajectory(TrajectoryInfo("traj", 12.5, "comment", {"big": 2**40, "a.b": [1, "x"]}))
    nodes = [
        NodeRecord(f"parameters.{key}", NodeKind.PARAMETER, "c", {"$k": 2**40}, {"value": value}, [value, value])
        for key, value in parameters
    ]
    nodes.append(NodeRecord("results.large", NodeKind.RESULT, data={"a": np.arange(500.0), "b": 1}))
    source.store_nodes("traj", nodes)
    source.store_runs("traj", [make_run(i, v=value, z=float(i), big=np.arange(300) * i) for i, (_, value) in enumerate(results)])
    source.store_runs("traj", [RunRecord(2**33, RunStatus.FAILED, 1.0, 2.0, "boom"), make_run(2**32, z=0.5)])
    source.store_runs("traj", [make_run(3, z=-3.0)])  # replaces run 3 after the others

    copy = _copy_through_bson(source)
    try:
        info = copy.load_info("traj")
        assert (info.created, info.metadata) == (12.5, {"big": 2**40, "a.b": [1, "x"]})
        loaded = {record.path: record for record in copy.load_nodes("traj")}
        for record in nodes:
            got = loaded[record.path]
            assert got.annotations == record.annotations and got.comment == record.comment
            assert all(values_equal(record.data[k], got.data[k]) for k in record.data)
            if record.explored is not None:
                assert all(values_equal(a, b) for a, b in zip(record.explored, got.explored))
        assert copy.load_run_infos("traj") == source.load_run_infos("traj")
        assert copy.list_run_paths("traj") == ["results.big", "results.v", "results.z"]
        for i, (_, value) in enumerate(results):
            if i != 3:
                by_path = {r.path: r.data for r in copy.load_run("traj", i)}
                assert values_equal(value, by_path["results.v"]["v"])
                assert values_equal(np.arange(300) * i, by_path["results.big"]["big"])
        indices, column = copy.load_column_array("traj", "results.z", "z")
        assert indices.tolist()[-1] == 2**32 and column[3] == -3.0 and column.dtype == np.float64
        _, bigs = copy.load_column_array("traj", "results.big", "big")
        assert bigs.shape == (len(results) - 1, 300)
    finally:
        copy.close()
