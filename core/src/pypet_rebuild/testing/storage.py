"""The storage conformance suite: one answer for every backend.

A subclass provides the ``storage_url`` fixture: a fresh, empty location per
test. Everything else (the record-level contract and whole explorations
through an ``Environment``) is checked here, so that HDF5, SQL, Mongo and
memory give the same answers for the same trajectory.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from pypet_rebuild.environment import Environment
from pypet_rebuild.errors import StorageError, TrajectoryNotFoundError
from pypet_rebuild.exploration import cartesian_product
from pypet_rebuild.persistence import LoadLevel, load_trajectory
from pypet_rebuild.plugins import get_plugin_host
from pypet_rebuild.storage.base import Capability, StorageBackend
from pypet_rebuild.storage.records import NodeKind, NodeRecord, RunColumns, RunRecord, RunStatus, TrajectoryInfo
from pypet_rebuild.trajectory import Trajectory
from pypet_rebuild.values import PickledValue, sample_result_values, sample_values, values_equal

__all__ = ["StorageConformance"]

PARAMETER_SAMPLES = sample_values()
RESULT_SAMPLES = sample_result_values()


def _info(name: str = "traj", created: float | None = None) -> TrajectoryInfo:
    return TrajectoryInfo(name, time.time() if created is None else created, "a comment", {"k": [1, 2], "v": "x"})


def _assert_data_equal(expected: dict[str, Any], actual: dict[str, Any] | None) -> None:
    assert actual is not None
    assert sorted(actual) == sorted(expected)
    for key, value in expected.items():
        assert values_equal(value, actual[key]), f"item {key!r}: stored {value!r}, loaded {actual[key]!r}"


def _run(idx: int, nodes: list[NodeRecord], status: RunStatus = RunStatus.COMPLETED) -> RunRecord:
    return RunRecord(idx, status, 1000.0 + idx, 1000.5 + idx, None if status is RunStatus.COMPLETED else "Traceback: boom", nodes)


def _scalar_job(traj: Trajectory) -> float:
    z = traj.x * traj.y
    traj.add_result("z", z, comment="product")
    traj.add_result("arrays.vector", np.full(3, z))
    traj.add_derived_parameter("doubled", 2 * z)
    return z


def _failing_job(traj: Trajectory) -> float:
    if traj.x == 2:
        raise ValueError("x == 2 is not allowed")
    return _scalar_job(traj)


class StorageConformance:
    """Subclass and provide ``storage_url``; every test must pass unchanged."""

    @pytest.fixture
    def storage_url(self, tmp_path: Any) -> str:
        raise NotImplementedError("subclasses provide a fresh storage URL per test")

    @pytest.fixture
    def backend(self, storage_url: str) -> Iterator[StorageBackend]:
        backend = get_plugin_host().open_storage(storage_url)
        yield backend
        backend.close()

    def reopen(self, backend: StorageBackend) -> StorageBackend:
        """Close and open the same location again, as a later script would."""
        backend.close()
        return get_plugin_host().open_storage(backend.url)

    # -- trajectories ----------------------------------------------------------------

    def test_empty_storage_lists_nothing(self, backend: StorageBackend) -> None:
        assert backend.list_trajectories() == []

    def test_trajectories_are_listed_oldest_first(self, backend: StorageBackend) -> None:
        backend.create_trajectory(_info("second", 200.0))
        backend.create_trajectory(_info("first", 100.0))
        assert [i.name for i in backend.list_trajectories()] == ["first", "second"]

    def test_info_round_trips(self, backend: StorageBackend) -> None:
        backend.create_trajectory(_info("traj", 123.5))
        backend.update_metadata("traj", {"v": "y", "extra": {"a": 1.5}})
        info = backend.load_info("traj")
        assert (info.name, info.created, info.comment) == ("traj", 123.5, "a comment")
        assert info.metadata == {"k": [1, 2], "v": "y", "extra": {"a": 1.5}}

    def test_creating_a_duplicate_is_an_error_unless_overwriting(self, backend: StorageBackend) -> None:
        backend.create_trajectory(_info())
        backend.store_nodes("traj", [NodeRecord("results.r", NodeKind.RESULT, data={"r": 1})])
        with pytest.raises(StorageError, match="traj"):
            backend.create_trajectory(_info())
        assert backend.load_items("traj", "results.r") == {"r": 1}
        backend.create_trajectory(_info(), overwrite=True)
        assert backend.load_nodes("traj") == []

    def test_missing_trajectory_is_named(self, backend: StorageBackend) -> None:
        with pytest.raises(TrajectoryNotFoundError, match="nope"):
            backend.load_info("nope")
        with pytest.raises(TrajectoryNotFoundError, match="nope"):
            backend.load_nodes("nope")

    def test_delete_removes_everything(self, backend: StorageBackend) -> None:
        backend.create_trajectory(_info("a"))
        backend.create_trajectory(_info("b"))
        backend.store_runs("a", [_run(0, [NodeRecord("results.z", NodeKind.RESULT, data={"z": 1.0})])])
        backend.delete_trajectory("a")
        assert [i.name for i in backend.list_trajectories()] == ["b"]
        with pytest.raises(TrajectoryNotFoundError):
            backend.load_run_infos("a")

    # -- nodes -----------------------------------------------------------------------

    @pytest.mark.parametrize("key", sorted(RESULT_SAMPLES))
    def test_every_result_value_type_round_trips(self, backend: StorageBackend, key: str) -> None:
        backend.create_trajectory(_info())
        value = RESULT_SAMPLES[key]
        backend.store_nodes("traj", [NodeRecord("results.sample", NodeKind.RESULT, data={"item": value})])
        _assert_data_equal({"item": value}, self.reopen(backend).load_items("traj", "results.sample"))

    @pytest.mark.parametrize("key", sorted(PARAMETER_SAMPLES))
    def test_every_parameter_value_type_round_trips_with_its_range(self, backend: StorageBackend, key: str) -> None:
        backend.create_trajectory(_info())
        value = PARAMETER_SAMPLES[key]
        record = NodeRecord("parameters.p", NodeKind.PARAMETER, data={"value": value}, explored=[value, value])
        backend.store_nodes("traj", [record])
        (loaded,) = backend.load_nodes("traj", prefix="parameters.p")
        _assert_data_equal({"value": value}, loaded.data)
        assert loaded.explored is not None and len(loaded.explored) == 2
        assert all(values_equal(value, v) for v in loaded.explored)

    def test_comments_annotations_groups_and_links(self, backend: StorageBackend) -> None:
        backend.create_trajectory(_info())
        records = [
            NodeRecord("parameters.neuron", NodeKind.GROUP, "the cell", {"unit": "mV", "n": 3}),
            NodeRecord("parameters.neuron.tau", NodeKind.PARAMETER, "membrane", {"source": "x"}, {"value": 10.0}),
            NodeRecord("results.alias", NodeKind.LINK, link_target="parameters.neuron.tau"),
        ]
        backend.store_nodes("traj", records)
        loaded = {r.path: r for r in self.reopen(backend).load_nodes("traj")}
        assert loaded["parameters.neuron"].kind is NodeKind.GROUP
        assert loaded["parameters.neuron"].comment == "the cell"
        assert loaded["parameters.neuron"].annotations == {"unit": "mV", "n": 3}
        assert loaded["parameters.neuron.tau"].comment == "membrane"
        assert loaded["parameters.neuron.tau"].annotations == {"source": "x"}
        assert loaded["results.alias"].kind is NodeKind.LINK
        assert loaded["results.alias"].link_target == "parameters.neuron.tau"

    def test_skeleton_load_has_no_data_and_items_load_selectively(self, backend: StorageBackend) -> None:
        backend.create_trajectory(_info())
        data = {"a": np.arange(10), "b": "text", "c": {"nested": [1, 2]}}
        backend.store_nodes("traj", [NodeRecord("results.big", NodeKind.RESULT, data=data)])
        (skeleton,) = backend.load_nodes("traj", with_data=False)
        assert skeleton.path == "results.big" and skeleton.data is None
        _assert_data_equal({"b": "text"}, backend.load_items("traj", "results.big", ["b"]))
        with pytest.raises(StorageError, match="missing"):
            backend.load_items("traj", "results.big", ["missing"])
        with pytest.raises(StorageError, match="results.nothing"):
            backend.load_items("traj", "results.nothing")

    def test_prefix_selects_a_subtree_parents_first(self, backend: StorageBackend) -> None:
        backend.create_trajectory(_info())
        backend.store_nodes(
            "traj",
            [
                NodeRecord("results.a.b.c", NodeKind.RESULT, data={"c": 1}),
                NodeRecord("results.a", NodeKind.GROUP),
                NodeRecord("results.ab", NodeKind.RESULT, data={"ab": 2}),
                NodeRecord("parameters.p", NodeKind.PARAMETER, data={"value": 1}),
            ],
        )
        paths = [r.path for r in backend.load_nodes("traj", prefix="results.a")]
        assert paths == ["results.a", "results.a.b.c"]

    def test_metadata_only_update_keeps_data_and_replace_replaces(self, backend: StorageBackend) -> None:
        backend.create_trajectory(_info())
        backend.store_nodes("traj", [NodeRecord("results.r", NodeKind.RESULT, data={"x": 1, "y": 2})])
        backend.store_nodes("traj", [NodeRecord("results.r", NodeKind.RESULT, comment="new")])
        (record,) = backend.load_nodes("traj")
        assert record.comment == "new"
        _assert_data_equal({"x": 1, "y": 2}, record.data)
        backend.store_nodes("traj", [NodeRecord("results.r", NodeKind.RESULT, data={"x": 5})])
        assert backend.load_items("traj", "results.r") == {"x": 5}

    def test_remove_nodes_removes_subtrees(self, backend: StorageBackend) -> None:
        backend.create_trajectory(_info())
        backend.store_nodes(
            "traj",
            [
                NodeRecord("results.g.a", NodeKind.RESULT, data={"a": 1}),
                NodeRecord("results.g.b", NodeKind.RESULT, data={"b": 1}),
                NodeRecord("results.keep", NodeKind.RESULT, data={"keep": 1}),
            ],
        )
        backend.remove_nodes("traj", ["results.g", "results.unknown"])
        assert [r.path for r in backend.load_nodes("traj")] == ["results.keep"]

    def test_a_bad_value_stores_nothing(self, backend: StorageBackend) -> None:
        backend.create_trajectory(_info())
        good = NodeRecord("results.good", NodeKind.RESULT, data={"good": 1})
        bad = NodeRecord("results.bad", NodeKind.RESULT, data={"bad": {1, 2}})
        with pytest.raises(Exception):
            backend.store_nodes("traj", [good, bad])
        assert backend.load_nodes("traj") == []

    def test_explicitly_pickled_items_round_trip(self, backend: StorageBackend) -> None:
        backend.create_trajectory(_info())
        record = NodeRecord("results.p", NodeKind.RESULT, data={"s": {1, 2}}, pickled=("s",))
        backend.store_nodes("traj", [record])
        (loaded,) = backend.load_nodes("traj")
        # Backends never unpickle: the item comes back as its bytes, unpickled on request.
        assert isinstance(loaded.data["s"], PickledValue) and loaded.pickled == ("s",)
        assert loaded.data["s"].unpickle() == {1, 2}
        assert backend.load_items("traj", "results.p")["s"].unpickle() == {1, 2}

    # -- runs ----------------------------------------------------------------------------

    def test_run_columns_agree_with_the_run_records(self, backend: StorageBackend) -> None:
        backend.create_trajectory(_info())
        assert len(backend.load_run_columns("traj")) == 0
        z = [NodeRecord("results.z", NodeKind.RESULT, data={"z": 1.0})]
        backend.store_runs("traj", [_run(i, z, RunStatus.FAILED if i % 3 == 0 else RunStatus.COMPLETED)
                                    for i in (4, 0, 2, 3, 1)])
        backend.store_runs("traj", [_run(3, z)])  # a failed run re-run successfully
        backend = self.reopen(backend)
        columns = backend.load_run_columns("traj")
        expected = RunColumns.from_records(backend.load_run_infos("traj"))
        assert columns.idx.tolist() == expected.idx.tolist() == [0, 1, 2, 3, 4]
        assert columns.status.tolist() == expected.status.tolist() == [2, 1, 1, 1, 1]
        assert columns.started.tolist() == expected.started.tolist()
        assert columns.finished.tolist() == expected.finished.tolist()
        assert columns.errors == {0: "Traceback: boom"}

    def test_runs_round_trip_in_batches(self, backend: StorageBackend) -> None:
        backend.create_trajectory(_info())
        for start in (0, 10, 20):
            batch = [
                _run(i, [
                    NodeRecord("results.z", NodeKind.RESULT, data={"z": float(i)}),
                    NodeRecord("results.g.vec", NodeKind.RESULT, data={"vec": np.arange(4) * i}),
                    NodeRecord("derived_parameters.d", NodeKind.PARAMETER, data={"value": i}),
                ])
                for i in range(start, start + 10)
            ]
            backend.store_runs("traj", batch)
        backend = self.reopen(backend)
        infos = backend.load_run_infos("traj")
        assert [r.idx for r in infos] == list(range(30))
        assert all(r.status is RunStatus.COMPLETED and r.nodes == [] for r in infos)
        assert infos[7].started == 1007.0 and infos[7].finished == 1007.5
        assert backend.list_run_paths("traj") == ["derived_parameters.d", "results.g.vec", "results.z"]
        indices, values = backend.load_column("traj", "results.z", "z")
        assert list(indices) == list(range(30)) and values == [float(i) for i in range(30)]
        indices, stacked = backend.load_column_array("traj", "results.g.vec", "vec")
        assert stacked.shape == (30, 4) and values_equal(stacked[5], np.arange(4) * 5)
        nodes = {r.path: r for r in backend.load_run("traj", 12)}
        _assert_data_equal({"vec": np.arange(4) * 12}, nodes["results.g.vec"].data)
        _assert_data_equal({"value": 12}, nodes["derived_parameters.d"].data)

    def test_run_values_that_cannot_be_stacked(self, backend: StorageBackend) -> None:
        backend.create_trajectory(_info())
        values = [np.arange(3), "text", {"a": 1}, RESULT_SAMPLES.get("dataframe_mixed", [1, 2])]
        backend.store_runs("traj", [
            _run(i, [NodeRecord("results.odd", NodeKind.RESULT, data={"odd": v})]) for i, v in enumerate(values)
        ])
        indices, loaded = self.reopen(backend).load_column("traj", "results.odd", "odd")
        assert list(indices) == [0, 1, 2, 3]
        assert len(loaded) == 4 and all(values_equal(a, b) for a, b in zip(values, loaded))

    def test_every_value_type_in_runs(self, backend: StorageBackend) -> None:
        backend.create_trajectory(_info())
        samples = sorted(RESULT_SAMPLES.items())
        backend.store_runs("traj", [
            _run(i, [NodeRecord(f"results.{key}", NodeKind.RESULT, data={"v": value})])
            for i, (key, value) in enumerate(samples)
        ])
        backend = self.reopen(backend)
        for i, (key, value) in enumerate(samples):
            (record,) = backend.load_run("traj", i)
            _assert_data_equal({"v": value}, record.data)

    def test_columns_skip_runs_without_the_item_and_failed_runs_can_be_replaced(self, backend: StorageBackend) -> None:
        backend.create_trajectory(_info())
        backend.store_runs("traj", [
            _run(0, [NodeRecord("results.z", NodeKind.RESULT, data={"z": 0.5})]),
            _run(1, [], RunStatus.FAILED),
            _run(2, [NodeRecord("results.z", NodeKind.RESULT, data={"z": 2.5})]),
        ])
        infos = backend.load_run_infos("traj")
        assert infos[1].status is RunStatus.FAILED and "boom" in (infos[1].error or "")
        indices, values = backend.load_column("traj", "results.z", "z")
        assert list(indices) == [0, 2] and values == [0.5, 2.5]
        backend.store_runs("traj", [_run(1, [NodeRecord("results.z", NodeKind.RESULT, data={"z": 1.5})])])
        infos = self.reopen(backend).load_run_infos("traj")
        assert [r.status for r in infos] == [RunStatus.COMPLETED] * 3
        assert len(infos) == 3

    def test_capabilities_are_known_names(self, backend: StorageBackend) -> None:
        known = {Capability.COLUMNAR, Capability.PERSISTENT, Capability.CONCURRENT_WRITERS, Capability.TRANSACTIONS}
        assert set(type(backend).capabilities) <= known

    # -- whole explorations --------------------------------------------------------------

    def _explored(self, name: str = "exploration") -> Trajectory:
        traj = Trajectory(name, comment="conformance")
        traj.add_parameter("x", 1, comment="first factor")
        traj.add_parameter("factors.y", 1.0)
        traj.add_config("seed", 42)
        traj.explore(cartesian_product({"x": [1, 2, 3], "y": [0.5, 1.5]}))
        return traj

    def _env(self, traj: Trajectory | str, storage_url: str, **kwargs: Any) -> Environment:
        return Environment(traj, storage_url, log_to_console=False, progress=False, **kwargs)

    def test_exploration_stores_and_loads_back(self, storage_url: str) -> None:
        with self._env(self._explored(), storage_url) as env:
            returned = env.run(_scalar_job)
        assert returned == [(i, x * y) for i, (x, y) in enumerate(
            [(1, 0.5), (1, 1.5), (2, 0.5), (2, 1.5), (3, 0.5), (3, 1.5)])]
        traj = load_trajectory(storage_url)
        assert traj.name == "exploration" and len(traj) == 6 and traj.comment == "conformance"
        assert traj.parameters.x == 1 and traj.get("x").range == [1, 1, 2, 2, 3, 3]
        assert traj.config.seed == 42
        assert traj.get("x").comment == "first factor"
        assert traj.get_from_runs("z") == {f"run_{i:08d}": v for i, v in returned}
        indices, column = traj.get_column("z")
        assert list(indices) == list(range(6)) and column.tolist() == [v for _, v in returned]
        assert traj.results.runs.run_00000003.z == 3.0
        assert values_equal(traj.results.runs.run_00000003.arrays.vector, np.full(3, 3.0))
        assert traj.derived_parameters.runs.run_00000005.doubled == 9.0
        assert traj.is_completed()
        assert traj.metadata["pypet_rebuild_version"]
        info = traj.run_info(2)
        assert info is not None and info.finished >= info.started

    def test_current_run_view_after_loading(self, storage_url: str) -> None:
        with self._env(self._explored(), storage_url) as env:
            env.run(_scalar_job)
        traj = load_trajectory(storage_url, "exploration")
        traj.idx = 4
        assert traj.x == 3 and traj.y == 0.5 and traj.z == 1.5
        assert traj.results.runs.crun.z == 1.5

    def test_failed_runs_are_recorded_and_resume_reruns_exactly_them(self, storage_url: str) -> None:
        with self._env(self._explored(), storage_url) as env:
            env.run(_failing_job)
        traj = load_trajectory(storage_url)
        failed = [i for i in range(6) if not traj.is_completed(i)]
        assert failed == [2, 3]
        error = traj.run_info(2).error  # type: ignore[union-attr]
        assert "x == 2 is not allowed" in error
        seen: list[int] = []

        def recording_job(traj: Trajectory) -> float:
            seen.append(traj.idx)
            return _scalar_job(traj)

        with self._env("exploration", storage_url, resume=True) as env:
            returned = env.run(recording_job)
        assert seen == [2, 3] and [i for i, _ in returned] == [2, 3]
        traj = load_trajectory(storage_url)
        assert traj.is_completed()
        assert traj.get_column("z")[1].tolist() == [0.5, 1.5, 1.0, 3.0, 1.5, 4.5]

    def test_expand_then_run_adds_only_new_points(self, storage_url: str) -> None:
        with self._env(self._explored(), storage_url) as env:
            env.run(_scalar_job)
            env.trajectory.expand({"x": [4], "y": [2.0]})
            assert env.run(_scalar_job) == [(6, 8.0)]
        traj = load_trajectory(storage_url)
        assert len(traj) == 7 and traj.get_column("z")[1][-1] == 8.0

    def test_skeleton_results_load_on_demand(self, storage_url: str) -> None:
        with self._env(self._explored(), storage_url) as env:
            env.trajectory.add_result("summary", np.arange(5), comment="outside runs")
            env.run(_scalar_job)
        lazy = load_trajectory(storage_url, load_results=LoadLevel.SKELETON, auto_load=False)
        with pytest.raises(StorageError, match="load_items"):
            lazy.results.summary  # noqa: B018
        lazy.load_items("summary")
        assert values_equal(lazy.results.summary, np.arange(5))
        auto = load_trajectory(storage_url, auto_load=True)
        assert values_equal(auto.results.summary, np.arange(5))
        nothing = load_trajectory(storage_url, load_results=LoadLevel.NOTHING)
        assert "summary" not in nothing.results

    def test_existing_trajectory_is_not_overwritten_by_accident(self, storage_url: str) -> None:
        with self._env(self._explored(), storage_url) as env:
            env.run(_scalar_job)
        with pytest.raises(StorageError, match="overwrite=True"):
            self._env(self._explored(), storage_url)
        assert load_trajectory(storage_url).is_completed()

    def test_several_trajectories_by_name_and_index(self, storage_url: str) -> None:
        for name in ("first", "second"):
            with self._env(self._explored(name), storage_url) as env:
                env.run(_scalar_job)
        assert load_trajectory(storage_url).name == "second"
        assert load_trajectory(storage_url, index=0).name == "first"
        assert load_trajectory(storage_url, "first").name == "first"
        with pytest.raises(TrajectoryNotFoundError, match="third"):
            load_trajectory(storage_url, "third")
