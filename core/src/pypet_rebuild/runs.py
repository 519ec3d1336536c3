"""Per-run bookkeeping and access: run groups, run status, columns across runs.

Run results live in storage once stored; the ``runs`` group materialises a
run's group only when it is asked for, so a trajectory with a million runs
loads as fast as one with ten.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import numpy as np

from pypet_rebuild.errors import NodeNotFoundError
from pypet_rebuild.run_table import RunTable
from pypet_rebuild.storage.records import RunRecord, run_name
from pypet_rebuild.storage.untrusted import reveal_column
from pypet_rebuild.tree import Group, Leaf

if TYPE_CHECKING:
    from pypet_rebuild.storage.base import StorageBackend
    from pypet_rebuild.trajectory import Trajectory

__all__ = ["RunsGroup", "RunAccess", "RUN_ALL"]

RUN_ALL = "run_ALL"
_RUN_NAME = re.compile(r"^run_(\d{8})$")


class RunsGroup(Group):
    """The ``runs`` group below ``results`` and ``derived_parameters``."""

    def _lazy_child(self, name: str) -> Group | None:
        root = self.root
        if root is None:
            return None
        if name == "crun":
            name = root.crun
            if name in self._children:
                return self._children[name]  # type: ignore[return-value]
        match = _RUN_NAME.match(name)
        if match is None:
            return None
        return root._materialize_run(self, int(match.group(1)))


class RunAccess:
    """Run-related half of ``Trajectory``: status records and stored runs."""

    _runs: RunTable
    _storage: StorageBackend | None
    _idx: int

    def _init_run_access(self) -> None:
        self._runs = RunTable()

    @property
    def crun(self) -> str:
        """The current run's name, ``run_ALL`` outside runs (as in pypet)."""
        return run_name(self._idx) if self._idx >= 0 else RUN_ALL

    @property
    def crun_name(self) -> str | None:
        return run_name(self._idx) if self._idx >= 0 else None

    # -- status -------------------------------------------------------------------

    def run_info(self, idx: int) -> RunRecord | None:
        """Status, start, end, duration and error of a finished run; ``None`` if not run."""
        return self._runs.get(idx)

    @property
    def run_infos(self) -> list[RunRecord]:
        return [self._runs.get(int(idx)) for idx in self._runs.stored_indices()]  # type: ignore[misc]

    def is_completed(self, idx: int | None = None) -> bool:
        """Whether run ``idx`` (every run, without an index) completed."""
        traj: Trajectory = self  # type: ignore[assignment]
        if idx is None:
            return self._runs.completed_count(len(traj)) == len(traj)
        return self._runs.is_completed(idx)

    def pending_runs(self) -> list[int]:
        """Indices of the runs not completed yet: what ``Environment.run`` will execute."""
        traj: Trajectory = self  # type: ignore[assignment]
        return self._runs.pending(len(traj))

    def _record_run(self, info: RunRecord) -> None:
        self._runs.record(info)

    # -- stored runs -----------------------------------------------------------------

    def _materialize_run(self, runs_group: RunsGroup, idx: int) -> Group | None:
        from pypet_rebuild.tree_records import add_run_records

        traj: Trajectory = self  # type: ignore[assignment]
        if self._storage is None or idx not in self._runs:
            return None
        branch = runs_group.parent.name if runs_group.parent is not None else ""
        records = [r for r in self._storage.load_run(traj.name, idx) if r.path.split(".", 1)[0] == branch]
        if not records:
            return None
        group = runs_group._add_child(Group(run_name(idx)))
        add_run_records(group, records)
        return group  # type: ignore[return-value]

    def _runs_group(self, branch: str) -> Group:
        traj: Trajectory = self  # type: ignore[assignment]
        return traj._children[branch]._children["runs"]  # type: ignore[attr-defined,return-value]

    def _resolve_run_path(self, name: str) -> tuple[str, bool]:
        """The run path ``name`` ends, and whether storage holds it (one listing call)."""
        traj: Trajectory = self  # type: ignore[assignment]
        stored = set(self._storage.list_run_paths(traj.name)) if self._storage is not None else set()
        paths = set(stored)
        for branch in ("results", "derived_parameters"):
            for group in self._runs_group(branch)._children.values():
                for leaf in group.iter_leaves():
                    paths.add(branch + "." + leaf.full_name.split(".", 3)[3])
        matches = sorted(p for p in paths if p == name or p.endswith("." + name))
        if len(matches) != 1:
            if not matches:
                raise NodeNotFoundError(
                    f"no run stored a result or derived parameter {name!r}; runs hold {sorted(paths)}"
                )
            raise NodeNotFoundError(f"{name!r} is ambiguous across runs: {matches}; give more of the path")
        return matches[0], matches[0] in stored

    def get_column(
        self, name: str, item: str | None = None, *, allow_pickle: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        """One item of a per-run result across all runs as ``(indices, values)``.

        The fast path for analysis: columnar backends answer it with one read.
        ``item`` defaults to the leaf's own name (the value of
        ``add_result("z", value)``) or ``"value"`` for derived parameters.
        Pickled values raise ``UnsafeValueError`` unless ``allow_pickle=True``
        (or ``traj.allow_pickle``): unpickling runs code taken from the data.
        """
        traj: Trajectory = self  # type: ignore[assignment]
        if self._storage is not None and not self._runs_in_memory():
            run_path, _ = self._resolve_run_path(name)
            indices, values = self._storage.load_column_array(traj.name, run_path, _default_item(run_path, item))
            visible = indices < len(traj)  # runs past the length: an interrupted merge's (see merging)
            if not visible.all():
                indices, values = indices[visible], values[visible]
            if values.dtype == object:
                values = reveal_column(values, run_path, allowed=allow_pickle or traj.allow_pickle)
            return indices, values
        indices, values = self._column(name, item, allow_pickle)
        return np.asarray(indices, dtype=np.int64), np.asarray(values)

    def _runs_in_memory(self) -> bool:
        return any(len(self._runs_group(branch)._children) for branch in ("results", "derived_parameters"))

    def get_from_runs(self, name: str, item: str | None = None, *, allow_pickle: bool = False) -> dict[str, Any]:
        """``{run_name: value}`` of one item of a per-run result, in run order.

        Pickled values raise ``UnsafeValueError`` unless ``allow_pickle=True``
        (or ``traj.allow_pickle``): unpickling runs code taken from the data.
        """
        indices, values = self._column(name, item, allow_pickle)
        return {run_name(int(i)): v for i, v in zip(indices, values)}

    def _column(self, name: str, item: str | None, allow_pickle: bool = False) -> tuple[list[int], list[Any]]:
        traj: Trajectory = self  # type: ignore[assignment]
        run_path, stored = self._resolve_run_path(name)
        branch, rest = run_path.split(".", 1)
        item = _default_item(run_path, item)
        found: dict[int, Any] = {}
        if stored:
            assert self._storage is not None
            stored_idx, stored_values = self._storage.load_column(traj.name, run_path, item)
            found.update((int(i), v) for i, v in zip(stored_idx, stored_values) if i < len(traj))
        for group_name, group in self._runs_group(branch)._children.items():
            leaf = group.get(rest, None)
            if isinstance(leaf, Leaf):
                found[int(group_name[4:])] = _leaf_item(leaf, item)
        order = sorted(found)
        allowed = allow_pickle or traj.allow_pickle
        return order, reveal_column([found[i] for i in order], run_path, allowed=allowed)


def _default_item(run_path: str, item: str | None) -> str:
    """Without an item name: a derived parameter's value, or a result's own-name item."""
    if item is not None:
        return item
    branch, rest = run_path.split(".", 1)
    return "value" if branch == "derived_parameters" else rest.rsplit(".", 1)[-1]


def _leaf_item(leaf: Leaf, item: str) -> Any:
    from pypet_rebuild.leaves import Parameter

    if isinstance(leaf, Parameter):
        return leaf.default
    items = leaf.items()  # type: ignore[attr-defined]
    # Placeholders pass through here: the caller reveals or refuses the whole column.
    return items[item] if item in items else leaf.get(item)  # type: ignore[attr-defined]

