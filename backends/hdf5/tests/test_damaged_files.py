"""Planted links, damaged journals and flipped bytes: prompt StorageErrors, nothing clobbered.

Each case is what a shared folder, a full disk or a power loss can leave
beside or inside an HDF5 store; none may hang, crash, return wrong values
silently, or make the writer overwrite a file it was not asked to write.
"""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import textwrap
import time
import warnings
from pathlib import Path

import h5py
import numpy as np
import pytest

from pypet_rebuild.errors import StorageError, StorageWarning
from pypet_rebuild.persistence import load_trajectory
from pypet_rebuild.storage.records import NodeKind, NodeRecord, RunRecord, RunStatus, TrajectoryInfo
from pypet_rebuild_hdf5 import open_hdf5
from pypet_rebuild_hdf5._journal import HEADER_SIZE, JournalHeader, _pack_header

PRECIOUS = b"somebody else's thesis\n"


def _fill(path: str, runs: int = 6) -> None:
    with open_hdf5(path) as backend:
        backend.create_trajectory(TrajectoryInfo("traj", 1.0))
        backend.store_nodes("traj", [
            NodeRecord("parameters.x", NodeKind.PARAMETER, data={"value": 0.0}, explored=[float(i) for i in range(runs)]),
            NodeRecord("results.big", NodeKind.RESULT, data={"big": np.arange(4000.0)}),
        ])
        backend.store_runs("traj", [
            RunRecord(i, RunStatus.COMPLETED, 1.0, 2.0, None, [
                NodeRecord("results.z", NodeKind.RESULT, data={"z": np.full(300, i * 0.5)}),
                NodeRecord("results.s", NodeKind.RESULT, data={"s": {"nested": [i, "x"]}}),
            ])
            for i in range(runs)
        ])


@pytest.fixture
def store(tmp_path: Path) -> str:
    path = str(tmp_path / "store.h5")
    _fill(path)
    return path


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    target = tmp_path / "elsewhere" / "thesis.txt"
    target.parent.mkdir()
    target.write_bytes(PRECIOUS)
    return target


# -- item 7: the lock and the journal never follow links -------------------------------


@pytest.mark.parametrize("sidecar", [".lock", ".journal"])
def test_a_planted_symlink_is_refused_and_its_target_untouched(store: str, victim: Path, sidecar: str) -> None:
    os.symlink(victim, store + sidecar)
    with open_hdf5(store) as backend, pytest.raises(StorageError, match="symbolic link") as caught:
        backend.update_metadata("traj", {"k": 1})
    assert store + sidecar in str(caught.value)
    assert victim.read_bytes() == PRECIOUS


@pytest.mark.parametrize("sidecar", [".lock", ".journal"])
def test_a_planted_hard_link_is_refused_and_its_target_untouched(store: str, victim: Path, sidecar: str) -> None:
    os.link(victim, store + sidecar)
    with open_hdf5(store) as backend, pytest.raises(StorageError, match="hard link"):
        backend.update_metadata("traj", {"k": 1})
    assert victim.read_bytes() == PRECIOUS


def test_a_fifo_as_journal_is_refused_promptly(store: str) -> None:
    os.mkfifo(store + ".journal")
    started = time.monotonic()
    with pytest.raises(StorageError, match="not a plain file"):
        load_trajectory(store)
    assert time.monotonic() - started < 10


# -- item 6: a damaged journal beside a valid store ------------------------------------


def _torn_header() -> bytes:
    return _pack_header(JournalHeader(7, 1234, 1, 42, 99))[: HEADER_SIZE // 2]


DAMAGED_JOURNALS = {
    "zeros": bytes(4096),
    "random": np.random.default_rng(3).bytes(4096),
    "torn": _torn_header(),
    "bad-crc": _pack_header(JournalHeader(7, 1234, 1, 42, 99))[:-1] + b"\x00" + bytes(100),
}


@pytest.mark.parametrize("kind", sorted(DAMAGED_JOURNALS))
def test_a_damaged_journal_is_a_prompt_error_for_readers_and_reset_by_a_writer(store: str, kind: str) -> None:
    Path(store + ".journal").write_bytes(DAMAGED_JOURNALS[kind])
    started = time.monotonic()
    with pytest.raises(StorageError, match="journal") as caught:
        load_trajectory(store)
    assert time.monotonic() - started < 10, "a damaged journal must not make readers wait"
    assert store + ".journal" in str(caught.value) and "delete" in str(caught.value)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        with open_hdf5(store) as backend:
            backend.update_metadata("traj", {"repaired": True})
    assert any(issubclass(w.category, StorageWarning) and "journal" in str(w.message) for w in seen)
    traj = load_trajectory(store)
    assert traj.metadata["repaired"] is True
    assert np.array_equal(traj.results.big, np.arange(4000.0))


# -- item 6: bytes flipped in the middle of the file -----------------------------------

_FLIP_SCRIPT = textwrap.dedent("""
    import sys
    import numpy as np
    from pypet_rebuild.errors import StorageError
    from pypet_rebuild.persistence import load_trajectory
    from pypet_rebuild_hdf5 import open_hdf5

    path = sys.argv[1]
    try:
        traj = load_trajectory(path)
        assert np.array_equal(traj.results.big, np.arange(4000.0)), "wrong values for results.big"
        with open_hdf5(path) as backend:
            for info in backend.load_run_infos("traj"):
                assert info.status.value == "completed", info
            idx, z = backend.load_column_array("traj", "results.z", "z")
            assert np.array_equal(z, np.repeat(idx[:, None] * 0.5, 300, axis=1)), "wrong values for z"
            idx, s = backend.load_column("traj", "results.s", "s")
            assert s == [{"nested": [i, "x"]} for i in idx.tolist()], "wrong values for s"
        print("INTACT")
    except StorageError as exc:
        assert path in str(exc), exc
        print("STORAGEERROR", exc)
""")


@pytest.mark.parametrize("seed", range(6))
def test_bytes_flipped_mid_file_give_a_storage_error_or_the_right_values(store: str, seed: int) -> None:
    data = bytearray(Path(store).read_bytes())
    rng = np.random.default_rng(seed)
    middle = int(rng.integers(len(data) // 3, 2 * len(data) // 3))
    data[middle:middle + 64] = rng.bytes(64)
    Path(store).write_bytes(bytes(data))
    done = subprocess.run([sys.executable, "-c", _FLIP_SCRIPT, store], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.startswith(("INTACT", "STORAGEERROR")), done.stdout


# -- item 5: damage to stored values is detected by default -----------------------------


def _flip_inside(path: str, dataset: str) -> None:
    with h5py.File(path, "r") as h5:
        offset = h5[dataset].id.get_chunk_info(0).byte_offset
    with open(path, "r+b") as raw:
        raw.seek(offset + 17)
        byte = raw.read(1)
        raw.seek(offset + 17)
        raw.write(struct.pack("B", byte[0] ^ 0x20))


def test_a_flipped_byte_in_a_run_column_is_a_storage_error_naming_file_and_item(store: str) -> None:
    _flip_inside(store, "traj/_runs/columns/results.z/z/values")
    with open_hdf5(store) as backend, pytest.raises(StorageError) as caught:
        backend.load_column_array("traj", "results.z", "z")
    assert store in str(caught.value) and "'z'" in str(caught.value)


def test_a_flipped_byte_in_a_stored_array_is_a_storage_error(store: str) -> None:
    _flip_inside(store, "traj/results/big/big")
    with pytest.raises(StorageError) as caught:
        load_trajectory(store).results.big  # noqa: B018 (the access loads it)
    assert store in str(caught.value) and "results.big" in str(caught.value)


def test_checksums_can_be_switched_off_for_speed(tmp_path: Path) -> None:
    path = str(tmp_path / "fast.h5")
    with open_hdf5(path, fletcher32=False) as backend:
        backend.create_trajectory(TrajectoryInfo("traj", 1.0))
        backend.store_nodes("traj", [NodeRecord("results.big", NodeKind.RESULT, data={"big": np.arange(10.0)})])
    with h5py.File(path, "r") as h5:
        assert not h5["traj/results/big/big"].fletcher32
