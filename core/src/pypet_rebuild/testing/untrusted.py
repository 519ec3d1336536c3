"""Conformance for untrusted stored data: a crafted store runs no code.

Each backend's tests subclass :class:`UntrustedDataConformance`, provide the
``storage_url`` fixture and implement :meth:`UntrustedDataConformance.plant`,
which overwrites one stored value of the trajectory the suite wrote with a
pickle, using the backend's raw driver (h5py, sqlite3/SQLAlchemy, pymongo)
as an attacker would. The pickle, once loaded, writes a marker file and
nothing else. The suite asserts that no reading path runs it unless the
reader allowed it, and that the error says what happened.
"""

from __future__ import annotations

import pickle
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any, ClassVar

import pytest

from pypet_rebuild.environment import Environment
from pypet_rebuild.errors import StorageError, UnsafeValueError
from pypet_rebuild.persistence import LoadLevel, load_trajectory
from pypet_rebuild.plugins import get_plugin_host
from pypet_rebuild.storage.records import NodeKind, NodeRecord, RunRecord, RunStatus, TrajectoryInfo
from pypet_rebuild.trajectory import Trajectory
from pypet_rebuild.transfer import copy_trajectory
from pypet_rebuild.values import pack

__all__ = ["Planted", "UntrustedDataConformance", "PLACES", "TRAJECTORY", "HOSTILE_STRINGS", "INJECTION"]

TRAJECTORY = "t"
RAN = "the pickle ran"
# Where stored data holds values, and what the suite's trajectory keeps there:
PLACES = {
    "metadata": "a new entry 'planted' of the trajectory's metadata",
    "parameter": "the value of parameters.y (2.0, not explored)",
    "explored": "the explored range of parameters.x ([1, 2, 3])",
    "annotations": "annotation 'a' of results.r ('plain')",
    "result": "item 'r' of result results.r (1.0; the result also holds other=2)",
    "run_value": "item 'z' of the per-run result results.z of run 1 (2.0; runs 0 and 2 hold 1.0 and 3.0)",
}
INJECTION = "x'; DROP TABLE pypet_nodes; --"
# Text that breaks naive SQL, Mongo queries, dotted paths and C strings.
HOSTILE_STRINGS = (
    INJECTION,
    'say "hi"; DELETE FROM pypet_trajectories WHERE 1=1',
    "$where: function() { return true }",
    "a.b.c",
    "nul\x00inside",
    "back\\slash % _ *",
    "ünïcødé ✓",
)
# Mapping keys: Mongo operators and dotted keys must come back as keys.
HOSTILE_KEYS = ("$set", "a.b", "x'; --", "$")
NEVER_PICKLED = ("metadata", "parameter", "explored", "annotations")
MAY_BE_PICKLED = ("result", "run_value")


def leave_marker(path: str) -> str:
    """What the planted pickle calls when loaded: harmless, but visible."""
    Path(path).write_text(RAN)
    return RAN


class _Bomb:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return leave_marker, (self.marker,)


class Planted:
    """The hostile value in each form a backend stores values in."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker
        self.bomb = _Bomb(str(marker))

    @property
    def pickle_bytes(self) -> bytes:
        return pickle.dumps(self.bomb, protocol=pickle.HIGHEST_PROTOCOL)

    @property
    def tree(self) -> dict[str, Any]:
        """The codec's pickle node in plain JSON (payload as a list of byte values)."""
        return {"t": "pickle", "v": list(self.pickle_bytes)}

    def blob(self, value: Any = None) -> bytes:
        """A ``values.pack`` blob of ``value`` (default: the bomb itself) with the bomb inside."""
        return pack(self.bomb if value is None else value, allow_pickle=True)


def _job(traj: Trajectory) -> None:
    traj.add_result("z", float(traj.x))


def _touch(traj: Trajectory, place: str) -> Any:
    if place == "result":
        return traj.results.r.r
    return traj.results.runs.run_00000001.z


class UntrustedDataConformance:
    """Subclass, provide ``storage_url`` and implement :meth:`plant`."""

    # Places the backend keeps as plain JSON that never goes through the
    # codec: a planted pickle node there is inert data, read back as a dict.
    inert_places: ClassVar[frozenset[str]] = frozenset()
    # False for stores that live inside the test process (memory, mongomock),
    # which the command line, started as another process, cannot open.
    shared_between_processes: ClassVar[bool] = True

    @pytest.fixture
    def storage_url(self, tmp_path: Any) -> str:
        raise NotImplementedError("subclasses provide a fresh storage URL per test")

    def plant(self, url: str, place: str, planted: Planted) -> None:
        """Overwrite the value at ``place`` (a key of ``PLACES``) of trajectory
        ``TRAJECTORY`` in the store at ``url`` with ``planted``, through the
        backend's raw driver, never through pypet-rebuild's writing code."""
        raise NotImplementedError("backends implement plant() with their raw driver")

    @pytest.fixture
    def written(self, storage_url: str) -> str:
        traj = Trajectory(TRAJECTORY)
        traj.add_parameter("x", 1)
        traj.add_parameter("y", 2.0)
        traj.explore({"x": [1, 2, 3]})
        traj.add_result("r", r=1.0, other=2).annotations["a"] = "plain"
        env = Environment(traj, storage_url, log_to_console=False, progress=False)
        env.run(_job)
        env.close()
        return storage_url

    @pytest.fixture
    def planted(self, tmp_path: Path) -> Planted:
        return Planted(tmp_path / f"pickle-ran-{uuid.uuid4().hex[:8]}")

    # -- places that never hold pickles -----------------------------------------------------

    @pytest.mark.parametrize("place", NEVER_PICKLED)
    @pytest.mark.parametrize("allow_pickle", [False, True])
    def test_a_pickle_where_none_belongs_is_refused(
        self, written: str, planted: Planted, place: str, allow_pickle: bool
    ) -> None:
        self.plant(written, place, planted)
        if place in self.inert_places:
            traj = load_trajectory(written, allow_pickle=allow_pickle)
            assert traj.metadata["planted"] == planted.tree
        else:
            with pytest.raises(UnsafeValueError, match="(?s)holds a pickle.*refused even with allow_pickle"):
                load_trajectory(written, allow_pickle=allow_pickle, load_results=LoadLevel.SKELETON)
        assert not planted.marker.exists()

    @pytest.mark.parametrize("place", NEVER_PICKLED)
    def test_copying_such_a_store_is_refused(self, written: str, planted: Planted, place: str) -> None:
        self.plant(written, place, planted)
        target = f"memory://{uuid.uuid4().hex}"
        if place in self.inert_places:
            copy_trajectory(written, target)
        else:
            with pytest.raises(UnsafeValueError):
                copy_trajectory(written, target)
        assert not planted.marker.exists()

    def test_listing_a_crafted_store_runs_nothing(self, written: str, planted: Planted) -> None:
        if not self.shared_between_processes:
            pytest.skip("the command line runs in another process, which cannot open this in-process store")
        self.plant(written, "metadata", planted)
        done = subprocess.run(
            [sys.executable, "-m", "pypet_rebuild", "list", written], capture_output=True, text=True, timeout=120
        )
        assert not planted.marker.exists()
        if "metadata" in self.inert_places:
            assert done.returncode == 0 and TRAJECTORY in done.stdout
        else:
            assert done.returncode == 2 and "holds a pickle" in done.stderr, done.stderr

    # -- places a user may have pickled into --------------------------------------------------

    @pytest.mark.parametrize("place", MAY_BE_PICKLED)
    def test_a_pickled_value_waits_for_the_readers_permission(
        self, written: str, planted: Planted, place: str
    ) -> None:
        self.plant(written, place, planted)
        traj = load_trajectory(written)
        with pytest.raises(UnsafeValueError, match="(?s)pickled value.*runs code.*allow_pickle=True"):
            _touch(traj, place)
        if place == "result":
            assert traj.results.r.other == 2
        else:
            with pytest.raises(UnsafeValueError):
                traj.get_from_runs("z")
            with pytest.raises(UnsafeValueError):
                traj.get_column("z")
        assert not planted.marker.exists()
        # Proof that the plant is live: the reader's permission runs it.
        assert _touch(load_trajectory(written, allow_pickle=True), place) == RAN
        assert planted.marker.exists()

    @pytest.mark.parametrize("place", MAY_BE_PICKLED)
    def test_load_items_and_columns_decode_on_request(self, written: str, planted: Planted, place: str) -> None:
        self.plant(written, place, planted)
        traj = load_trajectory(written)
        if place == "result":
            traj.load_items("results.r", allow_pickle=True)
            assert traj.results.r.r == RAN
        else:
            assert traj.get_from_runs("z", allow_pickle=True)["run_00000001"] == RAN
        assert planted.marker.exists()

    @pytest.mark.parametrize("place", MAY_BE_PICKLED)
    def test_copying_moves_the_pickle_unopened(self, written: str, planted: Planted, place: str) -> None:
        self.plant(written, place, planted)
        target = f"memory://{uuid.uuid4().hex}"
        copy_trajectory(written, target)
        assert not planted.marker.exists()
        with pytest.raises(UnsafeValueError):
            _touch(load_trajectory(target), place)
        assert _touch(load_trajectory(target, allow_pickle=True), place) == RAN

    # -- hostile names and strings ----------------------------------------------------------

    def test_a_hostile_trajectory_name_round_trips_and_harms_nothing(self, storage_url: str) -> None:
        bystander = TrajectoryInfo("bystander", 1.0, "keep me", {"k": 1})
        kept = NodeRecord("results.kept", NodeKind.RESULT, data={"kept": 1.5})
        with get_plugin_host().open_storage(storage_url) as backend:
            backend.create_trajectory(bystander)
            backend.store_nodes("bystander", [kept])
            backend.create_trajectory(TrajectoryInfo(INJECTION, 2.0, INJECTION, {"query": INJECTION}))
            backend.store_nodes(INJECTION, [NodeRecord("results.r", NodeKind.RESULT, INJECTION, data={"r": INJECTION})])
            backend.store_runs(INJECTION, [RunRecord(0, RunStatus.FAILED, 1.0, 2.0, INJECTION, [])])
        with get_plugin_host().open_storage(storage_url) as backend:
            assert [info.name for info in backend.list_trajectories()] == ["bystander", INJECTION]
            info = backend.load_info(INJECTION)
            assert (info.comment, info.metadata) == (INJECTION, {"query": INJECTION})
            assert backend.load_items(INJECTION, "results.r") == {"r": INJECTION}
            assert backend.load_run_infos(INJECTION)[0].error == INJECTION
            backend.delete_trajectory(INJECTION)
            assert [info.name for info in backend.list_trajectories()] == ["bystander"]
            assert backend.load_nodes("bystander") == [kept]

    def test_hostile_strings_round_trip_in_values_comments_annotations_and_metadata(self, storage_url: str) -> None:
        texts = {f"k{i}": text for i, text in enumerate(HOSTILE_STRINGS)}
        comment = " | ".join(text for text in HOSTILE_STRINGS if "\x00" not in text)
        record = NodeRecord(
            "results.r",
            NodeKind.RESULT,
            comment=comment,
            annotations={**texts, **{text: i for i, text in enumerate(HOSTILE_KEYS)}},
            data={"texts": list(HOSTILE_STRINGS), "nul": "a\x00b", "raw": b"\x00'$.", **texts},
        )
        with get_plugin_host().open_storage(storage_url) as backend:
            backend.create_trajectory(TrajectoryInfo("t", 1.0, comment, dict(texts)))
            backend.store_nodes("t", [record])
            backend.store_runs("t", [RunRecord(0, RunStatus.COMPLETED, 1.0, 2.0, None, [
                NodeRecord("results.s", NodeKind.RESULT, annotations=dict(texts), data={"s": HOSTILE_STRINGS[0]})
            ])])
        with get_plugin_host().open_storage(storage_url) as backend:
            info = backend.load_info("t")
            assert (info.comment, info.metadata) == (comment, texts)
            (loaded,) = backend.load_nodes("t")
            assert (loaded.comment, loaded.annotations, loaded.data) == (record.comment, record.annotations, record.data)
            assert backend.load_column("t", "results.s", "s")[1] == [HOSTILE_STRINGS[0]]
            assert backend.load_run("t", 0)[0].annotations == texts

    def test_a_nul_in_a_comment_round_trips_or_is_refused_cleanly(self, storage_url: str) -> None:
        """Text columns of some databases (PostgreSQL) cannot hold NUL: a clear
        ``StorageError`` then, and the stored data as it was."""
        before = NodeRecord("results.r", NodeKind.RESULT, "clean", data={"r": 1})
        with get_plugin_host().open_storage(storage_url) as backend:
            backend.create_trajectory(TrajectoryInfo("t", 1.0))
            backend.store_nodes("t", [before])
            try:
                backend.store_nodes("t", [NodeRecord("results.r", NodeKind.RESULT, "a\x00b", data={"r": 2})])
            except StorageError as error:
                assert "NUL" in str(error)
                expected = before
            else:
                expected = NodeRecord("results.r", NodeKind.RESULT, "a\x00b", data={"r": 2})
        with get_plugin_host().open_storage(storage_url) as backend:
            assert backend.load_nodes("t") == [expected]
