from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from pypet_rebuild import (
    InvalidNameError,
    NodeNotFoundError,
    ParameterLockedError,
    Result,
    Trajectory,
    UnsupportedTypeError,
)
from pypet_rebuild.values import sample_result_values, sample_values, values_equal


def test_reading_a_parameter_locks_it() -> None:
    traj = Trajectory("t")
    param = traj.add_parameter("x", 1.0)
    param.value = 2.0
    assert traj.x == 2.0
    with pytest.raises(ParameterLockedError, match="unlock"):
        param.value = 3.0
    param.unlock()
    param.value = 3.0
    assert param.value == 3.0 and param.locked


@pytest.mark.parametrize("key", sorted(sample_values()))
def test_every_parameter_type_is_accepted(key: str) -> None:
    traj = Trajectory("t")
    value = sample_values()[key]
    traj.add_parameter("p", value)
    assert values_equal(traj.get("p").value, value)


@pytest.mark.parametrize("value", [{1, 2}, {"a": 1}, None.__class__, object(), [[1, 2], [3]], lambda: 1])
def test_unsupported_parameter_types_name_the_type(value: object) -> None:
    traj = Trajectory("t")
    with pytest.raises(UnsupportedTypeError, match=type(value).__name__):
        traj.add_parameter("p", value)
    assert "p" not in traj.parameters


def test_results_hold_named_items_of_every_type() -> None:
    traj = Trajectory("t")
    samples = sample_result_values()
    result = traj.add_result("everything", **{k: v for k, v in samples.items()})
    assert isinstance(result, Result) and len(result) == len(samples)
    for key, value in samples.items():
        assert values_equal(result[key], value)
    assert result.get("int_") == samples["int_"]


def test_single_positional_value_is_read_back_by_the_result_name() -> None:
    traj = Trajectory("t")
    traj.add_result("z", 3.0)
    traj.add_result("pair", x=1, y=2)
    assert traj.z == 3.0
    pair = traj.pair
    assert isinstance(pair, Result) and pair.x == 1 and pair["y"] == 2 and pair.keys() == ["x", "y"]
    with pytest.raises(NodeNotFoundError, match="no item 'w'"):
        pair.w  # noqa: B018
    with pytest.raises(NodeNotFoundError, match="say which item"):
        pair.get()
    with pytest.raises(TypeError):
        traj.add_result("two", 1, 2)
    with pytest.raises(InvalidNameError):
        traj.add_result("bad", **{"not valid": 1})


def test_pickle_only_when_asked() -> None:
    traj = Trajectory("t")
    with pytest.raises(UnsupportedTypeError, match="set"):
        traj.add_result("s", {1, 2})
    result = traj.add_result("s", {1, 2}, allow_pickle=True)
    assert result.pickled_items == ("s",)
    assert traj.s == {1, 2}


def test_plugin_registered_type_is_accepted_once_registered() -> None:
    # The example plugin (tests/example_plugin) registers Fraction through the hook.
    from pypet_rebuild import get_plugin_host

    if "example" not in get_plugin_host().plugins:
        pytest.skip("the example plugin distribution is not installed")
    traj = Trajectory("t")
    traj.add_parameter("ratio", Fraction(1, 3))
    assert traj.ratio == Fraction(1, 3)


def test_array_parameter_is_returned_as_stored() -> None:
    traj = Trajectory("t")
    traj.add_parameter("weights", np.eye(2))
    assert values_equal(traj.weights, np.eye(2))
