"""Post-processing that expands the trajectory, pipelines, add_time and option typos."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from pypet_rebuild import Environment, JobError, RunnerError, Trajectory, load_trajectory


def square(traj: Trajectory) -> float:
    traj.add_result("y", traj.x**2)
    return traj.x**2


def double_until_big(traj: Trajectory, results: list[tuple[int, Any]], limit: float) -> dict[str, list[float]] | None:
    """Explore two new points past the largest x while every square stays below the limit."""
    traj.add_result(f"rounds.round_{len(traj)}", seen=len(results))
    if max(value for _, value in results) >= limit:
        return None
    top = max(traj.explored_parameters["parameters.x"].range)
    return {"x": [top * 2.0, top * 2.0 + 1.0]}


def _env(tmp_path: Path, traj: Trajectory | str, **options: Any) -> Environment:
    return Environment(traj, str(tmp_path / "post.h5"), progress=False, log_to_console=False, **options)


@pytest.mark.parametrize("runner", ["serial", "multiprocessing"])
def test_postprocessing_expands_twice_then_stops(runner: str, tmp_path: Path) -> None:
    traj = Trajectory("adaptive")
    traj.add_parameter("x", 1.0)
    traj.explore({"x": [1.0, 2.0]})
    options = {"ncores": 2} if runner == "multiprocessing" else {}
    with _env(tmp_path, traj, runner=runner, **options) as env:
        env.add_postprocessing(double_until_big, limit=30.0)
        results = env.run(square)
    # [1, 2] -> max 4 < 30: add [4, 5] -> max 25 < 30: add [10, 11] -> 121 >= 30: stop.
    assert [idx for idx, _ in results] == [0, 1, 2, 3, 4, 5]
    assert [value for _, value in results] == [1.0, 4.0, 16.0, 25.0, 100.0, 121.0]
    stored = load_trajectory(str(tmp_path / "post.h5"))
    assert stored.explored_parameters["parameters.x"].range == [1.0, 2.0, 4.0, 5.0, 10.0, 11.0]
    assert stored.is_completed()
    indices, values = stored.get_column("y")
    assert values.tolist() == [1.0, 4.0, 16.0, 25.0, 100.0, 121.0]
    assert [stored.results.rounds.get(f"round_{n}").seen for n in (2, 4, 6)] == [2, 4, 6]


def test_postprocessing_may_expand_the_trajectory_itself_and_change_the_arguments(tmp_path: Path) -> None:
    def scaled(traj: Trajectory, factor: float) -> float:
        return traj.x * factor

    def once(traj: Trajectory, results: list[tuple[int, Any]]) -> tuple[dict, tuple, dict] | None:
        if len(traj) > 1:
            return None
        traj.expand({"x": [3.0]})
        return {}, (100.0,), {}

    traj = Trajectory("itself")
    traj.add_parameter("x", 1.0)
    traj.explore({"x": [1.0]})
    with _env(tmp_path, traj) as env:
        env.add_postprocessing(once)
        assert env.run(scaled, 10.0) == [(0, 10.0), (1, 300.0)]


def test_postprocessing_with_a_wrong_return_is_a_clear_error(tmp_path: Path) -> None:
    traj = Trajectory("wrong")
    traj.add_parameter("x", 1.0)
    with _env(tmp_path, traj) as env:
        env.add_postprocessing(lambda traj, results: [1, 2])
        with pytest.raises(JobError, match="may return None, a dict"):
            env.run(square)


def _build(traj: Trajectory) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    traj.add_parameter("x", 1.0)
    traj.explore({"x": [1.0, 3.0]})
    return (square,), (double_until_big, (), {"limit": 5.0})


def test_pipeline_builds_runs_and_postprocesses(tmp_path: Path) -> None:
    with _env(tmp_path, "piped") as env:
        results = env.pipeline(_build)
    assert [v for _, v in results] == [1.0, 9.0]
    with _env(tmp_path, "bare") as env:
        assert env.pipeline(lambda traj: (traj.add_parameter("x", 2.0), square)[1]) == [(0, 4.0)]


def test_pipeline_map_gives_each_run_its_arguments(tmp_path: Path) -> None:
    def offset(traj: Trajectory, shift: float) -> float:
        return traj.x + shift

    def build(traj: Trajectory) -> tuple[Any, ...]:
        traj.add_parameter("x", 0.0)
        traj.explore({"x": [1.0, 2.0, 3.0]})
        return offset, ([10.0, 20.0, 30.0],)

    with _env(tmp_path, "mapped") as env:
        assert env.pipeline_map(build) == [(0, 11.0), (1, 22.0), (2, 33.0)]
    with _env(tmp_path, "broken") as env, pytest.raises(JobError, match="pipeline's job must be a function"):
        env.pipeline(lambda traj: 42)


def test_add_time_gives_every_script_run_its_own_trajectory(tmp_path: Path) -> None:
    with _env(tmp_path, "sweep", add_time=True) as env:
        assert re.fullmatch(r"sweep_\d{4}_\d\d_\d\d_\d\dh\d\dm\d\ds", env.trajectory.name)
        env.run(lambda traj: None)


def test_a_mistyped_environment_option_is_named_as_such() -> None:
    with pytest.raises(RunnerError, match=r"'overwite' \(did you mean the Environment option 'overwrite'\?\)"):
        Environment("typo", "memory://typo", overwite=True)
    with pytest.raises(RunnerError, match="does not take") as info:
        Environment("typo", "memory://typo", wibble=True)
    assert "Environment option" not in str(info.value)
