"""ninja_redis.php codec: exact bytes, type mapping, references, errors.

Every test runs on both implementations (``impl`` fixture).
"""

from __future__ import annotations

import datetime as dt
import enum
import math
import time
from types import ModuleType
from typing import Any

import pytest

import ninja_redis.php as php
from ninja_redis.exceptions import SerializeError, UnserializeError
from ninja_redis.php import (
    PhpEnum,
    PhpIncompleteClass,
    PhpIncompleteSerializable,
    PhpObject,
    PhpRef,
    PhpSerializable,
    _pure,
)

try:
    from ninja_redis.php import _speedups
except ImportError:  # pragma: no cover - CI always builds it
    _speedups = None

NOT_BUILT = (
    "!!! C accelerator ninja_redis.php._speedups is NOT BUILT; "
    "run `pip install -e .` with a C compiler !!!"
)


@pytest.fixture(params=["python", "c"])
def impl(request: pytest.FixtureRequest) -> ModuleType:
    if request.param == "c":
        if _speedups is None:
            pytest.skip(NOT_BUILT)
        return _speedups
    return _pure


def test_implementation_flag() -> None:
    assert php.IMPLEMENTATION in ("c", "python")
    if _speedups is not None:
        import os

        expected = "python" if os.environ.get("NINJA_REDIS_PURE") == "1" else "c"
        assert php.IMPLEMENTATION == expected


# --- scalars ---------------------------------------------------------------------

SCALARS: list[tuple[Any, bytes]] = [
    (None, b"N;"),
    (True, b"b:1;"),
    (False, b"b:0;"),
    (0, b"i:0;"),
    (42, b"i:42;"),
    (-7, b"i:-7;"),
    (2**63 - 1, b"i:9223372036854775807;"),
    (-(2**63), b"i:-9223372036854775808;"),
    ("dark", b's:4:"dark";'),
    ("", b's:0:"";'),
    ("é", b's:2:"\xc3\xa9";'),
    ("日本", b's:6:"\xe6\x97\xa5\xe6\x9c\xac";'),
    ("😀", b's:4:"\xf0\x9f\x98\x80";'),
    ('a"b', b's:3:"a"b";'),
    ("a\0b", b's:3:"a\0b";'),
    (b"\xff\x00", b's:2:"\xff\x00";'),
    ([], b"a:0:{}"),
    (["a", "b"], b'a:2:{i:0;s:1:"a";i:1;s:1:"b";}'),
    ({"theme": "dark", "n": 1}, b'a:2:{s:5:"theme";s:4:"dark";s:1:"n";i:1;}'),
    ({1: "a", 0: "b"}, b'a:2:{i:1;s:1:"a";i:0;s:1:"b";}'),
    ({0: "a", 2: "b"}, b'a:2:{i:0;s:1:"a";i:2;s:1:"b";}'),
    (PhpEnum("Suit", "Hearts"), b'E:11:"Suit:Hearts";'),
    (PhpSerializable("Legacy", b"RAW"), b'C:6:"Legacy":3:{RAW}'),
    (PhpObject("stdClass", {"p": 1}), b'O:8:"stdClass":1:{s:1:"p";i:1;}'),
    (PhpObject("stdClass"), b'O:8:"stdClass":0:{}'),
    (
        PhpObject("Pt", {"x": 1}, protected={"y": 2}, private={"z": 3}),
        b'O:2:"Pt":3:{s:1:"x";i:1;s:4:"\0*\0y";i:2;s:5:"\0Pt\0z";i:3;}',
    ),
    (
        PhpObject("ArrayObject", {0: 0, 1: [], 2: [], 3: None}),
        b'O:11:"ArrayObject":4:{i:0;i:0;i:1;a:0:{}i:2;a:0:{}i:3;N;}',
    ),
]


@pytest.mark.parametrize(("value", "data"), SCALARS)
def test_round_trip_exact(impl: ModuleType, value: Any, data: bytes) -> None:
    assert impl.dumps(value) == data
    assert impl.loads(data) == value
    assert impl.dumps(impl.loads(data)) == data


def test_tuple_is_list(impl: ModuleType) -> None:
    assert impl.dumps((1, "a")) == b'a:2:{i:0;i:1;i:1;s:1:"a";}'


def test_str_vs_bytes_on_load(impl: ModuleType) -> None:
    assert impl.loads(b's:3:"abc";') == "abc"
    assert impl.loads(b's:1:"\xe9";') == b"\xe9"  # latin-1: not UTF-8
    assert impl.loads(b's:3:"\xed\xa0\x80";') == b"\xed\xa0\x80"  # surrogate


def test_subclasses(impl: ModuleType) -> None:
    class S(str):
        pass

    class I(int):  # noqa: E742
        pass

    class L(list[int]):
        pass

    class D(dict[str, int]):
        pass

    assert impl.dumps([S("x"), I(5), 1.5, L([1]), D(a=1), bytearray(b"z")]) == (
        b'a:6:{i:0;s:1:"x";i:1;i:5;i:2;d:1.5;i:3;a:1:{i:0;i:1;}'
        b'i:4;a:1:{s:1:"a";i:1;}i:5;s:1:"z";}'
    )


# --- floats ----------------------------------------------------------------------

FLOATS = [
    (1.0, b"1"),
    (-0.0, b"-0"),
    (0.0, b"0"),
    (1.5, b"1.5"),
    (0.1, b"0.1"),
    (-2.5, b"-2.5"),
    (0.1 + 0.2, b"0.30000000000000004"),
    (100.0, b"100"),
    (1e15, b"1.0E+15"[:0] + b"1000000000000000"),
    (1e16, b"10000000000000000"),
    (1.5e16, b"15000000000000000"),
    (-1e16, b"-10000000000000000"),
    (1.2345678901234567e16, b"12345678901234568"),
    (1e17, b"1.0E+17"),
    (1e20, b"1.0E+20"),
    (1e25, b"1.0E+25"),
    (1e100, b"1.0E+100"),
    (-1e100, b"-1.0E+100"),
    (1.2345678901234568e17, b"1.2345678901234568E+17"),
    (1.5e-7, b"1.5E-7"),
    (1e-4, b"0.0001"),
    (1.5e-4, b"0.00015"),
    (1e-5, b"1.0E-5"),
    (5e-324, b"5.0E-324"),
    (1.7976931348623157e308, b"1.7976931348623157E+308"),
    (math.inf, b"INF"),
    (-math.inf, b"-INF"),
    (math.nan, b"NAN"),
]


@pytest.mark.parametrize(("value", "text"), FLOATS)
def test_float_format(impl: ModuleType, value: float, text: bytes) -> None:
    assert _pure.format_float(value) == text
    assert impl.dumps(value) == b"d:" + text + b";"
    back = impl.loads(b"d:" + text + b";")
    assert back == value or (math.isnan(back) and math.isnan(value))
    assert math.copysign(1, back) == math.copysign(1, value)


@pytest.mark.parametrize(
    ("text", "value"),
    [(b".5", 0.5), (b"5.", 5.0), (b"+1", 1.0), (b"1e5", 1e5), (b"1E-2", 0.01),
     (b"-0", -0.0), (b"007", 7.0), (b"1e999", math.inf)],
)  # fmt: skip
def test_float_lenient_input(impl: ModuleType, text: bytes, value: float) -> None:
    assert impl.loads(b"d:" + text + b";") == value


@pytest.mark.parametrize(
    "text",
    [b"", b"+INF", b"inf", b"nan", b"1_0", b" 1", b"1 ", b"e5", b"1e", b".", b"0x1"],
)
def test_float_rejects(impl: ModuleType, text: bytes) -> None:
    with pytest.raises(UnserializeError) as info:
        impl.loads(b"d:" + text + b";")
    assert info.value.offset == 0


# --- array keys --------------------------------------------------------------------

KEYS: list[tuple[Any, bytes]] = [
    ("1", b"i:1;"),
    ("-5", b"i:-5;"),
    ("0", b"i:0;"),
    ("01", b's:2:"01";'),
    ("-0", b's:2:"-0";'),
    (" 2", b's:2:" 2";'),
    ("1.5", b's:3:"1.5";'),
    ("+1", b's:2:"+1";'),
    ("9223372036854775807", b"i:9223372036854775807;"),
    ("9223372036854775808", b's:19:"9223372036854775808";'),
    ("-9223372036854775808", b"i:-9223372036854775808;"),
    ("-9223372036854775809", b's:20:"-9223372036854775809";'),
    ("2024-01", b's:7:"2024-01";'),
    ("١", b's:2:"\xd9\xa1";'),  # arabic-indic digit is not a PHP digit
    (True, b"i:1;"),
    (False, b"i:0;"),
    (None, b's:0:"";'),
    (1.9, b"i:1;"),
    (-1.9, b"i:-1;"),
    (b"7", b"i:7;"),
    (b"\xff", b's:1:"\xff";'),
]


@pytest.mark.parametrize(("key", "encoded"), KEYS)
def test_array_key_normalisation(impl: ModuleType, key: Any, encoded: bytes) -> None:
    assert impl.dumps({key: 1}) == b"a:1:{" + encoded + b"i:1;}"


def test_key_collisions_like_php(impl: ModuleType) -> None:
    # PHP: ['1' => 'a', 1 => 'b'] is [1 => 'b'], position of the first
    assert impl.dumps({"1": "a", 1: "b", "x": 0}) == b'a:2:{i:1;s:1:"b";s:1:"x";i:0;}'
    assert impl.dumps({True: "a", "x": 0}) == b'a:2:{i:1;s:1:"a";s:1:"x";i:0;}'


def test_spec_key_example(impl: ModuleType) -> None:
    assert impl.dumps({"1": "x", "01": "y", "-5": "z"}) == (
        b'a:3:{i:1;s:1:"x";s:2:"01";s:1:"y";i:-5;s:1:"z";}'
    )


def test_string_keys_load_as_int(impl: ModuleType) -> None:
    assert impl.loads(b'a:1:{s:1:"5";i:1;}') == {5: 1}
    assert impl.loads(b'a:2:{s:1:"0";i:1;s:1:"1";i:2;}') == [1, 2]
    assert impl.loads(b'a:1:{s:2:"05";i:1;}') == {"05": 1}
    # object property names stay as written
    assert impl.loads(b'O:1:"X":1:{s:1:"5";i:1;}').properties == {"5": 1}


def test_list_or_dict(impl: ModuleType) -> None:
    assert impl.loads(b"a:2:{i:0;i:5;i:1;i:6;}") == [5, 6]
    assert impl.loads(b"a:2:{i:1;i:5;i:0;i:6;}") == {1: 5, 0: 6}
    assert impl.loads(b"a:2:{i:0;i:5;i:2;i:6;}") == {0: 5, 2: 6}
    assert impl.loads(b'a:2:{i:0;i:5;s:1:"a";i:6;}') == {0: 5, "a": 6}
    assert impl.loads(b'a:1:{s:1:"\xff";i:1;}') == {b"\xff": 1}
    # duplicate keys: the last value wins, like PHP
    assert impl.loads(b"a:2:{i:0;i:5;i:0;i:6;}") == {0: 6}


@pytest.mark.parametrize("bad", [2**63, -(2**63) - 1, 10**30])
def test_int_range(impl: ModuleType, bad: int) -> None:
    with pytest.raises(SerializeError, match="64-bit"):
        impl.dumps(bad)
    with pytest.raises(SerializeError, match="64-bit"):
        impl.dumps({bad: 1})


# --- dumps errors ------------------------------------------------------------------


class Color(enum.Enum):
    RED = "red"


@pytest.mark.parametrize(
    ("value", "match"),
    [
        (dt.datetime(2024, 1, 1), "carbon"),
        (dt.date(2024, 1, 1), "carbon"),
        ({1, 2}, "builtins.set"),
        (object(), "builtins.object"),
        (Color.RED, "PhpEnum"),
        (1j, "complex"),
        ("\udc80", "surrogates"),
        ({(1, 2): 1}, "array key"),
        (PhpObject("X", {1.5: 1}), "property name"),
        (PhpObject(5, {}), "class name"),  # type: ignore[arg-type]
    ],
)
def test_dumps_errors(impl: ModuleType, value: Any, match: str) -> None:
    with pytest.raises(SerializeError, match=match) as info:
        impl.dumps([value])
    assert isinstance(info.value, TypeError)


# --- references --------------------------------------------------------------------

# every one of these is real PHP 8.2 serialize() output
PHP_REFERENCES = [
    # [$o, $o]
    b'a:2:{i:0;O:8:"stdClass":1:{s:1:"p";i:1;}i:1;r:2;}',
    # $a = [1]; [&$a, &$a]
    b"a:2:{i:0;a:1:{i:0;i:1;}i:1;R:2;}",
    # $x = 1; [&$x, &$x]
    b"a:2:{i:0;i:1;i:1;R:2;}",
    # $e = Suit::H; [$e, $e, &$e, &$e]
    b'a:4:{i:0;E:6:"Suit:H";i:1;r:2;i:2;R:2;i:3;R:2;}',
    # $q = new stdClass; [&$q, &$q, $q]
    b'a:3:{i:0;O:8:"stdClass":0:{}i:1;R:2;i:2;r:2;}',
    # $s->self = $s
    b'O:8:"stdClass":1:{s:4:"self";r:1;}',
    # $s->self = &$s
    b'O:8:"stdClass":1:{s:4:"self";R:1;}',
    # $a = [1]; $a[] = &$a;
    b"a:2:{i:0;i:1;i:1;a:2:{i:0;i:1;i:1;R:3;}}",
    # nested objects referencing earlier ones
    b'a:2:{i:0;O:1:"A":1:{s:1:"b";O:1:"B":1:{s:1:"n";s:1:"x";}}i:1;O:1:"C":2:'
    b'{s:1:"a";r:2;s:1:"b";r:3;}}',
]


@pytest.mark.parametrize("data", PHP_REFERENCES)
def test_references_round_trip(impl: ModuleType, data: bytes) -> None:
    assert impl.dumps(impl.loads(data)) == data


def test_references_are_shared(impl: ModuleType) -> None:
    a, b = impl.loads(PHP_REFERENCES[0])
    assert a is b
    a, b = impl.loads(PHP_REFERENCES[1])
    assert a is b
    a, b = impl.loads(PHP_REFERENCES[2])
    assert isinstance(a, PhpRef) and a is b and a.value == 1
    s = impl.loads(PHP_REFERENCES[5])
    assert s["self"] is s
    outer = impl.loads(PHP_REFERENCES[7])
    assert outer[1][1] is outer[1]
    top = impl.loads(PHP_REFERENCES[8])
    assert top[1]["a"] is top[0] and top[1]["b"] is top[0]["b"]


def test_dumps_identity_backrefs(impl: ModuleType) -> None:
    o = PhpObject("stdClass", {"p": 1})
    assert impl.dumps([o, o]) == PHP_REFERENCES[0]
    lst = [1]
    assert impl.dumps([lst, lst]) == PHP_REFERENCES[1]
    ref = PhpRef(1)
    assert impl.dumps([ref, ref]) == PHP_REFERENCES[2]
    # equal enums are one PHP object
    assert impl.dumps([PhpEnum("Suit", "H"), PhpEnum("Suit", "H")]) == (
        b'a:2:{i:0;E:6:"Suit:H";i:1;r:2;}'
    )
    # slot numbers: r: takes a slot, R: does not
    assert impl.dumps([o, ref, ref, o, "x", o]) == (
        b'a:6:{i:0;O:8:"stdClass":1:{s:1:"p";i:1;}i:1;i:1;i:2;R:4;i:3;r:2;'
        b'i:4;s:1:"x";i:5;r:2;}'
    )


def test_reference_to_scalar_inside_object(impl: ModuleType) -> None:
    data = b'O:1:"X":2:{s:1:"a";s:2:"hi";s:1:"b";R:2;}'
    obj = impl.loads(data)
    assert obj["a"] is obj["b"] and obj["a"].value == "hi"
    assert impl.dumps(obj) == data


def test_serialize_style_objects(impl: ModuleType) -> None:
    data = (
        b'O:45:"Illuminate\\Contracts\\Database\\ModelIdentifier":5:{s:5:"class";'
        b's:15:"App\\Models\\User";s:2:"id";a:2:{i:0;i:1;i:1;i:2;}s:9:"relations";'
        b'a:2:{i:0;s:5:"posts";i:2;s:8:"comments";}s:10:"connection";s:5:"mysql";'
        b's:15:"collectionClass";N;}'
    )
    obj = impl.loads(data)
    assert obj["relations"] == {0: "posts", 2: "comments"}
    assert impl.dumps(obj) == data
    ints = b'O:3:"Foo":2:{i:0;s:1:"a";i:5;b:1;}'
    assert impl.loads(ints).properties == {0: "a", 5: True}
    assert impl.dumps(impl.loads(ints)) == ints


# --- allowed_classes ---------------------------------------------------------------


def test_allowed_classes(impl: ModuleType) -> None:
    data = b'a:3:{i:0;O:1:"A":1:{s:1:"x";i:1;}i:1;O:1:"B":0:{}i:2;C:1:"C":1:{z}}'
    every = impl.loads(data)
    assert type(every[0]) is PhpObject and type(every[2]) is PhpSerializable
    none = impl.loads(data, allowed_classes=False)
    assert type(none[0]) is PhpIncompleteClass
    assert type(none[1]) is PhpIncompleteClass
    assert type(none[2]) is PhpIncompleteSerializable
    assert none[0]["x"] == 1
    some = impl.loads(data, allowed_classes=["a", "C"])  # case-insensitive
    assert [type(x) for x in some] == [
        PhpObject,
        PhpIncompleteClass,
        PhpSerializable,
    ]
    for variant in (every, none, some):
        assert impl.dumps(variant) == data
    # enums are not checked (like PHP 8.2)
    assert impl.loads(b'E:6:"Suit:H";', allowed_classes=False) == PhpEnum("Suit", "H")
    with pytest.raises(TypeError):
        impl.loads(b"N;", allowed_classes="A")


# --- hostile input -----------------------------------------------------------------

ERRORS: list[tuple[bytes, int, str]] = [
    (b"", 0, "unexpected end"),
    (b"x", 0, "unknown"),
    (b"i:", 0, "malformed integer"),
    (b"i:;", 0, "malformed integer"),
    (b"i:1", 0, "malformed integer"),
    (b"i:1x;", 0, "malformed integer"),
    (b"i:9223372036854775808;", 0, "64-bit"),
    (b"i:-9223372036854775809;", 0, "64-bit"),
    (b"i:99999999999999999999999999;", 0, "64-bit"),
    (b"b:2;", 0, "boolean"),
    (b"b:1", 0, "boolean"),
    (b"N", 0, "unknown"),
    (b"d:;", 0, "float"),
    (b"d:1.5", 0, "float"),
    (b's:5:"abc";', 0, "string"),
    (b's:1:"abc";', 0, "string"),
    (b's:-1:"";', 0, "string length"),
    (b's:99999999999999999999:"";', 0, "string length"),
    (b"s:3:abc;", 0, "string"),
    (b'a:1:{i:0;s:1:"a";', 17, "'}'"),
    (b"a:1:{i:0;N;x", 11, "'}'"),
    (b"a:2:{i:0;N;}i:1;N;", 11, "key"),
    (b"a:1:{N;N;N;N;}", 5, "key"),
    (b"a:1:{d:1;N;}", 5, "key"),
    (b"a:1:{i:x;N;}", 5, "integer key"),
    (b'a:1:{s:9:"a";N;}', 5, "string key"),
    (b"a:999999999:{", 0, "count exceeds"),
    (b"a:99999999999999999999:{", 0, "malformed length or count"),
    (b"a:1:[i:0;N;}", 0, "array header"),
    (b"a:x:{}", 0, "malformed length"),
    (b"a:0:{", 5, "'}'"),
    (b'O:1:"X":999999:{', 0, "count exceeds"),
    (b'O:3:"X":0:{}', 0, "class name"),
    (b'O:3:"A-B":0:{}', 0, "invalid class name"),
    (b'O:0:"":0:{}', 0, "invalid class name"),
    (b'O:1:"X":1:{N;N;N;}', 11, "key"),
    (b'C:1:"X":5:{ab}', 0, "custom object"),
    (b'E:4:"Suit";', 0, "enum name"),
    (b'E:5:"Suit:";', 0, "enum name"),
    (b'E:9:"Suit:H";', 0, "enum"),
    (b"r:1;", 0, "unknown slot"),
    (b"R:0;", 0, "unknown slot"),
    (b"a:1:{i:0;r:5;}", 9, "unknown slot"),
    (b"a:1:{i:0;R:x;}", 9, "malformed length"),
    (b"a:1:{i:0;a:1:{i:0;N;}", 21, "'}'"),
    (b'S:1:"a";', 0, "unknown"),
]


@pytest.mark.parametrize(("data", "offset", "message"), ERRORS)
def test_errors_with_offsets(
    impl: ModuleType, data: bytes, offset: int, message: str
) -> None:
    with pytest.raises(UnserializeError) as info:
        impl.loads(data)
    err = info.value
    assert err.offset == offset, err
    assert message in err.reason, err
    assert err.data == data
    assert isinstance(err, ValueError)
    # both implementations agree exactly
    with pytest.raises(UnserializeError) as other:
        _pure.loads(data)
    assert (other.value.reason, other.value.offset) == (err.reason, err.offset)


def test_not_bytes(impl: ModuleType) -> None:
    with pytest.raises(TypeError):
        impl.loads("N;")
    assert impl.loads(bytearray(b"i:1;")) == 1
    assert impl.loads(memoryview(b"i:1;")) == 1


def test_trailing_data(impl: ModuleType) -> None:
    # like PHP's unserialize(), bytes after the value are ignored...
    assert impl.loads(b"i:5;xyz") == 5
    # ...unless strict=True
    with pytest.raises(UnserializeError) as info:
        impl.loads(b"i:5;xyz", strict=True)
    assert info.value.offset == 4
    assert impl.loads(b"i:5;", strict=True) == 5


def _nested(depth: int) -> bytes:
    return b"a:1:{i:0;" * depth + b"N;" + b"}" * depth


def test_max_depth(impl: ModuleType) -> None:
    value = impl.loads(_nested(4096))  # PHP's default limit
    assert impl.dumps(value) == _nested(4096)
    with pytest.raises(UnserializeError, match="maximum depth of 4096") as info:
        impl.loads(_nested(4097))
    assert info.value.offset == 4096 * 9
    with pytest.raises(UnserializeError, match="maximum depth of 3"):
        impl.loads(_nested(4), max_depth=3)
    impl.loads(b"a:1:{i:0;a:0:{}}", max_depth=2)
    with pytest.raises(UnserializeError):
        impl.loads(b"a:1:{i:0;a:0:{}}", max_depth=1)
    deep = _nested(20_000)
    assert impl.dumps(impl.loads(deep, max_depth=0)) == deep  # no recursion at all
    with pytest.raises(ValueError):
        impl.loads(b"N;", max_depth=-1)


def test_huge_declarations_fail_fast(impl: ModuleType) -> None:
    t0 = time.perf_counter()
    for data in (
        b"a:999999999:{",
        b"a:999999999999999999:{" + b"i:0;N;" * 100,
        b's:999999999999999999:"',
        b'O:8:"stdClass":999999999:{',
        b'C:1:"X":999999999999:{}',
        b'E:99999999999:"',
    ):
        with pytest.raises(UnserializeError):
            impl.loads(data)
    assert time.perf_counter() - t0 < 0.5


def test_no_quadratic_blowup(impl: ModuleType) -> None:
    # many r: back-references to a big array are shared, not copied
    data = (
        b"a:20001:{i:0;a:1000:{"
        + b"".join(b"i:%d;i:%d;" % (i, i) for i in range(1000))
        + b"}"
        + b"".join(b"i:%d;R:2;" % i for i in range(1, 20001))
        + b"}"
    )
    t0 = time.perf_counter()
    value = impl.loads(data)
    assert value[1] is value[20000]
    assert impl.dumps(value) == data
    assert time.perf_counter() - t0 < 2


# --- PhpObject API -----------------------------------------------------------------


def test_php_object_access() -> None:
    obj = PhpObject(
        "App\\Jobs\\X", {"user": 1}, protected={"locale": "en"}, private={"s": 2}
    )
    assert list(obj.properties) == ["user", "\0*\0locale", "\0App\\Jobs\\X\0s"]
    assert obj["user"] == 1 and obj["locale"] == "en" and obj["s"] == 2
    assert obj.visibility("locale") == "protected"
    assert obj.visibility("s") == "App\\Jobs\\X"
    assert obj.visibility("user") == "public"
    assert "locale" in obj and "nope" not in obj
    assert obj.get("nope", 5) == 5
    obj["locale"] = "fr"  # keeps its visibility
    assert obj.properties["\0*\0locale"] == "fr"
    obj["new"] = 3
    assert list(obj) == ["user", "locale", "s", "new"]
    assert obj.to_dict() == {"user": 1, "locale": "fr", "s": 2, "new": 3}
    del obj["new"]
    assert len(obj) == 3
    with pytest.raises(KeyError):
        obj["nope"]
    # private property declared by a parent class
    child = PhpObject("Child", {PhpObject.private_name("Parent", "p"): 1})
    assert child["p"] == 1 and child.visibility("p") == "Parent"
    assert PhpObject.split_name("\0*\0x") == ("protected", "x")
    assert PhpObject("A", {"x": 1}) != PhpObject("A", {"x": 2})
    assert PhpObject("A", {"x": 1}) != PhpIncompleteClass("A", {"x": 1})
    assert repr(PhpObject("A", {"x": 1})) == "PhpObject('A', {'x': 1})"


def test_php_enum_is_immutable_and_hashable() -> None:
    e = PhpEnum("Suit", "H")
    assert {e: 1}[PhpEnum("Suit", "H")] == 1
    with pytest.raises(AttributeError):
        e.case = "S"  # type: ignore[misc]
