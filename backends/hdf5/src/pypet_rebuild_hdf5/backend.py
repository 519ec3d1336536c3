"""The HDF5 storage backend: many trajectories in one file, runs stored columnar.

See docs/hdf5.md for the layout a plain h5py or HDFView user sees, the
crash-safety guarantee and the locking rules. In short: every write is one
transaction through an undo journal beside the file (``_journal``), one
process writes at a time (``_locking``), any number read.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

import h5py
import numpy as np

from pypet_rebuild.errors import StorageError, TrajectoryNotFoundError
from pypet_rebuild.storage.base import Capability, StorageBackend
from pypet_rebuild.storage.records import NodeRecord, RunColumns, RunRecord, TrajectoryInfo

from pypet_rebuild_hdf5 import _nodes
from pypet_rebuild_hdf5._files import FileAccess, Session
from pypet_rebuild_hdf5._items import from_portable_json, rows_to_values, to_portable_json
from pypet_rebuild_hdf5._options import HDF5Options, path_from_url
from pypet_rebuild_hdf5._runs import RunsState, prepare_runs

__all__ = ["HDF5Backend", "open_hdf5", "TRAJECTORY_ATTRIBUTE"]

TRAJECTORY_ATTRIBUTE = "pypet_trajectory"
_RUN_LEAF = re.compile(r"^(?P<branch>[^.]+)\.runs\.run_(?P<idx>\d{8})\.(?P<rest>.+)$")


def open_hdf5(url: str, **options: Any) -> HDF5Backend:
    """The opener registered for ``hdf5://`` URLs and ``.h5``/``.hdf5`` paths.

    Options: ``complevel`` (0-9, default 0), ``complib`` (``zlib``, ``lzf``,
    or ``blosc``/``blosc2``/``zstd``/``lz4``/``bzip2`` with hdf5plugin),
    ``shuffle``, ``fletcher32``, ``title`` (of a new file) and
    ``durability`` (``"process"``, the default: survives any crash of the
    process; ``"fsync"``: also survives a power loss, slower for big data).
    """
    return HDF5Backend(url, **options)


class HDF5Backend(StorageBackend):
    capabilities = frozenset({Capability.COLUMNAR, Capability.PERSISTENT, Capability.TRANSACTIONS})

    def __init__(self, url: str, **options: Any) -> None:
        super().__init__(str(url))
        self.path = path_from_url(self.url)
        self.options = HDF5Options.from_kwargs(self.url, options)
        self._files = FileAccess(self.path, self.options)

    def close(self) -> None:
        self._files.close()

    def __repr__(self) -> str:
        return f"HDF5Backend({self.path!r})"

    # -- helpers ---------------------------------------------------------------------

    def _where(self, name: str) -> str:
        return f"trajectory {name!r} in {self.path!r}"

    def _names(self, session: Session | None) -> list[str]:
        if session is None:
            return []
        return [key for key, attrs in ((k, session.h5[k].attrs) for k in session.h5) if TRAJECTORY_ATTRIBUTE in attrs]

    def _trajectory(self, session: Session | None, name: str) -> h5py.Group:
        group = session.h5.get(name) if session is not None and _valid_name(name) else None
        if not isinstance(group, h5py.Group) or TRAJECTORY_ATTRIBUTE not in group.attrs:
            raise TrajectoryNotFoundError(
                f"{self.path!r} holds no trajectory {name!r}; it holds {sorted(self._names(session))}"
            )
        return group

    def _runs(self, session: Session | None, name: str) -> RunsState:
        group = self._trajectory(session, name)
        assert session is not None
        state = session.cache.get(("runs", name))
        if state is None:
            state = session.cache[("runs", name)] = RunsState(group)
        return state

    def describe_foreign_contents(self) -> str:
        def read(session: Session | None) -> str:
            members = sorted(k for k in session.h5 if not k.startswith(("_", "."))) if session is not None else []
            if not members or self._names(session):
                return ""
            if any(isinstance(session.h5.get(f"{m}/overview/info"), h5py.Dataset) for m in members):  # type: ignore[union-attr]
                return ("it was written by pypet (a group holds pypet's overview/info table); install the "
                        "reader of pypet files: pip install 'pypet-rebuild[compat]'")
            return (f"it is an HDF5 file written neither by pypet-rebuild (no top-level group carries the "
                    f"{TRAJECTORY_ATTRIBUTE!r} attribute) nor by pypet (no group holds an overview/info "
                    f"table); its top-level members are {members[:10]}")

        return self._files.read(read)

    # -- trajectories ----------------------------------------------------------------

    def list_trajectories(self) -> list[TrajectoryInfo]:
        def read(session: Session | None) -> list[TrajectoryInfo]:
            infos = [_info(name, session.h5[name]) for name in self._names(session)]  # type: ignore[union-attr]
            return sorted(infos, key=lambda info: info.created)

        return self._files.read(read)

    def create_trajectory(self, info: TrajectoryInfo, *, overwrite: bool = False) -> None:
        if not _valid_name(info.name):
            raise StorageError(f"cannot store a trajectory named {info.name!r} in {self.path!r}: use a name "
                               "without '/' that does not start with '_' or '.'")
        text = _info_text(info)  # unstorable metadata fails before anything changes

        def create(session: Session) -> None:
            if info.name in session.h5:
                if not overwrite:
                    raise StorageError(
                        f"{self.path!r} already holds a trajectory {info.name!r}; pass overwrite=True to "
                        "replace it, resume=True to continue it, or choose another name"
                    )
                del session.h5[info.name]
            session.cache.pop(("runs", info.name), None)
            session.h5.create_group(info.name).attrs[TRAJECTORY_ATTRIBUTE] = text

        self._files.write(create)

    def delete_trajectory(self, name: str) -> None:
        def delete(session: Session) -> None:
            self._trajectory(session, name)
            del session.h5[name]
            session.cache.pop(("runs", name), None)

        self._files.write(delete)

    def load_info(self, name: str) -> TrajectoryInfo:
        return self._files.read(lambda session: _info(name, self._trajectory(session, name)))

    def update_metadata(self, name: str, metadata: dict[str, Any]) -> None:
        to_portable_json(metadata)

        def update(session: Session) -> None:
            group = self._trajectory(session, name)
            info = _info(name, group)
            info.metadata.update(metadata)
            group.attrs[TRAJECTORY_ATTRIBUTE] = _info_text(info)

        self._files.write(update)

    # -- nodes -------------------------------------------------------------------------

    def store_nodes(self, name: str, records: Sequence[NodeRecord]) -> None:
        prepared = _nodes.prepare_nodes(records)
        filters = self.options.filters
        self._files.write(lambda session: _nodes.store_nodes(self._trajectory(session, name), prepared, filters))

    def load_nodes(self, name: str, *, prefix: str = "", with_data: bool = True) -> list[NodeRecord]:
        return self._files.read(
            lambda session: _nodes.load_nodes(self._trajectory(session, name), prefix, with_data),
            f"the nodes of {self._where(name)}",
        )

    def load_items(self, name: str, path: str, items: Sequence[str] | None = None) -> dict[str, Any]:
        return self._files.read(
            lambda session: _nodes.load_items(self._trajectory(session, name), path, items, self._where(name)),
            f"{path!r} of {self._where(name)}",
        )

    def remove_nodes(self, name: str, paths: Sequence[str]) -> None:
        self._files.write(lambda session: _nodes.remove_nodes(self._trajectory(session, name), paths))

    def load_array_slice(self, name: str, path: str, item: str, key: Any) -> Any:
        """Part of a stored array, reading only that part from disk: ``array[key]``.

        ``path`` names a leaf outside the runs (``results.trace``) or inside
        one (``results.runs.run_00000042.trace``); ``key`` is anything numpy
        indexing accepts on the stored array (slices, integers, tuples).
        Values stored packed (not as a native array) are read whole first.
        """
        match = _RUN_LEAF.match(path)

        def read(session: Session | None) -> Any:
            if match is None:
                dataset, tag = _nodes.item_dataset(self._trajectory(session, name), path, item, self._where(name))
                return dataset[key] if tag == "ndarray" else np.asarray(_nodes.read_item(dataset, tag))[key]
            run_path = f"{match['branch']}.{match['rest']}"
            runs = self._runs(session, name)
            column = runs.paths().get(run_path)
            column = column.columns.get(item) if column is not None else None
            idx = int(match["idx"])
            if column is not None and column.stacked.row_of(idx) >= 0:
                row = column.stacked.row_of(idx)
                return column.stacked.values[(row, *_as_tuple(key))]
            found, value = column.value_of(idx) if column is not None else (False, None)
            if not found:
                raise StorageError(f"run {idx} stored no item {item!r} at {run_path!r} in {self._where(name)}")
            return np.asarray(value)[key]

        return self._files.read(read, f"item {item!r} of {path!r} in {self._where(name)}")

    # -- runs --------------------------------------------------------------------------

    def store_runs(self, name: str, runs: Sequence[RunRecord]) -> None:
        prepared = prepare_runs(runs)
        filters = self.options.filters
        self._files.write(lambda session: self._runs(session, name).store(prepared, filters))

    def load_run_infos(self, name: str) -> list[RunRecord]:
        return self._files.read(lambda session: self._runs(session, name).run_infos(),
                                f"the run records of {self._where(name)}")

    def load_run_columns(self, name: str) -> RunColumns:
        return self._files.read(lambda session: self._runs(session, name).run_columns(),
                                f"the run records of {self._where(name)}")

    def load_run(self, name: str, idx: int, *, with_data: bool = True) -> list[NodeRecord]:
        return self._files.read(lambda session: self._runs(session, name).run(idx, with_data),
                                f"run {idx} of {self._where(name)}")

    def list_run_paths(self, name: str) -> list[str]:
        return self._files.read(lambda session: sorted(self._runs(session, name).paths()))

    def load_column(self, name: str, run_path: str, item: str) -> tuple[np.ndarray, list[Any]]:
        def read(session: Session | None) -> tuple[np.ndarray, list[Any]]:
            tag, runs, rows, packed_runs, packed = self._runs(session, name).column(run_path, item)
            values = rows_to_values(tag, rows) if tag is not None and rows is not None else []
            indices = np.concatenate([runs, packed_runs]).astype(np.int64, copy=False)
            merged = values + packed
            order = np.argsort(indices, kind="stable")
            return indices[order], [merged[i] for i in order.tolist()]

        return self._files.read(read, f"item {item!r} of the runs' {run_path!r} in {self._where(name)}")

    def load_column_array(self, name: str, run_path: str, item: str) -> tuple[np.ndarray, np.ndarray]:
        def read(session: Session | None) -> tuple[np.ndarray, np.ndarray] | None:
            tag, runs, rows, packed_runs, _ = self._runs(session, name).column(run_path, item)
            if len(packed_runs) or rows is None:
                return None
            if len(runs) > 1 and not (runs[1:] > runs[:-1]).all():
                order = np.argsort(runs, kind="stable")
                return runs[order], rows[order]
            return runs, rows

        stacked = self._files.read(read, f"item {item!r} of the runs' {run_path!r} in {self._where(name)}")
        if stacked is not None:
            return stacked
        return super().load_column_array(name, run_path, item)


def _valid_name(name: str) -> bool:
    return isinstance(name, str) and bool(name) and "/" not in name and not name.startswith(("_", "."))


def _as_tuple(key: Any) -> tuple[Any, ...]:
    return key if isinstance(key, tuple) else (key,)


def _info_text(info: TrajectoryInfo) -> str:
    return json.dumps(
        {"created": info.created, "comment": info.comment, "metadata": to_portable_json(info.metadata)},
        ensure_ascii=False, allow_nan=False, separators=(",", ":"),
    )


def _info(name: str, group: h5py.Group) -> TrajectoryInfo:
    stored = json.loads(group.attrs[TRAJECTORY_ATTRIBUTE])
    return TrajectoryInfo(name, stored["created"], stored["comment"], from_portable_json(stored["metadata"]))
