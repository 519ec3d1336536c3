"""Run under the real pypet: load every trajectory of a file, print what it loaded as JSON.

Usage: python dump_with_pypet.py FILE.hdf5 > dump.json

The form is the one ``our_dump`` in the tests builds from pypet-rebuild's
side: nodes outside the runs, the runs' leaves, links, run information.
"""

import json
import os
import sys
import warnings

import tables

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import old_numpy_names  # noqa: E402,F401  (before pypet)
from normal_form import normal  # noqa: E402
from pypet import Trajectory  # noqa: E402

warnings.simplefilter("ignore")


def in_runs(full_name):
    parts = full_name.split(".")
    return len(parts) > 1 and parts[1] == "runs"


def leaf_form(node):
    form = {"comment": node.v_comment, "annotations": normal(node.v_annotations.f_to_dict())}
    if node.v_is_parameter:
        form["kind"] = "parameter"
        form["value"] = normal(node.f_get_default())
        form["explored"] = normal(list(node.f_get_range())) if node.f_has_range() else None
    else:
        form["kind"] = "result"
        form["items"] = normal(node.f_to_dict())
    return form


def dump_trajectory(path, name):
    traj = Trajectory(name=name, add_time=False, filename=path)
    traj.f_load(name=name, load_parameters=2, load_derived_parameters=2, load_results=2, load_other_data=2, force=True)
    nodes, runs_leaves, links = {}, {}, {}
    links.update({name: target.v_full_name for name, target in traj._links.items()})
    for node in traj.f_iter_nodes(recursive=True, with_links=False):
        full_name = node.v_full_name
        if node.v_is_leaf:
            (runs_leaves if in_runs(full_name) else nodes)[full_name] = leaf_form(node)
        else:
            if not in_runs(full_name) and full_name.split(".")[-1] != "runs":
                nodes[full_name] = {"kind": "group", "comment": node.v_comment, "annotations": normal(node.v_annotations.f_to_dict())}
            for link_name, target in node._links.items():
                links[(full_name + "." if full_name else "") + link_name] = target.v_full_name
    runs = {}
    for run_name in traj.f_get_run_names():
        info = traj.f_get_run_information(run_name)
        if info["completed"]:
            runs[str(info["idx"])] = {"started": info["timestamp"], "finished": info["finish_timestamp"]}
    return {
        "comment": traj.v_comment,
        "timestamp": traj.v_timestamp,
        "explored": list(traj._explored_parameters),
        "nodes": nodes,
        "run_leaves": runs_leaves,
        "links": links,
        "runs": runs,
    }


def main(path):
    with tables.open_file(path, "r") as h5:
        names = [group._v_name for group in h5.root._f_iter_nodes("Group") if "overview" in group]
    print(json.dumps({name: dump_trajectory(path, name) for name in names}, sort_keys=True))


if __name__ == "__main__":
    main(sys.argv[1])
