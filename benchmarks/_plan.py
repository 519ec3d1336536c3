"""What one invocation measures (sizes per mode) and the shared run context."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _report import Row
from _sides import MeasurementError, Sides, storage_status

#: pypet's fastest honest serial configuration (pypet 0.6.1 Environment keywords):
#: logging and progress off, and the optional overview/summary tables off,
#: which its docs name as the per-run overhead a user can switch off.
PYPET_SERIAL: dict[str, Any] = {
    "log_config": None,
    "report_progress": False,
    "multiproc": False,
    "small_overview_tables": False,
    "large_overview_tables": False,
    "summary_tables": False,
    "purge_duplicate_comments": False,
}

#: pypet's fastest multiprocessing mode per its optimization tips: a pool
#: fed through a shared pipe, with the trajectory and job sent to each worker
#: once (``freeze_input``).
PYPET_MULTIPROC: dict[str, Any] = dict(
    PYPET_SERIAL, multiproc=True, ncores=2, wrap_mode="PIPE", use_pool=True, freeze_input=True
)

ARRAY_LENGTH = 131072  # float64 elements: 1 MiB per run


def pypet_config_text(config: dict[str, Any]) -> str:
    return "pypet.Environment(" + ", ".join(f"{key}={value!r}" for key, value in config.items()) + ")"


@dataclass
class Plan:
    """Sizes of every workload for one mode (quick, default, full)."""

    mode: str
    trivial_sizes: tuple[int, ...] = (10_000, 100_000)
    pypet_trivial_sizes: tuple[int, ...] = (1_000,)
    array_runs: int = 100
    memory_sizes: tuple[int, ...] = (100_000, 1_000_000)
    cpu_runs: int = 1_000
    cpu_seconds: float = 0.010
    mp_trivial_runs: int = 10_000
    pypet_mp_trivial_runs: int = 10_000
    db_rate_runs: int = 10_000
    db_collect_runs: int = 100_000
    #: how often every measurement is repeated; the median counts
    repeats: int = 3

    @classmethod
    def for_mode(cls, mode: str) -> Plan:
        if mode == "quick":
            return cls(mode, memory_sizes=(10_000, 100_000), pypet_mp_trivial_runs=1_000,
                       db_collect_runs=10_000)
        if mode == "full":
            return cls(mode, pypet_trivial_sizes=(1_000, 10_000))
        return cls(mode)


@dataclass
class Context:
    """What every section needs: where to write, how to launch, what to measure."""

    plan: Plan
    sides: Sides
    out: Path
    postgres_url: str | None = None
    stand_in_memory: bool = False
    #: files made by one section and reused by another (e.g. the 100k-run HDF5 file).
    made: dict[str, Any] = field(default_factory=dict)

    def path(self, name: str) -> str:
        return str(self.out / name)

    def hdf5_storage(self, name: str) -> tuple[str, str, list[str]]:
        """The storage for an HDF5 row: (url, status, notes).

        With ``--stand-in-memory`` and no HDF5 backend, rows run on
        ``memory://`` instead and say so; otherwise they are marked n/a.
        """
        status = storage_status(name)
        if status and self.stand_in_memory:
            return "memory://", "", ["measured on memory:// as a stand-in: the HDF5 backend was not available"]
        return self.path(name), status, []


def attempt(
    call: Callable[[], dict[str, Any]], repeats: int = 3, median_by: str = "run_seconds"
) -> tuple[dict[str, Any] | None, str]:
    """Run one measurement ``repeats`` times and keep the median repetition
    (by ``median_by``); a failure becomes the row's status instead of a crash.

    The machine is shared, so one measurement says little; the repetition in
    the middle is neither the luckiest nor the most disturbed. Its figures
    (time, bytes, RSS) are kept together, and ``load`` is the median of the
    1-minute load averages seen at the end of each repetition.
    """
    runs: list[dict[str, Any]] = []
    try:
        for _ in range(max(1, repeats)):
            runs.append(call())
    except MeasurementError as exc:
        return None, f"error: {exc}"
    ordered = sorted(runs, key=lambda figures: figures[median_by])
    loads = sorted(figures.get("load", 0.0) for figures in runs)
    spread = [figures[median_by] for figures in ordered]
    return dict(ordered[(len(ordered) - 1) // 2], repeats=len(runs), load=loads[(len(loads) - 1) // 2],
                spread=spread), ""


def missing_row(section: str, workload: str, kind: str, target: str, status: str) -> Row:
    """A row that could not be measured: short status in the table, the reason in a note."""
    if status.startswith("error"):
        return Row(section, workload, kind, target=target, met=False, status="error", notes=[status])
    return Row(section, workload, kind, target=target, met=False if target else None, status=status)
