"""Side-by-side benchmarks of pypet-rebuild against the original pypet (0.6.1 and 0.7.0).

    python benchmarks/compare_pypet.py [--quick | --full] [--scale]

Makes (once) separate virtual environments holding pypet 0.6.1 (with the
numpy/pandas/PyTables it needs) and pypet 0.7.0 (on a pyenv Python >= 3.12), runs every workload on both sides in fresh
subprocesses, prints the table and saves it as markdown and JSON under
``benchmarks/out/``. Rows whose plugin is not installed (or fails) say so
instead of disappearing; missed targets are marked, not hidden.

Modes: ``--quick`` (under ~10 minutes: smaller memory and database sizes,
pypet's multiprocessing at 1,000 runs), the default, and ``--full`` (also
runs pypet's serial trivial job at 10,000 runs); ``--scale`` adds the trivial
job at 10^3 to 10^6 runs and its log-log plot. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shlex
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _plan import Context, Plan  # noqa: E402
from pypet_rebuild_compat.reference import REFERENCES, ensure_pypet_venv, venv_python  # noqa: E402
from _report import Row, plain_table, update_docs, write_outputs  # noqa: E402
from _scale import plot_scale, scale  # noqa: E402
from _sections_parallel import cpu_speedup, databases, mp_trivial  # noqa: E402
from _sections_serial import arrays, memory, reload, trivial_serial  # noqa: E402
from _sides import HERE, Sides  # noqa: E402
from pypet_rebuild.plugins import mask_url  # noqa: E402

DOCS_PAGE = HERE.parent / "docs" / "performance.md"
SCALE_PLOT = HERE.parent / "docs" / "performance_scale.png"

#: Sections in the order they run; later ones reuse files the earlier ones made.
SECTIONS: dict[str, Callable[[Context], list[Row]]] = {
    "trivial": trivial_serial,
    "reload": reload,
    "arrays": arrays,
    "memory": memory,
    "parallel": cpu_speedup,
    "mp-trivial": mp_trivial,
    "databases": databases,
    "scale": scale,
}
#: Sections that run only when asked for (``--scale``, or ``--only``).
ON_REQUEST = {"scale"}


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="smaller sizes; under ~10 minutes")
    mode.add_argument("--full", action="store_true", help="also pypet's serial trivial job at 10,000 runs")
    parser.add_argument("--scale", action="store_true",
                        help="also run the trivial job at 10^3 ... 10^6 runs (µs/run, B/run, RSS growth) and plot it")
    parser.add_argument("--pypet-venv", type=Path, default=HERE / "out" / "pypet-venv",
                        help="where the pypet environments live (made if missing): PATH for 0.6.1, PATH-0.7.0 ...")
    parser.add_argument("--postgres-url", help="also measure PostgreSQL at this URL (its database is overwritten)")
    parser.add_argument("--out", type=Path, default=HERE / "out", help="folder for files, logs and the table")
    parser.add_argument("--only", action="append", choices=sorted(SECTIONS),
                        help="run only this section (repeatable); 'reload' needs 'trivial'")
    parser.add_argument("--update-docs", action="store_true",
                        help="also put the saved table into docs/performance.md (between its table markers)")
    parser.add_argument("--stand-in-memory", action="store_true",
                        help="development aid: measure HDF5 rows on memory:// when the HDF5 backend is missing")
    return parser.parse_args(argv)


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores ({cpu}), {memory_gib:.0f} GiB, {platform.system()} {platform.release()}"


def _versions() -> str:
    import numpy
    import tables

    import pypet_rebuild

    return (f"Python {platform.python_version()}, pypet-rebuild {pypet_rebuild.__version__}, "
            f"numpy {numpy.__version__}, PyTables {tables.__version__}")


def _load_text(load: tuple[float, float, float]) -> str:
    return ", ".join(f"{value:.2f}" for value in load)


def _pypet_environments(base: Path, out: Path) -> tuple[dict[str, Path], str]:
    """Make or reuse every pypet reference's environment: (version -> Python, text for the header)."""
    pythons: dict[str, Path] = {}
    texts: list[str] = []
    for index, reference in enumerate(REFERENCES):
        venv = base if index == 0 else base.with_name(f"{base.name}-{reference.version}")
        try:
            versions = ensure_pypet_venv(venv, out / f"pypet-venv-{reference.version}-setup.log", reference)
        except (RuntimeError, OSError, subprocess.CalledProcessError) as exc:
            texts.append(f"{reference.label} not available: {exc}")
            continue
        pythons[reference.version] = venv_python(venv)
        texts.append(", ".join(f"{name} {version}" for name, version in versions.items()))
    return pythons, "; ".join(texts)


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    mode = "quick" if args.quick else "full" if args.full else "default"
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    load_at_start = os.getloadavg()
    pypet_pythons, pypet_text = _pypet_environments(args.pypet_venv.resolve(), out)
    print(f"pypet side: {pypet_text}", flush=True)
    ctx = Context(Plan.for_mode(mode), Sides(out, pypet_pythons), out, args.postgres_url, args.stand_in_memory)
    rows: list[Row] = []
    seconds: dict[str, float] = {}
    for name, section in SECTIONS.items():
        if (args.only and name not in args.only) or (not args.only and name in ON_REQUEST and not args.scale):
            continue
        print(f"== {name} ...", flush=True)
        section_started = time.monotonic()
        section_rows = section(ctx)
        seconds[name] = round(time.monotonic() - section_started, 1)
        print(plain_table(section_rows), flush=True)
        rows += section_rows
    meta = {
        "date": dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        "machine": _machine(),
        "command": "python benchmarks/compare_pypet.py " + shlex.join(
            mask_url(arg) if "://" in arg else arg for arg in (argv if argv is not None else sys.argv[1:])
        ),
        "mode": mode,
        "ours": _versions(),
        "pypet side": pypet_text,
        "load average (1, 5, 15 min) at the start": _load_text(load_at_start),
        "load average at the end": _load_text(os.getloadavg()),
        "wall time": f"{time.monotonic() - started:.0f} s",
        "section seconds": seconds,
    }
    md_path, json_path = write_outputs(rows, meta, out, f"compare_pypet_{mode}")
    if "scale" in ctx.made:
        plot_path = SCALE_PLOT if args.update_docs else out / SCALE_PLOT.name
        plot_scale(ctx.made["scale"], plot_path, meta)
        print(f"plotted {plot_path}")
    if args.update_docs:
        update_docs(DOCS_PAGE, md_path.read_text())
        print(f"updated {DOCS_PAGE}")
    missed = [row for row in rows if row.target and row.met is False]
    print(f"\n{len(rows)} rows, {sum(1 for r in rows if r.met)} targets met, {len(missed)} missed or not measured; "
          f"saved {md_path} and {json_path} ({meta['wall time']})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
