"""The storage contract every backend implements.

The contract is small and record-based (see ``records``): a backend stores
trajectories' metadata, their nodes outside the runs, and batches of
finished runs, and answers the questions loading needs without reading more
than it must. ``pypet_rebuild.testing.StorageConformance`` checks any
implementation against it.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from pypet_rebuild.storage.records import NodeRecord, RunColumns, RunRecord, TrajectoryInfo

__all__ = ["StorageBackend", "Capability"]


class Capability:
    """Names for the optional abilities a backend may declare."""

    COLUMNAR = "columnar"  # one column per run path and item, not per-run nodes
    PERSISTENT = "persistent"  # data outlives the process
    CONCURRENT_WRITERS = "concurrent_writers"  # several processes may write at once
    TRANSACTIONS = "transactions"  # a failed batch leaves nothing half-written


class StorageBackend(abc.ABC):
    """A place that holds any number of named trajectories.

    Every method that writes must either complete or leave the stored data as
    it was before the call. ``store_runs`` in particular is the durability
    point: once it returns, those runs survive a crash of this process.

    Methods taking ``name`` raise ``TrajectoryNotFoundError`` when no such
    trajectory exists; every other failure is a ``StorageError`` naming the
    backend's ``url`` (with any password masked).
    """

    capabilities: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, url: str) -> None:
        self.url = url

    # -- life cycle ---------------------------------------------------------

    def close(self) -> None:
        """Release files, connections and locks; idempotent."""

    def __enter__(self) -> StorageBackend:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def describe_foreign_contents(self) -> str:
        """What the storage is not, when it holds no trajectories but does hold
        something else (a file another program wrote); ``""`` otherwise.

        ``load_trajectory`` adds it to its "holds no trajectories" error, so
        that a file of the wrong kind says so instead of looking empty.
        """
        return ""

    # -- trajectories -------------------------------------------------------

    @abc.abstractmethod
    def list_trajectories(self) -> list[TrajectoryInfo]:
        """All stored trajectories, oldest first (index -1 is the newest)."""

    @abc.abstractmethod
    def create_trajectory(self, info: TrajectoryInfo, *, overwrite: bool = False) -> None:
        """Start an empty trajectory; an existing one of that name is a
        ``StorageError`` unless ``overwrite`` replaces it."""

    @abc.abstractmethod
    def delete_trajectory(self, name: str) -> None:
        """Remove a trajectory with all its nodes and runs."""

    @abc.abstractmethod
    def load_info(self, name: str) -> TrajectoryInfo:
        """The trajectory's identity and metadata."""

    @abc.abstractmethod
    def update_metadata(self, name: str, metadata: dict[str, Any]) -> None:
        """Merge ``metadata`` into the stored metadata (keys are replaced)."""

    # -- nodes outside the runs ----------------------------------------------

    @abc.abstractmethod
    def store_nodes(self, name: str, records: Sequence[NodeRecord]) -> None:
        """Insert or replace nodes by path, all or nothing.

        A record with ``data is None`` replaces only kind, comment,
        annotations, explored range and link target, keeping stored data.
        Parent groups need not be stored explicitly.
        """

    @abc.abstractmethod
    def load_nodes(
        self, name: str, *, prefix: str = "", with_data: bool = True
    ) -> list[NodeRecord]:
        """Nodes whose path equals ``prefix`` or starts with ``prefix + '.'``
        (all nodes for ``""``), parents before children.

        Without data, records come back with ``data=None`` (the skeleton)
        but with explored ranges, comments and annotations.
        """

    @abc.abstractmethod
    def load_items(
        self, name: str, path: str, items: Sequence[str] | None = None
    ) -> dict[str, Any]:
        """The data of one stored leaf, or only the named ``items`` of it.

        A missing path or item is a ``StorageError`` naming it.
        """

    @abc.abstractmethod
    def remove_nodes(self, name: str, paths: Sequence[str]) -> None:
        """Remove nodes and everything below them; unknown paths are ignored."""

    # -- runs ----------------------------------------------------------------

    @abc.abstractmethod
    def store_runs(self, name: str, runs: Sequence[RunRecord]) -> None:
        """Store a batch of finished runs durably, all or nothing.

        Storing a run whose index is already stored replaces it (a failed
        run re-run by ``resume``).
        """

    @abc.abstractmethod
    def load_run_infos(self, name: str) -> list[RunRecord]:
        """Status records of every stored run, by index, with empty ``nodes``."""

    def load_run_columns(self, name: str) -> RunColumns:
        """The same status records as ``load_run_infos``, as arrays.

        Loading and the analysis layer call this; a backend that keeps its
        status as a table overrides it to skip one object per run.
        """
        return RunColumns.from_records(self.load_run_infos(name))

    @abc.abstractmethod
    def load_run(self, name: str, idx: int, *, with_data: bool = True) -> list[NodeRecord]:
        """The leaves run ``idx`` added, keyed by run path (see ``NodeRecord``)."""

    @abc.abstractmethod
    def list_run_paths(self, name: str) -> list[str]:
        """Every run path any stored run added a leaf at, sorted."""

    @abc.abstractmethod
    def load_column(self, name: str, run_path: str, item: str) -> tuple[np.ndarray, list[Any]]:
        """One item of one run path across all runs that stored it.

        Returns the run indices (ascending ``int64`` array) and the values in
        the same order. This is how ``get_from_runs`` avoids one read per run.
        """

    def load_column_array(self, name: str, run_path: str, item: str) -> tuple[np.ndarray, np.ndarray]:
        """Like ``load_column`` but as one stacked array; columnar backends
        override it to return their stored column without building a list."""
        indices, values = self.load_column(name, run_path, item)
        return indices, np.asarray(values)
