"""The runner conformance suite: every runner stores what the serial runner stores.

A runner's tests subclass ``RunnerConformance`` and set ``runner_name``;
they may override the ``runner_options`` fixture (a dict of options handed
to the ``Environment``) and the ``storage_url`` fixture (default: a fresh
``memory://`` store). To run the suite against files too, parametrize it::

    class TestMyRunner(RunnerConformance):
        runner_name = "mine"

        @pytest.fixture(params=STORAGE_KINDS)
        def storage_url(self, request, tmp_path):
            return storage_url_for(request.param, tmp_path)

Whole explorations run through an ``Environment`` and what they stored is
compared with what the serial runner stores for the same exploration. The
job functions live at module level here so that runners which send the job
to other processes can pickle them by reference.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

from pypet_rebuild.environment import Environment
from pypet_rebuild.errors import JobError, RunFailedError, RunnerError
from pypet_rebuild.exploration import cartesian_product
from pypet_rebuild.plugins import get_plugin_host
from pypet_rebuild.storage.records import NodeRecord, RunRecord, RunStatus
from pypet_rebuild.trajectory import Trajectory
from pypet_rebuild.values import sample_result_values, values_equal

__all__ = ["RunnerConformance", "STORAGE_KINDS", "storage_url_for"]

STORAGE_KINDS = ("memory", "hdf5")
SAMPLE_PARTS = 4


def storage_url_for(kind: str, tmp_path: Path) -> str:
    """A fresh storage location of ``kind``; skips the test if that backend is not installed."""
    if kind == "memory":
        return f"memory://{uuid.uuid4().hex}"
    if kind == "hdf5":
        if get_plugin_host().storage.for_suffix(".h5") is None:
            pytest.skip("the hdf5 storage backend is not installed")
        return str(tmp_path / "runs.h5")
    raise ValueError(f"unknown storage kind {kind!r}; use one of {STORAGE_KINDS}")


# -- jobs: module level so that they pickle by reference ------------------------------


def product_job(traj: Trajectory) -> float:
    """Results, a nested result group and a derived parameter per run."""
    z = traj.x * traj.y
    traj.add_result("z", z, comment="product")
    traj.add_result("arrays.vector", np.full(3, z))
    traj.add_result("stats.summary", mean=z / 2, label=f"x={traj.x}")
    traj.add_derived_parameter("doubled", 2 * z)
    return z


def selectively_failing_job(traj: Trajectory, failing: tuple[int, ...] = ()) -> float:
    if traj.idx in failing:
        raise ValueError(f"run {traj.idx} was told to fail")
    return product_job(traj)


def arguments_job(traj: Trajectory, offset: float, *, scale: float = 1.0) -> float:
    value = (traj.x + offset) * scale
    traj.add_result("shifted", value)
    return value


def mapped_job(traj: Trajectory, offset: float, *, label: str) -> float:
    """For ``run_map``: each run gets its own ``offset`` and ``label``."""
    value = traj.x * traj.y + offset
    traj.add_result("mapped", value=value, label=label)
    return value


def samples_job(traj: Trajectory) -> dict[str, Any]:
    """Stores one share of every sample value type, built in the worker, and returns it."""
    samples = sample_result_values()
    share = {key: samples[key] for key in sorted(samples)[traj.part :: SAMPLE_PARTS]}
    for key, value in share.items():
        traj.add_result(f"samples.{key}", value=value)
    return share


# -- comparing what was stored ----------------------------------------------------------


@dataclass
class StoredExploration:
    """Everything a backend holds about one trajectory, except its metadata."""

    nodes: dict[str, NodeRecord]
    runs: dict[int, RunRecord]
    run_nodes: dict[int, dict[str, NodeRecord]]


def read_stored(storage_url: str, name: str) -> StoredExploration:
    with get_plugin_host().open_storage(storage_url) as backend:
        nodes = {record.path: record for record in backend.load_nodes(name)}
        runs = {info.idx: info for info in backend.load_run_infos(name)}
        run_nodes = {idx: {r.path: r for r in backend.load_run(name, idx)} for idx in runs}
    return StoredExploration(nodes, runs, run_nodes)


def _assert_records_equal(expected: dict[str, NodeRecord], actual: dict[str, NodeRecord], where: str) -> None:
    assert sorted(actual) == sorted(expected), f"{where}: different nodes stored"
    for path, want in expected.items():
        got = actual[path]
        assert (got.kind, got.comment, got.link_target, got.pickled) == (
            want.kind, want.comment, want.link_target, want.pickled
        ), f"{where}: node {path!r} differs"
        assert values_equal(want.annotations, got.annotations), f"{where}: annotations of {path!r} differ"
        assert values_equal(want.explored, got.explored), f"{where}: explored range of {path!r} differs"
        assert (want.data is None) == (got.data is None), f"{where}: data of {path!r} missing on one side"
        if want.data is not None and got.data is not None:
            assert sorted(got.data) == sorted(want.data), f"{where}: items of {path!r} differ"
            for item, value in want.data.items():
                assert values_equal(value, got.data[item]), f"{where}: {path}.{item}: {value!r} != {got.data[item]!r}"


def assert_same_exploration(expected: StoredExploration, actual: StoredExploration) -> None:
    """Same nodes, same runs with the same status, same per-run data; timings may differ."""
    _assert_records_equal(expected.nodes, actual.nodes, "trajectory")
    assert sorted(actual.runs) == sorted(expected.runs)
    for idx, want in expected.runs.items():
        got = actual.runs[idx]
        assert got.status is want.status, f"run {idx}: {got.status} != {want.status}"
        assert (got.error is None) == (want.error is None), f"run {idx}: error recorded on one side only"
        if want.error is not None and got.error is not None:
            assert got.error.strip().splitlines()[-1] == want.error.strip().splitlines()[-1]
        _assert_records_equal(expected.run_nodes[idx], actual.run_nodes[idx], f"run {idx}")


def explored_trajectory(name: str = "conformance") -> Trajectory:
    """Twelve runs, a config entry and a result added outside the runs."""
    traj = Trajectory(name, comment="runner conformance")
    traj.add_parameter("x", 1, comment="first factor")
    traj.add_parameter("factors.y", 1.0)
    traj.add_config("seed", 42)
    traj.add_result("setup.note", "added before the runs")
    traj.explore(cartesian_product({"x": [1, 2, 3, 4], "y": [0.5, 1.5, 2.5]}))
    return traj


def _products(traj_length: int = 12) -> list[tuple[int, float]]:
    points = [(x, y) for x in (1, 2, 3, 4) for y in (0.5, 1.5, 2.5)]
    return [(idx, x * y) for idx, (x, y) in enumerate(points[:traj_length])]


class RunnerConformance:
    """Subclass, set ``runner_name``; override ``runner_options``/``storage_url`` as needed."""

    runner_name: ClassVar[str] = ""

    @pytest.fixture
    def runner_options(self) -> dict[str, Any]:
        return {}

    @pytest.fixture
    def storage_url(self, tmp_path: Path) -> str:
        return storage_url_for("memory", tmp_path)

    def make_env(
        self, traj: Trajectory | str, storage_url: str, runner_options: dict[str, Any], **kwargs: Any
    ) -> Environment:
        """An environment on ``storage_url`` with the runner under test."""
        assert self.runner_name, "set runner_name on the RunnerConformance subclass"
        return Environment(
            traj, storage_url, runner=self.runner_name, **runner_options,
            progress=False, log_to_console=False, **kwargs,
        )

    def serial_reference(self, job: Any, *args: Any, **kwargs: Any) -> StoredExploration:
        """What the serial runner stores for the same exploration and job."""
        url = f"memory://{uuid.uuid4().hex}"
        with Environment(explored_trajectory(), url, progress=False, log_to_console=False) as env:
            env.run(job, *args, **kwargs)
        return read_stored(url, "conformance")

    # -- the checks -----------------------------------------------------------------

    def test_stores_what_the_serial_runner_stores(self, storage_url: str, runner_options: dict[str, Any]) -> None:
        with self.make_env(explored_trajectory(), storage_url, runner_options) as env:
            returned = env.run(product_job)
        assert returned == _products()
        assert_same_exploration(self.serial_reference(product_job), read_stored(storage_url, "conformance"))

    def test_failed_runs_are_recorded_and_the_others_complete(
        self, storage_url: str, runner_options: dict[str, Any]
    ) -> None:
        with self.make_env(explored_trajectory(), storage_url, runner_options) as env:
            returned = env.run(selectively_failing_job, (2, 7))
        expected = [(idx, None if idx in (2, 7) else value) for idx, value in _products()]
        assert returned == expected
        stored = read_stored(storage_url, "conformance")
        assert [i for i, r in stored.runs.items() if r.status is RunStatus.FAILED] == [2, 7]
        for idx in (2, 7):
            error = stored.runs[idx].error or ""
            assert "Traceback" in error and f"run {idx} was told to fail" in error
            assert stored.run_nodes[idx] == {}
        assert_same_exploration(self.serial_reference(selectively_failing_job, (2, 7)), stored)

    def test_fail_fast_raises_and_records_the_failure(self, storage_url: str, runner_options: dict[str, Any]) -> None:
        with self.make_env(explored_trajectory(), storage_url, runner_options, fail_fast=True) as env:
            with pytest.raises(RunFailedError, match="run 5 failed"):
                env.run(selectively_failing_job, (5,))
        stored = read_stored(storage_url, "conformance")
        assert stored.runs[5].status is RunStatus.FAILED
        assert "run 5 was told to fail" in (stored.runs[5].error or "")
        assert all(r.status is RunStatus.COMPLETED for i, r in stored.runs.items() if i != 5)

    def test_extra_args_and_kwargs_reach_the_job(self, storage_url: str, runner_options: dict[str, Any]) -> None:
        with self.make_env(explored_trajectory(), storage_url, runner_options) as env:
            returned = env.run(arguments_job, 10.0, scale=3.0)
        xs = [x for x in (1, 2, 3, 4) for _ in range(3)]
        assert returned == [(idx, (x + 10.0) * 3.0) for idx, x in enumerate(xs)]
        stored = read_stored(storage_url, "conformance")
        assert values_equal(stored.run_nodes[4]["results.shifted"].data, {"shifted": 36.0})

    def test_run_map_gives_each_run_its_own_arguments(self, storage_url: str, runner_options: dict[str, Any]) -> None:
        offsets = [100.0 * idx for idx in range(12)]
        labels = [f"point {idx}" for idx in range(12)]
        with self.make_env(explored_trajectory(), storage_url, runner_options) as env:
            returned = env.run_map(mapped_job, offsets, label=labels)
            env.trajectory.expand({"x": [5, 6], "y": [0.5, 2.0]})
            with pytest.raises(JobError, match="2 runs are pending"):
                env.run_map(mapped_job, [1.0], label=["too few"])
            expanded = env.run_map(mapped_job, iter([-1.0, -2.0]), label=("new 12", "new 13"))
        assert returned == [(idx, value + offsets[idx]) for idx, value in _products()]
        assert expanded == [(12, 1.5), (13, 10.0)]
        stored = read_stored(storage_url, "conformance")
        assert all(r.status is RunStatus.COMPLETED for r in stored.runs.values()) and len(stored.runs) == 14
        for idx, want in [*returned, *expanded]:
            data = stored.run_nodes[idx]["results.mapped"].data
            label = labels[idx] if idx < 12 else f"new {idx}"
            assert values_equal(data, {"value": want, "label": label}), f"run {idx}: {data!r}"

    def test_resume_runs_exactly_the_missing_runs(self, storage_url: str, runner_options: dict[str, Any]) -> None:
        with self.make_env(explored_trajectory(), storage_url, runner_options) as env:
            env.run(selectively_failing_job, (1, 4, 11))
        with self.make_env("conformance", storage_url, runner_options, resume=True) as env:
            returned = env.run(product_job)
            assert env.run(product_job) == []
        products = dict(_products())
        assert returned == [(idx, products[idx]) for idx in (1, 4, 11)]
        assert_same_exploration(self.serial_reference(product_job), read_stored(storage_url, "conformance"))

    def test_expand_then_run_runs_only_the_new_points(self, storage_url: str, runner_options: dict[str, Any]) -> None:
        with self.make_env(explored_trajectory(), storage_url, runner_options) as env:
            env.run(product_job)
            env.trajectory.expand({"x": [5, 6], "y": [0.5, 2.0]})
            returned = env.run(product_job)
        assert returned == [(12, 2.5), (13, 12.0)]
        stored = read_stored(storage_url, "conformance")
        assert sorted(stored.runs) == list(range(14))
        assert all(r.status is RunStatus.COMPLETED for r in stored.runs.values())
        assert values_equal(stored.run_nodes[13]["derived_parameters.doubled"].data, {"value": 24.0})

    def test_every_result_value_type_travels_and_is_stored_equal(
        self, storage_url: str, runner_options: dict[str, Any]
    ) -> None:
        traj = Trajectory("conformance")
        traj.add_parameter("part", 0)
        traj.explore({"part": list(range(SAMPLE_PARTS))})
        with self.make_env(traj, storage_url, runner_options) as env:
            returned = env.run(samples_job)
        samples = sample_result_values()
        assert [idx for idx, _ in returned] == list(range(SAMPLE_PARTS))
        returned_values = {key: value for _, share in returned for key, value in share.items()}
        assert sorted(returned_values) == sorted(samples)
        stored = read_stored(storage_url, "conformance")
        stored_values = {}
        for nodes in stored.run_nodes.values():
            for path, record in nodes.items():
                assert record.data is not None
                stored_values[path.rsplit(".", 1)[-1]] = record.data["value"]
        assert sorted(stored_values) == sorted(samples)
        for key, value in samples.items():
            assert values_equal(value, returned_values[key]), f"{key}: returned {returned_values[key]!r}"
            assert values_equal(value, stored_values[key]), f"{key}: stored {stored_values[key]!r}"

    def test_every_run_has_a_status_record(self, storage_url: str, runner_options: dict[str, Any]) -> None:
        with self.make_env(explored_trajectory(), storage_url, runner_options) as env:
            before = time.time()
            env.run(selectively_failing_job, (3,))
            after = time.time()
        stored = read_stored(storage_url, "conformance")
        assert sorted(stored.runs) == list(range(12))
        for idx, info in stored.runs.items():
            assert before <= info.started <= info.finished <= after
            assert info.status is (RunStatus.FAILED if idx == 3 else RunStatus.COMPLETED)
            assert (info.error is None) == (idx != 3)

    def test_unknown_option_is_a_runner_error(self, runner_options: dict[str, Any]) -> None:
        with pytest.raises(RunnerError, match="no_such_option"):
            self.make_env(explored_trajectory(), "memory://", runner_options, no_such_option=1)
