"""Groups and leaves with natural naming.

``traj.parameters.neuron.tau`` walks children; a name that is not a direct
child is looked up as a *shortcut* below the group (``traj.tau``), the
shallowest match winning and two equally shallow matches being an error.
Run groups other than the current run are never searched by shortcuts, so
``traj.z`` inside a run means this run's ``z``.
"""

from __future__ import annotations

import html
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from pypet_rebuild.errors import DuplicateNameError, InvalidNameError, NodeNotFoundError, NotUniqueNodeError
from pypet_rebuild.naming import check_name, split_path

if TYPE_CHECKING:
    from pypet_rebuild.trajectory import Trajectory

__all__ = ["Node", "Group", "Leaf"]

_MISSING: Any = object()
_RUN_LEAF_DEPTH = 4  # results.runs.run_00000042.z


class Node:
    """Common ground of groups and leaves: name, place in the tree, notes."""

    is_leaf = False
    _is_trajectory = False

    def __init__(self, name: str, comment: str = "") -> None:
        self._name = name
        self._parent: Group | None = None
        self.comment = comment
        self.annotations: dict[str, Any] = {}

    @property
    def name(self) -> str:
        return self._name

    @property
    def parent(self) -> Group | None:
        return self._parent

    @property
    def is_group(self) -> bool:
        return not self.is_leaf

    @property
    def is_root(self) -> bool:
        return self._parent is None

    @property
    def full_name(self) -> str:
        """Dotted path from the trajectory root, e.g. ``parameters.neuron.tau``."""
        parts: list[str] = []
        node: Node | None = self
        while node is not None and node._parent is not None:
            parts.append(node._name)
            node = node._parent
        return ".".join(reversed(parts))

    @property
    def root(self) -> Trajectory | None:
        node: Node = self
        while node._parent is not None:
            node = node._parent
        return node if node._is_trajectory else None  # type: ignore[return-value]

    @property
    def branch(self) -> str:
        return self.full_name.split(".", 1)[0]

    @property
    def depth(self) -> int:
        return self.full_name.count(".") + 1 if self._parent is not None else 0

    def _in_other_run(self, current_run: str | None) -> bool:
        """True if this node is a run group that is not the current run."""
        return (
            self._parent is not None
            and self._parent._name == "runs"
            and self._name != current_run
        )


class Leaf(Node):
    """A node that holds data: ``Parameter`` or ``Result``."""

    is_leaf = True

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.full_name or self.name}: {self._summary()}>"

    def _summary(self) -> str:
        return ""


class Group(Node):
    """An inner node: children by name, links, shortcuts below it."""

    def __init__(self, name: str, comment: str = "") -> None:
        super().__init__(name, comment)
        self._children: dict[str, Node] = {}
        self._links: dict[str, str] = {}

    # -- natural naming --------------------------------------------------------

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return self.get(name, fast_access=self._fast_access())

    def __getitem__(self, path: str) -> Any:
        return self.get(path, fast_access=self._fast_access())

    def __contains__(self, path: object) -> bool:
        if not isinstance(path, str):
            return False
        try:
            self._find(path)
        except (NodeNotFoundError, InvalidNameError):
            return False
        return True

    def __iter__(self) -> Iterator[Node]:
        return iter(list(self._children.values()))

    def __len__(self) -> int:
        return len(self._children)

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(self._children) | set(self._links))

    def _fast_access(self) -> bool:
        root = self.root
        return root.fast_access if root is not None else False

    def get(self, path: str, default: Any = _MISSING, *, fast_access: bool = False) -> Any:
        """The node at ``path`` (dotted, shortcuts allowed), or with
        ``fast_access`` a parameter's value / a single-item result's item."""
        try:
            node = self._find(path)
        except NodeNotFoundError:
            if default is _MISSING:
                raise
            return default
        if fast_access and node.is_leaf:
            return node._fast_value()  # type: ignore[attr-defined]
        return node

    def _find(self, path: str) -> Node:
        if path and "." not in path:  # the common case, kept short: one name
            return self._step(path, path)
        node: Node = self
        for part in split_path(path):
            if not isinstance(node, Group):
                raise NodeNotFoundError(
                    f"{node.full_name!r} is a leaf, it has no child {part!r} (looking up {path!r})"
                )
            node = node._step(part, path)
        return node

    def _step(self, part: str, path: str) -> Node:
        child = self._direct_child(part)
        if child is not None:
            return child
        return self._shortcut(part, path)

    def _direct_child(self, name: str) -> Node | None:
        child = self._children.get(name)
        if child is not None:
            return child
        if name in self._links:
            root = self.root
            target = self._links[name]
            return root._find(target) if root is not None else None
        return self._lazy_child(name)

    def _lazy_child(self, name: str) -> Node | None:
        """Hook for groups whose children live in storage (the runs group)."""
        return None

    def _shortcut(self, name: str, path: str) -> Node:
        root = self.root
        cache = root._shortcut_cache if root is not None else None
        if cache is not None:
            cached = cache.get((id(self), name))
            if cached is not None:
                return cached
        node = self._search(name, path, root)
        # Leaves of runs sit at depth 4 or deeper, so a match shallower than
        # that cannot be changed by the run groups that come and go.
        if cache is not None and node.depth < _RUN_LEAF_DEPTH:
            cache[(id(self), name)] = node
        return node

    def _search(self, name: str, path: str, root: Trajectory | None) -> Node:
        current_run = root.crun_name if root is not None else None
        level: list[Group] = [self]
        while level:
            found: list[Node] = []
            deeper: list[Group] = []
            for group in level:
                for child in group._children.values():
                    if child._in_other_run(current_run):
                        continue
                    if child._name == name:
                        found.append(child)
                    if isinstance(child, Group):
                        deeper.append(child)
                if current_run is not None and group._name == "runs" and current_run not in group._children:
                    lazy = group._lazy_child(current_run)
                    if isinstance(lazy, Group):
                        deeper.append(lazy)
            if len(found) == 1:
                return found[0]
            if found:
                names = ", ".join(sorted(n.full_name for n in found))
                raise NotUniqueNodeError(
                    f"{name!r} is ambiguous below {self.full_name or 'the trajectory'!r}: it names "
                    f"{names}; use one of these full names"
                )
            level = deeper
        where = self.full_name or "the trajectory"
        raise NodeNotFoundError(f"no node {name!r} below {where!r} (looking up {path!r})")

    # -- building ----------------------------------------------------------------

    def _add_child(self, node: Node) -> Node:
        if node._name in self._children or node._name in self._links:
            raise DuplicateNameError(
                f"{self.full_name or 'the trajectory'!r} already has a child named {node._name!r}; "
                "choose another name or remove the existing node first"
            )
        node._parent = self
        self._children[node._name] = node
        self._tree_changed()
        return node

    def _tree_changed(self) -> None:
        root = self.root
        if root is not None and not root._run_active:
            root._shortcut_cache.clear()

    def _ensure_group(self, path: str, comment: str = "", *, group_class: type[Group] | None = None) -> Group:
        group: Group = self
        parts = split_path(path)
        for i, part in enumerate(parts):
            child = group._children.get(part)
            if child is None:
                check_name(part, what="group")
                cls = group_class or Group
                child = group._add_child(cls(part))
            elif child.is_leaf:
                raise DuplicateNameError(
                    f"cannot create group {'.'.join(parts[: i + 1])!r}: a leaf of that name exists"
                )
            group = child  # type: ignore[assignment]
        if comment:
            group.comment = comment
        return group

    def add_group(self, path: str, comment: str = "") -> Group:
        """Create the group at the dotted ``path`` below this one (parents too)."""
        return self._ensure_group(path, comment)

    def add_link(self, name: str, target: Node | str) -> None:
        """Make ``name`` here refer to another node of the same trajectory."""
        check_name(name, what="link")
        if name in self._children or name in self._links:
            raise DuplicateNameError(f"{self.full_name!r} already has a child named {name!r}")
        root = self.root
        target_path = target if isinstance(target, str) else target.full_name
        if root is None:
            raise InvalidNameError("links can only be added inside a trajectory")
        root._find(target_path)  # a link to nothing is an error now, not on first use
        self._links[name] = target_path
        self._tree_changed()

    def remove_child(self, name: str) -> None:
        """Remove a child (and its subtree) or a link from this group."""
        if name in self._links:
            del self._links[name]
        else:
            child = self._children.pop(name, None)
            if child is None:
                raise NodeNotFoundError(f"{self.full_name!r} has no child {name!r} to remove")
            child._parent = None
        self._tree_changed()

    # -- reading -----------------------------------------------------------------

    @property
    def children(self) -> dict[str, Node]:
        return dict(self._children)

    @property
    def links(self) -> dict[str, str]:
        return dict(self._links)

    def iter_nodes(self, recursive: bool = True) -> Iterator[Node]:
        """Children, depth first; runs still in storage are not visited."""
        for child in list(self._children.values()):
            yield child
            if recursive and isinstance(child, Group):
                yield from child.iter_nodes(recursive=True)

    def iter_leaves(self) -> Iterator[Leaf]:
        return (node for node in self.iter_nodes() if isinstance(node, Leaf))

    def to_dict(self, fast_access: bool = False) -> dict[str, Any]:
        """Every leaf below this group by full name (values with ``fast_access``)."""
        return {
            leaf.full_name: (leaf._fast_value() if fast_access else leaf)  # type: ignore[attr-defined]
            for leaf in self.iter_leaves()
        }

    def __repr__(self) -> str:
        kinds = f"{len(self._children)} children"
        return f"<{type(self).__name__} {self.full_name or self.name!r}: {kinds}>"

    def _tree_lines(self, indent: str = "") -> list[str]:
        lines = []
        for child in self._children.values():
            lines.append(f"{indent}{child.name}" + ("" if child.is_leaf else "/") + (
                f"  {child._summary()}" if isinstance(child, Leaf) else ""
            ))
            if isinstance(child, Group):
                lines.extend(child._tree_lines(indent + "  "))
        for name, target in self._links.items():
            lines.append(f"{indent}{name} -> {target}")
        return lines

    def _repr_html_(self) -> str:
        def render(group: Group) -> str:
            items = []
            for child in group._children.values():
                label = html.escape(child.name)
                if isinstance(child, Group):
                    items.append(f"<li><details><summary>{label}/</summary>{render(child)}</details></li>")
                else:
                    summary = html.escape(child._summary())  # type: ignore[attr-defined]
                    items.append(f"<li><b>{label}</b> <code>{summary}</code></li>")
            for name, target in group._links.items():
                items.append(f"<li>{html.escape(name)} &rarr; {html.escape(target)}</li>")
            return "<ul>" + "".join(items) + "</ul>"

        title = html.escape(self.full_name or self.name)
        return f"<div><b>{title}</b>{render(self)}</div>"

