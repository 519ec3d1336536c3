"""``Environment.run_map`` argument checks (the runs themselves: the runner conformance suite)."""

from __future__ import annotations

import pytest

from pypet_rebuild import Environment, JobError, Trajectory
from pypet_rebuild.mapped_job import map_arguments


def _job(traj: Trajectory, a: int, *, b: int = 0) -> int:
    return traj.x + a + b


def _env() -> Environment:
    traj = Trajectory("mapped")
    traj.add_parameter("x", 0)
    traj.explore({"x": [1, 2, 3]})
    return Environment(traj, "memory://", progress=False, log_to_console=False)


def test_every_iterable_needs_one_item_per_pending_run() -> None:
    with _env() as env:
        with pytest.raises(JobError, match="keyword iterable 'b' has 2 items, but 3 runs are pending"):
            env.run_map(_job, [1, 2, 3], b=[1, 2])
        assert env.trajectory.pending_runs() == [0, 1, 2]  # nothing ran
        assert env.run_map(_job, range(3), b=[10, 20, 30]) == [(0, 11), (1, 23), (2, 35)]


def test_a_job_that_is_not_callable_is_refused() -> None:
    with _env() as env, pytest.raises(JobError, match="must be a callable"):
        env.run_map("not a job", [1, 2, 3])


def test_the_wrapper_keeps_the_jobs_name_for_runner_checks() -> None:
    mapped = map_arguments(_job, [0], [[1]], {})
    assert (mapped.__module__, mapped.__qualname__) == (_job.__module__, "_job")
