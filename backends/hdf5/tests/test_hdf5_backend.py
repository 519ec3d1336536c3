"""HDF5-specific behaviour: the on-disk layout, lazy and partial reads, options, locks, bad files."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from pypet_rebuild.errors import StorageError, StorageLockedError, TrajectoryNotFoundError
from pypet_rebuild.plugins import get_plugin_host
from pypet_rebuild.storage.records import NodeKind, NodeRecord, RunRecord, RunStatus, TrajectoryInfo
from pypet_rebuild_hdf5 import HDF5Backend, open_hdf5


def _runs(indices: range, **extra: object) -> list[RunRecord]:
    return [
        RunRecord(i, RunStatus.COMPLETED, 10.0 + i, 10.5 + i, None, [
            NodeRecord("results.z", NodeKind.RESULT, data={"z": i * 0.5}),
            NodeRecord("results.g.trace", NodeKind.RESULT, data={"trace": np.arange(3.0) + i}),
            *[NodeRecord(f"results.{k}", NodeKind.RESULT, data={k: v}) for k, v in extra.items()],
        ])
        for i in indices
    ]


@pytest.fixture
def path(tmp_path: Path) -> str:
    return str(tmp_path / "store.h5")


@pytest.fixture
def filled(path: str) -> str:
    with open_hdf5(path) as backend:
        backend.create_trajectory(TrajectoryInfo("traj", 1.0))
        backend.store_nodes("traj", [
            NodeRecord("parameters.x", NodeKind.PARAMETER, "the x", data={"value": 1.5}, explored=[1.5, 2.5, 3.5]),
            NodeRecord("results.big", NodeKind.RESULT, data={"big": np.arange(1000.0).reshape(100, 10)}),
        ])
        backend.store_runs("traj", _runs(range(0, 3)))
        backend.store_runs("traj", _runs(range(3, 6)))
    return path


def test_url_forms_and_suffixes_open_the_backend(tmp_path: Path) -> None:
    host = get_plugin_host()
    absolute = tmp_path / "a.h5"
    assert isinstance(host.open_storage(f"hdf5://{absolute}"), HDF5Backend)
    assert host.open_storage(f"hdf5://{absolute}").path == str(absolute)
    assert host.open_storage(str(tmp_path / "b.hdf5")).path == str(tmp_path / "b.hdf5")
    relative = host.open_storage("hdf5://relative/c.h5")
    assert relative.path == os.path.abspath("relative/c.h5")


def test_columns_are_plain_datasets_for_h5py_and_pytables(filled: str) -> None:
    with h5py.File(filled, "r") as h5:
        column = h5["traj/_runs/columns/results.z/z"]
        assert column["values"].shape == (6,) and column["values"].chunks is not None
        assert column["values"].maxshape == (None,)
        assert column["run_index"][()].tolist() == list(range(6))
        assert h5["traj/_runs/columns/results.g.trace/trace/values"].shape == (6, 3)
        status = h5["traj/_runs/status"][()]
        assert status["idx"].tolist() == list(range(6)) and set(status["status"].tolist()) == {1}
        assert h5["traj/parameters/x/value"][()] == 1.5
        assert h5["traj/parameters/x/_range"][()].tolist() == [1.5, 2.5, 3.5]
        assert h5["traj/results/big/big"].shape == (100, 10)
    tables = pytest.importorskip("tables")
    with tables.open_file(filled) as h5:
        assert h5.get_node("/traj/_runs/columns/results.z/z/values").read().tolist() == [i * 0.5 for i in range(6)]
        assert h5.get_node("/traj/_runs/status").read()["finished"].tolist() == [10.5 + i for i in range(6)]


def test_a_batch_appends_rows_not_nodes(path: str) -> None:
    with open_hdf5(path) as backend:
        backend.create_trajectory(TrajectoryInfo("traj", 1.0))
        backend.store_runs("traj", _runs(range(0, 500)))
        backend.store_runs("traj", _runs(range(500, 1000)))
    with h5py.File(path, "r") as h5:
        runs = h5["traj/_runs"]
        objects: list[str] = []
        runs.visit(objects.append)
        assert len(objects) < 20  # status, errors-free, two columns: a fixed handful, not one per run
        assert runs["columns/results.z/z/values"].shape == (1000,)


def test_skeleton_reads_no_item_data_and_items_read_selectively(filled: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from pypet_rebuild_hdf5 import _nodes

    read: list[str] = []
    original = _nodes.read_item
    monkeypatch.setattr(_nodes, "read_item", lambda dataset, tag: read.append(dataset.name) or original(dataset, tag))
    with open_hdf5(filled) as backend:
        skeleton = {r.path: r for r in backend.load_nodes("traj", with_data=False)}
        assert skeleton["results.big"].data is None and read == []
        assert skeleton["parameters.x"].explored == [1.5, 2.5, 3.5]
        assert backend.load_items("traj", "parameters.x", ["value"]) == {"value": 1.5}
        assert read == ["/traj/parameters/x/value"]


def test_array_slices_read_only_what_is_asked(filled: str) -> None:
    with open_hdf5(filled) as backend:
        part = backend.load_array_slice("traj", "results.big", "big", (slice(10, 12), 3))
        assert part.tolist() == [103.0, 113.0]
        row = backend.load_array_slice("traj", "results.runs.run_00000004.g.trace", "trace", slice(1, None))
        assert row.tolist() == [5.0, 6.0]
        with pytest.raises(StorageError, match="run 9"):
            backend.load_array_slice("traj", "results.runs.run_00000009.g.trace", "trace", 0)


def test_load_run_and_columns_with_mixed_values(path: str) -> None:
    with open_hdf5(path) as backend:
        backend.create_trajectory(TrajectoryInfo("traj", 1.0))
        backend.store_runs("traj", _runs(range(3), odd=np.arange(2)))
        backend.store_runs("traj", _runs(range(3, 5), odd="a string"))
        indices, values = backend.load_column("traj", "results.odd", "odd")
        assert indices.tolist() == [0, 1, 2, 3, 4] and values[4] == "a string"
        assert isinstance(values[0], np.ndarray)
        (record,) = [r for r in backend.load_run("traj", 3) if r.path == "results.odd"]
        assert record.data == {"odd": "a string"}
        skeleton = backend.load_run("traj", 3, with_data=False)
        assert [r.path for r in skeleton] == ["results.g.trace", "results.odd", "results.z"]
        assert all(r.data is None for r in skeleton)
        assert backend.load_run("traj", 99) == []


def test_compression_options_apply_to_arrays_and_columns(path: str) -> None:
    with open_hdf5(path, complevel=5, complib="zlib", shuffle=True, fletcher32=True, title="my runs") as backend:
        backend.create_trajectory(TrajectoryInfo("traj", 1.0))
        backend.store_nodes("traj", [NodeRecord("results.zeros", NodeKind.RESULT, data={"zeros": np.zeros(100_000)})])
        backend.store_runs("traj", _runs(range(4)))
        assert backend.load_items("traj", "results.zeros")["zeros"].sum() == 0.0
    with h5py.File(path, "r") as h5:
        assert h5.attrs["title"] == "my runs"
        stored = h5["traj/results/zeros/zeros"]
        assert (stored.compression, stored.compression_opts, stored.shuffle, stored.fletcher32) == ("gzip", 5, True, True)
        assert stored.id.get_storage_size() < 100_000
        assert h5["traj/_runs/columns/results.z/z/values"].compression == "gzip"
    with open_hdf5(str(Path(path).with_name("lzf.h5")), complevel=1, complib="lzf") as backend:
        backend.create_trajectory(TrajectoryInfo("t", 1.0))
        backend.store_runs("t", _runs(range(2)))
        assert backend.load_column("t", "results.z", "z")[1] == [0.0, 0.5]


@pytest.mark.parametrize("options, message", [
    ({"complevel": 12}, "complevel"),
    ({"complib": "nonsense", "complevel": 1}, "complib"),
    ({"durability": "sometimes"}, "durability"),
    ({"speed": "max"}, "unknown option"),
])
def test_bad_options_are_named(path: str, options: dict, message: str) -> None:
    with pytest.raises(StorageError, match=message):
        open_hdf5(path, **options)


def test_several_trajectories_share_a_file(path: str) -> None:
    with open_hdf5(path) as backend:
        for name, created in (("late", 20.0), ("early", 10.0)):
            backend.create_trajectory(TrajectoryInfo(name, created, metadata={"n": name}))
            backend.store_runs(name, _runs(range(2)))
        backend.delete_trajectory("late")
        backend.create_trajectory(TrajectoryInfo("later", 30.0))
    with open_hdf5(path) as backend:
        assert [i.name for i in backend.list_trajectories()] == ["early", "later"]
        assert backend.load_info("early").metadata == {"n": "early"}
        assert backend.load_run_infos("later") == []


def test_bad_files_are_named(tmp_path: Path) -> None:
    text = tmp_path / "notes.h5"
    text.write_text("not an hdf5 file at all\n" * 10)
    with pytest.raises(StorageError, match="notes.h5"):
        open_hdf5(str(text)).list_trajectories()
    with pytest.raises(StorageError, match="notes.h5"):
        open_hdf5(str(text)).create_trajectory(TrajectoryInfo("t", 1.0))
    assert text.read_text().startswith("not an hdf5 file")  # refused, never overwritten
    good = tmp_path / "good.h5"
    with open_hdf5(str(good)) as backend:
        backend.create_trajectory(TrajectoryInfo("t", 1.0))
        backend.store_nodes("t", [NodeRecord("results.a", NodeKind.RESULT, data={"a": np.zeros(5000)})])
    truncated = tmp_path / "truncated.h5"
    truncated.write_bytes(good.read_bytes()[:2000])
    with pytest.raises(StorageError, match="truncated.h5"):
        open_hdf5(str(truncated)).load_nodes("t")
    with pytest.raises(TrajectoryNotFoundError, match="good.h5"):
        open_hdf5(str(good)).load_info("missing")
    (tmp_path / "a_file").write_text("not a folder")
    with pytest.raises(StorageError, match="folder"):
        open_hdf5(str(tmp_path / "a_file" / "dir.h5")).create_trajectory(TrajectoryInfo("t", 1.0))
    created = open_hdf5(str(tmp_path / "new" / "folders" / "fine.h5"))
    created.create_trajectory(TrajectoryInfo("t", 1.0))
    assert [i.name for i in created.list_trajectories()] == ["t"]
    created.close()


def test_a_second_writer_is_refused_while_readers_go_on(filled: str) -> None:
    writer = open_hdf5(filled)
    writer.store_runs("traj", _runs(range(6, 8)))
    other = open_hdf5(filled)
    with pytest.raises(StorageLockedError, match="open for writing"):
        other.store_runs("traj", _runs(range(8, 9)))
    reader = open_hdf5(filled)
    assert len(reader.load_run_infos("traj")) == 8  # sees every committed batch
    writer.store_runs("traj", _runs(range(8, 10)))
    assert len(reader.load_run_infos("traj")) == 10  # and the next one, without reopening
    writer.close()
    other.store_runs("traj", _runs(range(10, 11)))  # free again once the writer closed
    other.close()
    assert len(reader.load_run_infos("traj")) == 11


def test_a_lock_left_by_a_killed_process_does_not_block(filled: str) -> None:
    ready_read, ready_write = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            backend = open_hdf5(filled)
            backend.store_runs("traj", _runs(range(6, 7)))
            os.write(ready_write, b"locked")
            time.sleep(60)
        finally:
            os._exit(0)
    assert os.read(ready_read, 6) == b"locked"
    with pytest.raises(StorageLockedError, match=f"process {pid}"):
        open_hdf5(filled).store_runs("traj", _runs(range(7, 8)))
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    with open_hdf5(filled) as backend:
        backend.store_runs("traj", _runs(range(7, 8)))
        assert [r.idx for r in backend.load_run_infos("traj")] == list(range(8))


@pytest.mark.parametrize("pages_written", [0, 1, 3])
def test_a_writer_killed_inside_a_commit_is_rolled_back(filled: str, pages_written: int) -> None:
    """Kill exactly while committed pages are being overwritten: the worst moment."""
    pid = os.fork()
    if pid == 0:
        try:
            from pypet_rebuild_hdf5 import _journal

            backend = open_hdf5(filled, durability="process")
            backend.store_runs("traj", _runs(range(6, 8)))  # committed
            journaled = backend._files._journaled
            calls = {"n": 0, "committing": False}
            original_write, original_commit = _journal._pwrite_all, journaled.commit

            def dying(fd: int, data: object, offset: int) -> None:
                if calls["committing"] and fd != backend._files._journal_fd:  # a committed page
                    if calls["n"] == pages_written:
                        os.kill(os.getpid(), signal.SIGKILL)
                    calls["n"] += 1
                original_write(fd, data, offset)

            def commit() -> None:
                calls["committing"] = True
                original_commit()

            _journal._pwrite_all = dying
            journaled.commit = commit
            backend.store_runs("traj", _runs(range(8, 12), extra=np.ones(3)))
        finally:
            os._exit(3)
    _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status)
    with open_hdf5(filled) as backend:
        assert [r.idx for r in backend.load_run_infos("traj")] == list(range(8))
        assert "results.extra" not in backend.list_run_paths("traj")
    with h5py.File(filled, "r") as h5:  # repaired: plain HDF5 tools read it again
        assert h5["traj/_runs/status"].shape == (8,)


def test_a_reader_in_another_process_sees_only_whole_batches(filled: str) -> None:
    """While a child commits batch after batch, every read here is one consistent state."""
    pid = os.fork()
    if pid == 0:
        try:
            with open_hdf5(filled, durability="process") as backend:
                for start in range(6, 606, 20):
                    backend.store_runs("traj", _runs(range(start, start + 20)))
        finally:
            os._exit(0)
    seen: set[int] = set()
    reader = open_hdf5(filled)
    while True:
        done = os.waitpid(pid, os.WNOHANG)[0] == pid
        count = len(reader.load_run_infos("traj"))
        indices, values = reader.load_column_array("traj", "results.z", "z")
        assert count % 20 == 6 % 20 and len(indices) >= count  # whole batches only
        assert np.array_equal(values, indices * 0.5)
        seen.add(count)
        if done:
            break
    assert count == 606 and len(seen) > 2  # it saw the file grow, batch by batch
