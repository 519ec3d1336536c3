"""A read-only storage backend over a file written by the original pypet.

``load_trajectory("old.hdf5")`` reaches it through the plugin host, which
asks every backend's recogniser before going by file suffix; so a pypet file
opens here and one of ours in the HDF5 backend. It answers the storage
contract's reading half from pypet's layout (``_layout``), reading a leaf's
data only when asked (skeletons carry comments, annotations and explored
ranges). Every writing method refuses: convert with ``import_pypet`` first.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any, NoReturn
from urllib.parse import unquote, urlsplit

import h5py
import numpy as np

from pypet_rebuild.errors import StorageError, TrajectoryNotFoundError
from pypet_rebuild.storage.base import Capability, StorageBackend
from pypet_rebuild.storage.records import NodeKind, NodeRecord, RunRecord, RunStatus, TrajectoryInfo

from pypet_rebuild_compat import _leaves
from pypet_rebuild_compat._layout import Layout, TreeNode, is_pypet_file, trajectory_names
from pypet_rebuild_compat._pytables import attributes, read_table, text

__all__ = ["PypetFileBackend", "open_pypet", "is_pypet_file"]


def open_pypet(url: str, **options: Any) -> PypetFileBackend:
    """The opener for ``pypet://`` URLs and for any path the recogniser claims.

    Option: ``allow_pickle`` (default False) lets ``PickleParameter`` values
    and PyTables pickles of more than plain data load; only for files you
    trust. ``PickleResult`` items always come back as placeholders that the
    core unpickles where the reader allows it.
    """
    return PypetFileBackend(url, **options)


def _path(url: str) -> str:
    if "://" in url:
        parts = urlsplit(url)
        if parts.scheme != "pypet":
            raise StorageError(f"the pypet file reader opens pypet:// URLs and file paths, not {url!r}")
        url = unquote(parts.netloc + parts.path)
    return os.path.abspath(os.path.expanduser(url))


class PypetFileBackend(StorageBackend):
    capabilities = frozenset({Capability.PERSISTENT})

    def __init__(self, url: str, *, allow_pickle: bool = False, **options: Any) -> None:
        super().__init__(str(url))
        if options:
            raise StorageError(f"the pypet file reader takes only allow_pickle, not {sorted(options)}")
        self.path = _path(self.url)
        self.allow_pickle = allow_pickle
        if not is_pypet_file(self.path):
            raise StorageError(f"{self.path!r} is not a file written by pypet: it holds no group with an overview/info table")
        self._h5: h5py.File | None = h5py.File(self.path, "r")
        self._layouts: dict[str, Layout] = {}

    def close(self) -> None:
        if self._h5 is not None:
            self._h5.close()
            self._h5 = None

    def __repr__(self) -> str:
        return f"PypetFileBackend({self.path!r})"

    # -- helpers -------------------------------------------------------------------

    def _file(self) -> h5py.File:
        if self._h5 is None:
            raise StorageError(f"the pypet file {self.path!r} is closed")
        return self._h5

    def _layout(self, name: str) -> Layout:
        layout = self._layouts.get(name)
        if layout is None:
            h5 = self._file()
            if name not in trajectory_names(h5):
                raise TrajectoryNotFoundError(
                    f"{self.path!r} holds no pypet trajectory {name!r}; it holds {trajectory_names(h5)}"
                )
            layout = self._layouts[name] = Layout.walk(h5[name])
        return layout

    def _refuse(self, what: str) -> NoReturn:
        raise StorageError(
            f"cannot {what}: {self.path!r} is a pypet file, opened read-only; convert it first with "
            f"python -m pypet_rebuild import-pypet {self.path} DEST"
        )

    def _leaf(self, group: h5py.Group, full_name: str) -> _leaves.LeafData:
        return _leaves.LeafData(group, full_name, self.path, self.allow_pickle)

    def _skeleton(self, group: h5py.Group, path: str) -> tuple[str, dict[str, Any]]:
        where = repr(path)
        comment = text(group.attrs.get("SRVC_INIT_COMMENT", b""))
        annotations = attributes(group, where, self.allow_pickle, "SRVC_AN_") if group.attrs.get("SRVC_ANNOTATED", False) else {}
        return comment, annotations

    def _leaf_record(self, group: h5py.Group, path: str, record_path: str, with_data: bool) -> NodeRecord:
        comment, annotations = self._skeleton(group, path)
        leaf = self._leaf(group, path)
        branch = record_path.split(".", 1)[0]
        # A pickled parameter loads as a skeleton unless allowed: the refusal
        # then comes when its value is asked for, not when the file is opened.
        with_data = with_data and (self.allow_pickle or leaf.class_name != "PickleParameter")
        if _leaves.is_parameter_class(leaf.class_name, branch):
            items = _leaves.read_items(leaf) if with_data else _leaves.explored_items(leaf)
            data = {"value": _leaves.parameter_value(leaf, items)} if with_data else None
            explored = _leaves.explored_range(leaf, items)
            pickled = ("value",) if leaf.class_name == "PickleParameter" else ()
            return NodeRecord(record_path, NodeKind.PARAMETER, comment, annotations, data, explored, pickled=pickled)
        data, pickled = _leaves.result_items(leaf, _leaves.read_items(leaf)) if with_data else (None, ())
        if not with_data and leaf.class_name == "PickleResult":
            pickled = tuple(sorted(n for n in group if n != "__pckl_prtcl__"))
        return NodeRecord(record_path, NodeKind.RESULT, comment, annotations, data, pickled=pickled)

    def _record(self, node: TreeNode, with_data: bool) -> NodeRecord:
        if node.kind == "link":
            return NodeRecord(node.path, NodeKind.LINK, link_target=node.link_target)
        group = self._file()[node.h5_name]
        if node.kind == "group":
            comment, annotations = self._skeleton(group, node.path)
            return NodeRecord(node.path, NodeKind.GROUP, comment, annotations)
        return self._leaf_record(group, node.path, node.path, with_data)

    # -- trajectories ----------------------------------------------------------------

    def list_trajectories(self) -> list[TrajectoryInfo]:
        infos = [self.load_info(name) for name in trajectory_names(self._file())]
        return sorted(infos, key=lambda info: info.created)

    def load_info(self, name: str) -> TrajectoryInfo:
        layout = self._layout(name)
        row = {key: values[0] for key, values in read_table(layout.group["overview/info"], {}).items()}
        pypet = {key: text(row[key]) for key in ("version", "python", "time") if key in row}
        pypet["length"] = int(row.get("length", 0))
        metadata = {"pypet": pypet, "explored_parameters": layout.explored_names()}
        return TrajectoryInfo(name, float(row.get("timestamp", 0.0)), text(row.get("comment", b"")), metadata)

    def create_trajectory(self, info: TrajectoryInfo, *, overwrite: bool = False) -> None:
        self._refuse(f"create trajectory {info.name!r}")

    def delete_trajectory(self, name: str) -> None:
        self._refuse(f"delete trajectory {name!r}")

    def update_metadata(self, name: str, metadata: dict[str, Any]) -> None:
        self._refuse(f"change the metadata of {name!r}")

    # -- nodes outside the runs ----------------------------------------------------------

    def store_nodes(self, name: str, records: Sequence[NodeRecord]) -> None:
        self._refuse(f"store nodes of {name!r}")

    def remove_nodes(self, name: str, paths: Sequence[str]) -> None:
        self._refuse(f"remove nodes of {name!r}")

    def load_nodes(self, name: str, *, prefix: str = "", with_data: bool = True) -> list[NodeRecord]:
        nodes = self._layout(name).nodes
        chosen = [n for n in nodes if not prefix or n.path == prefix or n.path.startswith(prefix + ".")]
        return [self._record(node, with_data) for node in sorted(chosen, key=lambda n: n.path.count("."))]

    def load_items(self, name: str, path: str, items: Sequence[str] | None = None) -> dict[str, Any]:
        record = self._find(name, path)
        assert record.data is not None
        if items is None:
            return record.data
        missing = sorted(set(items) - set(record.data))
        if missing:
            raise StorageError(f"{path!r} in {self.path!r} has no items {missing}; it holds {sorted(record.data)}")
        return {item: record.data[item] for item in items}

    def _find(self, name: str, path: str) -> NodeRecord:
        layout = self._layout(name)
        parts = path.split(".")
        if len(parts) > 3 and parts[1] == "runs" and parts[2].startswith("run_") and parts[2][4:].isdigit():
            run_path = ".".join([parts[0], *parts[3:]])
            for record in self.load_run(name, int(parts[2][4:])):
                if record.path == run_path:
                    return record
        for node in layout.nodes:
            if node.path == path and node.kind == "leaf":
                return self._record(node, with_data=True)
        raise StorageError(f"{self.path!r} holds no leaf {path!r} in trajectory {name!r}")

    # -- runs --------------------------------------------------------------------------

    def store_runs(self, name: str, runs: Sequence[RunRecord]) -> None:
        self._refuse(f"store runs of {name!r}")

    def load_run_infos(self, name: str) -> list[RunRecord]:
        """pypet's completed runs; a run pypet never finished is not a stored run here."""
        table = read_table(self._layout(name).group["overview/runs"], {})
        records = []
        for i, idx in enumerate(table.get("idx", [])):
            if int(table["completed"][i]):
                finished = float(table["finish_timestamp"][i]) if "finish_timestamp" in table else 0.0
                records.append(RunRecord(int(idx), RunStatus.COMPLETED, float(table["timestamp"][i]), finished))
        return sorted(records, key=lambda r: r.idx)

    def load_run(self, name: str, idx: int, *, with_data: bool = True) -> list[NodeRecord]:
        layout = self._layout(name)
        return [
            self._leaf_record(group, f"{path.split('.', 1)[0]}.runs.run_{idx:08d}.{path.split('.', 1)[1]}", path, with_data)
            for path, group in layout.run_leaves(idx)
        ]

    def list_run_paths(self, name: str) -> list[str]:
        layout = self._layout(name)
        return sorted({path for idx in layout.runs for path, _ in layout.run_leaves(idx)})

    def load_column(self, name: str, run_path: str, item: str) -> tuple[np.ndarray, list[Any]]:
        layout = self._layout(name)
        indices, values = [], []
        for idx in sorted(layout.runs):
            for path, group in layout.run_leaves(idx):
                if path == run_path:
                    record = self._leaf_record(group, path, path, with_data=True)
                    assert record.data is not None
                    if item in record.data:
                        indices.append(idx)
                        values.append(record.data[item])
        return np.asarray(indices, dtype=np.int64), values
