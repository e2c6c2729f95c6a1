"""The bulk fast paths must write exactly the bytes of the general path.

* ``php.dumps_json_escaped`` (C accelerator and pure twin) = ``dumps()`` escaped the
  way PHP's ``json_encode(JSON_UNESCAPED_UNICODE)`` escapes a string;
* ``PayloadBuilder._fast`` (one ``PhpJob``) and ``_fast_rows`` (``PhpJob.many``
  rows) = the general payload path, for both implementations of the escaper.
"""

from __future__ import annotations

import enum
import json
import subprocess
from datetime import datetime, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ninja_redis import payloads
from ninja_redis.exceptions import SerializeError
from ninja_redis.payloads import (
    ModelIdentifier,
    PayloadBuilder,
    PhpJob,
    PhpJobs,
    Prop,
    php_json_encode,
    private,
    protected,
)
from ninja_redis.php import PhpEnum, PhpObject, _pure

try:
    from ninja_redis.php import _speedups
except ImportError:  # pragma: no cover - no compiler
    _speedups = None  # type: ignore[assignment]

IMPLS = [pytest.param(_pure.dumps_json_escaped, id="python")]
if _speedups is not None:
    IMPLS.append(pytest.param(_speedups.dumps_json_escaped, id="c"))

TRICKY = 'a/b"c\\d\n\r\t\b\f\x00\x01\x1f\x7f é 中 😀 \u2028 \u2029 \u2027 </script>'


class Color(enum.Enum):
    RED = "red"
    __php_class__ = "App\\Enums\\Color"


CORPUS: list[Any] = [
    {},
    [],
    {"a": TRICKY},
    [TRICKY, 1, -2, 1.5, 1e20, 0.1, -0.0, True, False, None],
    {"\0*\0email": "x@y/z", "\0App\\Jobs\\X\0meta": {"k": [1, {"n": None}]}},
    {"s": "".join(chr(c) for c in range(128))},
    {"e": PhpEnum("App\\Enums\\Status", "Draft")},
    {"o": PhpObject("App\\Models\\Thing", {"\0*\0p": "v/w", "u": "ü"})},
    {"b": b"raw bytes \x00/\x1f"},
    {"nested": [[[["deep/er"]]]], 5: "int key", "-1": "neg"},
]


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("value", CORPUS)
def test_dumps_json_escaped_matches_php_json_encode(impl: Any, value: Any) -> None:
    text = _pure.dumps(value).decode("utf-8")
    assert impl(value) == php_json_encode(text)[1:-1].encode("utf-8")


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize(
    "value",
    [b"\xff", b"\xe2\x80", b"\xed\xa0\x80", b"\xc0\xaf", b"ok\xf4\x90\x80\x80"],
)
def test_dumps_json_escaped_rejects_invalid_utf8(impl: Any, value: bytes) -> None:
    with pytest.raises(SerializeError, match="not valid UTF-8"):
        impl({"k": value})


@pytest.mark.skipif(_speedups is None, reason="C accelerator not built")
@settings(max_examples=400, deadline=None)
@given(
    st.recursive(
        st.one_of(
            st.none(),
            st.booleans(),
            st.integers(min_value=-(2**63), max_value=2**63 - 1),
            st.floats(allow_nan=False, allow_infinity=False),
            st.text(max_size=12),
            st.binary(max_size=8),
        ),
        lambda inner: st.one_of(
            st.lists(inner, max_size=5),
            st.dictionaries(st.text(max_size=6), inner, max_size=5),
        ),
        max_leaves=20,
    )
)
def test_dumps_json_escaped_c_equals_python(value: Any) -> None:
    def run(fn: Any) -> Any:
        try:
            return fn(value)
        except SerializeError as exc:
            return ("error", str(exc))

    assert run(_speedups.dumps_json_escaped) == run(_pure.dumps_json_escaped)


@pytest.mark.php
def test_escaping_equals_real_php_json_encode() -> None:
    text = "".join(chr(c) for c in range(128)) + "é中😀\u2028\u2029/"
    php = subprocess.run(
        [
            "php",
            "-r",
            "echo json_encode(serialize(['k' => stream_get_contents(STDIN)]),"
            " JSON_UNESCAPED_UNICODE);",
        ],
        input=text.encode("utf-8"),
        capture_output=True,
        check=True,
        timeout=20,
    ).stdout
    for impl in [p.values[0] for p in IMPLS]:
        assert b'"' + impl({"k": text}) + b'"' == php


# ----------------------------------------------------------------- payload paths

VERSIONS = [(8, 83), (9, 52), (10, 48), (11, 40), (12, 11), (12, 67), (13, 0)]
WHEN = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


def _template() -> PhpJob:
    return PhpJob(
        "App\\Jobs\\Sync/Import",
        {
            "id": 0,
            "email": protected(""),
            "meta": private({}),
            "owner": private(None, declaring_class="App\\Jobs\\Base"),
            "status": PhpEnum("App\\Enums\\Status", "Draft"),
            "note": Prop(None, default=None),
            "ratio": 0.5,
        },
        tries=3,
        backoff=[1, 5],
        timeout=30,
    )


def _rows() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for i in range(40):
        rows.append(
            {
                "id": i,
                "email": f"user{i}/{TRICKY[: i % 30]}@example.com",
                "meta": {"lines": [{"sku": "A/B", "qty": i}], "é": [1.25, None]},
                "note": None if i % 3 else f"n\u2028{i}",
                "ratio": i / 7,
            }
        )
    rows += [
        {"owner": ModelIdentifier("App\\Models\\User", 7)},
        {"note": WHEN},  # Carbon
        {"status": Color.RED},
        {"meta": b"\xff"},  # not UTF-8: the general path raises
        {"email": private("p")},  # a Prop in a row: per-job path
        {"extra": "new/name"},  # a name the template lacks
        {"meta": {"same": [1, 2]}},
        {},
    ]
    return rows


def _general(builder: PayloadBuilder, job: PhpJob, **kw: Any) -> bytes | str:
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(PayloadBuilder, "_fast", lambda *a, **k: None)
            return builder.build(job, **kw)
    except SerializeError as exc:
        return f"error: {exc}"


ROWS_IMPLS = [pytest.param(_pure.build_payload_rows, id="python")]
if _speedups is not None:
    ROWS_IMPLS.append(pytest.param(_speedups.build_payload_rows, id="c"))


def _spy_rows(impl: Any, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Use ``impl`` as the rows loop; returns a list that gets, per call, how many
    rows the loop itself built (not left to the per-job path)."""
    took: list[int] = []

    def spy(*args: Any) -> list[bytes | None]:
        out: list[bytes | None] = impl(*args)
        took.append(sum(p is not None for p in out))
        return out

    monkeypatch.setattr(payloads, "_build_payload_rows", spy)
    return took


def _uuid_random(n: int) -> bytes:
    return bytes((7 * i + 13) % 256 for i in range(16 * n))


@pytest.mark.parametrize("rows_impl", ROWS_IMPLS)
@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("version", VERSIONS)
def test_fast_rows_equal_general_path(
    impl: Any,
    rows_impl: Any,
    version: tuple[int, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(payloads, "_dumps_json_escaped", impl)
    took = _spy_rows(rows_impl, monkeypatch)
    builder = PayloadBuilder(version)
    template = _template()
    rows = [r for r in _rows() if "meta" not in r or r["meta"] != b"\xff"]
    jobs = template.many(rows)
    assert isinstance(jobs, PhpJobs) and len(jobs) == len(rows)
    random = _uuid_random(len(rows))
    uuids = [payloads._uuid4_of(random[16 * i : 16 * i + 16]) for i in range(len(rows))]
    ids = [f"Id{i:030d}" for i in range(len(rows))]
    fast = builder._fast_rows(template, rows, random, ids, 1767225600)
    assert fast is not None
    assert took and took[0] >= 40  # the rows loop really built the compared rows
    for i, payload in enumerate(fast):
        general = _general(
            builder, jobs[i], uuid=uuids[i], id=ids[i], created_at=1767225600
        )
        assert payload == general, (version, i)
        json.loads(payload)


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("version", VERSIONS)
def test_fast_single_job_equals_general_path(
    impl: Any, version: tuple[int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(payloads, "_dumps_json_escaped", impl)
    builder = PayloadBuilder(version)
    jobs = _template().many(_rows())
    took_fast = sum(
        builder._fast(job, "u", '"i"', 0, None, 0) is not None for job in jobs
    )
    assert took_fast >= 40  # the fast path is really the one compared
    for i, job in enumerate(jobs):
        kw = {"uuid": f"u{i}", "id": f"Id{i}", "created_at": 1767225600}
        try:
            fast: bytes | str = builder.build(job, **kw)
        except SerializeError as exc:
            fast = f"error: {exc}"
        assert fast == _general(builder, job, **kw), (version, i)


def test_invalid_utf8_row_raises_like_push() -> None:
    builder = PayloadBuilder((12, 67))
    template = _template()
    with pytest.raises(SerializeError):
        builder._fast_rows(template, [{"meta": b"\xff"}], bytes(16), ["i" * 32], 0)


def test_many_keeps_visibility_and_template() -> None:
    template = _template()
    job = template.many([{"email": "a@b", "extra": 1}])[0]
    assert job.properties["email"] == Prop("a@b", "protected")
    assert job.properties["extra"] == 1 and list(job.properties)[-1] == "extra"
    assert template.properties["email"] == Prop("", "protected")
    assert job.tries == 3 and job.class_name == template.class_name
    assert [j.properties["id"] for j in template.many([{"id": 1}, {"id": 2}])[:]] == [
        1,
        2,
    ]


# ------------------------------------------------- build_payload_rows: C = Python

_NAMES = ["a", "b/c", "é", "\0*\0p"]


class _Odd:
    """A value the rows loop hands to ``convert``."""

    def __init__(self, n: int) -> None:
        self.n = n


def _convert(value: Any) -> Any:
    if isinstance(value, _Odd):
        return PhpObject("App\\Odd", {"n": value.n})
    return value


_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False)
    | st.text(alphabet=st.characters(codec="utf-8"), max_size=12)
    | st.sampled_from([TRICKY, "r:", "R:", "\r:", "\u2028x", b"\xff", b"ok/"])
    | st.builds(PhpEnum, st.sampled_from(["App\\E"]), st.sampled_from(["A", "B"]))
    | st.builds(_Odd, st.integers(0, 3))
    | st.builds(Prop, st.integers(0, 3))
)
_values = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(max_size=3) | st.integers(-2, 2), inner, max_size=3)
    ),
    max_leaves=8,
)
_rows_st = st.lists(
    st.dictionaries(st.sampled_from([*_NAMES, "new"]), _values, max_size=4)
    | st.just([1, 2]),
    max_size=6,
)


@pytest.mark.skipif(_speedups is None, reason="C accelerator not built")
@settings(max_examples=300, deadline=None)
@given(
    rows=_rows_st,
    defaults=st.lists(_scalars | st.just(payloads.NO_DEFAULT), min_size=4, max_size=4),
    values=st.lists(_values, min_size=4, max_size=4),
    omit=st.booleans(),
    count=st.integers(0, 20),
    pieces=st.tuples(*[st.binary(max_size=8)] * 5),
    seed=st.binary(min_size=16, max_size=16),
)
def test_build_payload_rows_c_equals_python(
    rows: list[Any],
    defaults: list[Any],
    values: list[Any],
    omit: bool,
    count: int,
    pieces: tuple[bytes, bytes, bytes, bytes, bytes],
    seed: bytes,
) -> None:
    n = len(rows)
    spec = tuple(
        (name, name.upper(), d, v)
        for name, d, v in zip(_NAMES, defaults, values, strict=True)
    )
    args = (
        pieces,
        count,
        spec,
        frozenset(_NAMES),
        rows,
        (seed * n),
        b"".join(b"%032d" % i for i in range(n)),
        omit,
        _convert,
        payloads._php_identical,
        Prop,
        payloads.NO_DEFAULT,
    )
    assert _speedups.build_payload_rows(*args) == _pure.build_payload_rows(*args)


@pytest.mark.parametrize("rows_impl", ROWS_IMPLS)
def test_build_payload_rows_layout_and_uuid(rows_impl: Any) -> None:
    import uuid as uuid_mod

    random = bytes(range(256))[:32]
    out = rows_impl(
        (b"<", b"|", b"#", b"~", b">"),
        3,
        (("x", "\0*\0x", payloads.NO_DEFAULT, 1), ("y", "y", None, None)),
        frozenset({"x", "y"}),
        [{"x": "a/b"}, {"y": 2}],
        random,
        b"A" * 32 + b"B" * 32,
        False,
        _convert,
        payloads._php_identical,
        Prop,
        payloads.NO_DEFAULT,
    )
    u0 = payloads._uuid4_of(random[:16])
    assert uuid_mod.UUID(u0).version == 4 and u0[19] in "89ab"
    assert out[0] == (
        b"<"
        + u0.encode()
        + b"|5#"
        + b's:4:\\"\\u0000*\\u0000x\\";s:3:\\"a\\/b\\";s:1:\\"y\\";N;~'
        + b"A" * 32
        + b">"
    )
    assert out[1] is not None and out[1].endswith(b"B" * 32 + b">")
    with pytest.raises(ValueError):
        rows_impl(
            *(
                [(b"",) * 5, 0, (), frozenset(), [{}], b"", b"", False]
                + [_convert, payloads._php_identical, Prop, None]
            )
        )


def test_uuid4_of_has_the_form_of_uuid4s(monkeypatch: pytest.MonkeyPatch) -> None:
    random = bytes((31 * i + 5) % 256 for i in range(16 * 50))
    monkeypatch.setattr(payloads.os, "urandom", lambda k: random[:k])
    assert payloads._uuid4s(50) == [
        payloads._uuid4_of(random[16 * i : 16 * i + 16]) for i in range(50)
    ]
