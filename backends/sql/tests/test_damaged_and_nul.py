"""Damaged stored values, damaged SQLite files and NUL characters (issue 17, items 5, 6, 8)."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa

from pypet_rebuild import Environment, Trajectory, load_trajectory
from pypet_rebuild.errors import DamagedDataError, InvalidCommentError, StorageError
from pypet_rebuild.plugins import get_plugin_host, mask_url
from pypet_rebuild.storage.records import NodeKind, NodeRecord, TrajectoryInfo


def _job(traj: Trajectory) -> None:
    traj.add_result("d", {"x": traj.x, "label": f"point {traj.idx}", "v": np.arange(50.0) * traj.x})
    traj.add_result("z", traj.x * 2.0)


def _explore(url: str, runs: int = 5) -> None:
    traj = Trajectory("t")
    traj.add_parameter("x", 0.0)
    traj.explore({"x": [float(i) for i in range(runs)]})
    with Environment(traj, url, progress=False, log_to_console=False) as env:
        env.run(_job)


def test_a_flipped_byte_in_a_stored_blob_is_an_error_naming_store_and_item(any_url: str) -> None:
    _explore(any_url)
    backend = get_plugin_host().open_storage(any_url)
    try:
        items = sa.table("pypet_run_items", sa.column("item"), sa.column("blob"), sa.column("idx"))
        with backend.engine.begin() as connection:
            blob = connection.execute(sa.select(items.c.blob).where(items.c.item == "d", items.c.idx == 3)).scalar_one()
            damaged = bytearray(blob)
            damaged[len(damaged) // 2] ^= 0x10
            connection.execute(items.update().where(items.c.item == "d", items.c.idx == 3).values(blob=bytes(damaged)))
        with pytest.raises(DamagedDataError) as caught:
            backend.load_column("t", "results.d", "d")
        assert mask_url(any_url) in str(caught.value) and "'d'" in str(caught.value)
        with pytest.raises(DamagedDataError, match="results.d"):
            backend.load_run("t", 3)
        assert backend.load_column("t", "results.z", "z")[1] == [0.0, 2.0, 4.0, 6.0, 8.0]
    finally:
        backend.close()


@pytest.mark.parametrize("seed", range(4))
def test_a_damaged_sqlite_file_is_a_prompt_storage_error_or_reads_right(tmp_path: Path, seed: int) -> None:
    path = tmp_path / "damaged.db"
    _explore(f"sqlite:///{path}", runs=40)
    with sqlite3.connect(path) as raw:
        raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = bytearray(path.read_bytes())
    rng = np.random.default_rng(seed)
    middle = int(rng.integers(len(data) // 3, 2 * len(data) // 3))
    data[middle:middle + 512] = rng.bytes(512)
    path.write_bytes(bytes(data))
    started = time.monotonic()
    try:
        traj = load_trajectory(f"sqlite:///{path}")
        values = traj.get_from_runs("d")
        assert [v["label"] for v in values.values()] == [f"point {i}" for i in range(40)]
        assert list(traj.get_from_runs("z").values()) == [2.0 * i for i in range(40)]
    except StorageError as exc:
        assert str(path) in str(exc)
    assert time.monotonic() - started < 30


def test_a_nul_in_a_comment_is_refused_before_anything_is_stored(any_new_url: str) -> None:
    traj = Trajectory("t")
    traj.add_parameter("x", 0.0, comment="before\x00after")
    traj.explore({"x": [1.0, 2.0]})
    with pytest.raises(InvalidCommentError, match="NUL") as caught:
        with Environment(traj, any_new_url, progress=False, log_to_console=False) as env:
            env.run(_job)
    assert "parameters.x" in str(caught.value)
    with get_plugin_host().open_storage(any_new_url) as backend:
        assert backend.list_trajectories() == []


def test_a_nul_reaching_the_backend_directly_is_a_storage_error_not_a_driver_error(any_url: str) -> None:
    with get_plugin_host().open_storage(any_url) as backend:
        backend.create_trajectory(TrajectoryInfo("t", 1.0))
        record = NodeRecord("parameters.x", NodeKind.PARAMETER, "a\x00b", data={"value": 1.0})
        try:
            backend.store_nodes("t", [record])
        except StorageError as exc:
            assert "NUL" in str(exc)
            assert backend.load_nodes("t") == []
        else:
            assert backend.load_nodes("t", with_data=False)[0].comment == "a\x00b"
