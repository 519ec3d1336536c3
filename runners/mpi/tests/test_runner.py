"""The runner in this process (one MPI rank): options, plugin loading, chunk sizes."""

from __future__ import annotations

import sys
from typing import Any

import pytest

from pypet_rebuild import Environment, PluginLoadError, RunnerError, RunPlan, Trajectory
from pypet_rebuild.plugins import PluginHost, get_plugin_host

from pypet_rebuild_mpi import MPIRunner
from pypet_rebuild_mpi._coordinator import MAX_ADAPTIVE_CHUNK, Coordinator


def test_registered_as_mpi_and_single_rank_is_the_coordinator() -> None:
    runner = get_plugin_host().make_runner("mpi")
    assert isinstance(runner, MPIRunner)
    assert runner.size == 1 and runner.is_coordinator


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"chunk_size": 0}, "chunk_size must be a positive whole number"),
        ({"chunk_size": 2.5}, "chunk_size must be a positive whole number"),
        ({"chunk_size": True}, "chunk_size must be a positive whole number"),
        ({"comm": "COMM_WORLD"}, "needs an mpi4py intracommunicator"),
        ({"stop_timeout": -1}, "stop_timeout must be a number of seconds"),
        ({"ncores": 4}, "ncores"),
    ],
)
def test_bad_options_are_runner_errors(options: dict[str, Any], message: str) -> None:
    with pytest.raises(RunnerError, match=message):
        Environment("t", "memory://", runner="mpi", progress=False, log_to_console=False, **options)


def test_a_null_communicator_is_refused() -> None:
    from mpi4py import MPI

    null = MPI.COMM_WORLD.Split(MPI.UNDEFINED)
    with pytest.raises(RunnerError, match="intracommunicator"):
        MPIRunner(comm=null)


def test_single_rank_runs_in_this_process_like_the_serial_runner() -> None:
    traj = Trajectory("single")
    traj.add_parameter("x", 0)
    traj.explore({"x": [3, 1, 2]})
    with Environment(traj, "memory://", runner="mpi", chunk_size=2, progress=False, log_to_console=False) as env:
        assert env.run(_square) == [(0, 9), (1, 1), (2, 4)]


def _square(traj: Trajectory) -> int:
    return int(traj.x) ** 2


def test_missing_mpi4py_fails_the_plugin_load_with_the_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "mpi4py", None)  # what ``import mpi4py`` meets when it is not installed
    monkeypatch.delitem(sys.modules, "pypet_rebuild_mpi.plugin", raising=False)
    host = PluginHost()
    with pytest.raises(PluginLoadError, match=r"pip install .*(runners/mpi|'pypet-rebuild\[mpi\]')") as caught:
        host.make_runner("mpi")
    assert isinstance(caught.value.__cause__, ImportError)


# -- the adaptive chunk policy ------------------------------------------------------------


class _ThreeRanks:
    """Enough of a communicator for the chunk policy: rank 0 and two workers."""

    def Get_size(self) -> int:
        return 3


def _coordinator(runs: int, chunk_size: int | None = None) -> Coordinator:
    plan = RunPlan(Trajectory("chunks"), _square, indices=list(range(runs)))
    return Coordinator(_ThreeRanks(), plan, lambda o: None, lambda i: None, chunk_size=chunk_size, stop_timeout=1)


def _computed(coordinator: Coordinator, runs: int, seconds_each: float) -> None:
    """What the workers' reports would have told the policy."""
    coordinator.runs_computed += runs
    coordinator.seconds_computed += runs * seconds_each


def test_chunks_start_with_one_run_and_grow_for_short_runs() -> None:
    coordinator = _coordinator(1000)
    assert coordinator._next_chunk() == [0]
    _computed(coordinator, 1, seconds_each=0.001)
    assert coordinator._next_chunk() == list(range(1, 1 + MAX_ADAPTIVE_CHUNK))


def test_long_runs_are_handed_out_one_at_a_time() -> None:
    coordinator = _coordinator(1000)
    coordinator._next_chunk()
    _computed(coordinator, 1, seconds_each=5.0)
    assert len(coordinator._next_chunk()) == 1


def test_chunks_shrink_to_a_fair_share_near_the_end() -> None:
    coordinator = _coordinator(9)
    _computed(coordinator, 1, seconds_each=0.001)
    sizes = []
    while chunk := coordinator._next_chunk():
        sizes.append(len(chunk))
    assert sizes == [3, 2, 1, 1, 1, 1]
    assert coordinator._next_chunk() == []


def test_a_fixed_chunk_size_is_kept() -> None:
    coordinator = _coordinator(7, chunk_size=3)
    assert [coordinator._next_chunk() for _ in range(4)] == [[0, 1, 2], [3, 4, 5], [6], []]
