"""Work and data that both sides of the comparison share, byte for byte.

This module is imported by our side (numpy 2, /work/venv) and by the pypet
side (numpy 1.26, the separate pypet environment), so it uses numpy and the
standard library only.
"""

from __future__ import annotations

import time

import numpy as np

ARRAY_SEED = 20160101
_payload_cache: dict[int, np.ndarray] = {}


def payload_array(idx: int, length: int) -> np.ndarray:
    """The float64 array that run ``idx`` stores in the array workload.

    A random walk (smooth enough that compression has something to find,
    noisy enough that it is not free), shifted per run so that no two runs
    store the same bytes. Made once per process; each run only adds a
    constant, so generating the data costs next to nothing in the timings.
    """
    base = _payload_cache.get(length)
    if base is None:
        base = np.cumsum(np.random.default_rng(ARRAY_SEED).standard_normal(length))
        _payload_cache[length] = base
    return base + float(idx)


def cpu_work(loops: int) -> int:
    """Pure-Python arithmetic that keeps one core busy for ``loops`` steps."""
    total = 0
    for i in range(loops):
        total = (total + i * i) % 1_000_003
    return total


def calibrate_loops(target_seconds: float, probe_loops: int = 200_000) -> int:
    """How many ``cpu_work`` loops take ``target_seconds`` on this machine.

    The best of five probes, so that a neighbour's burst of load does not
    make the job shorter than intended.
    """
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        cpu_work(probe_loops)
        best = min(best, time.perf_counter() - started)
    return max(1, int(probe_loops * target_seconds / best))
