"""Parallel runners and database backends."""

from __future__ import annotations

from typing import Any

from pypet_rebuild_compat.reference import REFERENCES
from _plan import PYPET_MULTIPROC, Context, attempt, missing_row, pypet_config_text
from _report import Row
from _sides import runner_status, storage_status
from _workdata import calibrate_loops
from pypet_rebuild.plugins import mask_url

CPU = "CPU-bound job (~10 ms of pure Python per run), speed-up over our serial runner"
MP_TRIVIAL = "Trivial job, multiprocessing with 2 processes, HDF5"
DATABASES = "Database backends (issue 4): trivial job, serial"
#: targets of issue 16: the speed-up of CPU-bound runs on 2 cores, and the
#: trivial exploration under multiprocessing against the serial runner
SPEEDUP_TARGET = 1.85
MP_TRIVIAL_RATIO = 1.2

#: mongomock checks a unique index by scanning every stored document on each
#: insert, so its cost per run grows with the runs stored; it is measured at
#: this size at most (it is a test double, not a database).
MONGOMOCK_MAX_RUNS = 2_000
_MONGOMOCK_NOTE = [f"mongomock at {MONGOMOCK_MAX_RUNS:,} runs only: its unique-index check scans every stored "
                   "document on each insert (quadratic in the runs stored; 5 ms per run at 1,000 runs, 11 ms at "
                   "3,000), so its figures measure mongomock, not MongoDB."]


def _runner_storage(ctx: Context, name: str) -> tuple[str, list[str]]:
    """Runner rows measure runners: HDF5 when it works, else memory:// (said so)."""
    if not storage_status(name):
        return ctx.path(name), []
    return "memory://", ["stored to memory:// because the HDF5 backend was not available"]


def cpu_speedup(ctx: Context) -> list[Row]:
    n = ctx.plan.cpu_runs
    loops = calibrate_loops(ctx.plan.cpu_seconds)
    storage, storage_notes = _runner_storage(ctx, "ours_cpu.h5")
    base = {"workload": "run", "job": "cpu", "n": n, "storage": storage, "params": {"loops": loops}}
    serial, serial_status = attempt(lambda: ctx.sides.ours("cpu-serial", base), ctx.plan.repeats)
    rows: list[Row] = []
    if serial is None:
        rows.append(missing_row(CPU, f"serial, {n:,} runs", "seconds", "", serial_status))
    else:
        rows.append(Row(CPU, f"serial, {n:,} runs", "seconds", serial["run_seconds"], notes=[
            f"cpu_work({loops:,} loops) calibrated to {ctx.plan.cpu_seconds * 1e3:.0f} ms on this machine; "
            f"measured {serial['per_run_seconds'] * 1e3:.1f} ms per run serially. Times are env.run() wall "
            f"time, the median of {ctx.plan.repeats} for each runner (the machine is shared); speed-up = serial "
            "time ÷ parallel time."] + storage_notes))
    variants: list[tuple[str, dict[str, Any], int | None, str, list[str]]] = [
        ("multiprocessing, 2 processes", {"runner": "multiprocessing", "runner_options": {"ncores": 2}}, None,
         runner_status("multiprocessing"), ["Environment(..., runner='multiprocessing', ncores=2): spawn start "
                                            "method, the runner's default chunking."]),
        ("mpiexec -n 2 (1 worker)", {"runner": "mpi"}, 2, runner_status("mpi"),
         ["Rank 0 of the mpi runner coordinates and stores and does not compute, so -n 2 has one worker: "
          "no speed-up is possible; listed for completeness."]),
        ("mpiexec -n 3 (2 workers)", {"runner": "mpi"}, 3, runner_status("mpi"),
         ["-n 3: two computing ranks on the two cores plus the coordinating rank 0."]),
    ]
    for label, options, ranks, status, notes in variants:
        result = None
        if not status:
            spec = dict(base, **options)
            result, status = attempt(
                lambda: ctx.sides.ours(f"cpu-{label.split()[0]}-{ranks}", spec, mpi_ranks=ranks), ctx.plan.repeats
            )
        if result is None or serial is None:
            rows.append(missing_row(CPU, label, "seconds", f"≥ {SPEEDUP_TARGET}× speed-up", status or serial_status))
            continue
        row = Row(CPU, label, "seconds", result["run_seconds"], serial["run_seconds"], "our serial",
                  f"≥ {SPEEDUP_TARGET}× speed-up", notes=notes, load=result["load"])
        row.met = row.advantage is not None and row.advantage >= SPEEDUP_TARGET
        if result["completed"] != n:
            row.status, row.met = f"error: {result['completed']} of {n} runs completed", False
        rows.append(row)
    return rows


def mp_trivial(ctx: Context) -> list[Row]:
    n, pypet_n = ctx.plan.mp_trivial_runs, ctx.plan.pypet_mp_trivial_runs
    rows: list[Row] = []
    pypets: list[tuple[str, dict[str, Any] | None]] = []
    pypet_notes = [f"pypet at {pypet_n:,} runs: {pypet_config_text(PYPET_MULTIPROC)}"]
    for reference in REFERENCES:
        spec = {"workload": "run", "job": "trivial", "n": pypet_n, "environment": PYPET_MULTIPROC,
                "filename": ctx.path(f"pypet{reference.version}_mp_{pypet_n}.h5")}
        pypet, pypet_status = attempt(lambda: ctx.sides.pypet(f"mp-trivial-{pypet_n}", spec, reference.version),
                                      ctx.plan.repeats)
        pypets.append((reference.label, pypet))
        if pypet is None:
            pypet_notes.append(f"{reference.label} failed: {pypet_status}")
    storage, status, stand_in = ctx.hdf5_storage(f"ours_mp_{n}.h5")
    status = status or runner_status("multiprocessing")
    ours = None
    if not status:
        spec = {"workload": "run", "job": "trivial", "n": n, "storage": storage,
                "runner": "multiprocessing", "runner_options": {"ncores": 2}}
        ours, status = attempt(lambda: ctx.sides.ours(f"mp-trivial-{n}", spec), ctx.plan.repeats)
    vs_pypet, vs_serial = "≥ 100× less than pypet", f"≤ {MP_TRIVIAL_RATIO}× our serial"
    if ours is None:
        rows.append(missing_row(MP_TRIVIAL, f"time per run, {n:,} runs", "per_run", vs_pypet, status))
        rows.append(missing_row(MP_TRIVIAL, f"time per run vs our serial, {n:,} runs", "per_run", vs_serial, status))
        rows[0].notes += pypet_notes
        return rows
    for label, pypet in pypets:
        row = Row(MP_TRIVIAL, f"time per run, {n:,} runs", "per_run", ours["per_run_seconds"],
                  pypet["per_run_seconds"] if pypet else None, f"{label} @ {pypet_n:,} runs", vs_pypet,
                  notes=pypet_notes + stand_in, load=ours["load"])
        row.met = row.advantage is not None and row.advantage >= 100
        rows.append(row)
        pypet_notes, stand_in = [], []
    serial = ctx.made.get("ours_trivial_figures", {}).get(n)
    row = Row(MP_TRIVIAL, f"time per run vs our serial, {n:,} runs", "per_run", ours["per_run_seconds"],
              serial["per_run_seconds"] if serial else None, "our serial", vs_serial, load=ours["load"])
    row.met = serial is not None and ours["per_run_seconds"] <= MP_TRIVIAL_RATIO * serial["per_run_seconds"]
    if serial is None:
        row.notes.append("our serial figure at this size is missing (see the trivial-job section)")
    rows.append(row)
    return rows


def databases(ctx: Context) -> list[Row]:
    size = ctx.plan.db_collect_runs
    targets: list[tuple[str, str]] = [("HDF5", ctx.path(f"db_{size}.h5")),
                                      ("SQLite", f"sqlite:///{ctx.path(f'db_{size}.db')}")]
    if ctx.postgres_url:
        targets.append(("PostgreSQL", ctx.postgres_url))
    targets.append(("mongomock", "mongomock://localhost/pypet_bench"))
    rows: list[Row] = []
    reference: dict[str, Any] | None = None
    for label, storage in targets:
        n = min(ctx.plan.db_collect_runs, MONGOMOCK_MAX_RUNS) if label == "mongomock" else ctx.plan.db_collect_runs
        status = storage_status(storage)
        result = None
        if not status:
            spec = {"workload": "run", "job": "trivial", "n": n, "storage": storage, "collect": True}
            result, status = attempt(lambda: ctx.sides.ours(f"db-{label}-{n}", spec))
        if result is not None and not (result["collect"]["values_correct"] and result["completed"] == n):
            result, status = None, f"error: {result['completed']} runs completed, column correct: " \
                                   f"{result['collect']['values_correct']}"
        if result is None:
            rows.append(missing_row(DATABASES, f"{label}: runs per second, {n:,} runs", "rate", "", status))
            rows.append(missing_row(DATABASES, f"{label}: collect one result across {n:,} runs", "seconds", "",
                                    status))
            continue
        ref = reference if label != "HDF5" else None
        shown_url = mask_url(storage).replace(str(ctx.out) + "/", "")
        rows.append(Row(DATABASES, f"{label}: runs per second, {n:,} runs", "rate", n / result["run_seconds"],
                        ref["n"] / ref["run_seconds"] if ref else None, "HDF5" if ref else "",
                        notes=[f"URL {shown_url}; one process runs {n:,} trivial runs, closes the environment, then "
                               "load_trajectory(URL) and get_column('z') (checked exactly)."]
                        + (_MONGOMOCK_NOTE if label == "mongomock" else [])))
        same_size = ref is not None and ref["n"] == n
        rows.append(Row(DATABASES, f"{label}: collect one result across {n:,} runs", "seconds",
                        result["collect"]["total_seconds"], ref["collect"]["total_seconds"] if same_size else None,
                        "HDF5" if same_size else ""))
        if label == "HDF5":
            reference = result
    return rows

