"""Pickles read from storage, kept as bytes until the reader allows them.

Why this module exists: unpickling runs code chosen by whoever wrote the
data, and stored data is shared between people. The codec therefore never
unpickles on its own. A stored value that contains a pickle decodes to one
:class:`PickledValue` for the whole value, which keeps the value's portable
tree (so copying a trajectory moves the bytes without running them) and
refuses to be used until the reader asks for :meth:`PickledValue.unpickle`.
Nothing here is public API except :class:`PickledValue`, re-exported by
``pypet_rebuild.values``.
"""

from __future__ import annotations

from typing import Any, NoReturn

import numpy as np

from pypet_rebuild.errors import UnsafeValueError

__all__ = ["PickledValue", "PickleMet", "unsafe_item", "unsafe_place", "ALLOW_HINT"]

ALLOW_HINT = (
    "if you trust whoever wrote this data, allow unpickling with allow_pickle=True "
    "(load_trajectory, Environment(..., resume=True), traj.load_items, traj.get_from_runs, "
    "traj.get_column) or with traj.allow_pickle = True"
)


class PickleMet(Exception):
    """Raised inside the decoder when it meets a pickle it may not load; the
    decoding entry point turns it into a placeholder or a refusal."""


def unsafe_item(where: str) -> UnsafeValueError:
    """The error for touching a pickled value the reader did not allow."""
    return UnsafeValueError(
        f"{where} holds a pickled value, which is not unpickled by default because "
        f"unpickling runs code taken from the stored data; {ALLOW_HINT}"
    )


def unsafe_place(where: str) -> UnsafeValueError:
    """The error for a pickle where pypet-rebuild never writes one."""
    return UnsafeValueError(
        f"{where} holds a pickle, but pypet-rebuild never stores pickles in metadata, "
        "annotations, comments, parameters, explored ranges or run records, so the data "
        "was crafted or damaged; it is refused even with allow_pickle=True because "
        "unpickling runs code taken from the stored data; rewrite that entry with plain "
        "values, or ask whoever wrote the data for a clean copy"
    )


class PickledValue:
    """A stored value that contains a pickle, not unpickled.

    It can be stored again (as a result item allowed to be pickled: copying
    and merging move its bytes unchanged) but not used: attribute access,
    iteration and calls raise ``UnsafeValueError``. ``unpickle()`` loads it
    and is called by the core only where the reader passed ``allow_pickle=True``.
    """

    __slots__ = ("tree",)

    def __init__(self, tree: dict) -> None:
        self.tree = tree

    def unpickle(self, registry: Any = None) -> Any:
        """Rebuild the value, running the pickle's code: only for trusted data."""
        from pypet_rebuild._value_codecs import Decoder
        from pypet_rebuild.values import default_registry

        return Decoder(registry or default_registry(), copy=True, load_pickles=True).decode(self.tree)

    @property
    def nbytes(self) -> int:
        """Bytes of pickle inside, for reprs and summaries."""
        return _pickle_bytes(self.tree)

    def __repr__(self) -> str:
        return f"<PickledValue: {self.nbytes} bytes of pickle, not unpickled; load with allow_pickle=True>"

    def _refuse(self, *_: Any) -> NoReturn:
        raise unsafe_item("this stored value")

    def __getattr__(self, name: str) -> Any:
        # Special names must stay AttributeErrors: numpy, copy and pickle probe
        # for them and would otherwise fail instead of falling back.
        if name.startswith("_"):
            raise AttributeError(name)
        self._refuse()

    __iter__ = __call__ = __len__ = __float__ = __int__ = __index__ = _refuse


def _pickle_bytes(tree: Any) -> int:
    if isinstance(tree, dict):
        if tree.get("t") == "pickle":
            return int(np.asarray(tree.get("v"), dtype=np.uint8).size)
        return sum(_pickle_bytes(v) for v in tree.values())
    if isinstance(tree, (list, tuple)):
        return sum(_pickle_bytes(v) for v in tree)
    return 0
