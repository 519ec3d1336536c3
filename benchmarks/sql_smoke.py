"""Smoke benchmark of the SQL backend: the figures its issue asks for.

Run: /work/venv/bin/python benchmarks/sql_smoke.py [--runs 10000] [--column-runs 100000]
     [--postgres-url postgresql+psycopg2://user@host/db]

For SQLite (a file in a temporary folder) and, when a URL is given, for
PostgreSQL (trajectories named ``sql_smoke_*`` are made there and deleted):

1. Trivial runs per second through ``Environment`` with the serial runner,
   beside the same exploration on ``memory://`` (the core's own cost).
2. ``store_runs`` of 1000 trivial runs per batch: time per batch and how
   many SQL statements one batch sends.
3. One result column across ``--column-runs`` runs: ``load_column``,
   ``load_column_array`` (each one query), and ``load_trajectory`` +
   ``get_column`` as a user would call them.
No assertions beyond sanity checks: it prints figures for the report.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid

import numpy as np
from sqlalchemy import event

from pypet_rebuild import Environment, Trajectory, get_plugin_host
from pypet_rebuild.persistence import load_trajectory
from pypet_rebuild.storage.records import NodeKind, NodeRecord, RunRecord, RunStatus, TrajectoryInfo
from pypet_rebuild_sql import _statements

BATCH = 1000


def _trivial_job(traj: Trajectory) -> float:
    z = traj.x * 0.5
    traj.add_result("z", z)
    return z


def environment_runs(url: str, runs: int, name: str) -> float:
    """Runs per second of the trivial job, serial runner, storing into ``url``."""
    traj = Trajectory(name)
    traj.add_parameter("x", 0.0)
    traj.explore({"x": [float(i) for i in range(runs)]})
    began = time.perf_counter()
    with Environment(traj, url, log_to_console=False, progress=False) as env:
        results = env.run(_trivial_job)
    elapsed = time.perf_counter() - began
    assert len(results) == runs
    return runs / elapsed


def _batch(start: int, stop: int) -> list[RunRecord]:
    return [
        RunRecord(i, RunStatus.COMPLETED, 1e9 + i, 1e9 + i + 0.5, None,
                  [NodeRecord("results.z", NodeKind.RESULT, data={"z": i * 0.5})])
        for i in range(start, stop)
    ]


def batches_and_column(url: str, runs: int, name: str) -> None:
    backend = get_plugin_host().open_storage(url)
    backend.create_trajectory(TrajectoryInfo(name, time.time()))
    backend.store_nodes(name, [
        NodeRecord("parameters.x", NodeKind.PARAMETER, data={"value": 0.0}, explored=[float(i) for i in range(runs)])
    ])
    statements: list[str] = []
    event.listen(backend.engine, "before_cursor_execute",  # type: ignore[attr-defined]
                 lambda conn, cursor, statement, *rest: statements.append(statement))
    copy_rows = _statements._copy_rows  # PostgreSQL's COPY bypasses SQLAlchemy's events

    def counted_copy(connection, table, rows):  # noqa: ANN001, ANN202
        statements.append(f"COPY {table.name}")
        return copy_rows(connection, table, rows)

    _statements._copy_rows = counted_copy
    costs, per_batch = [], []
    for start in range(0, runs, BATCH):
        batch = _batch(start, min(start + BATCH, runs))
        statements.clear()
        began = time.perf_counter()
        backend.store_runs(name, batch)
        costs.append(time.perf_counter() - began)
        per_batch.append(len([s for s in statements if not s.startswith(("BEGIN", "COMMIT", "ROLLBACK"))]))
    print(f"  store_runs, {BATCH} trivial runs per batch: median {np.median(costs) * 1e3:.1f} ms, "
          f"{BATCH / np.median(costs):,.0f} runs/s; {int(np.median(per_batch))} SQL statements per batch")

    statements.clear()
    began = time.perf_counter()
    indices, values = backend.load_column(name, "results.z", "z")
    as_list = time.perf_counter() - began
    list_statements = len([s for s in statements if not s.startswith(("BEGIN", "ROLLBACK", "COMMIT"))])
    began = time.perf_counter()
    indices, column = backend.load_column_array(name, "results.z", "z")
    as_array = time.perf_counter() - began
    assert len(column) == runs and column[-1] == (runs - 1) * 0.5 and len(values) == runs
    print(f"  one column across {runs:,} runs: load_column {as_list * 1e3:.0f} ms ({list_statements} query), "
          f"load_column_array {as_array * 1e3:.0f} ms")
    backend.close()
    _statements._copy_rows = copy_rows

    began = time.perf_counter()
    traj = load_trajectory(url, name)
    loaded = time.perf_counter()
    indices, column = traj.get_column("z")
    done = time.perf_counter()
    assert len(column) == runs
    print(f"  load_trajectory skeleton {(loaded - began) * 1e3:.0f} ms, then get_column {(done - loaded) * 1e3:.0f} ms")
    traj.storage.close()  # type: ignore[union-attr]


def measure(label: str, url: str, runs: int, column_runs: int) -> None:
    tag = uuid.uuid4().hex[:8]
    print(f"== {label}")
    rate = environment_runs(url, runs, f"sql_smoke_env_{tag}")
    print(f"  Environment, serial runner, {runs:,} trivial runs: {rate:,.0f} runs/s "
          f"({1e6 / rate:.0f} us per run)")
    batches_and_column(url, column_runs, f"sql_smoke_column_{tag}")
    with get_plugin_host().open_storage(url) as backend:
        for info in backend.list_trajectories():
            if info.name.endswith(tag):
                backend.delete_trajectory(info.name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10_000, help="runs through Environment")
    parser.add_argument("--column-runs", type=int, default=100_000, help="runs whose column is collected")
    parser.add_argument("--postgres-url", help="also measure this PostgreSQL database")
    args = parser.parse_args()
    get_plugin_host()  # load every plugin before timing anything
    print("== memory:// (the core alone, for comparison)")
    rate = environment_runs(f"memory://{uuid.uuid4().hex}", args.runs, "baseline")
    print(f"  Environment, serial runner, {args.runs:,} trivial runs: {rate:,.0f} runs/s ({1e6 / rate:.0f} us per run)")
    with tempfile.TemporaryDirectory() as folder:
        measure("SQLite", f"sqlite:///{os.path.join(folder, 'smoke.db')}", args.runs, args.column_runs)
    if args.postgres_url:
        measure("PostgreSQL", args.postgres_url, args.runs, args.column_runs)
    print(f"load average: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
