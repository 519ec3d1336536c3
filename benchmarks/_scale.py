"""The trivial job from 10^3 to 10^6 runs: is the cost per run flat, is memory bounded?

Each size runs in a fresh process, ``repeats`` times, and the median
repetition counts. Figures per size: wall time per run, file bytes per run,
and the RSS that running adds (peak RSS minus RSS after exploring). pypet
runs at the smallest size only (10 ms or more per run). ``plot_scale``
draws the figures on log-log axes for docs/performance.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pypet_rebuild_compat.reference import REFERENCES
from _plan import PYPET_SERIAL, Context, attempt, missing_row
from _report import Row

SCALE = "Scale: trivial job (z = x * y) from 10³ to 10⁶ runs, serial"
SIZES = (1_000, 10_000, 100_000, 1_000_000)
#: SQLite runs at these sizes (at 10^6 its three repetitions alone take minutes)
SQLITE_SIZES = (1_000, 10_000, 100_000)
PER_RUN_TARGETS = {"HDF5": 10e-6, "SQLite": 15e-6}
BYTES_TARGET, BYTES_AT = 24.0, 100_000
RSS_TARGET_KIB, RSS_AT = 64 * 1024, 1_000_000
#: "flat": the cost per run at 10^6 runs at most this many times the cost at 10^3
FLAT_RATIO = 1.25


def _storage(ctx: Context, backend: str, n: int) -> tuple[str, str, list[str]]:
    if backend == "HDF5":
        return ctx.hdf5_storage(f"scale_{n}.h5")
    return f"sqlite:///{ctx.path(f'scale_{n}.db')}", "", []


def _ours(ctx: Context, backend: str, sizes: tuple[int, ...]) -> tuple[list[Row], dict[int, dict[str, Any]]]:
    rows: list[Row] = []
    figures: dict[int, dict[str, Any]] = {}
    target = PER_RUN_TARGETS[backend]
    for n in sizes:
        storage, status, stand_in = _storage(ctx, backend, n)
        result = None
        if not status:
            spec = {"workload": "run", "job": "trivial", "n": n, "storage": storage}
            result, status = attempt(lambda: ctx.sides.ours(f"scale-{backend}-{n}", spec), ctx.plan.repeats)
        label = f"{backend}: time per run, {n:,} runs"
        if result is None:
            rows.append(missing_row(SCALE, label, "per_run", f"≤ {target * 1e6:.0f} µs/run", status))
            continue
        figures[n] = result
        spread = ", ".join(f"{value / n * 1e6:.1f}" for value in result["spread"])
        row = Row(SCALE, label, "per_run", result["per_run_seconds"], target=f"≤ {target * 1e6:.0f} µs/run",
                  notes=stand_in + [f"{backend} at {n:,} runs: the {result['repeats']} repetitions took {spread} µs/run; "
                                    f"CPU {result['run_cpu_seconds'] / n * 1e6:.1f} µs/run in the median one."],
                  load=result["load"])
        row.met = result["per_run_seconds"] <= target
        rows.append(row)
        if result.get("file_bytes"):
            row = Row(SCALE, f"{backend}: file bytes per run, {n:,} runs", "bytes_per_run",
                      result["file_bytes"] / n, load=result["load"])
            if backend == "HDF5" and n == BYTES_AT:
                row.target, row.met = f"≤ {BYTES_TARGET:.0f} B/run", result["file_bytes"] / n <= BYTES_TARGET
            rows.append(row)
        grown = result["rss_peak_kib"] - result["rss_explored_kib"]
        row = Row(SCALE, f"{backend}: RSS added by running, {n:,} runs", "kib", grown, load=result["load"])
        if backend == "HDF5" and n == RSS_AT:
            row.target, row.met = "≤ 64 MiB", grown <= RSS_TARGET_KIB
        rows.append(row)
    small, large = min(sizes), max(sizes)
    if small < large and small in figures and large in figures:
        ratio = figures[large]["per_run_seconds"] / figures[small]["per_run_seconds"]
        row = Row(SCALE, f"{backend}: time per run at {large:,} ÷ at {small:,} runs", "ratio", ratio,
                  target=f"≤ {FLAT_RATIO} (flat)")
        row.met = ratio <= FLAT_RATIO
        rows.append(row)
    return rows, figures


def _pypet(ctx: Context) -> tuple[list[Row], dict[str, dict[int, dict[str, Any]]]]:
    n = SIZES[0]
    rows: list[Row] = []
    figures: dict[str, dict[int, dict[str, Any]]] = {}
    for reference in REFERENCES:
        spec = {"workload": "run", "job": "trivial", "n": n, "environment": PYPET_SERIAL,
                "filename": ctx.path(f"scale_pypet{reference.version}_{n}.h5")}
        result, status = attempt(lambda: ctx.sides.pypet(f"scale-{n}", spec, reference.version), ctx.plan.repeats)
        label = f"{reference.label}: time per run, {n:,} runs"
        if result is None:
            rows.append(missing_row(SCALE, label, "per_run", "", status))
            continue
        figures[reference.label] = {n: result}
        rows.append(Row(SCALE, label, "per_run", result["per_run_seconds"], load=result["load"]))
        rows.append(Row(SCALE, f"{reference.label}: file bytes per run, {n:,} runs", "bytes_per_run",
                        result["file_bytes"] / n, load=result["load"]))
    return rows, figures


def scale(ctx: Context) -> list[Row]:
    rows, hdf5 = _ours(ctx, "HDF5", SIZES)
    sqlite_rows, sqlite = _ours(ctx, "SQLite", SQLITE_SIZES)
    pypet_rows, pypet = _pypet(ctx)
    ctx.made["scale"] = {"ours, HDF5": hdf5, "ours, SQLite": sqlite, **pypet}
    return rows + sqlite_rows + pypet_rows


def plot_scale(series: dict[str, dict[int, dict[str, Any]]], path: Path, meta: dict[str, Any]) -> None:
    """Time per run, file bytes per run and added RSS against runs, log-log, one line per side."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = (
        ("time per run (µs)", lambda f, n: f["per_run_seconds"] * 1e6, PER_RUN_TARGETS["HDF5"] * 1e6),
        ("file size per run (B)", lambda f, n: f["file_bytes"] / n if f.get("file_bytes") else None, BYTES_TARGET),
        ("RSS added by running (MiB)", lambda f, n: max(f.get("rss_peak_kib", 0) - f.get("rss_explored_kib", 0),
                                                        1) / 1024 if "rss_peak_kib" in f else None,
         RSS_TARGET_KIB / 1024),
    )
    figure, axes = plt.subplots(1, len(panels), figsize=(13, 4.2))
    for axis, (title, value_of, target) in zip(axes, panels):
        for label, by_size in series.items():
            points = [(n, value_of(f, n)) for n, f in sorted(by_size.items())]
            points = [(n, v) for n, v in points if v is not None]
            if points:
                axis.plot(*zip(*points), marker="o", label=label)
        axis.axhline(target, color="grey", linestyle="--", linewidth=1, label="target (HDF5)")
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.set_xlabel("runs")
        axis.set_title(title)
        axis.grid(True, which="both", alpha=0.3)
    axes[0].legend(fontsize=8)
    figure.suptitle(f"{meta['date']}, load average {meta['load average at the end']} at the end "
                    f"(medians of 3 repetitions)", fontsize=9)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=90)
    plt.close(figure)
