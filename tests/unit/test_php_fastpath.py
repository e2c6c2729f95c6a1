"""The pure codec's fast paths must agree exactly with its careful paths.

``_pure.dumps``/``loads`` first try a fast path for plain arrays of scalars (a
recursive serializer; a regex tokenizer for loads) and fall back to the careful,
iterative reference code for anything else. These tests compare both on the same
inputs, including inputs that cross the tokenizer's chunk boundary.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ninja_redis.exceptions import UnserializeError
from ninja_redis.php import _pure

_keys = st.one_of(
    st.text(max_size=8),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.sampled_from(["0", "5", "-3", "05", "-0", "1e3", "9223372036854775808"]),
)
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False),
    st.text(max_size=12),
    st.binary(max_size=12),
    st.sampled_from(['a";b', '"', '";', "é", 'x";', b"\xff", b'";']),
)
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=6),
        st.dictionaries(_keys, inner, max_size=6),
    ),
    max_leaves=40,
)


def _careful_loads(data: bytes, strict: bool = False) -> Any:
    value, end = _pure._decode(data, None, 4096, None)
    if strict and end != len(data):
        raise UnserializeError("trailing", data, end)
    return value


def _same(data: bytes, strict: bool = False) -> None:
    try:
        expected: Any = ("ok", repr(_careful_loads(data, strict)))
    except _pure._NeedRefs:
        expected = None  # references: the fast path never accepts these
    except UnserializeError:
        expected = "error"
    try:
        got: Any = ("ok", repr(_pure._fast_loads(data, 4096, strict)))
    except _pure._Fallback:
        return  # the careful path decides: nothing to compare
    assert expected is not None and expected != "error", data
    assert got == expected, data


@settings(max_examples=300, deadline=None)
@given(_values)
def test_dumps_fast_equals_careful(value: Any) -> None:
    try:
        careful = _pure._dumps_careful(value)
    except Exception as exc:  # same error from the public dumps()
        with pytest.raises(type(exc)):
            _pure.dumps(value)
        return
    assert _pure.dumps(value) == careful


@settings(max_examples=300, deadline=None)
@given(_values, st.booleans())
def test_loads_fast_equals_careful(value: Any, strict: bool) -> None:
    data = _pure._dumps_careful(value)
    _same(data, strict)
    _same(data + b"i:1;", strict)
    assert repr(_pure.loads(data)) == repr(_careful_loads(data))


def test_mutations_agree() -> None:
    rnd = random.Random(7)
    base = _pure.dumps(
        {"a": [1, 2.5, "x", None, True], "b": {"c": 'd";e', "5": -7}, "e": b"\xff"}
    )
    for _ in range(3000):
        data = bytearray(base)
        for _ in range(rnd.randint(1, 3)):
            op = rnd.random()
            i = rnd.randrange(len(data))
            if op < 0.4:
                data[i] = rnd.choice(b'sidabN;:{}"0123456789-.E+')
            elif op < 0.7:
                del data[i]
            else:
                data.insert(i, rnd.choice(b'sidabN;:{}"0123456789'))
        _same(bytes(data))
        _same(bytes(data), strict=True)


@pytest.mark.parametrize("pad", [0, 1, 2, 3, 5, 7, 11, 17])
def test_chunk_boundaries(pad: int) -> None:
    # tokens of every kind straddle the 64 KiB tokenizer chunk edge somewhere
    value = [
        {
            "name": "x" * pad,
            "n": 123456,
            "f": -1.5e-7,
            "t": True,
            "z": None,
            "q": 'say "hi"',
            "l": [1, [2, []]],
            "i": i,
        }
        for i in range(1500)
    ]
    data = _pure._dumps_careful(value)
    assert len(data) > 2 * _pure._CHUNK
    assert _pure._fast_loads(data, 4096, True) == _careful_loads(data)
    big = _pure._dumps_careful(["y" * (3 * _pure._CHUNK + pad), {"k": 1}])
    assert _pure._fast_loads(big, 4096, True) == _careful_loads(big)
