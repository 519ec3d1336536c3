"""The reader's promises beyond equality with pypet: trust, read-only, recognition, the CLI."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest
from conftest import PYPET_VERSION
from our_dump import our_dump

import pypet_rebuild
from pypet_rebuild.cli import main
from pypet_rebuild.errors import StorageError, TrajectoryNotFoundError, UnsafeValueError
from pypet_rebuild.storage.records import NodeRecord, NodeKind
from pypet_rebuild.values import PickledValue
from pypet_rebuild_compat import PypetFileBackend, import_pypet

# Files from one pypet version are enough here; test_differential covers the others.
one_pypet = pytest.mark.parametrize("pypet", [PYPET_VERSION], indirect=True, ids=[f"pypet-{PYPET_VERSION}"])


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@one_pypet
def test_pickled_leaves_and_objects_are_refused_without_allow_pickle(pypet_files: Path) -> None:
    path = pypet_files / "pickled.hdf5"
    with pytest.raises(UnsafeValueError, match=r"parameters\.obj"):
        pypet_rebuild.load_trajectory(path, "pickled")  # an explored PickleParameter: no range without unpickling
    with PypetFileBackend(str(path)) as reader:
        blob = reader.load_items("pickled", "results.blob")
        assert {type(v) for v in blob.values()} == {PickledValue}
        frame = reader.load_items("pickled", "results.frame")["frame"]  # text column: plain data, no code
        assert frame["word"].tolist() == ["x", "yy"]
        with pytest.raises(UnsafeValueError, match=r"datetime\.date"):
            reader.load_nodes("dated", prefix="parameters.day", with_data=False)


@one_pypet
def test_writes_are_refused_and_leave_the_file_unchanged(pypet_files: Path) -> None:
    path = pypet_files / "kinds.hdf5"
    before = _digest(path)
    with PypetFileBackend(str(path)) as reader:
        record = NodeRecord("results.extra", NodeKind.RESULT, data={"x": 1})
        for attempt in (
            lambda: reader.store_nodes("kinds", [record]),
            lambda: reader.remove_nodes("kinds", ["parameters"]),
            lambda: reader.delete_trajectory("kinds"),
            lambda: reader.update_metadata("kinds", {"a": 1}),
        ):
            with pytest.raises(StorageError, match="import-pypet"):
                attempt()
    traj = pypet_rebuild.load_trajectory(path)
    with pytest.raises(StorageError, match="read-only"):
        traj.store()
    assert _digest(path) == before


@one_pypet
def test_pypet_files_are_recognised_by_content_and_ours_stay_ours(pypet_files: Path, tmp_path: Path) -> None:
    host = pypet_rebuild.get_plugin_host()
    for suffix in (".h5", ".dat"):
        renamed = tmp_path / f"old{suffix}"
        shutil.copy(pypet_files / "kinds.hdf5", renamed)
        with host.open_storage(renamed) as backend:
            assert isinstance(backend, PypetFileBackend)
    ours = tmp_path / "ours.h5"
    import_pypet(pypet_files / "two.hdf5", ours)
    with host.open_storage(ours) as backend:
        assert not isinstance(backend, PypetFileBackend)
        assert [i.name for i in backend.list_trajectories()] == ["first", "second"]


def test_a_file_neither_ours_nor_pypets_says_what_it_is_not(tmp_path: Path) -> None:
    path = tmp_path / "other.h5"
    with h5py.File(path, "w") as h5:
        h5["signal"] = np.arange(4)
    with pytest.raises(TrajectoryNotFoundError, match="neither by pypet-rebuild .* nor by pypet") as caught:
        pypet_rebuild.load_trajectory(path)
    assert "['signal']" in str(caught.value)
    with pytest.raises(StorageError, match="not a file written by pypet"):
        PypetFileBackend(str(path))


@one_pypet
def test_results_load_lazily(pypet_files: Path) -> None:
    traj = pypet_rebuild.load_trajectory(pypet_files / "kinds.hdf5")
    summary = traj.get("results.summary")
    assert "(not loaded)" in repr(summary.get("series"))
    assert summary.series.tolist() == [1.0, 2.0, 3.0]


@one_pypet
def test_cli_lists_a_pypet_file(pypet_files: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list", str(pypet_files / "two.hdf5")]) == 0
    out = capsys.readouterr().out
    assert "first  (2 of 2 stored runs completed) trajectory first" in out
    assert "second  (2 of 2 stored runs completed) trajectory second" in out


@one_pypet
@pytest.mark.parametrize("destination", ["imported.h5", "sqlite:///{tmp}/imported.db"])
def test_import_pypet_converts_to_our_backends(pypet_files: Path, tmp_path: Path, destination: str) -> None:
    source = pypet_files / "kinds.hdf5"
    target = destination.format(tmp=tmp_path) if "://" in destination else str(tmp_path / destination)
    assert main(["import-pypet", str(source), target]) == 0
    assert our_dump(pypet_rebuild.load_trajectory(target)) == our_dump(pypet_rebuild.load_trajectory(source))


@one_pypet
def test_import_pypet_needs_allow_pickle_for_pickled_parameters(
    pypet_files: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source, target = pypet_files / "pickled.hdf5", str(tmp_path / "imported.h5")
    assert main(["import-pypet", str(source), target, "--name", "pickled"]) == 2
    assert "allow_pickle" in capsys.readouterr().err
    assert main(["import-pypet", str(source), target, "--name", "pickled", "--allow-pickle", "--overwrite"]) == 0
    imported = pypet_rebuild.load_trajectory(target, allow_pickle=True)
    assert imported.results.blob.get("thing") == {"set": {1, 2}}
    assert our_dump(imported) == our_dump(pypet_rebuild.load_trajectory(source, "pickled", allow_pickle=True))
    # A date annotation loads (allowed), but no storage here holds dates in annotations.
    assert main(["import-pypet", str(source), target, "--name", "dated", "--allow-pickle"]) == 2
    assert "datetime.date" in capsys.readouterr().err
