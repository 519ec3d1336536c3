"""The jobs our side runs; a module of their own so that spawned worker
processes (multiprocessing, MPI) can import them by name."""

from __future__ import annotations

from typing import Any

from _workdata import cpu_work, payload_array


def trivial_job(traj: Any) -> None:
    """The smallest honest run: one multiplication, one scalar result."""
    traj.add_result("z", traj.x * traj.y)


def returning_job(traj: Any) -> float:
    """The trivial job that also returns its value: what run() keeps per run."""
    z = traj.x * traj.y
    traj.add_result("z", z)
    return z


def array_job(traj: Any) -> None:
    """Stores one float64 array of ``traj.length`` elements per run."""
    traj.add_result("arr", payload_array(traj.idx, traj.length))


def cpu_job(traj: Any) -> None:
    """About 10 ms of pure-Python arithmetic, then one scalar result."""
    traj.add_result("total", cpu_work(traj.loops))
