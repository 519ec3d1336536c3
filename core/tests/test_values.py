"""Round-trip and rejection tests for the backend-neutral value codec."""

from __future__ import annotations

import dataclasses
import json
import pickle

import numpy as np
import pytest

from pypet_rebuild.errors import PypetRebuildError, UnsupportedTypeError
from pypet_rebuild.values import (
    PickledValue,
    ValueTypeRegistry,
    array_from_bytes,
    array_to_bytes,
    check_parameter_value,
    check_result_value,
    decode,
    default_registry,
    encode,
    join_arrays,
    pack,
    sample_result_values,
    sample_values,
    split_arrays,
    type_key,
    unpack,
    values_equal,
)

RESULT_SAMPLES = sample_result_values()
PARAM_SAMPLES = sample_values()
ids = list(RESULT_SAMPLES)


@pytest.fixture(params=ids)
def sample(request):
    # Fresh values per test so that nothing leaks between tests through mutation.
    return request.param, sample_result_values()[request.param]


def _walk_leaves(node):
    if isinstance(node, dict):
        for item in node.values():
            yield from _walk_leaves(item)
    elif isinstance(node, list):
        for item in node:
            yield from _walk_leaves(item)
    else:
        yield node


# --------------------------------------------------------------- samples


def test_samples_cover_the_required_kinds():
    required = {
        "int_", "float_nan", "complex_", "str_unicode", "bytes_", "bool_",
        "tuple_mixed", "list_floats", "np_int8", "np_float32_scalar",
        "np_bool_scalar", "array_float64_2d", "array_int16", "array_bool",
        "array_complex128", "array_bytes_S5", "array_unicode_U7",
        "array_structured", "array_empty", "sparse_csr", "sparse_csc",
        "sparse_bsr", "sparse_dia", "sparse_coo", "series_float",
        "series_str_index", "dataframe_mixed",
    }
    assert required <= set(PARAM_SAMPLES)
    assert {"none", "dict_nested", "list_nested", "empty_dict", "empty_list"} <= set(RESULT_SAMPLES)
    assert set(PARAM_SAMPLES) <= set(RESULT_SAMPLES)
    assert all(name.isidentifier() for name in RESULT_SAMPLES)


@pytest.mark.parametrize("name", list(PARAM_SAMPLES))
def test_every_parameter_sample_is_a_valid_parameter(name):
    check_parameter_value(PARAM_SAMPLES[name])


def test_samples_are_fresh_objects():
    a, b = sample_values(), sample_values()
    assert a["array_float64_2d"] is not b["array_float64_2d"]


# ------------------------------------------------------------ round trips


def test_encode_decode_round_trip(sample):
    name, value = sample
    check_result_value(value)
    tree = encode(value)
    assert set(tree) == {"t", "v"}
    restored = decode(tree)
    assert values_equal(value, restored), name
    assert type(restored) is type(value)


def test_pack_unpack_round_trip(sample):
    name, value = sample
    blob = pack(value)
    assert isinstance(blob, bytes)
    assert b'"t":"pickle"' not in blob  # no silent pickle fallback
    restored = unpack(blob)
    assert values_equal(value, restored), name


def test_split_arrays_leaves_strict_json(sample):
    name, value = sample
    tree = encode(value)
    plain, arrays = split_arrays(tree)
    text = json.dumps(plain, allow_nan=False)  # strict JSON: no NaN/Infinity tokens
    for leaf in _walk_leaves(json.loads(text)):
        assert leaf is None or type(leaf) in (str, int, float, bool)
    for array in arrays:
        assert type(array) is np.ndarray
        assert not array.dtype.hasobject
        assert values_equal(array_from_bytes(array_to_bytes(array)), array)
    rejoined = join_arrays(json.loads(text), arrays)
    assert values_equal(decode(rejoined), value), name


def test_dict_order_and_marker_like_keys_survive():
    value = {"z": 1, "__array__": 0, "a": {"t": "x", "v": [1]}}
    for restored in (decode(encode(value)), unpack(pack(value))):
        assert list(restored) == ["z", "__array__", "a"]
        assert values_equal(restored, value)


def test_big_ints_and_nonfinite_floats_are_exact():
    for value in (2**63, -(2**63) - 1, 10**40, 2**63 - 1):
        assert unpack(pack(value)) == value
    assert encode(2**64)["t"] == "bigint"
    assert encode(2**63 - 1)["t"] == "int"
    restored = unpack(pack([float("inf"), float("-inf"), float("nan"), -0.0]))
    assert restored[0] == float("inf") and restored[1] == float("-inf")
    assert restored[2] != restored[2]
    assert str(restored[3]) == "-0.0"


def test_fortran_array_comes_back_equal_and_c_ordered():
    a = np.asfortranarray(np.arange(6.0).reshape(2, 3))
    restored = unpack(pack(a))
    assert values_equal(a, restored)
    assert restored.flags.c_contiguous


def test_encode_copies_arrays():
    a = np.arange(3)
    tree = encode(a)
    a[0] = 99
    assert decode(tree)[0] == 0
    first = decode(tree)
    first[1] = 77
    assert decode(tree)[1] == 1


def test_sparse_keeps_class_and_structure():
    sp = pytest.importorskip("scipy.sparse")
    m = sp.csr_matrix(np.array([[0, 2.0], [3.0, 0]]))
    arr = sp.csr_array(m)
    assert type(unpack(pack(m))) is sp.csr_matrix
    assert type(unpack(pack(arr))) is sp.csr_array
    assert not values_equal(m, arr)
    assert not values_equal(m, m.tocsc())


def test_unsupported_sparse_format_is_rejected():
    sp = pytest.importorskip("scipy.sparse")
    with pytest.raises(UnsupportedTypeError, match="lil"):
        encode(sp.lil_matrix((2, 2)))
    with pytest.raises(UnsupportedTypeError, match="lil"):
        check_parameter_value(sp.lil_matrix((2, 2)))


def test_pandas_dtypes_and_index_types_survive():
    pd = pytest.importorskip("pandas")
    df = RESULT_SAMPLES["dataframe_mixed"]
    restored = unpack(pack(df))
    assert list(restored.dtypes.astype(str)) == list(df.dtypes.astype(str))
    assert restored["objects"].dtype == object
    assert restored.index.name == "row"
    s = pd.Series([1, 2])
    assert type(unpack(pack(s)).index) is pd.RangeIndex
    assert type(unpack(pack(RESULT_SAMPLES["series_str_index"])).index) is pd.Index
    cols = unpack(pack(RESULT_SAMPLES["dataframe_int_columns"])).columns
    assert list(cols) == [0, 1, 2] and type(cols[0]) is not str


# --------------------------------------------------------- values_equal


@pytest.mark.parametrize(
    "a, b",
    [
        (1, True),
        (1, 1.0),
        (1.0, np.float64(1.0)),
        ([1, 2], (1, 2)),
        ({"a": 1}, {"a": 1.0}),
        ({"a": 1}, {"b": 1}),
        (np.int32(1), np.int64(1)),
        (np.array([1, 2], dtype=np.int32), np.array([1, 2], dtype=np.int64)),
        (np.array([1.0, 2.0]), np.array([[1.0, 2.0]])),
        (np.array([1.0, np.nan]), np.array([1.0, 2.0])),
        (float("nan"), 0.0),
        ("a", b"a"),
        (None, 0),
        ([1, [2]], [1, [3]]),
    ],
)
def test_values_equal_negative(a, b):
    assert not values_equal(a, b)
    assert not values_equal(b, a)


def test_values_equal_nan_handling():
    assert values_equal(float("nan"), float("nan"))
    assert values_equal(complex(float("nan"), 1), complex(float("nan"), 1))
    assert values_equal(np.array([np.nan, 1.0]), np.array([np.nan, 1.0]))
    assert values_equal(np.float32("nan"), np.float32("nan"))
    assert values_equal(np.array(["NaT"], dtype="M8[s]"), np.array(["NaT"], dtype="M8[s]"))


def test_values_equal_pandas_strictness():
    pd = pytest.importorskip("pandas")
    assert not values_equal(pd.Series([1, 2]), pd.Series([1, 2], index=pd.Index([0, 1])))
    assert not values_equal(pd.Series(["a"], dtype=object), pd.Series(["a"], dtype="string"))
    assert not values_equal(pd.Series([1.0], name="a"), pd.Series([1.0], name="b"))
    assert not values_equal(pd.DataFrame({"a": [1]}), pd.DataFrame({"a": [1.0]}))
    assert values_equal(pd.Series([np.nan]), pd.Series([np.nan]))


# ---------------------------------------------------------- unsupported


@pytest.mark.parametrize(
    "value, type_name",
    [
        ({1, 2}, "set"),
        (object(), "object"),
        (np.array([1, "a"], dtype=object), "object"),
        ({1: "x"}, "int"),
        (lambda: 1, "function"),
        ({"ok": [1, {2}]}, "set"),
        (frozenset(), "frozenset"),
    ],
)
def test_unsupported_types_raise(value, type_name):
    with pytest.raises(UnsupportedTypeError, match=type_name):
        encode(value)
    with pytest.raises(UnsupportedTypeError, match=type_name):
        check_result_value(value)
    with pytest.raises(UnsupportedTypeError, match=type_name):
        pack(value)


def test_unsupported_error_is_a_type_error_and_base_error():
    with pytest.raises(TypeError):
        encode({1, 2})
    with pytest.raises(PypetRebuildError):
        encode({1, 2})


def test_allow_pickle_round_trip():
    value = {"s": {1, 2}, "keys": {1: "a"}, "obj": np.array([None, "x"], dtype=object)}
    tree = encode(value, allow_pickle=True)
    # Only the unsupported nodes are pickled; the dict itself stays portable.
    assert tree["t"] == "dict"
    assert [pair[1]["t"] for pair in tree["v"]] == ["pickle", "pickle", "pickle"]
    stored = unpack(pack(value, allow_pickle=True))
    # Reading never unpickles: the whole value waits as a placeholder for the reader's permission.
    assert isinstance(stored, PickledValue)
    restored = stored.unpickle()
    assert restored["s"] == {1, 2} and restored["keys"] == {1: "a"}
    assert list(restored["obj"]) == [None, "x"]
    node = tree["v"][0][1]["v"]
    assert node.dtype == np.uint8 and pickle.loads(node.tobytes()) == {1, 2}


def test_allow_pickle_still_fails_for_unpicklable():
    with pytest.raises(UnsupportedTypeError, match="function"):
        encode(lambda: 1, allow_pickle=True)


# ------------------------------------------------------ parameter checks


@pytest.mark.parametrize(
    "value, fragment",
    [
        ({"a": 1}, "dict"),
        (None, "None"),
        ([1, [2]], "list"),
        ((1, (2,)), "tuple"),
        ([1, None], "NoneType"),
        ({1}, "set"),
        (np.array([object()], dtype=object), "object"),
    ],
)
def test_check_parameter_value_rejects(value, fragment):
    with pytest.raises(UnsupportedTypeError, match=fragment):
        check_parameter_value(value)


def test_result_only_values_pass_result_check():
    for name in ("none", "dict_nested", "list_nested"):
        check_result_value(RESULT_SAMPLES[name])
        with pytest.raises(UnsupportedTypeError):
            check_parameter_value(RESULT_SAMPLES[name])


def test_dict_key_error_names_the_key():
    with pytest.raises(UnsupportedTypeError, match=r"key 3 of type 'int'"):
        check_result_value({"a": {3: 1}})


# ------------------------------------------------------------- registry


@dataclasses.dataclass
class Point:
    x: float
    y: float


@dataclasses.dataclass
class Tagged:
    label: str
    data: np.ndarray


def _point_registry() -> ValueTypeRegistry:
    registry = ValueTypeRegistry()
    registry.add(Point, "test.Point", lambda p: (p.x, p.y), lambda t: Point(*t))
    return registry


def test_registered_type_round_trips():
    registry = _point_registry()
    assert Point in registry and "test.Point" in registry.tags()
    value = {"p": Point(1.0, -2.5), "ps": [Point(0.0, 0.0)]}
    check_parameter_value(Point(1.0, 2.0), registry)
    tree = encode(value, registry)
    assert tree["v"][0][1]["t"] == "plugin:test.Point"
    for restored in (decode(tree, registry), unpack(pack(value, registry), registry)):
        assert type(restored["p"]) is Point
        assert restored == value


def test_registered_type_with_array_payload():
    registry = ValueTypeRegistry()
    registry.add(Tagged, "test.Tagged", lambda t: {"label": t.label, "data": t.data},
                 lambda d: Tagged(d["label"], d["data"]))
    value = Tagged("a", np.arange(4.0))
    restored = unpack(pack(value, registry), registry)
    assert type(restored) is Tagged and restored.label == "a"
    assert values_equal(restored.data, value.data)


def test_unregistered_type_is_rejected_and_default_registry_is_shared():
    with pytest.raises(UnsupportedTypeError, match="Point"):
        encode(Point(1, 2), ValueTypeRegistry())
    assert default_registry() is default_registry()
    assert isinstance(default_registry(), ValueTypeRegistry)


@pytest.mark.parametrize("tag", ["", "int", "pickle", "plugin:x", 5])
def test_bad_tags_are_refused(tag):
    with pytest.raises(PypetRebuildError):
        ValueTypeRegistry().add(Point, tag, lambda p: p, lambda p: p)


def test_duplicate_registration_is_refused():
    registry = _point_registry()
    with pytest.raises(PypetRebuildError, match="test.Point"):
        registry.add(Tagged, "test.Point", lambda p: p, lambda p: p)
    with pytest.raises(PypetRebuildError, match="already registered"):
        registry.add(Point, "test.Point", lambda p: p, lambda p: p)
    with pytest.raises(PypetRebuildError, match="already registered"):
        registry.add(Point, "test.Other", lambda p: p, lambda p: p)
    with pytest.raises(PypetRebuildError):
        registry.add(int, "test.int", int, int)


def test_unknown_tag_on_decode_names_the_tag():
    tree = encode(Point(1.0, 2.0), _point_registry())
    with pytest.raises(UnsupportedTypeError, match="test.Point.*plugin"):
        decode(tree, ValueTypeRegistry())
    with pytest.raises(UnsupportedTypeError, match="mystery"):
        decode({"t": "mystery", "v": None})


def test_malformed_input_is_refused():
    with pytest.raises(PypetRebuildError):
        decode({"v": 1})
    with pytest.raises(PypetRebuildError):
        unpack(b"not a blob at all")
    with pytest.raises(PypetRebuildError):
        join_arrays({"__array__": 3}, [])


# -------------------------------------------------------------- type_key


def test_type_key_distinctions():
    assert type_key(True) == "bool"
    assert type_key(1) == "int"
    assert type_key(1.0) == "float"
    assert type_key(np.float64(1.0)) == "numpy.float64"
    assert type_key("a") == "str"
    assert type_key([1]) == "list" and type_key((1,)) == "tuple"
    assert type_key(np.zeros(2)) == type_key(np.zeros(3, dtype=np.int8)) == "ndarray"
    assert type_key(Point(1, 2), _point_registry()) == "plugin:test.Point"
    keys = {type_key(v) for v in (True, 1, 1.0, np.float64(1), np.int64(1), 1j, b"", "")}
    assert len(keys) == 8


def test_type_key_pandas_and_sparse():
    pd = pytest.importorskip("pandas")
    sp = pytest.importorskip("scipy.sparse")
    assert type_key(pd.DataFrame()) == "pandas.DataFrame"
    assert type_key(pd.Series(dtype=float)) == "pandas.Series"
    assert type_key(sp.csr_matrix((1, 1))) == "scipy.csr_matrix"
    assert type_key(sp.csr_matrix((1, 1))) != type_key(sp.csc_matrix((1, 1)))
