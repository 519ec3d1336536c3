"""pypet-rebuild's side of the differential test: a loaded trajectory in the dump's form."""

from __future__ import annotations

from typing import Any

from normal_form import normal

from pypet_rebuild import Trajectory
from pypet_rebuild.leaves import Parameter
from pypet_rebuild.tree import Group, Leaf


def _leaf_form(leaf: Leaf) -> dict[str, Any]:
    form: dict[str, Any] = {"comment": leaf.comment, "annotations": normal(dict(leaf.annotations))}
    if isinstance(leaf, Parameter):
        form["kind"] = "parameter"
        form["value"] = normal(leaf.default)
        form["explored"] = normal(list(leaf.range)) if leaf.is_explored else None
    else:
        form["kind"] = "result"
        form["items"] = normal(leaf.items())  # type: ignore[attr-defined]
    return form


def our_dump(traj: Trajectory) -> dict[str, Any]:
    nodes: dict[str, Any] = {}
    links = {name: target for name, target in traj.links.items()}
    for node in traj.iter_nodes():
        if isinstance(node, Leaf):
            nodes[node.full_name] = _leaf_form(node)
        else:
            assert isinstance(node, Group)
            if node.name != "runs":
                nodes[node.full_name] = {"kind": "group", "comment": node.comment, "annotations": normal(dict(node.annotations))}
            links.update({f"{node.full_name}.{name}": target for name, target in node.links.items()})
    run_leaves: dict[str, Any] = {}
    runs = {}
    for info in traj.run_infos:
        runs[str(info.idx)] = {"started": info.started, "finished": info.finished}
        for branch in ("results", "derived_parameters"):
            group = traj.get(f"{branch}.runs.run_{info.idx:08d}", None)
            if group is not None:
                run_leaves.update({leaf.full_name: _leaf_form(leaf) for leaf in group.iter_leaves()})
    return {
        "comment": traj.comment,
        "timestamp": traj.created,
        "explored": list(traj.explored_parameters),
        "nodes": nodes,
        "run_leaves": run_leaves,
        "links": links,
        "runs": runs,
    }
