"""Several processes writing to one database at the same time lose nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from pypet_rebuild import get_plugin_host

BATCHES = 15
RUNS_PER_BATCH = 40

# Each worker waits for the start signal, then (racing the other worker)
# creates the tables of a new database, its own trajectory and possibly the
# shared one, and stores batches into both while merging metadata.
WORKER = """
import os, sys, time
from pypet_rebuild import get_plugin_host
from pypet_rebuild.errors import StorageError
from pypet_rebuild.storage.records import NodeKind, NodeRecord, RunRecord, RunStatus, TrajectoryInfo

url, start_signal = sys.argv[1], sys.argv[3]
worker, batches, per_batch = int(sys.argv[2]), int(sys.argv[4]), int(sys.argv[5])
while not os.path.exists(start_signal):
    time.sleep(0.002)
backend = get_plugin_host().open_storage(url)
backend.create_trajectory(TrajectoryInfo(f"own_{worker}", time.time()))
try:
    backend.create_trajectory(TrajectoryInfo("shared", 0.0))
except StorageError:
    pass  # the other worker created it first

def runs(indices):
    return [RunRecord(i, RunStatus.COMPLETED, 1.0, 2.0, None, [
        NodeRecord("results.z", NodeKind.RESULT, data={"z": float(i)}),
        NodeRecord("results.worker", NodeKind.RESULT, data={"worker": worker}),
    ]) for i in indices]

for batch in range(batches):
    first = batch * per_batch
    backend.store_runs(f"own_{worker}", runs(range(first, first + per_batch)))
    backend.store_runs("shared", runs(range(2 * first + worker, 2 * (first + per_batch), 2)))
    backend.update_metadata("shared", {f"worker_{worker}": batch})
backend.close()
"""


def test_two_processes_write_the_same_new_database_at_once(any_new_url: str, tmp_path: Path) -> None:
    start_signal = tmp_path / "go"
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, any_new_url, str(worker), str(start_signal), str(BATCHES),
             str(RUNS_PER_BATCH)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for worker in (0, 1)
    ]
    start_signal.touch()
    for process in workers:
        _, stderr = process.communicate(timeout=120)
        assert process.returncode == 0, stderr
    total = BATCHES * RUNS_PER_BATCH
    with get_plugin_host().open_storage(any_new_url) as backend:
        assert sorted(i.name for i in backend.list_trajectories()) == ["own_0", "own_1", "shared"]
        for worker in (0, 1):
            indices, values = backend.load_column(f"own_{worker}", "results.z", "z")
            assert list(indices) == list(range(total)) and values == [float(i) for i in range(total)]
        indices, owners = backend.load_column("shared", "results.worker", "worker")
        assert list(indices) == list(range(2 * total))
        assert owners == [i % 2 for i in range(2 * total)]
        assert len(backend.load_run_infos("shared")) == 2 * total
        assert backend.load_info("shared").metadata == {"worker_0": BATCHES - 1, "worker_1": BATCHES - 1}
