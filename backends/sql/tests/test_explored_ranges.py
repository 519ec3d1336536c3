"""Explored ranges: scalar ranges are stored as one typed array, others as lists;
both come back exactly as they were."""

from __future__ import annotations

import numpy as np
import pytest

from pypet_rebuild.values import unpack, values_equal

from pypet_rebuild_sql._rows import pack_explored, unpack_explored

COMPACT = {
    "python floats": [0.5, -0.0, float("nan"), 1e300],
    "python ints": [1, -(2**62), 3],
    "python bools": [True, False, True],
    "numpy float32": [np.float32(1.5), np.float32(-2.0)],
    "numpy int16": [np.int16(1), np.int16(-7)],
    "numpy bool": [np.bool_(True), np.bool_(False)],
    "numpy uint64": [np.uint64(2**63), np.uint64(1)],
}
AS_LISTS = {
    "empty": [],
    "ints beyond int64": [1, 2**70],
    "bool and int": [True, 1],
    "int and float": [1, 1.0],
    "strings": ["a", "b"],
    "arrays": [np.arange(2), np.arange(2) + 1],
    "complex": [np.complex128(1j), np.complex128(2)],
    "tuples": [(1, 2), (3, 4)],
}


@pytest.mark.parametrize("values", COMPACT.values(), ids=COMPACT.keys())
def test_scalar_ranges_are_one_typed_array(values: list) -> None:
    stored = unpack(pack_explored(values))
    assert isinstance(stored, dict) and isinstance(stored["values"], np.ndarray)
    _assert_same(values, unpack_explored(pack_explored(values)))


@pytest.mark.parametrize("values", AS_LISTS.values(), ids=AS_LISTS.keys())
def test_other_ranges_are_stored_as_lists(values: list) -> None:
    assert isinstance(unpack(pack_explored(values)), list)
    _assert_same(values, unpack_explored(pack_explored(values)))


def _assert_same(expected: list, loaded: list) -> None:
    assert type(loaded) is list and len(loaded) == len(expected)
    for a, b in zip(expected, loaded):
        assert type(a) is type(b) and values_equal(a, b), (a, b)
