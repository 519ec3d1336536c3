"""What ``Environment.run`` returns: ``[(idx, value), ...]`` without a tuple per run.

A million trivial runs would otherwise leave a million tuples behind; here
the indices are one NumPy array and the values one list (``None``s share a
single object), and the pairs are made when they are read.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, overload

import numpy as np

__all__ = ["RunResults"]


class RunResults(Sequence[tuple[int, Any]]):
    """A read-only sequence of ``(idx, value)`` in run order; compares equal to the list."""

    def __init__(self, indices: Sequence[int], values: list[Any]) -> None:
        order = np.argsort(np.asarray(indices, dtype=np.int64), kind="stable")
        self.indices = np.asarray(indices, dtype=np.int64)[order]
        sorted_already = bool(np.all(order == np.arange(len(order))))
        self.values = values if sorted_already else [values[i] for i in order]

    def __len__(self) -> int:
        return len(self.values)

    @overload
    def __getitem__(self, position: int) -> tuple[int, Any]: ...

    @overload
    def __getitem__(self, position: slice) -> list[tuple[int, Any]]: ...

    def __getitem__(self, position: int | slice) -> tuple[int, Any] | list[tuple[int, Any]]:
        if isinstance(position, slice):
            return list(zip(self.indices[position].tolist(), self.values[position]))
        return int(self.indices[position]), self.values[position]

    def __iter__(self) -> Iterator[tuple[int, Any]]:
        return zip(self.indices.tolist(), self.values)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (RunResults, list, tuple)):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other))
        return NotImplemented

    def __repr__(self) -> str:
        shown = ", ".join(repr(pair) for pair in self[:10])
        more = ", ..." if len(self) > 10 else ""
        return f"RunResults([{shown}{more}])"
