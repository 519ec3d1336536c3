"""Where things are in a pypet file: trajectories, the tree outside the runs, the runs.

A pypet file holds one top-level group per trajectory. Each has an
``overview`` group with an ``info`` table (name, timestamp, comment,
versions), a ``runs`` table (one row per run: index, start and finish
times, completed flag) and, from pypet 0.1b7 on, an ``explorations`` table;
and the branches ``config``, ``parameters``, ``derived_parameters`` and
``results``. Leaves are groups marked ``SRVC_LEAF``; the runs' leaves live
below ``<branch>/runs/run_XXXXXXXX`` (or ``run_set_XXXXX/run_XXXXXXXX``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import h5py

from pypet_rebuild_compat._pytables import read_table, text

__all__ = ["BRANCHES", "TreeNode", "Layout", "trajectory_names", "is_pypet_file"]

BRANCHES = ("config", "parameters", "derived_parameters", "results")
_RUN = re.compile(r"^run_(\d{8})$")
_RUN_SET = re.compile(r"^run_set_\d{5}$")


def _is_trajectory(group: object) -> bool:
    if not isinstance(group, h5py.Group) or "overview" not in group:
        return False
    overview = group["overview"]
    return isinstance(overview, h5py.Group) and isinstance(overview.get("info"), h5py.Dataset)


def trajectory_names(h5: h5py.File) -> list[str]:
    return [name for name in h5 if _is_trajectory(h5.get(name))]


def is_pypet_file(path: str | Path) -> bool:
    """Whether ``path`` is an HDF5 file holding at least one pypet trajectory."""
    try:
        if not Path(path).is_file() or not h5py.is_hdf5(path):
            return False
        with h5py.File(path, "r") as h5:
            return bool(trajectory_names(h5))
    except OSError:  # unreadable or locked: not ours to claim
        return False


@dataclass
class TreeNode:
    """One node outside the runs: ``kind`` is group, leaf or link."""

    path: str
    kind: str
    h5_name: str = ""
    link_target: str = ""


@dataclass
class Layout:
    """The walked structure of one trajectory, found once and kept."""

    group: h5py.Group
    nodes: list[TreeNode] = field(default_factory=list)
    runs: dict[int, list[tuple[str, str]]] = field(default_factory=dict)  # idx -> [(branch, h5 name)]

    @classmethod
    def walk(cls, group: h5py.Group) -> Layout:
        layout = cls(group)
        for name in group:
            link = group.get(name, getlink=True)
            if isinstance(link, h5py.SoftLink):
                layout.nodes.append(TreeNode(name, "link", link_target=layout._target(link)))
        for branch in BRANCHES:
            if isinstance(group.get(branch), h5py.Group):
                layout._walk(group[branch], branch, branch)
        return layout

    def _target(self, link: h5py.SoftLink) -> str:
        prefix = self.group.name.rstrip("/") + "/"
        path = link.path
        return path[len(prefix):].replace("/", ".") if path.startswith(prefix) else path

    def _walk(self, h5_group: h5py.Group, path: str, branch: str) -> None:
        is_leaf = bool(h5_group.attrs.get("SRVC_LEAF", False))
        if path != f"{branch}.runs":
            self.nodes.append(TreeNode(path, "leaf" if is_leaf else "group", h5_group.name))
        if is_leaf:
            return
        for name in h5_group:
            link = h5_group.get(name, getlink=True)
            child_path = f"{path}.{name}"
            if isinstance(link, h5py.SoftLink):
                self.nodes.append(TreeNode(child_path, "link", link_target=self._target(link)))
                continue
            child = h5_group.get(name)
            if not isinstance(child, h5py.Group):
                continue
            if path == f"{branch}.runs" and (_RUN.match(name) or _RUN_SET.match(name)):
                self._add_runs(branch, child)
                continue
            self._walk(child, child_path, branch)

    def _add_runs(self, branch: str, group: h5py.Group) -> None:
        match = _RUN.match(group.name.rsplit("/", 1)[-1])
        if match is not None:
            self.runs.setdefault(int(match.group(1)), []).append((branch, group.name))
            return
        for name in group:  # a run_set_XXXXX group of runs
            child = group.get(name)
            if isinstance(child, h5py.Group) and _RUN.match(name):
                self._add_runs(branch, child)

    def run_leaves(self, idx: int) -> list[tuple[str, h5py.Group]]:
        """Run ``idx``'s leaves as (run path, leaf group): ``results.z`` for ``results.runs.run_X.z``."""
        found: list[tuple[str, h5py.Group]] = []
        for branch, name in self.runs.get(idx, []):
            run_group = self.group.file[name]

            def visit(sub_name: str, obj: object, branch: str = branch) -> None:
                if isinstance(obj, h5py.Group) and obj.attrs.get("SRVC_LEAF", False):
                    found.append((f"{branch}.{sub_name.replace('/', '.')}", obj))

            run_group.visititems(visit)
        return [(path, leaf) for path, leaf in found if not any(path.startswith(p + ".") for p, _ in found)]

    def explored_names(self) -> list[str]:
        """Explored parameters in pypet's order (its ``explorations`` table, else marked leaves)."""
        table = self.group["overview"].get("explorations")
        if isinstance(table, h5py.Dataset):
            return [text(name) for name in read_table(table, {})["explorations"]]
        return [n.path for n in self.nodes if n.kind == "leaf" and "SRVC_INIT_LENGTH" in self.group.file[n.h5_name].attrs]
