from __future__ import annotations

import logging
import uuid
from typing import Any

import pytest

from pypet_rebuild import (
    Environment,
    JobError,
    MissingPluginError,
    PluginHost,
    RunFailedError,
    RunnerError,
    RunStatus,
    StorageError,
    Trajectory,
    hookimpl,
    load_trajectory,
)


def _traj(name: str = "env") -> Trajectory:
    traj = Trajectory(name)
    traj.add_parameter("x", 1)
    traj.explore({"x": [1, 2, 3, 4]})
    return traj


def _square(traj: Trajectory, offset: int = 0, *, scale: int = 1) -> int:
    value = (traj.x**2 + offset) * scale
    traj.add_result("square", value)
    return value


def _fails_on_three(traj: Trajectory) -> int:
    if traj.x == 3:
        raise RuntimeError("three is bad")
    return _square(traj)


@pytest.fixture
def url() -> str:
    return f"memory://{uuid.uuid4().hex}"


def _env(traj: Any, url: str, **kwargs: Any) -> Environment:
    return Environment(traj, url, progress=False, log_to_console=False, **kwargs)


def test_run_returns_values_in_run_order_and_passes_arguments(url: str) -> None:
    with _env(_traj(), url) as env:
        assert env.trajectory is env.traj
        assert env.run(_square, 1, scale=10) == [(0, 20), (1, 50), (2, 100), (3, 170)]
    assert load_trajectory(url).get_column("square")[1].tolist() == [20, 50, 100, 170]


def test_failures_are_recorded_and_the_exploration_continues(url: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="pypet_rebuild"), _env(_traj(), url) as env:
        returned = env.run(_fails_on_three)
    assert returned == [(0, 1), (1, 4), (2, None), (3, 16)]
    info = env.trajectory.run_info(2)
    assert info is not None and info.status is RunStatus.FAILED and "three is bad" in (info.error or "")
    assert "1 of 4 runs failed: 2" in caplog.text
    assert not env.trajectory.is_completed() and env.trajectory.is_completed(3)


def test_fail_fast_stops_and_raises_after_storing_what_finished(url: str) -> None:
    with _env(_traj(), url, fail_fast=True) as env, pytest.raises(RunFailedError, match="three is bad"):
        env.run(_fails_on_three)
    stored = load_trajectory(url)
    assert [r.idx for r in stored.run_infos] == [0, 1, 2]


def test_a_job_that_is_not_callable_is_rejected(url: str) -> None:
    with _env(_traj(), url) as env, pytest.raises(JobError, match="callable"):
        env.run("not a function")  # type: ignore[arg-type]


def test_unknown_runner_and_storage_are_clear_errors(url: str) -> None:
    with pytest.raises(MissingPluginError, match="unknown runner 'warp'"):
        _env(_traj(), url, runner="warp")
    with pytest.raises(MissingPluginError, match=r"pip install .*(backends/sql|'pypet-rebuild\[sql\]')"):
        Environment(_traj(), "postgresql://u:secret@localhost/db", plugin_host=PluginHost(autoload=False))
    with pytest.raises(MissingPluginError, match="no installed plugin provides"):
        _env(_traj(), "nosuchscheme://x")
    with pytest.raises(StorageError, match=r"\.h5 or \.hdf5"):
        _env(_traj(), "results.txt")
    with pytest.raises(RunnerError, match="does not take"):
        _env(_traj(), url, ncores=3)


def test_password_is_masked_in_errors() -> None:
    with pytest.raises(MissingPluginError) as error:
        Environment(_traj(), "postgresql://u:secret@localhost/db", plugin_host=PluginHost(autoload=False))
    assert "secret" not in str(error.value) and "***" in str(error.value)


def test_resume_needs_a_stored_trajectory_and_excludes_overwrite(url: str) -> None:
    with pytest.raises(StorageError, match="cannot resume"):
        _env("missing", url, resume=True)
    with pytest.raises(StorageError, match="cannot be combined"):
        _env("missing", url, resume=True, overwrite=True)


def test_overwrite_replaces_a_stored_trajectory(url: str) -> None:
    with _env(_traj(), url) as env:
        env.run(_square)
    with _env(_traj(), url, overwrite=True) as env:
        env.run(_square, 100)
    assert load_trajectory(url).get_column("square")[1].tolist() == [101, 104, 109, 116]


def test_metadata_and_run_timing_are_stored(url: str) -> None:
    with _env(_traj(), url) as env:
        env.run(_square)
        name = env.name
    stored = load_trajectory(url)
    for key in ("pypet_rebuild_version", "python_version", "hostname", "environment_hash"):
        assert stored.metadata[key]
    assert stored.metadata["environment_name"] == name
    assert all(r.duration >= 0 for r in stored.run_infos) and len(stored.run_infos) == 4


def test_log_files_hold_the_main_log_and_the_errors(url: str, tmp_path: Any) -> None:
    with _env(_traj(), url, log_folder=tmp_path / "logs") as env:
        env.run(_fails_on_three)
    main_log = (tmp_path / "logs" / "main.log").read_text()
    errors_log = (tmp_path / "logs" / "main_errors.log").read_text()
    assert "running 4 of 4 runs" in main_log and "three is bad" in main_log
    assert "three is bad" in errors_log and "running 4 of 4" not in errors_log


def test_progress_is_logged_when_not_on_a_terminal(url: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="pypet_rebuild"):
        with Environment(_traj(), url, log_to_console=False) as env:
            env.run(_square)
    assert "progress: 4/4 runs (100.0%), ETA 00:00" in caplog.text


class _Recorder:
    """A plugin that records every lifecycle hook call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    @hookimpl
    def pypet_rebuild_environment_created(self, environment: Environment) -> None:
        environment.trajectory.metadata["recorded_by"] = "recorder"
        self.calls.append(("created", environment.trajectory.name))

    @hookimpl
    def pypet_rebuild_before_run(self, environment: Environment, trajectory: Trajectory, idx: int) -> None:
        self.calls.append(("before", idx))

    @hookimpl
    def pypet_rebuild_after_run(self, environment: Environment, trajectory: Trajectory, outcome: Any) -> None:
        self.calls.append(("after", outcome.idx))

    @hookimpl
    def pypet_rebuild_exploration_finished(self, environment: Environment, trajectory: Trajectory, results: list) -> None:
        self.calls.append(("finished", len(results)))


def test_lifecycle_hooks_are_called_in_order(url: str) -> None:
    recorder = _Recorder()
    host = PluginHost(autoload=False, extra_plugins=(("recorder", recorder),))
    with _env(_traj("hooks"), url, plugin_host=host) as env:
        env.run(_square)
    assert recorder.calls == [
        ("created", "hooks"),
        ("before", 0), ("after", 0), ("before", 1), ("after", 1),
        ("before", 2), ("after", 2), ("before", 3), ("after", 3),
        ("finished", 4),
    ]
    assert load_trajectory(url, plugin_host=host).metadata["recorded_by"] == "recorder"


def test_results_outside_runs_are_stored_after_the_run(url: str) -> None:
    with _env(_traj(), url) as env:
        env.run(_square)
        column = env.trajectory.get_column("square")[1]
        env.trajectory.add_result("analysis.total", int(column.sum()))
        env.trajectory.store()
    assert load_trajectory(url).results.analysis.total == 30


def test_runs_are_stored_in_batches_while_running(url: str) -> None:
    seen_stored: list[int] = []

    def job(traj: Trajectory) -> None:
        seen_stored.append(len(traj.storage.load_run_infos(traj.name)))  # type: ignore[union-attr]

    with _env(_traj(), url, batch_size=2) as env:
        env.run(job)
    assert seen_stored == [0, 0, 2, 2]


def test_explored_order_and_provenance_survive_loading_and_resume(url: str) -> None:
    traj = Trajectory("order")
    traj.add_parameter("zeta", 1)
    traj.add_parameter("alpha", 1.0)
    traj.explore({"zeta": [1, 2], "alpha": [0.5, 1.5]})
    with _env(traj, url) as env:
        env.run(_square_zeta)
        created = env.trajectory.created
    assert list(load_trajectory(url).explored_parameters) == ["parameters.zeta", "parameters.alpha"]
    with _env("order", url, resume=True) as env:
        assert list(env.trajectory.explored_parameters) == ["parameters.zeta", "parameters.alpha"]
        assert env.trajectory.created == created


def _square_zeta(traj: Trajectory) -> int:
    return traj.zeta**2


def test_default_storage_is_an_hdf5_file_named_after_the_trajectory(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    host = PluginHost(autoload=False)
    with pytest.raises(MissingPluginError, match=r"'results[/\\]defaults\.h5'.*(backends/hdf5|pypet-rebuild\[hdf5\])"):
        Environment(_traj("defaults"), plugin_host=host)


def test_run_status_is_kept_compactly_for_every_run(url: str) -> None:
    traj = _traj("compact")
    with _env(traj, url) as env:
        env.run(_fails_on_three)
    table = env.trajectory._runs
    assert table.pending(4) == [2] and traj.pending_runs() == [2]
    assert table.completed_count(4) == 3
    assert [r.idx for r in traj.run_infos] == [0, 1, 2, 3]
    assert traj.run_info(7) is None and traj.run_info(-1) is None
