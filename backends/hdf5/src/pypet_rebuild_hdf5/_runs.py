"""Per-run results and run status, stored columnar under ``/<trajectory>/_runs``.

* ``status``: one compound row per run (``idx``, ``status`` 1=completed
  2=failed, ``started``, ``finished``); a re-run overwrites its row.
* ``errors/``: ``run_index`` and ``text`` (UTF-8 bytes), failed runs only.
* ``columns/<run path>/``: one group per run path (``results.neuron.z``),
  whose attribute ``pypet_run_node`` holds the node's kind, comment and
  annotations as the first run stored them. Inside, one group per item with
  ``values`` (rows stacked: scalars -> 1-D, arrays -> N-D) and ``run_index``;
  values that do not fit the column (ragged, other dtype, strings, dicts,
  frames) go to ``packed``/``packed_run_index`` as ``values.pack`` blobs.
  ``_meta``/``_meta_run_index`` hold a run's node attributes where they
  differ from the first run's (and mark runs that stored no items).
"""

from __future__ import annotations

import gc
import json
from collections.abc import Sequence
from typing import Any

import h5py
import numpy as np

from pypet_rebuild.storage.records import NodeRecord, RunColumns, RunRecord, RunStatus
from pypet_rebuild.values import pack, unpack

from pypet_rebuild_hdf5._columns import PACKED_DTYPE, Rows, big_rows, chunk_rows
from pypet_rebuild_hdf5._items import SCALAR_KEYS, from_portable_json, row_to_value, stack_key, to_portable_json
from pypet_rebuild_hdf5._nodes import check_path, meta_json, record_from_meta

__all__ = ["RUNS_GROUP", "RunsState", "PreparedRuns", "prepare_runs"]

RUNS_GROUP = "_runs"
RUN_NODE_ATTRIBUTE = "pypet_run_node"
TYPE_ATTRIBUTE = "pypet_type"
STATUS_DTYPE = np.dtype([("idx", "<i8"), ("status", "i1"), ("started", "<f8"), ("finished", "<f8")])
_CODES = {RunStatus.COMPLETED: 1, RunStatus.FAILED: 2}
_STATUSES = {code: status for status, code in _CODES.items()}


class _Column:
    def __init__(self, group: h5py.Group) -> None:
        self.group = group
        self.stacked = Rows(group, "values", "run_index")
        self.packed = Rows(group, "packed", "packed_run_index")
        self._key: tuple[str, np.dtype, tuple[int, ...]] | None = None

    def key(self) -> tuple[str, np.dtype, tuple[int, ...]] | None:
        """(tag, dtype, row shape) of the stacked rows; None before the first stackable value."""
        if self._key is None:
            values = self.stacked.values
            if values is not None:
                key = str(self.group.attrs[TYPE_ATTRIBUTE]), values.dtype, values.shape[1:]
                self._key = SCALAR_KEYS.get(key, key)
        return self._key

    def set_key(self, key: tuple[str, np.dtype, tuple[int, ...]]) -> None:
        self.group.attrs[TYPE_ATTRIBUTE] = key[0]
        self._key = key

    def value_of(self, idx: int) -> tuple[bool, Any]:
        row = self.stacked.row_of(idx)
        if row >= 0:
            key = self.key()
            assert key is not None
            return True, row_to_value(key[0], self.stacked.values[row])
        row = self.packed.row_of(idx)
        if row >= 0:
            return True, unpack(self.packed.values[row].tobytes())
        return False, None

    def read(self) -> tuple[np.ndarray, Any, np.ndarray, list[Any]]:
        """Stacked run indices and rows, then packed run indices and values: one read each."""
        runs, rows = self.stacked.read()
        packed_runs, blobs = self.packed.read()
        packed = [unpack(blob.tobytes()) for blob in blobs] if blobs is not None else []
        return runs, rows, packed_runs, packed


class _RunPath:
    def __init__(self, group: h5py.Group) -> None:
        self.group = group
        text = group.attrs.get(RUN_NODE_ATTRIBUTE)
        self.default: dict[str, Any] | None = json.loads(text) if text is not None else None
        self.meta = Rows(group, "_meta", "_meta_run_index")
        self.columns = {name: _Column(group[name]) for name in group if group.get(name, getclass=True) is h5py.Group}

    def column(self, item: str) -> _Column:
        column = self.columns.get(item)
        if column is None:
            column = self.columns[item] = _Column(self.group.create_group(item))
        return column


class _StatusTable:
    def __init__(self, root: h5py.Group) -> None:
        self.root = root
        self._rows: np.ndarray | None = None
        self._dataset: h5py.Dataset | None = root.get("status")

    @property
    def dataset(self) -> h5py.Dataset | None:
        return self._dataset

    def rows_of(self) -> np.ndarray:
        if self._rows is None:
            table = self.dataset
            runs = table.fields("idx")[()] if table is not None else np.zeros(0, dtype=np.int64)
            self._rows = np.full(int(runs.max()) + 1 if len(runs) else 0, -1, dtype=np.int64)
            self._rows[runs] = np.arange(len(runs))
        return self._rows

    def write(self, entries: np.ndarray, filters: dict[str, Any]) -> np.ndarray:
        """Insert or overwrite rows; returns the run indices that were stored before."""
        rows_of = self.rows_of()
        runs = entries["idx"]
        known = runs < len(rows_of)
        old_rows = np.full(len(runs), -1, dtype=np.int64)
        old_rows[known] = rows_of[runs[known]]
        replaced = old_rows >= 0
        table = self.dataset
        if table is None:
            table = self._dataset = self.root.create_dataset(
                "status", shape=(0,), maxshape=(None,), dtype=STATUS_DTYPE,
                chunks=(chunk_rows(STATUS_DTYPE.itemsize),), fletcher32=bool(filters.get("fletcher32")),
            )
        if replaced.any():
            order = np.argsort(old_rows[replaced])
            table[old_rows[replaced][order].tolist()] = entries[replaced][order]
        new = entries[~replaced]
        if len(new):
            start = table.shape[0]
            table.resize(start + len(new), axis=0)
            table[start:] = new
            top = int(new["idx"].max()) + 1
            if top > len(rows_of):
                rows_of = self._rows = np.concatenate([rows_of, np.full(top - len(rows_of), -1, np.int64)])
            rows_of[new["idx"]] = np.arange(start, start + len(new))
        return runs[replaced]


class RunsState:
    """What one open file knows about one trajectory's runs; cached while it stays open."""

    def __init__(self, trajectory: h5py.Group) -> None:
        self.trajectory = trajectory
        self._root: h5py.Group | None = trajectory.get(RUNS_GROUP)
        self._paths: dict[str, _RunPath] | None = None
        self._status = _StatusTable(self._root) if self._root is not None else None
        self._errors = Rows(self._root["errors"], "text") if self._root is not None and "errors" in self._root else None

    # -- reading ---------------------------------------------------------------------

    def paths(self) -> dict[str, _RunPath]:
        if self._paths is None:
            columns = self._root.get("columns") if self._root is not None else None
            self._paths = {name: _RunPath(columns[name]) for name in columns} if columns is not None else {}
        return self._paths

    def run_columns(self) -> RunColumns:
        table = self._status.dataset if self._status is not None else None
        entries = table[()] if table is not None else np.zeros(0, dtype=STATUS_DTYPE)
        entries = entries[np.argsort(entries["idx"], kind="stable")]
        errors: dict[int, str] = {}
        if self._errors is not None:
            runs, texts = self._errors.read()
            errors = {int(i): bytes(t).decode("utf-8") for i, t in zip(runs, texts)}
        return RunColumns(
            entries["idx"].astype(np.int64), entries["status"].astype(np.int8),
            entries["started"].astype(np.float64), entries["finished"].astype(np.float64), errors,
        )

    def run_infos(self) -> list[RunRecord]:
        table = self._status.dataset if self._status is not None else None
        if table is None or table.shape[0] == 0:
            return []
        entries = table[()]
        entries = entries[np.argsort(entries["idx"], kind="stable")]
        errors: dict[int, str] = {}
        if self._errors is not None:
            runs, texts = self._errors.read()
            errors = {int(i): bytes(t).decode("utf-8") for i, t in zip(runs, texts)}
        columns = (entries["idx"].tolist(), entries["status"].tolist(),
                   entries["started"].tolist(), entries["finished"].tolist())
        collecting = gc.isenabled()
        gc.disable()  # 100,000 new records would trigger many useless cyclic collections
        try:
            return [
                RunRecord(idx, _STATUSES[code], started, finished, errors.get(idx))
                for idx, code, started, finished in zip(*columns)
            ]
        finally:
            if collecting:
                gc.enable()

    def run(self, idx: int, with_data: bool) -> list[NodeRecord]:
        records = []
        for path in sorted(self.paths()):
            run_path = self.paths()[path]
            data: dict[str, Any] = {}
            for item, column in run_path.columns.items():
                if not with_data:
                    if column.stacked.row_of(idx) >= 0 or column.packed.row_of(idx) >= 0:
                        data[item] = None  # present; its value is not read
                    continue
                found, value = column.value_of(idx)
                if found:
                    data[item] = value
            meta_row = run_path.meta.row_of(idx)
            if not data and meta_row < 0:
                continue
            meta = json.loads(bytes(run_path.meta.values[meta_row]).decode()) if meta_row >= 0 else run_path.default
            records.append(_run_record(path, meta or {"kind": "result"}, data if with_data else None))
        return records

    def column(self, run_path: str, item: str) -> tuple[str | None, np.ndarray, Any, np.ndarray, list[Any]]:
        """(tag, stacked indices, stacked rows, packed indices, packed values) of one column."""
        path = self.paths().get(run_path)
        column = path.columns.get(item) if path is not None else None
        if column is None:
            return None, np.zeros(0, dtype=np.int64), None, np.zeros(0, dtype=np.int64), []
        key = column.key()
        return (key[0] if key else None, *column.read())

    # -- writing ---------------------------------------------------------------------

    def store(self, prepared: PreparedRuns, filters: dict[str, Any]) -> None:
        if self._root is None:
            self._root = self.trajectory.create_group(RUNS_GROUP)
            self._status = _StatusTable(self._root)
        assert self._status is not None
        replaced = self._status.write(prepared.status, filters)
        if len(replaced):
            self._drop(replaced)
        if prepared.errors:
            if self._errors is None:
                self._errors = Rows(self._root.require_group("errors"), "text")
            runs_failed = np.array([i for i, _ in prepared.errors], dtype=np.int64)
            self._errors.append(runs_failed, [t for _, t in prepared.errors], PACKED_DTYPE, (), {})
        columns = self._root.require_group("columns")
        paths = self.paths()
        for path, entry in prepared.paths.items():
            run_path = paths.get(path)
            if run_path is None:
                group = columns.create_group(path)
                group.attrs[RUN_NODE_ATTRIBUTE] = json.dumps(entry.metas[0][1])
                run_path = paths[path] = _RunPath(group)
            self._store_path(run_path, entry, filters)

    def _drop(self, runs: np.ndarray) -> None:
        if self._errors is not None:
            self._errors.drop(runs)
        for run_path in self.paths().values():
            run_path.meta.drop(runs)
            for column in run_path.columns.values():
                column.stacked.drop(runs)
                column.packed.drop(runs)

    def _store_path(self, run_path: _RunPath, entry: _PreparedPath, filters: dict[str, Any]) -> None:
        default = run_path.default
        differs: dict[int, bool] = {}  # most runs share one attributes dict: compare it once
        for _, meta, _ in entry.metas:
            if id(meta) not in differs:
                differs[id(meta)] = meta != default
        marks = [(idx, meta) for idx, meta, stored_items in entry.metas if not stored_items or differs[id(meta)]]
        if marks:
            blobs = [json.dumps(meta).encode() for _, meta in marks]
            run_path.meta.append(np.array([i for i, _ in marks], dtype=np.int64), blobs, PACKED_DTYPE, (), {})
        for item, values in entry.items.items():
            _append_column(run_path.column(item), values, filters)


def _run_record(path: str, meta: dict[str, Any], data: dict[str, Any] | None) -> NodeRecord:
    record = record_from_meta(path, meta)
    if "explored" in meta:
        record.explored = from_portable_json(meta["explored"])
    record.data = data
    return record


class _PreparedPath:
    """One run path's part of a batch: node attributes per run, item values per column."""

    def __init__(self) -> None:
        self.metas: list[tuple[int, dict[str, Any], bool]] = []  # (run, attributes, stored any item)
        self.items: dict[str, list[tuple[int, Any, Any]]] = {}  # item -> (run, stack key or None, value or blob)


class PreparedRuns:
    def __init__(self, status: np.ndarray) -> None:
        self.status = status
        self.errors: list[tuple[int, bytes]] = []
        self.paths: dict[str, _PreparedPath] = {}


_FLOAT_KEY = stack_key(0.0)


def _run_meta(record: NodeRecord, plain: dict[tuple[Any, str], dict[str, Any]]) -> dict[str, Any]:
    """The record's node attributes; the common plain case (no annotations) is built once per batch."""
    if record.annotations or record.link_target is not None or record.pickled or record.explored is not None:
        meta = meta_json(record)
        if record.explored is not None:
            meta["explored"] = to_portable_json(record.explored)
        return meta
    key = (record.kind, record.comment)
    meta = plain.get(key)
    if meta is None:
        meta = plain[key] = meta_json(record)
    return meta


def prepare_runs(batch: Sequence[RunRecord]) -> PreparedRuns:
    """Check and encode everything of a batch before the file is touched.

    This loop runs once per stored run, so it avoids per-run numpy calls and
    re-checks nothing it already checked in this batch.
    """
    runs = list({run.idx: run for run in batch}.values())  # a run stored twice in one batch: the last wins
    status = np.zeros(len(runs), dtype=STATUS_DTYPE)
    status["idx"] = [run.idx for run in runs]
    status["status"] = [_CODES[run.status] for run in runs]
    status["started"] = [run.started for run in runs]
    status["finished"] = [run.finished for run in runs]
    prepared = PreparedRuns(status)
    plain: dict[tuple[Any, str], dict[str, Any]] = {}
    paths = prepared.paths
    for run in runs:
        idx = run.idx
        if run.error or run.status is RunStatus.FAILED:
            prepared.errors.append((idx, (run.error or "").encode("utf-8")))
        for record in run.nodes:
            entry = paths.get(record.path)
            if entry is None:
                check_path(record.path)
                entry = paths[record.path] = _PreparedPath()
            data = record.data or {}
            entry.metas.append((idx, _run_meta(record, plain), bool(data)))
            for item, value in data.items():
                key = _FLOAT_KEY if type(value) is float else stack_key(value)
                if record.pickled and item in record.pickled:
                    key, value = None, pack(value, allow_pickle=True)
                elif key is None:
                    value = pack(value)
                column = entry.items.get(item)
                if column is None:
                    column = entry.items[item] = []
                column.append((idx, key, value))
    return prepared


def _append_column(column: _Column, values: list[tuple[int, Any, Any]], filters: dict[str, Any]) -> None:
    key = column.key()
    if key is None:
        key = next((k for _, k, _ in values if k is not None), None)
        if key is not None:
            column.set_key(key)
    if key is not None and all(value_key is key for _, value_key, _ in values):  # the common case, fast
        stacked, packed = [(idx, value) for idx, _, value in values], []
    else:
        stacked = [(idx, value) for idx, value_key, value in values if value_key is not None and value_key == key]
        packed = [(idx, value if value_key is None else pack(value))
                  for idx, value_key, value in values if value_key is None or value_key != key]
    if stacked:
        assert key is not None
        tag, dtype, shape = key
        runs = np.array([i for i, _ in stacked], dtype=np.int64)
        if big_rows(dtype, shape):
            rows: Any = [v for _, v in stacked]
        elif tag == "ndarray":
            rows = np.stack([v for _, v in stacked])
        else:
            rows = np.array([v for _, v in stacked], dtype=dtype)
        column.stacked.append(runs, rows, dtype, shape, filters)
    if packed:
        column.packed.append(np.array([i for i, _ in packed], dtype=np.int64), [b for _, b in packed],
                             PACKED_DTYPE, (), filters)
