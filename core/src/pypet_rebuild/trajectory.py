"""The Trajectory: a tree of parameters and results plus the explored space."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pypet_rebuild.errors import (
    DuplicateNameError,
    ExplorationError,
    NodeNotFoundError,
    ParameterLockedError,
    PypetRebuildError,
)
from pypet_rebuild.exploration import check_equal_lengths
from pypet_rebuild.leaves import Parameter, Result
from pypet_rebuild.naming import BRANCHES, check_name, split_path
from pypet_rebuild.persistence import StorageAccess
from pypet_rebuild.runs import RunAccess, RunsGroup
from pypet_rebuild.tree import Group, Leaf, Node

if TYPE_CHECKING:
    from pypet_rebuild.merging import MergeSummary
    from pypet_rebuild.storage.base import StorageBackend

__all__ = ["Trajectory"]


class Trajectory(RunAccess, StorageAccess, Group):
    """Parameters, derived parameters, results and config in one tree.

    ``traj.idx = k`` makes every explored parameter show its k-th value
    (``-1`` restores the defaults); inside a run, results and derived
    parameters land under ``<branch>.runs.run_<k>``.
    """

    _is_trajectory = True

    def __init__(
        self,
        name: str = "my_trajectory",
        comment: str = "",
        *,
        fast_access: bool = True,
        auto_load: bool = False,
    ) -> None:
        check_name(name, what="trajectory", reserved=False)
        super().__init__(name, comment)
        self.fast_access = fast_access
        self.auto_load = auto_load
        self.created = time.time()
        self.metadata: dict[str, Any] = {}
        self._idx = -1
        self._explored: dict[str, Parameter] = {}
        self._length = 1
        self._run_active = False
        self._storage: StorageBackend | None = None
        self._shortcut_cache: dict[tuple[int, str], Node] = {}
        self._init_run_access()
        for branch in BRANCHES:
            group = self._add_child(Group(branch))
            if branch in ("results", "derived_parameters"):
                group._add_child(RunsGroup("runs"))

    # -- pickling: the storage link stays behind ------------------------------------

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_storage"] = None
        state["_shortcut_cache"] = {}  # keyed by object ids, meaningless elsewhere
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    # -- adding nodes -------------------------------------------------------------------

    def _branch_home(self, branch: str) -> Group:
        """Where new leaves of ``branch`` go: the branch, or this run's group."""
        group: Group = self._children[branch]  # type: ignore[assignment]
        if self._run_active and branch in ("results", "derived_parameters"):
            runs: Group = group._children["runs"]  # type: ignore[assignment]
            run_group = runs._children.get(self.crun)
            if run_group is None:  # run names are made here, valid by construction
                run_group = runs._add_child(Group(self.crun))
            return run_group  # type: ignore[return-value]
        return group

    def _add_leaf(self, branch: str, path: str, make: Any) -> Any:
        parts = split_path(path)
        if parts[0] == branch:
            parts = parts[1:]
        if not parts:
            raise DuplicateNameError(f"{branch!r} is a branch; give a name below it")
        for part in parts:
            check_name(part, what="parameter" if branch != "results" else "result")
        home = self._branch_home(branch)
        parent = home._ensure_group(".".join(parts[:-1])) if len(parts) > 1 else home
        return parent._add_child(make(parts[-1]))

    def _check_not_running(self, what: str) -> None:
        if self._run_active:
            raise PypetRebuildError(
                f"{what} cannot be added during a run; add them before calling env.run()"
            )

    def add_parameter(self, name: str, value: Any = None, comment: str = "") -> Parameter:
        """Add a parameter (dotted names create groups: ``"neuron.tau"``)."""
        self._check_not_running("parameters")
        if self._explored:
            raise ExplorationError(
                f"cannot add parameter {name!r}: the trajectory is already explored; "
                "add every parameter before calling explore()"
            )
        return self._add_leaf("parameters", name, lambda leaf: Parameter(leaf, value, comment))

    def add_config(self, name: str, value: Any = None, comment: str = "") -> Parameter:
        """Add a config entry: a parameter that is not part of the model."""
        self._check_not_running("config entries")
        return self._add_leaf("config", name, lambda leaf: Parameter(leaf, value, comment))

    def add_derived_parameter(self, name: str, value: Any = None, comment: str = "") -> Parameter:
        """Add a value computed from parameters (per run when called inside one)."""
        return self._add_leaf("derived_parameters", name, lambda leaf: Parameter(leaf, value, comment))

    def add_result(
        self, name: str, *args: Any, comment: str = "", allow_pickle: bool = False, **items: Any
    ) -> Result:
        """Add a result (per run when called inside one)."""
        return self._add_leaf(
            "results",
            name,
            lambda leaf: Result(leaf, *args, comment=comment, allow_pickle=allow_pickle, **items),
        )

    def _add_branch_group(self, branch: str, path: str, comment: str) -> Group:
        parts = split_path(path)
        if parts[0] == branch:
            parts = parts[1:]
        return self._branch_home(branch)._ensure_group(".".join(parts), comment)

    def add_parameter_group(self, name: str, comment: str = "") -> Group:
        return self._add_branch_group("parameters", name, comment)

    def add_config_group(self, name: str, comment: str = "") -> Group:
        return self._add_branch_group("config", name, comment)

    def add_derived_parameter_group(self, name: str, comment: str = "") -> Group:
        return self._add_branch_group("derived_parameters", name, comment)

    def add_result_group(self, name: str, comment: str = "") -> Group:
        return self._add_branch_group("results", name, comment)

    # -- exploration -----------------------------------------------------------------

    def _parameter(self, name: str) -> Parameter:
        try:
            node = self._children["parameters"]._find(  # type: ignore[attr-defined]
                name[len("parameters."):] if name.startswith("parameters.") else name
            )
        except NodeNotFoundError:
            raise ExplorationError(
                f"{name!r} is not a parameter of trajectory {self.name!r}; add it with "
                "traj.add_parameter() before exploring it"
            ) from None
        if not isinstance(node, Parameter):
            raise ExplorationError(f"{node.full_name!r} is a group, not a parameter; name a parameter")
        return node

    def _check_explorable(self, space: Mapping[str, Sequence[Any]]) -> dict[Parameter, list[Any]]:
        self._check_not_running("explorations")
        check_equal_lengths(space)
        resolved: dict[Parameter, list[Any]] = {}
        for name, values in space.items():
            parameter = self._parameter(name)
            if parameter in resolved:
                raise ExplorationError(f"{name!r} names {parameter.full_name!r} a second time")
            if isinstance(values, (str, bytes)) or not hasattr(values, "__len__"):
                raise ExplorationError(
                    f"values for {name!r} must be a list of values, got {type(values).__name__}"
                )
            resolved[parameter] = parameter._checked_range(list(values))
        return resolved

    def explore(self, space: Mapping[str, Sequence[Any]]) -> None:
        """Explore parameters with equal-length lists, zipped point by point.

        Everything is checked before anything changes, so a rejected
        exploration leaves the trajectory as it was.
        """
        if self._explored:
            raise ExplorationError(
                f"trajectory {self.name!r} is already explored; use expand() to add points"
            )
        resolved = self._check_explorable(space)
        for parameter in resolved:
            if parameter.locked:
                raise ParameterLockedError(
                    f"parameter {parameter.full_name!r} is locked (its value was read); unlock() "
                    "it or explore before reading it"
                )
        for parameter, values in resolved.items():
            parameter._explore(values)
            self._explored[parameter.full_name] = parameter
        self._length = check_equal_lengths(space)

    def expand(self, space: Mapping[str, Sequence[Any]]) -> None:
        """Append points to the explored space (all explored parameters, equal lengths)."""
        if not self._explored:
            self.explore(space)
            return
        resolved = self._check_explorable(space)
        given = {p.full_name for p in resolved}
        if given != set(self._explored):
            raise ExplorationError(
                f"expand() needs new values for exactly the explored parameters {sorted(self._explored)}, "
                f"got {sorted(given)}"
            )
        for parameter, values in resolved.items():
            parameter._expand(values)
        self._length += check_equal_lengths(space)

    def merge(self, other: Trajectory, **options: Any) -> MergeSummary:
        """Append the other stored trajectory's runs to this one (pypet's ``f_merge``).

        Options and rules: ``pypet_rebuild.merging.merge_trajectories``.
        """
        from pypet_rebuild.merging import merge_into

        return merge_into(self, other, **options)

    @property
    def explored_parameters(self) -> dict[str, Parameter]:
        return dict(self._explored)

    def __len__(self) -> int:
        """The number of runs: the length of the explored ranges (1 unexplored)."""
        return self._length

    def _explored_values(self, names: str | Sequence[str]) -> list[list[Any]]:
        names = [names] if isinstance(names, str) else list(names)
        columns = []
        for name in names:
            parameter = self._parameter(name)
            column = parameter._range if parameter._range is not None else [parameter.default] * len(self)
            columns.append(column)
        return columns

    def find_idx(self, names: str | Sequence[str], predicate: Any) -> list[int]:
        """Run indices whose values of ``names`` satisfy ``predicate(*values)``."""
        columns = self._explored_values(names)
        return [idx for idx, values in enumerate(zip(*columns)) if predicate(*values)]

    def find_unique_points(self, names: str | Sequence[str] | None = None) -> list[tuple[tuple[Any, ...], list[int]]]:
        """Distinct points of the explored space with the runs that share them."""
        from pypet_rebuild.values import pack

        columns = self._explored_values(list(self._explored) if names is None else names)
        points: dict[bytes, tuple[tuple[Any, ...], list[int]]] = {}
        for idx, values in enumerate(zip(*columns)):
            key = b"\0".join(pack(v) for v in values)
            points.setdefault(key, (tuple(values), []))[1].append(idx)
        return list(points.values())

    # -- current run ------------------------------------------------------------------

    @property
    def idx(self) -> int:
        return self._idx

    @idx.setter
    def idx(self, idx: int) -> None:
        if not isinstance(idx, int) or not -1 <= idx < len(self):
            raise IndexError(f"run index {idx!r} is out of range: this trajectory has {len(self)} runs")
        self._idx = idx

    def iter_runs(self) -> Iterator[int]:
        """Set ``idx`` to every run in turn; the defaults come back afterwards."""
        try:
            for idx in range(len(self)):
                self.idx = idx
                yield idx
        finally:
            self._idx = -1

    # -- repr ---------------------------------------------------------------------------

    def __repr__(self) -> str:
        explored = ", ".join(self._explored) or "nothing explored"
        return f"<Trajectory {self.name!r}: {len(self)} runs, {explored}>"

    def __str__(self) -> str:
        lines = [repr(self), *self._tree_lines("  ")]
        return "\n".join(lines[:200] + (["  ..."] if len(lines) > 200 else []))

    def _all_nodes_outside_runs(self) -> Iterator[Node]:
        for node in self.iter_nodes():
            if node.name == "runs" or ".runs." in node.full_name:
                continue
            yield node

    def _leaves_outside_runs(self) -> list[Leaf]:
        return [n for n in self._all_nodes_outside_runs() if isinstance(n, Leaf)]
