"""Moving a trajectory to and from a storage backend.

Loading comes in levels per branch, as in pypet: nothing, the skeleton
(nodes without data, filled in on first access when ``auto_load`` is on),
or the data itself.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pypet_rebuild.errors import StorageError, TrajectoryNotFoundError
from pypet_rebuild.leaves import Parameter, Result
from pypet_rebuild.storage.base import StorageBackend
from pypet_rebuild.storage.records import TrajectoryInfo
from pypet_rebuild.storage.untrusted import check_info, pickled_items, refuse_pickles, reveal
from pypet_rebuild.tree import Leaf, Node
from pypet_rebuild.tree_records import add_records, node_records

if TYPE_CHECKING:
    from pypet_rebuild.plugins import PluginHost
    from pypet_rebuild.trajectory import Trajectory

__all__ = ["LoadLevel", "StorageAccess", "load_trajectory", "resolve_trajectory_name"]


class LoadLevel(enum.IntEnum):
    NOTHING = 0
    SKELETON = 1
    DATA = 2


class StorageAccess:
    """Storage half of ``Trajectory``: explicit store, load and remove."""

    _storage: StorageBackend | None
    _allow_pickle = False

    @property
    def storage(self) -> StorageBackend | None:
        return self._storage

    @property
    def allow_pickle(self) -> bool:
        """Whether stored pickles may be unpickled when touched (the reader's
        choice, never stored): unpickling runs code taken from the data."""
        return self._allow_pickle

    @allow_pickle.setter
    def allow_pickle(self, allowed: bool) -> None:
        self._allow_pickle = bool(allowed)

    def _backend(self) -> StorageBackend:
        if self._storage is None:
            raise StorageError(
                f"trajectory {self.name!r} is not attached to a storage; create it through an "  # type: ignore[attr-defined]
                "Environment or load it with load_trajectory()"
            )
        return self._storage

    def _nodes(self, names: str | Sequence[str]) -> list[Node]:
        traj: Trajectory = self  # type: ignore[assignment]
        return [traj.get(n) for n in ([names] if isinstance(names, str) else names)]

    def store(self) -> None:
        """Store every node outside the runs (parameters, explored ranges, results)."""
        traj: Trajectory = self  # type: ignore[assignment]
        self._backend().store_nodes(traj.name, node_records(traj))

    def store_items(self, names: str | Sequence[str]) -> None:
        """Store the named nodes (and nothing else) now."""
        traj: Trajectory = self  # type: ignore[assignment]
        self._backend().store_nodes(traj.name, node_records(traj, self._nodes(names)))

    def remove_items(self, names: str | Sequence[str], *, from_storage: bool = True) -> None:
        """Remove nodes from the tree and, unless told otherwise, from storage."""
        traj: Trajectory = self  # type: ignore[assignment]
        nodes = self._nodes(names)
        if from_storage:
            self._backend().remove_nodes(traj.name, [n.full_name for n in nodes])
        for node in nodes:
            if node.parent is not None:
                node.parent.remove_child(node.name)

    def load_items(
        self, names: str | Sequence[str], load_only: Sequence[str] | None = None, *, allow_pickle: bool = False
    ) -> None:
        """Load the data of the named leaves (only ``load_only`` items of results).

        ``allow_pickle=True`` unpickles pickled items of these leaves now: only
        for data you trust, since unpickling runs code taken from the data.
        """
        for node in self._nodes(names):
            leaves = [node] if isinstance(node, Leaf) else list(node.iter_leaves())  # type: ignore[attr-defined]
            for leaf in leaves:
                self._load_leaf(leaf, load_only, explicit=True)
                if allow_pickle and isinstance(leaf, Result) and leaf._items is not None:
                    for key in pickled_items(leaf._items):
                        leaf._items[key] = reveal(leaf._items[key], allowed=True, where=f"{leaf.full_name}.{key}")

    def _load_leaf(self, leaf: Leaf, items: Sequence[str] | None = None, *, explicit: bool = False) -> None:
        traj: Trajectory = self  # type: ignore[assignment]
        if not explicit and not traj.auto_load:
            raise StorageError(
                f"the data of {leaf.full_name!r} is not loaded; call traj.load_items("
                f"{leaf.full_name!r}) or set traj.auto_load = True"
            )
        data = self._backend().load_items(traj.name, leaf.full_name, items)
        if isinstance(leaf, Parameter):
            refuse_pickles(data, f"the value of parameter {leaf.full_name!r}")
            leaf._default = data.get("value")
            leaf._loaded = True
        elif isinstance(leaf, Result):
            if items is not None and leaf._items is not None:
                data = {**leaf._items, **data}
            leaf._items = data


def resolve_trajectory_name(backend: StorageBackend, name: str | None, index: int = -1) -> TrajectoryInfo:
    """The stored trajectory called ``name``, or the ``index``-th (oldest first)."""
    infos = backend.list_trajectories()
    if name is not None:
        for info in infos:
            if info.name == name:
                return info
        raise TrajectoryNotFoundError(
            f"{backend.url!r} holds no trajectory {name!r}; it holds {[i.name for i in infos]}"
        )
    if not infos:
        foreign = backend.describe_foreign_contents()
        raise TrajectoryNotFoundError(f"{backend.url!r} holds no trajectories" + (f": {foreign}" if foreign else ""))
    try:
        return infos[index]
    except IndexError:
        raise TrajectoryNotFoundError(
            f"{backend.url!r} holds {len(infos)} trajectories; index {index} is out of range"
        ) from None


def fill_trajectory(
    traj: Trajectory,
    backend: StorageBackend,
    *,
    load_parameters: int = LoadLevel.DATA,
    load_derived_parameters: int = LoadLevel.DATA,
    load_results: int = LoadLevel.SKELETON,
    load_config: int = LoadLevel.DATA,
) -> None:
    """Attach ``backend`` and add the stored nodes and run status to ``traj``."""
    levels = {
        "config": load_config,
        "parameters": load_parameters,
        "derived_parameters": load_derived_parameters,
        "results": load_results,
    }
    traj._storage = backend
    for branch, level in levels.items():
        if level == LoadLevel.NOTHING:
            continue
        records = backend.load_nodes(traj.name, prefix=branch, with_data=level == LoadLevel.DATA)
        add_records(traj, records)
    order = traj.metadata.get("explored_parameters") or []
    rank = {name: i for i, name in enumerate(order)}
    traj._explored = dict(sorted(traj._explored.items(), key=lambda item: rank.get(item[0], len(rank))))
    # Runs past the explored length belong to an interrupted merge (see merging): not part of the exploration.
    traj._runs.record_columns(backend.load_run_columns(traj.name), len(traj))


def load_trajectory(
    storage: str | os.PathLike[str] | StorageBackend,
    name: str | None = None,
    index: int = -1,
    *,
    load_parameters: int = LoadLevel.DATA,
    load_derived_parameters: int = LoadLevel.DATA,
    load_results: int = LoadLevel.SKELETON,
    load_config: int = LoadLevel.DATA,
    auto_load: bool = True,
    allow_pickle: bool = False,
    plugin_host: PluginHost | None = None,
    **storage_options: Any,
) -> Trajectory:
    """Load a stored trajectory for analysis, by name or by index (-1 = newest).

    Results load as a skeleton by default and fill in on first access
    (``auto_load``), so opening a large exploration reads almost nothing.
    Result items stored as pickles raise ``UnsafeValueError`` when touched
    unless ``allow_pickle=True``: unpickling runs code taken from the file,
    so allow it only for data you trust.
    """
    from pypet_rebuild.plugins import get_plugin_host
    from pypet_rebuild.trajectory import Trajectory

    if isinstance(storage, StorageBackend):
        backend = storage
    else:
        backend = (plugin_host or get_plugin_host()).open_storage(storage, **storage_options)
        if allow_pickle and hasattr(backend, "allow_pickle"):
            backend.allow_pickle = True  # a reader of a format with pickles of its own (pypet's files)
    info = check_info(resolve_trajectory_name(backend, name, index))
    traj = Trajectory(info.name, info.comment, auto_load=auto_load)
    traj.allow_pickle = allow_pickle
    traj.created = info.created
    traj.metadata = dict(info.metadata)
    fill_trajectory(
        traj,
        backend,
        load_parameters=load_parameters,
        load_derived_parameters=load_derived_parameters,
        load_results=load_results,
        load_config=load_config,
    )
    return traj
