"""Building explored ranges: the cartesian product and its relatives."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pypet_rebuild.errors import ExplorationError

__all__ = ["cartesian_product", "check_equal_lengths"]


def check_equal_lengths(space: Mapping[str, Sequence[Any]]) -> int:
    """The common length of the value lists, or ``ExplorationError``."""
    if not space:
        raise ExplorationError("nothing to explore: give at least one parameter and its values")
    lengths = {name: len(values) for name, values in space.items()}
    if len(set(lengths.values())) != 1:
        raise ExplorationError(
            f"explored value lists must all have the same length, got {lengths}; "
            "use cartesian_product() to combine lists of different lengths"
        )
    return next(iter(lengths.values()))


def cartesian_product(
    space: Mapping[str, Sequence[Any]],
    combined_parameters: Iterable[str | Sequence[str]] | None = None,
) -> dict[str, list[Any]]:
    """Every combination of the given value lists, ready for ``explore``.

    ``combined_parameters`` fixes the order of the product (the last varies
    fastest, as in nested loops) and lets a tuple of names vary together:
    ``cartesian_product({"x": [1, 2], "y": [3, 4], "z": [5]}, [("x", "y"), "z"])``
    yields two points, not four.
    """
    if combined_parameters is None:
        combined_parameters = list(space)
    groups: list[tuple[str, ...]] = [
        (item,) if isinstance(item, str) else tuple(item) for item in combined_parameters
    ]
    named = [name for group in groups for name in group]
    if sorted(named) != sorted(space) or len(set(named)) != len(named):
        raise ExplorationError(
            f"combined_parameters {groups} must name every key of the space exactly once: {sorted(space)}"
        )
    zipped_groups = []
    for group in groups:
        check_equal_lengths({name: space[name] for name in group})
        zipped_groups.append(list(zip(*(space[name] for name in group))))
    result: dict[str, list[Any]] = {name: [] for name in named}
    for combination in itertools.product(*zipped_groups):
        for group, values in zip(groups, combination):
            for name, value in zip(group, values):
                result[name].append(value)
    return {name: result[name] for name in space}
