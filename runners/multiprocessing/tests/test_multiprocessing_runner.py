"""What only a runner with worker processes has to get right: deaths, timeouts,
pickling, Ctrl+C, worker logs, options."""

from __future__ import annotations

import json
import multiprocessing
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from pypet_rebuild.environment import Environment
from pypet_rebuild.errors import JobError, RunFailedError, RunnerError
from pypet_rebuild.plugins import get_plugin_host
from pypet_rebuild.storage.records import RunStatus
from pypet_rebuild.testing.runners import explored_trajectory, product_job, read_stored, storage_url_for
from pypet_rebuild.trajectory import Trajectory

from pypet_rebuild_multiprocessing import MultiprocessingRunner

SCRIPT = Path(__file__).with_name("_interrupted_exploration.py")
OPTIONS = {"runner": "multiprocessing", "ncores": 2, "start_method": "spawn"}
PRODUCTS = {idx: x * y for idx, (x, y) in enumerate((x, y) for x in (1, 2, 3, 4) for y in (0.5, 1.5, 2.5))}


def _env(traj: Trajectory | str, url: str, **kwargs: Any) -> Environment:
    return Environment(traj, url, progress=False, log_to_console=False, **{**OPTIONS, **kwargs})


def dying_job(traj: Trajectory, victims: tuple[int, ...], how: str) -> float:
    if traj.idx in victims:
        if how == "sigkill":
            os.kill(os.getpid(), signal.SIGKILL)
        os._exit(3)
    return product_job(traj)


def sleepy_job(traj: Trajectory, sleeper: int) -> float:
    if traj.idx == sleeper:
        time.sleep(60)
    return product_job(traj)


def _refuse_to_load() -> None:
    raise RuntimeError("this object refuses to be unpickled")


class LoadsOnlyHere:
    """Pickles fine, fails to unpickle: what a worker meets with a broken argument."""

    def __reduce__(self) -> tuple[Any, tuple[()]]:
        return _refuse_to_load, ()


# -- workers that die or hang ------------------------------------------------------------


@pytest.mark.parametrize(
    ("how", "victims", "exit_code"),
    [("sigkill", (5,), "-9 (SIGKILL)"), ("exit", (2, 9), "3")],
)
def test_a_dying_worker_fails_its_run_only_and_is_replaced(how: str, victims: tuple[int, ...], exit_code: str) -> None:
    url = f"memory://{uuid.uuid4().hex}"
    with _env(explored_trajectory(), url) as env:
        returned = env.run(dying_job, victims, how)
    assert returned == [(idx, None if idx in victims else value) for idx, value in PRODUCTS.items()]
    stored = read_stored(url, "conformance")
    for idx, info in stored.runs.items():
        if idx in victims:
            assert info.status is RunStatus.FAILED
            assert f"died with exit code {exit_code} while running run {idx}" in (info.error or "")
        else:
            assert info.status is RunStatus.COMPLETED and info.error is None
    assert multiprocessing.active_children() == []


def test_a_run_over_its_timeout_fails_and_the_others_complete() -> None:
    url = f"memory://{uuid.uuid4().hex}"
    with _env(explored_trajectory(), url, timeout=1.0) as env:
        returned = env.run(sleepy_job, 4)
    assert returned == [(idx, None if idx == 4 else value) for idx, value in PRODUCTS.items()]
    stored = read_stored(url, "conformance")
    assert "run 4 exceeded the timeout of 1.0 s" in (stored.runs[4].error or "")
    assert [idx for idx, info in stored.runs.items() if info.status is RunStatus.FAILED] == [4]
    assert multiprocessing.active_children() == []


# -- what cannot be sent -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "kwargs", "named"),
    [
        ((threading.Lock(),), {}, r"argument 0 \(lock\)"),
        ((), {"handle": threading.Lock()}, r"keyword argument 'handle' \(lock\)"),
    ],
)
def test_unpicklable_arguments_are_rejected_before_any_run(
    args: tuple[Any, ...], kwargs: dict[str, Any], named: str
) -> None:
    url = f"memory://{uuid.uuid4().hex}"
    with _env(explored_trajectory(), url) as env:
        with pytest.raises(JobError, match=named):
            env.run(product_job, *args, **kwargs)
    with get_plugin_host().open_storage(url) as backend:
        assert backend.list_trajectories() == []


def test_a_lambda_job_is_rejected_with_advice() -> None:
    with _env(explored_trajectory(), "memory://") as env:
        with pytest.raises(JobError, match=r"the job \S*<lambda> cannot be sent.*define it at module level"):
            env.run(lambda traj: traj.x)


def test_a_trajectory_holding_something_unpicklable_is_named() -> None:
    traj = explored_trajectory()
    traj.add_result("handle", lock=threading.Lock(), allow_pickle=True)
    with _env(traj, "memory://") as env:
        with pytest.raises(JobError, match="the trajectory 'conformance' cannot be sent"):
            env.run(product_job)


def test_a_job_from_an_interactive_session_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    def typed_at_the_prompt(traj: Trajectory) -> None:
        return None

    typed_at_the_prompt.__module__ = "__main__"
    monkeypatch.delattr(sys.modules["__main__"], "__file__")
    with _env(explored_trajectory(), "memory://") as env:
        with pytest.raises(JobError, match="interactive session"):
            env.run(typed_at_the_prompt)


def test_a_worker_that_cannot_load_the_plan_stops_the_exploration_with_the_cause() -> None:
    with _env(explored_trajectory(), "memory://") as env:
        with pytest.raises(RunnerError, match="could not load(.|\n)*refuses to be unpickled"):
            env.run(product_job, LoadsOnlyHere())
    assert multiprocessing.active_children() == []


def test_an_unpicklable_return_value_fails_that_run_with_the_reason() -> None:
    url = f"memory://{uuid.uuid4().hex}"
    traj = Trajectory("returns")
    traj.add_parameter("n", 0)
    traj.explore({"n": [0, 1, 2]})
    with _env(traj, url) as env:
        returned = env.run(_returns_a_lock_for_one)
    assert returned == [(0, 0), (1, None), (2, 2)]
    error = read_stored(url, "returns").runs[1].error or ""
    assert "cannot be sent back to the main process" in error


def _returns_a_lock_for_one(traj: Trajectory) -> Any:
    return threading.Lock() if traj.n == 1 else traj.n


# -- stopping ------------------------------------------------------------------------------


def test_fail_fast_stops_every_worker() -> None:
    with _env(explored_trajectory(), "memory://", fail_fast=True) as env:
        with pytest.raises(RunFailedError, match="run 0 failed"):
            env.run(dying_job, (0,), "exit")
    assert multiprocessing.active_children() == []


@pytest.mark.parametrize("kind", ["memory", "hdf5"])
def test_ctrl_c_stores_what_finished_and_resume_completes_the_rest(kind: str, tmp_path: Path) -> None:
    url = storage_url_for(kind, tmp_path)
    persistent = kind != "memory"
    markers = tmp_path / "markers"
    markers.mkdir()
    child = subprocess.Popen(
        [sys.executable, str(SCRIPT), url, str(markers), "exit" if persistent else "resume"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while len(list(markers.iterdir())) < 4:
            assert child.poll() is None, child.stderr.read() if child.stderr else ""
            assert time.monotonic() < deadline, "the exploration never got going"
            time.sleep(0.05)
        finished_before = {int(p.stem) for p in markers.iterdir()}
        time.sleep(1.0)  # let those outcomes reach the coordinator
        os.killpg(child.pid, signal.SIGINT)  # Ctrl+C reaches the whole process group
        out, err = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
    assert child.returncode == 0, err
    reports = [json.loads(line) for line in out.splitlines()]
    interrupted = reports[0]
    assert interrupted["interrupted"] is True and interrupted["children"] == 0
    stored = set(interrupted["stored"])
    assert finished_before <= stored and len(stored) < 30
    if persistent:
        with _env("interrupted", url, resume=True) as env:
            resumed = [idx for idx, _ in env.run(_square_job)]
        final = read_stored(url, "interrupted")
        completed = {i for i, info in final.runs.items() if info.status is RunStatus.COMPLETED}
    else:
        resumed, completed = reports[1]["resumed"], set(reports[1]["stored"])
    assert resumed == sorted(set(range(30)) - stored)
    assert completed == set(range(30))


def _square_job(traj: Trajectory) -> int:
    traj.add_result("square", traj.n**2)
    return traj.n**2


# -- logs and options ------------------------------------------------------------------------


def test_each_worker_logs_to_its_own_file(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    with _env(explored_trajectory(), "memory://", log_folder=logs) as env:
        env.run(_failing_everywhere)
    failed_runs: list[int] = []
    for log in sorted(logs.glob("worker_?_errors.log")):
        slot = int(log.stem.split("_")[1])
        errors = log.read_text()
        assert errors.count("ArithmeticError: no run succeeds here") == errors.count(" failed:")
        failed_runs += [int(n) for n in re.findall(r"run (\d+) failed:", errors)]
        if errors:  # a worker stopped before it was ready has nothing to say
            assert f"worker {slot} (pid" in (logs / f"worker_{slot}.log").read_text()
    assert sorted(failed_runs) == list(range(12))  # whichever worker ran it logged it, once


def _failing_everywhere(traj: Trajectory) -> None:
    raise ArithmeticError("no run succeeds here")


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="no fork on this platform")
def test_fork_start_method_and_fixed_chunks() -> None:
    with _env(explored_trajectory(), "memory://", start_method="fork", chunk_size=5) as env:
        assert env.run(product_job) == sorted(PRODUCTS.items())


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"ncores": 0}, "ncores"),
        ({"ncores": 1.5}, "ncores"),
        ({"chunk_size": -3}, "chunk_size"),
        ({"timeout": 0}, "timeout"),
        ({"start_method": "teleport"}, "start_method 'teleport'"),
        ({"cores": 2}, r"\['cores'\]"),
    ],
)
def test_bad_options_are_runner_errors(options: dict[str, Any], message: str) -> None:
    with pytest.raises(RunnerError, match=message):
        get_plugin_host().make_runner("multiprocessing", **options)


def test_registered_as_a_plugin_with_defaults() -> None:
    assert get_plugin_host().plugins["multiprocessing"].runners == ["multiprocessing"]
    runner = get_plugin_host().make_runner("multiprocessing")
    assert isinstance(runner, MultiprocessingRunner)
    assert (runner.ncores, runner.start_method, runner.timeout) == (os.cpu_count(), "spawn", None)
