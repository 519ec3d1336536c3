"""Rules for node names, checked at the call that makes a node."""

from __future__ import annotations

import keyword
import re

from pypet_rebuild.errors import InvalidNameError

__all__ = ["BRANCHES", "RESERVED_NAMES", "check_name", "split_path"]

BRANCHES = ("config", "parameters", "derived_parameters", "results")

_IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")

# Names that would shadow the tree's own attributes under natural naming.
RESERVED_NAMES = frozenset(
    {
        "name", "full_name", "comment", "annotations", "parent", "root", "children",
        "is_leaf", "is_group", "is_root", "branch", "depth", "get", "items", "keys",
        "values", "crun", "idx", "runs_group", "value", "range", "data", "trajectory",
        "to_dict", "iter_nodes", "iter_leaves", "add_link", "links", "lock", "unlock",
        "locked", "is_explored", "f", "v",
    }
)


def check_name(name: str, *, what: str = "node") -> str:
    """Return ``name`` if it may name a node, else raise ``InvalidNameError``."""
    if not isinstance(name, str) or not _IDENTIFIER.match(name):
        raise InvalidNameError(
            f"invalid {what} name {name!r}: use letters, digits and underscores, "
            "starting with a letter (e.g. 'tau_m')"
        )
    if keyword.iskeyword(name) or name in RESERVED_NAMES or name.startswith(("f_", "v_")):
        raise InvalidNameError(
            f"{what} name {name!r} is reserved (it would hide an attribute of the tree); "
            "choose another, e.g. by adding a suffix"
        )
    return name


def split_path(path: str) -> list[str]:
    """Split a dotted path, rejecting empty components."""
    if not isinstance(path, str) or not path:
        raise InvalidNameError(f"invalid path {path!r}: expected a dotted name such as 'neuron.tau'")
    parts = path.split(".")
    if any(not part for part in parts):
        raise InvalidNameError(f"invalid path {path!r}: empty component between dots")
    return parts
