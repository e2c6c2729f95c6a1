"""Property tests: round trips, and hostile bytes only ever raise UnserializeError.

The pure and C implementations must agree on every input: same value (by ``repr``)
or the same error message at the same offset.
"""

from __future__ import annotations

import re
from types import ModuleType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ninja_redis.exceptions import UnserializeError
from ninja_redis.php import PhpEnum, PhpObject, PhpRef, _pure
from tests.unit.test_php_fixtures import BLOBS

try:
    from ninja_redis.php import _speedups
except ImportError:  # pragma: no cover - CI always builds it
    _speedups = None

NOT_BUILT = (
    "!!! C accelerator ninja_redis.php._speedups is NOT BUILT; "
    "run `pip install -e .` with a C compiler !!!"
)
IMPLS = [_pure] + ([_speedups] if _speedups is not None else [])
SLOW = settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
FAST = settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.fixture(params=["python", "c"])
def impl(request: pytest.FixtureRequest) -> ModuleType:
    if request.param == "c":
        if _speedups is None:
            pytest.skip(NOT_BUILT)
        return _speedups
    return _pure


ints = st.integers(min_value=-(2**63), max_value=2**63 - 1)
names = st.from_regex(
    re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,8}(\\[A-Za-z_][A-Za-z0-9_]{0,8}){0,2}"),
    fullmatch=True,
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    ints,
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.binary(max_size=20),
)
keys = st.one_of(ints, st.text(max_size=8), st.sampled_from(["0", "1", "-1", "01"]))


def _containers(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.lists(children, max_size=5),
        st.dictionaries(keys, children, max_size=5),
        st.builds(
            PhpObject,
            names,
            st.dictionaries(st.one_of(st.text(max_size=6), ints), children, max_size=4),
            protected=st.dictionaries(st.text(max_size=6), children, max_size=2),
            private=st.dictionaries(st.text(max_size=6), children, max_size=2),
        ),
        st.builds(PhpRef, children),
    )


values = st.recursive(
    st.one_of(scalars, st.builds(PhpEnum, names, names)), _containers, max_leaves=25
)


@SLOW
@given(values)
def test_round_trip(value: Any) -> None:
    for impl in IMPLS:
        data = impl.dumps(value)
        assert data == _pure.dumps(value)
        back = impl.loads(data, strict=True)
        assert impl.dumps(back) == data


@SLOW
@given(values)
def test_shared_values_round_trip(value: Any) -> None:
    shared = [value, value, [value], PhpObject("X", {"a": value, "b": value})]
    for impl in IMPLS:
        data = impl.dumps(shared)
        assert data == _pure.dumps(shared)
        assert impl.dumps(impl.loads(data, strict=True)) == data


def _outcome(impl: ModuleType, data: bytes) -> tuple[str, Any]:
    try:
        return "ok", repr(impl.loads(data, max_depth=64))
    except UnserializeError as exc:
        assert exc.data == data
        assert 0 <= exc.offset <= len(data)
        return "error", (exc.reason, exc.offset)


def _check(data: bytes) -> None:
    results = {_outcome(impl, data) for impl in IMPLS}
    assert len(results) == 1, results


@FAST
@given(st.binary(max_size=64))
def test_random_bytes(data: bytes) -> None:
    _check(data)


alphabet = st.sampled_from(
    [b"a:", b"i:", b"s:", b"d:", b"b:", b"O:", b"C:", b"E:", b"r:", b"R:", b"N;",
     b"{", b"}", b";", b":", b'"', b"0", b"1", b"2", b"9", b"-", b".", b"E+5",
     b"stdClass", b"INF", b"\xff", b"\xc3\xa9"]
)  # fmt: skip


@FAST
@given(st.lists(alphabet, max_size=40))
def test_grammar_soup(parts: list[bytes]) -> None:
    _check(b"".join(parts))


blobs = st.sampled_from(BLOBS)


@FAST
@given(blobs, st.data())
def test_mutated_fixture_blobs(blob: bytes, data: st.DataObject) -> None:
    kind = data.draw(
        st.sampled_from(["flip", "truncate", "length", "insert", "delete"])
    )
    buf = bytearray(blob)
    if kind == "flip":
        i = data.draw(st.integers(0, len(buf) - 1))
        buf[i] ^= 1 << data.draw(st.integers(0, 7))
    elif kind == "truncate":
        del buf[data.draw(st.integers(0, len(buf) - 1)) :]
    elif kind == "length" and re.search(rb"\d", blob):
        numbers = [m.span() for m in re.finditer(rb"\d+", blob)]
        a, b = data.draw(st.sampled_from(numbers))
        new = str(int(blob[a:b]) + data.draw(st.integers(-3, 3))).encode()
        buf[a:b] = new
    elif kind in ("insert", "length"):
        i = data.draw(st.integers(0, len(buf)))
        buf[i:i] = data.draw(alphabet)
    else:
        i = data.draw(st.integers(0, len(buf) - 1))
        del buf[i : i + data.draw(st.integers(1, 4))]
    _check(bytes(buf))


@pytest.mark.parametrize("blob", BLOBS[:: max(1, len(BLOBS) // 40)])
def test_every_truncation(impl: ModuleType, blob: bytes) -> None:
    for end in range(len(blob)):
        with pytest.raises(UnserializeError):
            impl.loads(blob[:end], strict=True)
