"""The status of every run in a few bytes each.

A million runs must not cost a million Python objects: status codes and
times live in NumPy arrays, and only failed runs keep their error text.
``RunRecord`` objects are built when someone asks for one.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from pypet_rebuild.storage.records import RunColumns, RunRecord, RunStatus

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

    def record_columns(self, runs: RunColumns, length: int) -> None:
        """Record every run of ``runs`` below ``length`` at once."""
        keep = runs.idx < length
        idx = runs.idx[keep]
        if len(idx):
            self._reserve(int(idx.max()) + 1)
        self._status[idx] = runs.status[keep]
        self._started[idx] = runs.started[keep]
        self._finished[idx] = runs.finished[keep]
        for i in idx[runs.status[keep] == _FAILED].tolist():
            if runs.errors.get(i):
                self._errors[i] = runs.errors[i]

    def arrays(self, length: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Status codes, start and end times of runs ``0 .. length-1`` (0: not stored)."""
        known = min(length, len(self._status))
        out = (np.zeros(length, dtype=np.int8), np.full(length, np.nan), np.full(length, np.nan))
        out[0][:known], out[1][:known], out[2][:known] = (
            self._status[:known], self._started[:known], self._finished[:known]
        )
        stored = out[0] != _NOT_STORED
        out[1][~stored] = out[2][~stored] = np.nan
        return out

    def errors(self) -> dict[int, str]:
        return dict(self._errors)

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
