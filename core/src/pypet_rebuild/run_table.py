"""The status of every run in a few bytes each.

A million runs must not cost a million Python objects: status codes and
times live in NumPy arrays, and only failed runs keep their error text.
``RunRecord`` objects are built when someone asks for one.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from pypet_rebuild.storage.records import RunRecord, RunStatus

__all__ = ["RunTable"]

_NOT_STORED, _COMPLETED, _FAILED = 0, 1, 2
_CODES = {RunStatus.COMPLETED: _COMPLETED, RunStatus.FAILED: _FAILED}
_STATUSES = {_COMPLETED: RunStatus.COMPLETED, _FAILED: RunStatus.FAILED}


class RunTable:
    def __init__(self) -> None:
        self._status = np.zeros(0, dtype=np.int8)
        self._started = np.zeros(0, dtype=np.float64)
        self._finished = np.zeros(0, dtype=np.float64)
        self._errors: dict[int, str] = {}

    def _reserve(self, size: int) -> None:
        if size <= len(self._status):
            return
        capacity = max(size, 2 * len(self._status), 1024)
        for name in ("_status", "_started", "_finished"):
            old = getattr(self, name)
            new = np.zeros(capacity, dtype=old.dtype)
            new[: len(old)] = old
            setattr(self, name, new)

    def record(self, run: RunRecord) -> None:
        self._reserve(run.idx + 1)
        self._status[run.idx] = _CODES[run.status]
        self._started[run.idx] = run.started
        self._finished[run.idx] = run.finished
        if run.error:
            self._errors[run.idx] = run.error
        else:
            self._errors.pop(run.idx, None)

    def record_all(self, runs: Iterable[RunRecord]) -> None:
        for run in runs:
            self.record(run)

    def get(self, idx: int) -> RunRecord | None:
        if not 0 <= idx < len(self._status) or self._status[idx] == _NOT_STORED:
            return None
        return RunRecord(
            idx,
            _STATUSES[int(self._status[idx])],
            float(self._started[idx]),
            float(self._finished[idx]),
            self._errors.get(idx),
        )

    def is_completed(self, idx: int) -> bool:
        return 0 <= idx < len(self._status) and self._status[idx] == _COMPLETED

    def completed_count(self, length: int) -> int:
        return int(np.count_nonzero(self._status[:length] == _COMPLETED))

    def stored_indices(self) -> np.ndarray:
        return np.flatnonzero(self._status != _NOT_STORED)

    def pending(self, length: int) -> list[int]:
        """Run indices below ``length`` that have not completed, ascending."""
        done = np.zeros(length, dtype=bool)
        known = min(length, len(self._status))
        done[:known] = self._status[:known] == _COMPLETED
        return np.flatnonzero(~done).tolist()

    def __contains__(self, idx: int) -> bool:
        return 0 <= idx < len(self._status) and self._status[idx] != _NOT_STORED
