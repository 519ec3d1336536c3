"""Serial workloads: the trivial job, the 1 MiB arrays, reloading, memory."""

from __future__ import annotations

from typing import Any

from _plan import (
    ARRAY_LENGTH,
    PYPET_SERIAL,
    Context,
    attempt,
    missing_row,
    pypet_config_text,
)
from pypet_rebuild_compat.reference import REFERENCES, PypetReference
from _report import Row

TRIVIAL = "Trivial job (z = x * y stored per run), serial, HDF5, logging off"
ARRAYS = "100 runs × 1 MiB float64 array stored per run"
RELOAD = "Reload the skeleton, collect one scalar result across all runs"
MEMORY = "Peak memory of a trivial exploration (ours only, serial, HDF5)"
#: targets of issue 16
ARRAYS_RATIO = 1.1
OVERWRITE_RATIO = 1.05
RSS_TARGET_MIB = 64
#: what run() may keep per returned float: the float object (24 B), its slot
#: in a list (8 B) and its run index (8 B)
RETURNED_BYTES_TARGET = 40


def _pypet_trivial(ctx: Context, reference: PypetReference) -> tuple[dict[int, dict[str, Any]], list[str]]:
    """One pypet version at each of its sizes; the largest that worked is the reference."""
    figures: dict[int, dict[str, Any]] = {}
    notes: list[str] = []
    for n in ctx.plan.pypet_trivial_sizes:
        filename = ctx.path(f"pypet{reference.version}_trivial_{n}.h5")
        spec = {"workload": "run", "job": "trivial", "n": n, "filename": filename, "environment": PYPET_SERIAL}
        repeats = ctx.plan.repeats if n <= 1_000 else 1  # 10,000 runs of pypet take 15-20 minutes
        result, status = attempt(lambda: ctx.sides.pypet(f"trivial-{n}", spec, reference.version), repeats)
        if result is None:
            notes.append(f"{reference.label} at {n:,} runs failed: {status}")
            continue
        figures[n] = result
        ctx.made.setdefault("pypet_trivial_file", {})[reference.version] = (filename, n)
    return figures, notes


def _pypet_text(reference: PypetReference, pypet: dict[int, dict[str, Any]]) -> str:
    return f"{reference.label}: " + (", ".join(
        f"{n:,} runs: {f['per_run_seconds'] * 1e3:.2f} ms/run (CPU {f['run_cpu_seconds'] / n * 1e3:.2f} ms/run, "
        f"median of {f['repeats']}), {f['file_bytes'] / n:,.0f} B/run" for n, f in sorted(pypet.items()))
        or "no figure")


def trivial_serial(ctx: Context) -> list[Row]:
    references = [(reference, *_pypet_trivial(ctx, reference)) for reference in REFERENCES]
    common_notes = [
        f"pypet was run at {', '.join(f'{n:,}' for n in ctx.plan.pypet_trivial_sizes)} runs only (10 ms or more "
        f"per run, growing with the runs stored); its figure measured at the largest size that ran is the reference "
        f"for every row ({'; '.join(_pypet_text(r, figures) for r, figures, _ in references)}). Configuration: "
        f"{pypet_config_text(PYPET_SERIAL)}; results added with traj.f_add_result('z', ...) in each run.",
        "Time per run is the wall time of env.run() divided by the number of runs, both sides "
        "(environment setup and exploration excluded). Ours: Environment(traj, 'x.h5', runner='serial', "
        "progress=False, log_to_console=False, overwrite=True).",
        *(note for _, _, notes in references for note in notes),
    ]
    rows: list[Row] = []
    time_target, bytes_target = "≥ 100× less than pypet", "≤ 100 B/run"
    for n in ctx.plan.trivial_sizes:
        storage, status, stand_in = ctx.hdf5_storage(f"ours_trivial_{n}.h5")
        figures = None
        if not status:
            spec = {"workload": "run", "job": "trivial", "n": n, "storage": storage}
            figures, status = attempt(lambda: ctx.sides.ours(f"trivial-{n}", spec), ctx.plan.repeats)
        if figures is None:
            rows.append(missing_row(TRIVIAL, f"time per run, {n:,} runs", "per_run", time_target, status))
            rows.append(missing_row(TRIVIAL, f"file bytes per scalar run result, {n:,} runs",
                                    "bytes_per_run", bytes_target, status))
            continue
        ctx.made.setdefault("ours_trivial_figures", {})[n] = figures
        if not stand_in:
            ctx.made["ours_trivial_file"] = (storage, n)
        notes = (common_notes if not rows else []) + stand_in + [
            f"ours at {n:,} runs: CPU time {figures['run_cpu_seconds'] / n * 1e6:.1f} µs/run of the "
            f"{figures['per_run_seconds'] * 1e6:.1f} µs/run wall time (the rest is waiting: disk, other load)."]
        per_run_bytes = figures["file_bytes"] / n if figures.get("file_bytes") else None
        for reference, pypet, _ in references:
            ref_n = max(pypet) if pypet else None
            ref = pypet[ref_n] if ref_n else None
            ref_label = f"{reference.label} @ {ref_n:,} runs" if ref_n else reference.label
            time_row = Row(TRIVIAL, f"time per run, {n:,} runs", "per_run", figures["per_run_seconds"],
                           ref["per_run_seconds"] if ref else None, ref_label, time_target, notes=notes,
                           load=figures["load"])
            time_row.met = time_row.advantage is not None and time_row.advantage >= 100
            rows.append(time_row)
            notes = []
            bytes_row = Row(TRIVIAL, f"file bytes per scalar run result, {n:,} runs", "bytes_per_run",
                            per_run_bytes, ref["file_bytes"] / ref_n if ref and ref_n else None, ref_label,
                            bytes_target, load=figures["load"])
            bytes_row.met = per_run_bytes is not None and per_run_bytes <= 100
            if per_run_bytes is not None:
                bytes_row.notes.append("Whole file size divided by the number of runs: includes the run table "
                                       "(status, start and finish time of every run) and all fixed overhead.")
            rows.append(bytes_row)
    if rows and not rows[0].notes:
        rows[0].notes = common_notes
    return rows


def _ours_arrays(ctx: Context, name: str, storage_options: dict[str, Any], fresh: bool = True
                 ) -> tuple[dict[str, Any] | None, str, str, list[str]]:
    storage, status, stand_in = ctx.hdf5_storage(name)
    if status:
        return None, status, storage, stand_in
    spec = {"workload": "run", "job": "array", "n": ctx.plan.array_runs, "storage": storage, "fresh": fresh,
            "params": {"length": ARRAY_LENGTH}, "env_options": {"storage_options": storage_options}}
    result, status = attempt(lambda: ctx.sides.ours(name.removesuffix(".h5"), spec), ctx.plan.repeats)
    return result, status, storage, stand_in


def _per_run_bytes(figures: dict[str, Any] | None, n: int) -> float | None:
    return figures["file_bytes"] / n if figures and figures.get("file_bytes") else None


def arrays(ctx: Context) -> list[Row]:
    """Ours uncompressed against PyTables (both durability levels) and pypet
    without compression, and ours at zlib level 9 against pypet's default."""
    n = ctx.plan.array_runs
    rows: list[Row] = []
    ours, status, storage, stand_in = _ours_arrays(ctx, "ours_arrays.h5", {"durability": "process"})
    target = f"≤ {ARRAYS_RATIO}× PyTables"
    floor_notes = [f"PyTables floor: one EArray of shape (0, {ARRAY_LENGTH}), one row per run appended as it is "
                   "made, chunk = one row, filters copied from the largest array in our file. Ours: env.run() wall "
                   "time, no compression (the HDF5 backend's default)."]
    synced, synced_status, _, _ = _ours_arrays(ctx, "ours_arrays_fsync.h5", {"durability": "fsync"})
    comparisons = (
        ("write time vs PyTables, durability='process'", ours, status, False,
         "Ours with storage_options={'durability': 'process'}: no fsync (safe against kill -9, not against "
         "power loss); the floor does not sync either."),
        ("write time vs PyTables + fsync, durability='fsync'", synced, synced_status, True,
         "Ours with storage_options={'durability': 'fsync'}: the file is synced at each commit (survives a "
         "power loss); the floor is given one fsync at the end so that both have the data on disk."),
    )
    for workload, mine, mine_status, fsync, note in comparisons:
        floor, floor_status = None, "n/a (needs our HDF5 file to copy its filters)"
        if ours is not None and not stand_in:
            spec = {"workload": "pytables", "n": n, "length": ARRAY_LENGTH, "path": ctx.path("pytables_arrays.h5"),
                    "match": storage, "fsync": fsync}
            floor, floor_status = attempt(lambda: ctx.sides.ours(f"pytables-arrays-fsync-{fsync}", spec),
                                          ctx.plan.repeats, "seconds")
        if mine is None or floor is None:
            rows.append(missing_row(ARRAYS, workload, "seconds", target, mine_status or floor_status))
            continue
        row = Row(ARRAYS, workload, "seconds", mine["run_seconds"], floor["seconds"], "PyTables direct", target,
                  notes=floor_notes + [f"filters: {floor['filters']}", note])
        floor_notes = []
        row.met = mine["run_seconds"] <= ARRAYS_RATIO * floor["seconds"]
        rows.append(row)
        if not fsync:
            rows.append(Row(ARRAYS, "file size vs PyTables, same filters", "bytes_per_run",
                            _per_run_bytes(mine, n), _per_run_bytes(floor, n), "PyTables direct"))
    rows += _overwrite_rows(ctx, ours, n)
    zlib9 = {"complevel": 9, "complib": "zlib", "shuffle": True, "durability": "process"}
    ours_zlib, zlib_status, _, _ = _ours_arrays(ctx, "ours_arrays_zlib9.h5", zlib9)
    for complevel, what, mine, mine_status in ((0, "pypet, compression off", ours, status),
                                               (9, "pypet default (zlib 9), ours zlib 9", ours_zlib, zlib_status)):
        config = dict(PYPET_SERIAL, complevel=complevel)
        spec = {"workload": "run", "job": "array", "n": n, "filename": ctx.path(f"pypet_arrays_{complevel}.h5"),
                "environment": config}
        pypet, pypet_status = attempt(lambda: ctx.sides.pypet(f"arrays-c{complevel}", spec), ctx.plan.repeats)
        if mine is None:
            rows.append(missing_row(ARRAYS, f"write time vs {what}", "seconds", "", mine_status))
            continue
        notes = [f"pypet: {pypet_config_text(config)}" + (f"; {pypet_status}" if pypet is None else "")]
        if complevel:
            notes.append(f"ours: Environment(..., storage_options={zlib9})")
        rows.append(Row(ARRAYS, f"write time vs {what}", "seconds", mine["run_seconds"],
                        pypet["run_seconds"] if pypet else None, "pypet", notes=notes + stand_in))
        rows.append(Row(ARRAYS, f"file size vs {what}", "bytes_per_run", _per_run_bytes(mine, n),
                        _per_run_bytes(pypet, n), "pypet"))
    return rows


def _overwrite_rows(ctx: Context, fresh: dict[str, Any] | None, n: int) -> list[Row]:
    """The same array run written over the trajectory an earlier run left in the file."""
    workload = "overwrite the trajectory in an existing file vs a new file"
    target = f"≤ {OVERWRITE_RATIO}× a new file"
    storage, status, _ = ctx.hdf5_storage("ours_arrays_overwrite.h5")
    if fresh is None or status:
        return [missing_row(ARRAYS, workload, "seconds", target, status or "n/a (the new-file run failed)")]
    first, status, _, _ = _ours_arrays(ctx, "ours_arrays_overwrite.h5", {"durability": "process"})
    again, status, _, _ = _ours_arrays(ctx, "ours_arrays_overwrite.h5", {"durability": "process"}, fresh=False)
    if first is None or again is None:
        return [missing_row(ARRAYS, workload, "seconds", target, status)]
    row = Row(ARRAYS, workload, "seconds", again["run_seconds"], fresh["run_seconds"], "ours, new file", target,
              notes=[f"Ours with overwrite=True on a file that already holds the trajectory: each of the "
                     f"{again['repeats']} repetitions writes over the one before (durability='process')."],
              load=again["load"])
    row.met = again["run_seconds"] <= OVERWRITE_RATIO * fresh["run_seconds"]
    growth = Row(ARRAYS, f"file size after {again['repeats']} overwrites vs a new file", "bytes_per_run",
                 _per_run_bytes(again, n), _per_run_bytes(first, n), "ours, new file", load=again["load"])
    return [row, growth]


def reload(ctx: Context) -> list[Row]:
    rows: list[Row] = []
    ours_file = ctx.made.get("ours_trivial_file")
    ours: dict[str, Any] | None = None
    status = "n/a (no stored trivial run of ours)"
    if ours_file is not None:
        spec = {"workload": "collect", "storage": ours_file[0], "n": ours_file[1]}
        ours, status = attempt(lambda: ctx.sides.ours(f"collect-{ours_file[1]}", spec), ctx.plan.repeats,
                               "total_seconds")
        if ours is not None and not (ours["values_correct"] and ours["count"] == ours_file[1]):
            ours, status = None, f"error: collected column is wrong ({ours['count']} values)"
    pypet_file = ctx.made.get("pypet_trivial_file", {}).get(REFERENCES[0].version)
    pypet: dict[str, Any] | None = None
    pypet_note = "pypet: no stored trivial trajectory"
    if pypet_file is not None:
        spec = {"workload": "collect", "filename": pypet_file[0]}
        pypet, pypet_note = attempt(lambda: ctx.sides.pypet(f"collect-{pypet_file[1]}", spec), ctx.plan.repeats,
                                    "total_seconds")
        pypet_note = pypet_note or (
            f"pypet: load_trajectory(load_parameters=LOAD_DATA, load_results=LOAD_DATA) then "
            f"traj.f_get_from_runs('z', fast_access=True) into a numpy array, on its {pypet_file[1]:,}-run file "
            "(loading the data in one pass is faster than a skeleton with auto_load)")
    if ours is None:
        rows.append(missing_row(RELOAD, "total time, ours at 100,000 runs", "seconds", "< 1 s", status))
        rows.append(missing_row(RELOAD, "time per run collected", "per_run", "", status))
        return rows
    n = ours_file[1]
    total = Row(RELOAD, f"total time (load skeleton + get_column), {n:,} runs", "seconds", ours["total_seconds"],
                target="< 1 s", notes=[
                    f"ours: a fresh process, get_plugin_host() (plugin discovery, {ours['discovery_seconds']:.3f} s), "
                    f"load_trajectory(file) ({ours['load_seconds']:.3f} s), traj.get_column('z') "
                    f"({ours['column_seconds']:.3f} s); CPU time {ours['cpu_seconds']:.3f} s of the "
                    f"{ours['total_seconds']:.3f} s wall time."])
    total.met = ours["total_seconds"] < 1.0
    rows.append(total)
    rows.append(Row(RELOAD, "time per run collected", "per_run", ours["total_seconds"] / n,
                    pypet["total_seconds"] / pypet["count"] if pypet else None,
                    f"pypet @ {pypet_file[1]:,} runs" if pypet_file else "pypet", notes=[pypet_note]))
    return rows


def memory(ctx: Context) -> list[Row]:
    rows: list[Row] = []
    extra: dict[tuple[str, int], float] = {}
    large = max(ctx.plan.memory_sizes)
    jobs = [("trivial", n) for n in ctx.plan.memory_sizes] + [("returning", large)]
    for job, n in jobs:
        storage, status, stand_in = ctx.hdf5_storage(f"ours_memory_{job}_{n}.h5")
        result = None
        if not status:
            spec = {"workload": "run", "job": job, "n": n, "storage": storage}
            result, status = attempt(lambda: ctx.sides.ours(f"memory-{job}-{n}", spec), ctx.plan.repeats,
                                     "rss_peak_kib")
        what = "the job returns None" if job == "trivial" else "the job returns its float"
        if result is None:
            rows.append(missing_row(MEMORY, f"peak RSS, {n:,} runs, {what}", "kib", "", status))
            continue
        extra[job, n] = result["rss_peak_kib"] - result["rss_explored_kib"]
        rows.append(Row(MEMORY, f"peak RSS, {n:,} runs, {what}", "kib", result["rss_peak_kib"], notes=stand_in + [
            f"{n:,} runs ({what}): RSS after building and exploring the trajectory (before Environment) "
            f"{result['rss_explored_kib'] / 1024:,.1f} MiB; the median run took {result['run_seconds']:.1f} s."],
            load=result["load"]))
        row = Row(MEMORY, f"peak RSS added by running, {n:,} runs, {what}", "kib", extra[job, n], load=result["load"])
        if job == "trivial" and n == large:
            row.target = f"≤ {RSS_TARGET_MIB} MiB"
            row.met = extra[job, n] <= RSS_TARGET_MIB * 1024
            row.notes.append("Peak RSS minus the RSS after exploring, from resource.getrusage(RUSAGE_SELF)"
                             ".ru_maxrss in a fresh process per size; the median of the repetitions by peak RSS.")
        rows.append(row)
    if ("trivial", large) in extra and ("returning", large) in extra:
        per_value = (extra["returning", large] - extra["trivial", large]) * 1024 / large
        row = Row(MEMORY, f"RSS per returned value, {large:,} runs", "bytes_per_run", per_value,
                  target=f"≤ {RETURNED_BYTES_TARGET} B/run", notes=[
                      "(added RSS when the job returns its float - added RSS when it returns None) ÷ runs: what "
                      "run()'s return value costs per run. A Python float is 24 B; its list slot 8 B; its run "
                      "index 8 B."])
        row.met = per_value <= RETURNED_BYTES_TARGET
        rows.append(row)
    return rows
