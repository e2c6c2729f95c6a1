"""igbinary reader/writer: framing, edge cases, and byte equality with igbinary_serialize()."""

from __future__ import annotations

import base64
import shutil
import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ninja_redis import _igbinary as ig
from ninja_redis import php
from ninja_redis.exceptions import PackError

H = b"\x00\x00\x00\x02"

KNOWN = [
    ({"theme": "dark"}, H + b"\x14\x01\x11\x05theme\x11\x04dark"),
    (5, H + b"\x06\x05"),
    (42, H + b"\x06\x2a"),
    ("abc", H + b"\x11\x03abc"),
    (-1, H + b"\x07\x01"),
    (-(2**63), H + b"\x21\x80" + b"\x00" * 7),
    (1.5, H + bytes.fromhex("0c3ff8000000000000")),
    (
        ["x", "x", "y", {"x": "y"}],
        H + bytes.fromhex("1404060011017806010e000602110179060314010e000e01"),
    ),
    ({"a": [], "b": []}, H + bytes.fromhex("140211016114001101620101")),
    ({-1: 1, "5": 2, "05": 3}, H + bytes.fromhex("14030701060106050602110230350603")),
    ("", H + b"\x0d"),
    (None, H + b"\x00"),
]


@pytest.mark.parametrize(("value", "data"), KNOWN)
def test_known_bytes(value: object, data: bytes) -> None:
    assert ig.dumps(value) == data


def test_objects_and_refs() -> None:
    o = php.PhpObject("stdClass", {"a": 1, "b": "a"})
    data = ig.dumps([o, o, php.PhpObject("stdClass")])
    assert data == H + bytes.fromhex(
        "140306001708737464436c617373140211016106011101620e010601220106021a001400"
    )
    back = ig.loads(data)
    assert back[0] is back[1] and back[0] == o and back[2] == php.PhpObject("stdClass")
    enum = php.PhpEnum("App\\Status", "Paid")
    assert ig.loads(ig.dumps([enum, enum])) == [enum, enum]
    ser = php.PhpSerializable("ArrayObject", b"x:i:0;a:0:{};m:a:0:{}")
    assert ig.loads(ig.dumps(ser)) == ser


def test_shared_list_is_a_back_reference() -> None:
    a = [1, 2]
    assert ig.dumps([a, a]) == H + bytes.fromhex("140206001402060006010601060206010101")
    assert ig.loads(ig.dumps([a, a])) == [a, a]


def test_version_1_and_bad_headers() -> None:
    assert ig.loads(b"\x00\x00\x00\x01\x06\x05") == 5
    for bad in (b"", b"\x00\x00\x00\x02", b"\x00\x00\x00\x03\x06\x05", b"a:1:{}"):
        with pytest.raises(PackError):
            ig.loads(bad)


@pytest.mark.parametrize(
    "data",
    [
        H + b"\x11\x05abc",  # truncated string
        H + b"\x14\x05\x06\x00",  # declared more elements than bytes
        H + b"\x16\xff\xff\xff\xff",  # huge declared count
        H + b"\x13\xff\xff\xff\xff" + b"x",  # huge declared length
        H + b"\x0e\x00",  # string id without strings
        H + b"\x01\x05",  # reference out of range
        H + b"\x06\x05\x00",  # trailing byte
        H + b"\xee",  # unknown type
        H + b"\x0c\x00\x00",  # truncated double
        H + b"\x17\x03Foo\x99",  # bad object body
    ],
)
def test_corrupt(data: bytes) -> None:
    with pytest.raises(PackError):
        ig.loads(data)


def test_every_int_width() -> None:
    for v in (
        0,
        255,
        256,
        65535,
        65536,
        2**32 - 1,
        2**32,
        2**63 - 1,
        -255,
        -256,
        -65536,
        -(2**32),
    ):
        assert ig.loads(ig.dumps(v)) == v


_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False)
    | st.text(max_size=300)
    | st.binary(max_size=300)
    | st.sampled_from(["dup", "dup2", ""]),
    lambda kids: (
        st.lists(kids, max_size=6)
        | st.dictionaries(
            st.sampled_from(["dup", "k", "", "5", "-3"]) | st.integers(-300, 300),
            kids,
            max_size=6,
        )
    ),
    max_leaves=30,
)


@given(_values)
@settings(max_examples=300)
def test_round_trip(value: object) -> None:
    back = ig.loads(ig.dumps(value))
    assert php.loads(php.dumps(back)) == php.loads(php.dumps(value))


@pytest.mark.php
def test_byte_equal_with_php_igbinary() -> None:
    if shutil.which("php") is None:
        pytest.skip("php binary not installed")
    probe = subprocess.run(
        ["php", "-r", "echo function_exists('igbinary_serialize') ? 1 : 0;"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    if probe.stdout.strip() != "1":
        pytest.skip("php igbinary extension not installed")
    values: list[object] = [v for v, _ in KNOWN] + [
        {"name": "Taylor", "n": 3, "f": 2.5, "list": [1, "2", None]},
        [[], [], {"a": []}, {"b": [[]]}],
        {"k" * 300: "v" * 70000, "z": ["k" * 300] * 3},
        [f"s{i}" for i in range(300)] + [f"s{i}" for i in range(300)],
        {"nested": {"deep": {"deeper": ["x", "x", {"x": ["y"]}]}}},
        php.PhpObject("stdClass", {"a": [], "b": {"c": "stdClass"}}),
        [php.PhpObject("App\\Foo", {"x": 1}), "App\\Foo", php.PhpObject("App\\Foo")],
        list(range(-70000, 70000, 997)) + [2**40, -(2**40), 1e100, -0.0],
        {i: i for i in range(300)},
    ]
    lines = "\n".join(base64.b64encode(php.dumps(v)).decode() for v in values)
    script = (
        'foreach (explode("\\n", stream_get_contents(STDIN)) as $l) {'
        ' echo base64_encode(igbinary_serialize(unserialize(base64_decode($l)))), "\\n"; }'
    )
    out = subprocess.run(
        ["php", "-r", script],
        input=lines,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.split()
    assert len(out) == len(values)
    for v, b64 in zip(values, out, strict=True):
        expected = base64.b64decode(b64)
        assert ig.dumps(v) == expected, v
        assert php.dumps(ig.loads(expected)) == php.dumps(php.loads(php.dumps(v)))
