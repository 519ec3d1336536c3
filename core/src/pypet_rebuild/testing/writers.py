"""Many writers into one trajectory: the stress test of multi-writer storage.

``stress_writers(url)`` stores a trajectory, starts ``writers`` processes
that each run their own share of its runs at the same moment
(``Environment(name, url, resume=True, runs=share)``, what a SLURM array
task does), kills one of them with SIGKILL once it has stored some runs,
then resumes the trajectory once to run what the killed writer left. The
report counts lost runs (not stored as completed) and duplicated runs
(an index stored more than once, or stored by a process that was not given
it) and checks that nothing stored before the kill was run again. Backends
that take concurrent writers call it from their tests and assert
``report.ok``; ``benchmarks/`` times it with ``kill=False``.

Run as ``python -m pypet_rebuild.testing.writers URL START_SIGNAL SHARE``
it is one writer: it waits for the start signal file, then runs its share.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from pypet_rebuild.environment import Environment
from pypet_rebuild.plugins import get_plugin_host
from pypet_rebuild.storage.records import RunStatus
from pypet_rebuild.trajectory import Trajectory

__all__ = ["STRESS_NAME", "WritersReport", "stress_job", "stress_writers"]

STRESS_NAME = "stress"
WRITER_BATCH = 5


def stress_job(traj: Trajectory) -> int:
    """A short run that says which process stored it."""
    if traj.pause:
        time.sleep(traj.pause)
    traj.add_result("z", 2 * traj.x)
    traj.add_result("writer", os.getpid())
    return int(traj.x)


@dataclass
class WritersReport:
    """What the stress run found; ``ok`` when nothing was lost, duplicated or redone."""

    runs: int
    writers: int
    seconds: float  # from the start signal until every writer had finished (the kill and resume excluded)
    lost: list[int] = field(default_factory=list)
    duplicated: list[int] = field(default_factory=list)
    foreign: list[int] = field(default_factory=list)  # stored by a process not given that run
    redone: list[int] = field(default_factory=list)  # stored before the kill, yet run again on resume
    killed_had_stored: int = 0

    @property
    def ok(self) -> bool:
        return not (self.lost or self.duplicated or self.foreign or self.redone)

    @property
    def runs_per_second(self) -> float:
        return self.runs / self.seconds if self.seconds > 0 else float("inf")


def _create(url: str, runs: int, pause: float) -> None:
    traj = Trajectory(STRESS_NAME, comment="many writers")
    traj.add_parameter("x", 0)
    traj.add_parameter("pause", float(pause))
    traj.explore({"x": list(range(runs))})
    with Environment(traj, url, runs=[], progress=False, log_to_console=False) as env:
        env.run(stress_job)


def _start_writer(url: str, start_signal: Path, share: list[int]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "pypet_rebuild.testing.writers", url, str(start_signal), ",".join(map(str, share))],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )


def _stored(url: str) -> tuple[dict[int, RunStatus], list[int], dict[int, int]]:
    """Status per run, the indices that storage hands back more than once
    (as a run record or in the column of a result), and the writer pid
    stored with each run."""
    with get_plugin_host().open_storage(url) as backend:
        infos = backend.load_run_infos(STRESS_NAME)
        indices, pids = backend.load_column(STRESS_NAME, "results.writer", "writer")
    repeated = Counter([info.idx for info in infos]) - Counter(set(info.idx for info in infos))
    repeated += Counter(int(i) for i in indices) - Counter({int(i) for i in indices})
    status = {info.idx: info.status for info in infos}
    return status, sorted(repeated), {int(i): int(p) for i, p in zip(indices, pids)}


def _wait_until_stored(url: str, share: list[int], process: subprocess.Popen[str], timeout: float) -> None:
    wanted = set(share)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        status, _, _ = _stored(url)
        if wanted.intersection(status):
            return
        time.sleep(0.05)
    raise AssertionError(f"the writer to be killed stored nothing within {timeout} s (exit code {process.poll()})")


def stress_writers(
    url: str, workdir: Path, *, writers: int = 8, runs: int = 400, pause: float = 0.002, kill: bool = True,
    timeout: float = 300.0,
) -> WritersReport:
    """Run the stress test on a storage that holds no trajectory ``stress`` yet."""
    _create(url, runs, pause)
    shares = [list(range(w, runs, writers)) for w in range(writers)]
    start_signal = workdir / "go"
    processes = [_start_writer(url, start_signal, share) for share in shares]
    start_signal.touch()
    started = time.monotonic()
    victim = processes[-1] if kill else None
    if victim is not None:
        _wait_until_stored(url, shares[-1], victim, timeout)
        victim.send_signal(signal.SIGKILL)
    for process in processes:
        _, stderr = process.communicate(timeout=timeout)
        if process is not victim and process.returncode != 0:
            raise AssertionError(f"a writer failed (exit code {process.returncode}):\n{stderr}")
    seconds = time.monotonic() - started
    before_resume, _, _ = _stored(url)
    killed_stored = sorted(set(shares[-1]).intersection(before_resume)) if kill else []
    with Environment(STRESS_NAME, url, resume=True, progress=False, log_to_console=False) as env:
        resumed = [idx for idx, _ in env.run(stress_job)]
    status, duplicated, pids = _stored(url)
    owner = {idx: processes[w].pid for w, share in enumerate(shares) for idx in share}
    for idx in resumed:
        owner[idx] = os.getpid()
    return WritersReport(
        runs=runs,
        writers=writers,
        seconds=seconds,
        lost=[idx for idx in range(runs) if status.get(idx) is not RunStatus.COMPLETED or idx not in pids],
        duplicated=duplicated,
        foreign=sorted(idx for idx, pid in pids.items() if owner.get(idx) != pid),
        redone=sorted(set(killed_stored).intersection(resumed)),
        killed_had_stored=len(killed_stored),
    )


def _writer(argv: list[str]) -> int:
    url, start_signal, share = argv
    while not os.path.exists(start_signal):
        time.sleep(0.002)
    runs = [int(idx) for idx in share.split(",") if idx]
    with Environment(
        STRESS_NAME, url, resume=True, runs=runs, batch_size=WRITER_BATCH, progress=False, log_to_console=False
    ) as env:
        env.run(stress_job)
    return 0


if __name__ == "__main__":
    sys.exit(_writer(sys.argv[1:]))
