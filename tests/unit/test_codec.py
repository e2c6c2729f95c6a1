"""PhpRedisPacker / LaravelCacheCodec edge cases, numbers and numeric strings."""

from __future__ import annotations

import math
import random
import shutil
import struct
import subprocess

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ninja_redis import php
from ninja_redis.codec import (
    LaravelCacheCodec,
    PhpRedisPacker,
    format_php_number,
    is_php_numeric,
)
from ninja_redis.exceptions import PackError, SerializeError, UnserializeError

# -- numbers ----------------------------------------------------------------------

SPEC_NUMBERS = [
    (0.1 + 0.2, "0.3"),
    (1e13, "10000000000000"),
    (1e14, "1.0E+14"),
    (1e15, "1.0E+15"),
    (-1e20, "-1.0E+20"),
    (1e100, "1.0E+100"),
    (0.0001, "0.0001"),
    (0.00001, "1.0E-5"),
    (1.5e-7, "1.5E-7"),
    (1.2345678901234568e17, "1.2345678901235E+17"),
    (5e-324, "4.9406564584125E-324"),
    (-0.0, "-0"),
    (0.0, "0"),
    (1.0, "1"),
    (100.0, "100"),
    (1.5, "1.5"),
    (-2.5, "-2.5"),
    (12345678901234.5, "12345678901234"),
    (5, "5"),
    (9223372036854775807, "9223372036854775807"),
    (-17, "-17"),
]


@pytest.mark.parametrize(("value", "text"), SPEC_NUMBERS)
def test_format_php_number_spec(value: float, text: str) -> None:
    assert format_php_number(value) == text


def test_format_php_number_rejects_bool() -> None:
    with pytest.raises(TypeError):
        format_php_number(True)


@pytest.mark.php
def test_format_php_number_matches_php_string_cast() -> None:
    if shutil.which("php") is None:
        pytest.skip("php binary not installed")
    rnd = random.Random(20240517)
    values = [
        struct.unpack("<d", rnd.getrandbits(64).to_bytes(8, "little"))[0]
        for _ in range(3000)
    ]
    values += [rnd.uniform(-1e6, 1e6) for _ in range(1000)]
    values += [round(rnd.uniform(-1e4, 1e4), rnd.randint(0, 6)) for _ in range(1000)]
    values += [float(10**e) for e in range(-30, 30)] + [v for v, _ in SPEC_NUMBERS]
    values = [float(v) for v in values if math.isfinite(v)]
    blob = "\n".join(struct.pack("<d", v).hex() for v in values)
    script = (
        'foreach (explode("\\n", stream_get_contents(STDIN)) as $h) {'
        ' echo (string)unpack("e", hex2bin($h))[1], "\\n"; }'
    )
    out = subprocess.run(
        ["php", "-d", "precision=14", "-r", script],
        input=blob,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.splitlines()
    assert len(out) == len(values)
    wrong = [
        (v, p, format_php_number(v))
        for v, p in zip(values, out, strict=True)
        if format_php_number(v) != p
    ]
    assert wrong == []


NUMERIC = [
    b"123",
    b"3.14",
    b"007",
    b" 12",
    b"12 ",
    b" 1 ",
    b"\n5",
    b"+5",
    b"-0",
    b".5",
    b"1.",
    b"1e3",
    b"9223372036854775808",
    b"\t\r\v\f7",
    b"1E-5",
    b"-.5e+2",
]
NOT_NUMERIC = [
    b"0x1A",
    b"1_000",
    b"1e",
    b"abc",
    b"",
    b" ",
    b".",
    b"+",
    b"1 2",
    b"--1",
    b"1e+",
    b"\x005",
    b"5\x00",
    b"INF",
    b"NAN",
    b"\xa05",
    "١".encode(),
]


@pytest.mark.parametrize("value", NUMERIC)
def test_numeric_strings(value: bytes) -> None:
    assert is_php_numeric(value)
    assert LaravelCacheCodec.is_php_numeric(value.decode())
    assert LaravelCacheCodec().dumps(value) == value


@pytest.mark.parametrize("value", NOT_NUMERIC)
def test_not_numeric_strings(value: bytes) -> None:
    assert not is_php_numeric(value)
    assert LaravelCacheCodec().dumps(value) == php.dumps(value)


# -- Laravel value encoding --------------------------------------------------------


def test_plain_encoding() -> None:
    c = LaravelCacheCodec()
    assert c.dumps(42) == b"42"
    assert c.dumps(-0.0) == b"-0"
    assert c.dumps(1e100) == b"1.0E+100"
    assert c.dumps(True) == b"b:1;"
    assert c.dumps(None) == b"N;"
    assert c.dumps(math.inf) == b"d:INF;"
    assert c.dumps(math.nan) == b"d:NAN;"
    assert c.dumps("") == b's:0:"";'
    assert c.dumps({"theme": "dark"}) == b'a:1:{s:5:"theme";s:4:"dark";}'
    assert c.dumps_for_add([1]) == c.dumps([1])
    # get() returns stored numbers as strings, like Laravel
    assert c.loads(b"42") == "42"
    assert c.loads(b" 1e3 ") == " 1e3 "
    assert c.loads(b"b:0;") is False
    with pytest.raises(UnserializeError):
        c.loads(b"a:1:{i:0;")
    with pytest.raises(UnserializeError):
        c.loads(b"garbage")


def test_allowed_classes() -> None:
    c = LaravelCacheCodec(allowed_classes=[])
    obj = c.loads(b'O:8:"stdClass":1:{s:1:"a";i:1;}')
    assert isinstance(obj, php.PhpIncompleteClass)


@pytest.mark.parametrize(
    ("version", "serializer", "value", "stored"),
    [
        ((12, 67), "php", 42, b"i:42;"),
        ((10, 50), "php", 42, b"i:42;"),
        ((10, 50), "php", "123", b's:3:"123";'),
        ((10, 50), "php", [1], b's:14:"a:1:{i:0;i:1;}";'),
        ((11, 39), "php", [1], b"a:1:{i:0;i:1;}"),
        ((11, 38), "json", {"a": 1}, b'"a:1:{s:1:\\"a\\";i:1;}"'),
        ((12, 67), "json", {"a": 1}, b'{"a":1}'),
        ((12, 67), "igbinary", "v", b"\x00\x00\x00\x02\x11\x01v"),
        ((13, 26), "msgpack", [1, 2, 3], b"\x93\x01\x02\x03"),
    ],
)
def test_serializer_versions(
    version: tuple[int, int], serializer: str, value: object, stored: bytes
) -> None:
    c = LaravelCacheCodec(version, serializer=serializer)
    assert c.dumps(value) == stored
    assert c.loads(stored) == value


def test_legacy_add_is_plain_and_readable() -> None:
    for ser in ("igbinary", "json"):
        c = LaravelCacheCodec((10, 50), serializer=ser, compression="none")
        stored = c.dumps_for_add([1, 2, 3])
        assert stored == b"a:3:{i:0;i:1;i:1;i:2;i:2;i:3;}"
        assert c.loads(stored) == [1, 2, 3]
    c = LaravelCacheCodec((10, 50), serializer="php")
    with pytest.raises(UnserializeError, match="TypeError"):
        c.loads(c.dumps_for_add([1, 2, 3]))
    assert c.loads(c.dumps_for_add(42)) == "42"


def test_compression_only_keeps_numbers_raw() -> None:
    c = LaravelCacheCodec(compression="lzf")
    assert c.dumps(42) == b"\x01\x34\x32"
    assert c.loads(b"\x01\x34\x32") == "42"
    assert c.loads(b"a:1:{i:0;i:1;}") == [1]  # uncompressed value stays readable
    old = LaravelCacheCodec((10, 50), compression="zstd")
    assert old.dumps_for_add([1]) == b"a:1:{i:0;i:1;}"


def test_members_and_lock_owner() -> None:
    assert LaravelCacheCodec().pack_member("me") == b"me"
    assert LaravelCacheCodec(serializer="php").pack_member("me") == b's:2:"me";'
    assert LaravelCacheCodec(serializer="json").pack_member("a:b") == b'"a:b"'
    c = LaravelCacheCodec(serializer="json")
    assert c.unpack_member(b"123") == "123"
    assert c.unpack_member(b"\xff") == b"\xff"


# -- the packer ------------------------------------------------------------------


def test_packer_none_casts_like_php() -> None:
    p = PhpRedisPacker()
    assert p.pack(5) == b"5"
    assert p.pack(0.1 + 0.2) == b"0.3"
    assert p.pack(True) == b"1"
    assert p.pack(False) == b""
    assert p.pack(None) == b""
    assert p.pack([1]) == b"Array"
    assert p.pack(php.PhpObject("stdClass")) == b"Object"
    assert p.unpack(b"abc") == "abc"


def test_aliases_and_errors() -> None:
    assert PhpRedisPacker(2, 3).serializer == "igbinary"
    assert PhpRedisPacker("Redis::SERIALIZER_JSON", "LZ4").compression == "lz4"
    with pytest.raises(ValueError):
        PhpRedisPacker("yaml")
    with pytest.raises(ValueError):
        PhpRedisPacker(compression="gzip")


@pytest.mark.parametrize("serializer", ["php", "igbinary", "msgpack", "json"])
@pytest.mark.parametrize("compression", ["none", "lzf", "zstd", "lz4"])
def test_lenient_and_strict_unpack(serializer: str, compression: str) -> None:
    p = PhpRedisPacker(serializer, compression)
    value = {"name": "Taylor", "list": [1, "2", None], "f": 2.5}
    assert p.unpack(p.pack(value)) == value
    assert p.unpack(p.pack(value), strict=True) == value
    junk = b"\xc1not a value\xff"
    assert p.unpack(junk) == junk  # phpredis returns the bytes unchanged
    with pytest.raises(PackError):
        p.unpack(junk, strict=True)


def test_json_serializer_bytes() -> None:
    p = PhpRedisPacker("json")
    assert p.pack("<a>/é\"'&") == b'"\\u003Ca\\u003E\\/\\u00e9\\"\'&"'
    assert (
        p.pack("😀\u2028\x00\x1f\x7f") == b'"\\ud83d\\ude00\\u2028\\u0000\\u001f\x7f"'
    )
    assert p.pack([1.0, 0.1, -0.0, 1e100, 1e15, 1.5e-7]) == (
        b"[1,0.1,-0,1.0e+100,1000000000000000,1.5e-7]"
    )
    assert p.pack({}) == b"[]"
    assert p.pack({1: 1, 0: 0}) == b'{"1":1,"0":0}'
    assert p.pack(php.PhpObject("stdClass")) == b"{}"
    with pytest.raises(SerializeError):
        p.pack(b"\xff")
    with pytest.raises(SerializeError):
        p.pack(math.inf)
    assert p.unpack(b'{"0":"a","1":"b"}') == ["a", "b"]
    assert p.unpack(b'{"5":1}') == {5: 1}
    assert p.unpack(b"12345678901234567890") == 1.2345678901234567e19
    assert p.unpack(b"5") == 5
    assert p.unpack(b'{"a":1}x') == '{"a":1}x'
    assert p.unpack(b'"\\ud800"') == '"\\ud800"'
    assert p.unpack(b"NaN") == "NaN"


def test_msgpack_serializer_bytes() -> None:
    p = PhpRedisPacker("msgpack")
    assert p.pack(42) == b"\x2a"
    assert p.pack("v") == b"\xa1v"
    assert p.pack("a" * 47)[:2] == b"\xd9\x2f"
    assert p.pack(2.5) == bytes.fromhex("cb4004000000000000")
    assert p.pack({"a": 1, 0: 2}) == bytes.fromhex("82a161010002")
    assert p.pack({1: 1}) == bytes.fromhex("810101")
    assert p.pack([-1, -33, 128, 255, 256, 65536, 4294967296, -129]) == bytes.fromhex(
        "98ffd0dfcc80ccffcd0100ce00010000cf0000000100000000d1ff7f"
    )
    obj = php.PhpObject("stdClass", {"a": 1})
    assert p.pack(obj) == bytes.fromhex("82c0a8737464436c617373a16101")
    assert p.unpack(p.pack(obj)) == obj
    assert p.unpack(b"42") == 52  # like phpredis: 0x34 is a msgpack int, rest ignored


@given(
    st.recursive(
        st.none()
        | st.booleans()
        | st.integers(-(2**63), 2**63 - 1)
        | st.floats(allow_nan=False)
        | st.text()
        | st.binary(),
        lambda kids: (
            st.lists(kids, max_size=5)
            | st.dictionaries(
                st.text(max_size=5) | st.integers(-5, 5), kids, max_size=5
            )
        ),
        max_leaves=20,
    )
)
def test_msgpack_round_trip(value: object) -> None:
    p = PhpRedisPacker("msgpack")
    assert _php_equal(p.unpack(p.pack(value), strict=True), value)


def _php_equal(got: object, want: object) -> bool:
    """Equality up to PHP's array model (keys normalised, lists for 0..n-1)."""
    return bool(php.loads(php.dumps(got)) == php.loads(php.dumps(want)))


def test_php_serializer_is_ninja_php() -> None:
    p = PhpRedisPacker("php")
    assert p.pack({"theme": "dark"}) == b'a:1:{s:5:"theme";s:4:"dark";}'
    assert p.unpack(b"i:5;") == 5
    assert p.unpack(b"5") == "5"
