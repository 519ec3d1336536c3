"""Real MPI jobs: ``mpi_script.py`` launched with the mpiexec next to this Python.

Each test starts a job, lets it store into a file, and then checks what the
file holds against what the serial runner stores for the same exploration.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import signal
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from pypet_rebuild import Environment, RunStatus
from pypet_rebuild.plugins import get_plugin_host
from pypet_rebuild.testing.runners import StoredExploration, assert_same_exploration, read_stored

MPIEXEC = Path(sys.executable).with_name("mpiexec")
SCRIPT = Path(__file__).with_name("mpi_script.py")
LAUNCH_TIMEOUT = 60.0

pytestmark = pytest.mark.skipif(not MPIEXEC.exists(), reason=f"no mpiexec next to {sys.executable}")


def _load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("pypet_rebuild_mpi_test_script", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


script = _load_script()
ALL_RUNS = set(range(len(script.build_trajectory())))


def _file_storage(kind: str, tmp_path: Path) -> str:
    host = get_plugin_host()
    if kind == "hdf5" and host.storage.for_suffix(".h5") is not None:
        return str(tmp_path / "mpi.h5")
    if kind == "sql" and host.storage.for_scheme("sqlite") is not None:
        return f"sqlite:///{tmp_path / 'mpi.db'}"
    pytest.skip(f"the {kind} storage backend is not installed")


@pytest.fixture
def storage(tmp_path: Path) -> str:
    """One file backend for the tests that are about the runner, not the backend."""
    host = get_plugin_host()
    kind = "hdf5" if host.storage.for_suffix(".h5") is not None else "sql"
    return _file_storage(kind, tmp_path)


@dataclass
class Job:
    returncode: int
    stdout: str
    stderr: str

    def line(self, prefix: str) -> str:
        found = [line for line in self.stdout.splitlines() if line.startswith(prefix + " ")]
        assert len(found) == 1, f"expected one {prefix} line from rank 0:\n{self.stdout}\n{self.stderr}"
        return found[0][len(prefix) + 1 :]

    @property
    def returned(self) -> list[tuple[int, Any]]:
        return [(idx, value) for idx, value in json.loads(self.line("RETURNED"))]


def _command(ranks: int, mode: str, storage: str, *options: str) -> list[str]:
    return [str(MPIEXEC), "-n", str(ranks), sys.executable, str(SCRIPT), mode, storage, *options]


def _finish(process: subprocess.Popen[str]) -> Job:
    """Wait for the job; kill the whole process group if it hangs."""
    try:
        stdout, stderr = process.communicate(timeout=LAUNCH_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        pytest.fail(f"the MPI job hung (killed after {LAUNCH_TIMEOUT:.0f} s):\n{stdout}\n{stderr}")
    return Job(process.returncode, stdout, stderr)


def _start(ranks: int, mode: str, storage: str, *options: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        _command(ranks, mode, storage, *options),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def launch(ranks: int, mode: str, storage: str, *options: str) -> Job:
    return _finish(_start(ranks, mode, storage, *options))


def serial_reference(job: Any) -> tuple[list[tuple[int, Any]], StoredExploration]:
    url = f"memory://{uuid.uuid4().hex}"
    with Environment(script.build_trajectory(), url, progress=False, log_to_console=False) as env:
        returned = env.run(job)
    return returned, read_stored(url, script.TRAJECTORY)


def statuses(stored: StoredExploration) -> dict[int, RunStatus]:
    return {idx: info.status for idx, info in stored.runs.items()}


def without_run(stored: StoredExploration, idx: int) -> StoredExploration:
    runs = {i: r for i, r in stored.runs.items() if i != idx}
    run_nodes = {i: n for i, n in stored.run_nodes.items() if i != idx}
    return StoredExploration(stored.nodes, runs, run_nodes)


# -- whole explorations --------------------------------------------------------------


@pytest.mark.parametrize(("kind", "ranks"), [("hdf5", 2), ("hdf5", 3), ("sql", 3)])
def test_exploration_stores_what_the_serial_runner_stores(kind: str, ranks: int, tmp_path: Path) -> None:
    storage_url = _file_storage(kind, tmp_path)
    logs = tmp_path / "logs"
    job = launch(ranks, "explore", storage_url, "--log-folder", str(logs))
    assert job.returncode == 0, job.stderr
    expected_returned, expected_stored = serial_reference(script.product_job)
    assert job.returned == expected_returned
    assert_same_exploration(expected_stored, read_stored(storage_url, script.TRAJECTORY))
    # Rank 0 writes the main log; each worker logs what its runs log to its own file.
    assert "all 20 runs completed" in (logs / "main.log").read_text()
    logged = [
        int(line.rsplit(" ", 1)[1])
        for rank in range(1, ranks)
        for line in (logs / f"mpi_rank_{rank}.log").read_text().splitlines()
        if "computing run" in line
    ]
    assert sorted(logged) == sorted(ALL_RUNS)


def test_run_map_gives_each_run_its_own_arguments(storage: str) -> None:
    job = launch(3, "map", storage)
    assert job.returncode == 0, job.stderr
    offsets, labels = script.map_arguments(len(ALL_RUNS))
    url = f"memory://{uuid.uuid4().hex}"
    with Environment(script.build_trajectory(), url, progress=False, log_to_console=False) as env:
        expected = env.run_map(script.mapped_job, offsets, label=labels)
    assert job.returned == expected
    assert_same_exploration(read_stored(url, script.TRAJECTORY), read_stored(storage, script.TRAJECTORY))


def test_failed_runs_are_recorded_and_the_others_complete(storage: str) -> None:
    job = launch(3, "fail", storage)
    assert job.returncode == 0, job.stderr
    stored = read_stored(storage, script.TRAJECTORY)
    failed = {script.FAILING_RUN, script.UNSENDABLE_RUN}
    assert statuses(stored) == {idx: RunStatus.FAILED if idx in failed else RunStatus.COMPLETED for idx in ALL_RUNS}
    assert "run 7 was told to fail" in (stored.runs[script.FAILING_RUN].error or "")
    assert "cannot be sent to rank 0" in (stored.runs[script.UNSENDABLE_RUN].error or "")
    expected_returned, expected_stored = serial_reference(script.failing_job)
    assert job.returned == [(idx, None if idx in failed else value) for idx, value in expected_returned]
    # In one process the unsendable value is no problem: compare everything else.
    assert_same_exploration(
        without_run(expected_stored, script.UNSENDABLE_RUN), without_run(stored, script.UNSENDABLE_RUN)
    )


# -- errors on rank 0 stop the workers, never hang ---------------------------------------


def _assert_fail_fast_stored(storage: str) -> None:
    stored = statuses(read_stored(storage, script.TRAJECTORY))
    failing = (script.FAILING_RUN, script.UNSENDABLE_RUN)
    assert any(stored.get(idx) is RunStatus.FAILED for idx in failing), stored
    assert all(stored.get(idx) is not RunStatus.COMPLETED for idx in failing), stored
    for idx, status in stored.items():
        if idx not in (script.FAILING_RUN, script.UNSENDABLE_RUN):
            assert status is RunStatus.COMPLETED, f"run {idx}: {status}"


# Runs 7 (raises) and 11 (returns something unpicklable) both fail; which one
# reaches rank 0 first depends on how the two workers were scheduled.
_FIRST_FAILURE = r"RunFailedError{sep} run (7|11) failed"


def test_fail_fast_error_stops_the_workers_cleanly(storage: str) -> None:
    """The script catches the error on rank 0 and ends normally: a worker still
    waiting for rank 0 would make MPI_Finalize, and so mpiexec, hang."""
    job = launch(3, "fail_fast", storage)
    assert job.returncode == 0, job.stderr
    assert re.match(_FIRST_FAILURE.format(sep=""), job.line("CAUGHT"))
    _assert_fail_fast_stored(storage)


def test_uncaught_error_on_rank_0_aborts_the_job_after_storing(storage: str) -> None:
    job = launch(3, "fail_fast_uncaught", storage)
    assert job.returncode != 0
    assert re.search(_FIRST_FAILURE.format(sep=":"), job.stderr)
    _assert_fail_fast_stored(storage)


def test_worker_that_does_not_stop_in_time_is_left_behind_and_the_job_aborted_on_exit(
    storage: str, tmp_path: Path
) -> None:
    """Rank 0 fails at run 7 while a worker is 30 s into run 1; with
    ``stop_timeout=1`` it stores what it has, raises, and aborts the MPI job
    when the script ends instead of waiting for that worker."""
    logs = tmp_path / "logs"
    job = launch(3, "fail_fast_stuck", storage, "--stop-timeout", "1", "--log-folder", str(logs))
    assert job.returncode != 0
    assert job.line("CAUGHT").startswith("RunFailedError run 7 failed (fail_fast=True)")
    assert "did not stop within 1 s" in (logs / "main_errors.log").read_text()
    stored = statuses(read_stored(storage, script.TRAJECTORY))
    assert script.STUCK_RUN not in stored
    assert stored[script.FAILING_RUN] is RunStatus.FAILED


def test_unpicklable_job_is_a_runner_error_on_rank_0(storage: str) -> None:
    job = launch(2, "unpicklable_job", storage)
    assert job.returncode == 0, job.stderr
    message = job.line("CAUGHT")
    assert message.startswith("RunnerError") and "cannot be pickled" in message and "module level" in message
    assert read_stored(storage, script.TRAJECTORY).runs == {}


def test_worker_that_cannot_load_the_job_is_reported_by_rank_0(storage: str) -> None:
    job = launch(3, "worker_cannot_load", storage)
    assert job.returncode == 0, job.stderr
    message = job.line("CAUGHT")
    assert message.startswith("RunnerError MPI rank ") and "could not load the job" in message
    assert "importable on rank 0 only" in message
    assert read_stored(storage, script.TRAJECTORY).runs == {}


def test_job_exiting_the_interpreter_is_a_runner_error_and_finished_runs_are_stored(storage: str) -> None:
    job = launch(3, "job_exits", storage)
    assert job.returncode == 0, job.stderr
    message = job.line("CAUGHT")
    assert message.startswith("RunnerError MPI rank ") and "stopped in run 5: the job raised SystemExit" in message
    stored = statuses(read_stored(storage, script.TRAJECTORY))
    assert script.EXITING_RUN not in stored
    assert set(stored.values()) == {RunStatus.COMPLETED}
    assert 0 in stored


# -- interrupted explorations and resume --------------------------------------------------


def _assert_resume_completes(storage: str, stored_before: set[int]) -> None:
    job = launch(3, "resume", storage)
    assert job.returncode == 0, job.stderr
    expected_returned, expected_stored = serial_reference(script.product_job)
    missing = ALL_RUNS - stored_before
    assert job.returned == [(idx, value) for idx, value in expected_returned if idx in missing]
    assert_same_exploration(expected_stored, read_stored(storage, script.TRAJECTORY))


def test_dead_rank_aborts_and_resume_completes_exactly_the_missing_runs(storage: str) -> None:
    job = launch(3, "die", storage)
    assert job.returncode != 0
    stored = statuses(read_stored(storage, script.TRAJECTORY))
    assert set(stored.values()) == {RunStatus.COMPLETED}
    assert 0 in stored and script.DYING_RUN not in stored
    _assert_resume_completes(storage, set(stored))


def test_ctrl_c_stores_every_finished_run_and_resume_completes(storage: str) -> None:
    process = _start(3, "slow", storage)
    assert process.stdout is not None
    finished_before_interrupt: set[int] = set()
    for line in process.stdout:
        if line.startswith("FINISHED "):
            finished_before_interrupt.add(int(line.split()[1]))
        if len(finished_before_interrupt) == 3:
            process.send_signal(signal.SIGINT)
            break
    job = _finish(process)
    assert job.returncode != 0
    assert "KeyboardInterrupt" in job.stderr
    stored = statuses(read_stored(storage, script.TRAJECTORY))
    assert set(stored.values()) == {RunStatus.COMPLETED}
    assert finished_before_interrupt <= set(stored)
    _assert_resume_completes(storage, set(stored))
