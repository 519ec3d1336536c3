"""Rules for node names, checked at the call that makes a node."""

from __future__ import annotations

import functools
import keyword
import re

from pypet_rebuild.errors import InvalidNameError

__all__ = ["BRANCHES", "check_name", "split_path"]

BRANCHES = ("config", "parameters", "derived_parameters", "results")

_IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")

# Instance attributes of groups and trajectories; the class attributes are
# added on first use (see ``_reserved``), so a new method is reserved at once.
_INSTANCE_ATTRIBUTES = frozenset(
    {"comment", "annotations", "fast_access", "auto_load", "created", "metadata", "crun"}
)


@functools.cache
def _reserved() -> frozenset[str]:
    """Names that natural naming could never reach, because an attribute of
    a group or of the trajectory answers first."""
    from pypet_rebuild.trajectory import Trajectory

    public = {name for name in dir(Trajectory) if not name.startswith("_")}
    return frozenset(public | _INSTANCE_ATTRIBUTES)


def _is_reserved(name: str) -> bool:
    if keyword.iskeyword(name) or name in _reserved():
        return True
    # pypet's f_/v_ names stay free for a compatibility layer
    return name.startswith(("f_", "v_")) and name[2:] in _reserved()


def check_name(name: str, *, what: str = "node", reserved: bool = True) -> str:
    """Return ``name`` if it may name a node, else raise ``InvalidNameError``."""
    if not isinstance(name, str):
        raise InvalidNameError(f"invalid {what} name {name!r}: names are strings such as 'tau_m'")
    return _check_text(name, what, reserved)


@functools.lru_cache(maxsize=4096)  # the same few names recur in every run; only valid ones are cached
def _check_text(name: str, what: str, reserved: bool) -> str:
    if not _IDENTIFIER.match(name):
        raise InvalidNameError(
            f"invalid {what} name {name!r}: use letters, digits and underscores, "
            "starting with a letter (e.g. 'tau_m')"
        )
    if reserved and _is_reserved(name):
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
    if "" in parts:
        raise InvalidNameError(f"invalid path {path!r}: empty component between dots")
    return parts
