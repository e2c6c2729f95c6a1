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


@pytest.mark.parametrize(
    "data",
    [
        # the text of a string or key holds '";' (the match stops early: lengths)
        b'a:1:{s:3:"a";";s:4:"b";c";}',
        b'a:2:{i:0;s:4:"x";y";i:1;s:2:"";";}',
        # declared lengths off by one, leading zeros, multibyte text
        b'a:1:{s:1:"k";s:2:"abc";}',
        b'a:1:{s:1:"k";s:03:"abc";}',
        b'a:1:{s:03:"key";s:1:"v";}',
        'a:2:{s:2:"é";s:2:"é";s:1:"k";s:1:"é";}'.encode(),
        'a:1:{s:4:"\U0001f600";s:8:"\U0001f600\U0001f600";}'.encode(),
        # keys: numeric strings, non-canonical ones, out of range, empty
        b'a:4:{s:1:"5";i:1;s:2:"05";i:2;s:2:"-0";i:3;s:0:"";i:4;}',
        b'a:2:{s:19:"9223372036854775807";N;s:19:"9223372036854775808";N;}',
        b"a:2:{i:0;i:1;i:0;i:2;}",  # a repeated key: fewer entries than declared
        b"a:2:{i:1;b:1;i:0;b:0;}",
        # element counts: too many, too few, nested closes in one run
        b"a:1:{i:0;N;i:1;N;}",
        b"a:3:{i:0;N;i:1;N;}",
        b"a:1:{i:0;a:1:{i:0;a:0:{}}}",
        b"a:1:{i:0;a:1:{i:0;a:0:{}}}}",
        b"a:1:{i:0;a:1:{i:0;a:0:{}}}i:1;",
        b"a:1:{i:0;a:1:{i:0;a:0:{}}",
        # scalars at the top, with and without trailing bytes
        b's:3:"a";";',
        b"d:-1.5E-7;",
        b"i:-0;",
        b"b:1;x",
        # not valid UTF-8: the bytes tokenizer
        b'a:2:{s:1:"\xff";s:2:"\xfe\xff";s:1:"k";s:2:"\xc3\xa9";}',
    ],
)
@pytest.mark.parametrize("strict", [False, True])
def test_edge_cases_agree(data: bytes, strict: bool) -> None:
    _same(data, strict)
    assert _outcome(lambda: _pure.loads(data, strict=strict)) == _outcome(
        lambda: _reference_loads(data, strict)
    )


def _reference_loads(data: bytes, strict: bool) -> Any:
    """``_pure.loads`` without its fast path."""
    try:
        value, end = _pure._decode(data, None, 4096, None)
    except _pure._NeedRefs as need:
        value, end = _pure._decode(data, None, 4096, need.slots)
    if strict and end != len(data):
        raise _pure._err("unexpected data after the serialized value", data, end)
    return value


def _outcome(fn: Any) -> Any:
    try:
        return ("ok", repr(fn()))
    except UnserializeError as exc:
        return ("error", exc.reason, exc.offset)


@pytest.mark.parametrize(
    "value",
    [
        {"html": '<a href="/x">go</a>', "json": '{"a": "b"}', "q": '"', "e": ""},
        {"name": "Zoë", "emoji": "\U0001f600", "cjk": "日本語", "k\u00e9y": 1},
        ["x" * 4095, "y" * 4096, "z" * 70_000, {"k": "é" * 3000}],
        {"f": [0.1, 1.0, -0.0, 1e16, 1e17, 1.5e-7, 123456.789]},
        [b"\xff\xfe", b"ascii", {"b": b"\xc3\xa9\xff"}],
    ],
)
def test_fast_paths_take_common_data(value: Any) -> None:
    # quotes, non-ASCII text, long strings and binary strings stay on the fast
    # paths (no silent fall back to the slow careful code), with the same bytes
    data = _pure._dumps_careful(value)
    out: list[str] = []
    chunks: list[str] = []
    _pure._fast_dump(value, out.append, set(), 0, True, chunks)
    text = "".join(chunks) + "".join(out)
    assert text.encode("utf-8", "surrogateescape") == data
    assert _pure.dumps(value) == data
    fast = _pure._fast_loads(data, 4096, True)
    assert repr(fast) == repr(_careful_loads(data, True))


def test_dumps_lone_surrogates_and_bytes_keys_use_the_careful_path() -> None:
    from ninja_redis.exceptions import SerializeError

    with pytest.raises(SerializeError):
        _pure.dumps({"k": "\udcff"})
    with pytest.raises(SerializeError):
        _pure.dumps(["\ud800"])
    with pytest.raises(SerializeError):
        _pure.dumps({"\udcff": 1})
    assert _pure.dumps({b"\xff": 1, "5": 2}) == b'a:2:{s:1:"\xff";i:1;i:5;i:2;}'


@pytest.mark.parametrize("text", ["ascii", "Zoë", "\U0001f600"])
def test_dumps_large_values_agree(text: str) -> None:
    # big arrays are joined in chunks (after each element of the top array) and,
    # when not all ASCII, serialized a second time with exact UTF-8 lengths
    records = [
        {"i": i, "t": f"{text} {i}", "b": b"\xff" if i == 2999 else b"x", "l": [i]}
        for i in range(3000)
    ]
    for value in (records, {"rows": records, "n": 1}, dict(enumerate(records))):
        data = _pure._dumps_careful(value)
        assert _pure.dumps(value) == data
        assert repr(_pure.loads(data)) == repr(_reference_loads(data, True))
