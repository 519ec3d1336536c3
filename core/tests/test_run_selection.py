"""``Environment(..., runs=indices)``: one writer among many runs only its share."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from pypet_rebuild import Environment, Trajectory, get_plugin_host
from pypet_rebuild.errors import ExplorationError
from pypet_rebuild.storage.records import RunStatus


def _traj() -> Trajectory:
    traj = Trajectory("share")
    traj.add_parameter("x", 0)
    traj.explore({"x": list(range(6))})
    return traj


def _double(traj: Trajectory) -> int:
    traj.add_result("y", 2 * traj.x)
    return 2 * traj.x


def _env(traj: Any, url: str, **kwargs: Any) -> Environment:
    return Environment(traj, url, progress=False, log_to_console=False, **kwargs)


@pytest.fixture
def url() -> str:
    return f"memory://{uuid.uuid4().hex}"


def _completed(url: str) -> list[int]:
    with get_plugin_host().open_storage(url) as backend:
        return [i.idx for i in backend.load_run_infos("share") if i.status is RunStatus.COMPLETED]


def test_runs_empty_stores_the_trajectory_and_runs_nothing(url: str) -> None:
    with _env(_traj(), url, runs=[]) as env:
        assert env.run(_double) == []
    with get_plugin_host().open_storage(url) as backend:
        assert [i.name for i in backend.list_trajectories()] == ["share"]
        assert "parameters.x" in {r.path for r in backend.load_nodes("share")}
    assert _completed(url) == []


def test_writers_with_shares_run_exactly_their_pending_runs(url: str) -> None:
    with _env(_traj(), url, runs=[0]) as env:
        assert env.run(_double) == [(0, 0)]
    with _env("share", url, resume=True, runs=[4, 0, 2]) as env:
        assert env.run(_double) == [(2, 4), (4, 8)]  # 0 is already completed
    with _env("share", url, resume=True, runs=range(1, 6, 2)) as env:
        assert env.run(_double) == [(1, 2), (3, 6), (5, 10)]
    assert _completed(url) == list(range(6))
    with _env("share", url, resume=True) as env:
        assert env.run(_double) == []


def test_a_writer_with_a_share_leaves_the_trajectory_nodes_alone(url: str) -> None:
    with _env(_traj(), url, runs=[]) as env:
        env.run(_double)
    with _env("share", url, resume=True, runs=[1]) as env:
        env.trajectory.add_result("only_here", 1)
        env.run(_double)
    with get_plugin_host().open_storage(url) as backend:
        assert "results.only_here" not in {r.path for r in backend.load_nodes("share")}
        assert [r.path for r in backend.load_run("share", 1)] == ["results.y"]


def test_runs_outside_the_trajectory_or_not_indices_are_clear_errors(url: str) -> None:
    with _env(_traj(), url, runs=[]) as env:
        env.run(_double)
    with _env("share", url, resume=True, runs=[2, 6, -1]) as env:
        with pytest.raises(ExplorationError, match=r"runs \[-1, 6\] are not runs of this trajectory.*0 to 5"):
            env.run(_double)
    with pytest.raises(ExplorationError, match="whole run indices"):
        _env("share", url, resume=True, runs=[1.5])
    assert _completed(url) == []
