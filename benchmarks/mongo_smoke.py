"""MongoDB backend smoke benchmark: runs per second and one column across many runs.

    python benchmarks/mongo_smoke.py [--runs 10000] [--column-runs 100000]

(a) ``--runs`` trivial runs (``z = x * y`` stored as a result) through
    ``Environment(storage="mongomock://...")`` with the serial runner, next
    to the same on ``memory://`` for the machinery's own cost;
(b) ``--column-runs`` runs stored through ``store_runs`` in batches of 1000
    (one float ``z`` and one string ``label`` per run), then one column read
    back: the float column as one stacked array (``load_column_array``, what
    ``get_column`` uses), as a list of values (``load_column``, what
    ``get_from_runs`` uses), and the string column, which cannot be stacked.

mongomock is an in-process imitation written in pure Python: every query
scans and deep-copies documents in Python, so its figures are a floor on
what the backend's own code costs, not a prediction for a server. With
``PYPET_REBUILD_MONGO_URI`` set, both parts also run against that server in
a fresh database that is dropped afterwards.
"""

from __future__ import annotations

import argparse
import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

from pypet_rebuild.environment import Environment
from pypet_rebuild.plugins import get_plugin_host
from pypet_rebuild.storage.records import NodeKind, NodeRecord, RunRecord, RunStatus, TrajectoryInfo
from pypet_rebuild.trajectory import Trajectory

BATCH = 1000


def trivial_job(traj: Trajectory) -> float:
    z = traj.x * traj.y
    traj.add_result("z", z)
    return z


def trajectory(runs: int) -> Trajectory:
    traj = Trajectory("bench")
    traj.add_parameter("x", 1)
    traj.add_parameter("y", 1.0)
    traj.explore({"x": [i % 100 for i in range(runs)], "y": [float(i) for i in range(runs)]})
    return traj


def runs_per_second(storage: str, runs: int) -> float:
    with Environment(trajectory(runs), storage, progress=False, log_to_console=False) as env:
        started = time.perf_counter()
        env.run(trivial_job)
        return runs / (time.perf_counter() - started)


def _batch(start: int, stop: int) -> list[RunRecord]:
    return [
        RunRecord(i, RunStatus.COMPLETED, 1000.0 + i, 1000.5 + i, None, [
            NodeRecord("results.z", NodeKind.RESULT, data={"z": float(i)}),
            NodeRecord("results.label", NodeKind.RESULT, data={"label": f"run {i}"}),
        ])
        for i in range(start, stop)
    ]


def _timed(what: str, action: object) -> object:
    started = time.perf_counter()
    result = action()  # type: ignore[operator]
    print(f"  {what:<44} {time.perf_counter() - started:8.3f} s")
    return result


def column_figures(storage: str, runs: int) -> None:
    backend = get_plugin_host().open_storage(storage)
    try:
        backend.create_trajectory(TrajectoryInfo("columns", time.time()))
        started = time.perf_counter()
        for start in range(0, runs, BATCH):
            backend.store_runs("columns", _batch(start, min(start + BATCH, runs)))
        elapsed = time.perf_counter() - started
        print(f"  store {runs} runs in batches of {BATCH:<17} {elapsed:8.3f} s  ({runs / elapsed:,.0f} runs/s)")
        indices, column = _timed("load_column_array (float, stacked)", lambda: backend.load_column_array("columns", "results.z", "z"))
        assert len(indices) == runs and column[-1] == runs - 1
        _timed("load_column (float, list of values)", lambda: backend.load_column("columns", "results.z", "z"))
        _timed("load_column (str, value by value)", lambda: backend.load_column("columns", "results.label", "label"))
        _timed("load_run_infos", lambda: backend.load_run_infos("columns"))
        _timed("load_run x 100 (in run order)", lambda: [backend.load_run("columns", i) for i in range(100)])
    finally:
        backend.close()


@contextmanager
def server_database() -> Iterator[str | None]:
    uri = os.environ.get("PYPET_REBUILD_MONGO_URI")
    if not uri:
        yield None
        return
    import pymongo

    name = f"pypet_rebuild_bench_{uuid.uuid4().hex[:8]}"
    try:
        yield urlsplit(uri)._replace(path=f"/{name}").geturl()
    finally:
        client = pymongo.MongoClient(uri)
        client.drop_database(name)
        client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--column-runs", type=int, default=100_000)
    args = parser.parse_args()
    with server_database() as server:
        targets = [f"mongomock://bench-{uuid.uuid4().hex}"] + ([server] if server else [])
        runs_per_second("memory://", 200)  # imports and first-use costs, paid by neither figure
        print(f"(a) {args.runs} trivial runs through Environment, serial runner")
        print(f"  {'memory://':<44} {runs_per_second('memory://', args.runs):8,.0f} runs/s")
        for target in targets:
            print(f"  {target.split('://')[0] + '://':<44} {runs_per_second(target, args.runs):8,.0f} runs/s")
        for target in targets:
            print(f"(b) one column across {args.column_runs} runs, {target.split('://')[0]}://")
            column_figures(target, args.column_runs)


if __name__ == "__main__":
    main()
