"""Pure-Python PHP ``serialize()`` / ``unserialize()`` (the reference implementation).

The C accelerator ``_speedups`` must behave identically, error offsets included.
Both parsers are iterative (an explicit stack), so nesting depth is limited only by
``max_depth`` and never by Python's recursion limit.
"""

from __future__ import annotations

import enum
import json
import math
import re
from collections.abc import Iterable, Iterator
from datetime import date, time, timedelta
from typing import Any

from ..exceptions import SerializeError, UnserializeError
from ._types import (
    PhpEnum,
    PhpIncompleteClass,
    PhpIncompleteSerializable,
    PhpObject,
    PhpRef,
    PhpSerializable,
)

__all__ = [
    "dumps",
    "dumps_json_escaped",
    "format_float",
    "loads",
    "normalize_allowed_classes",
]

_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1

# A canonical PHP integer string: "0", "5", "-12" (not "05", "-0", "+1", " 1").
_CANONICAL_INT = re.compile(r"(?:0|-?[1-9][0-9]{0,18})\Z")
_CANONICAL_INT_B = re.compile(rb"(?:0|-?[1-9][0-9]{0,18})\Z")
# d: payloads accepted by PHP's unserialize (var_unserializer.re: iv | nv | nvexp)
_FLOAT = re.compile(rb"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\Z")
# zend_is_valid_class_name(): [a-zA-Z0-9_\x80-\xff\\]
_CLASS_NAME = re.compile(rb"[A-Za-z0-9_\x80-\xff\\]+\Z")
_NUM_START = frozenset("-0123456789")


# ---------------------------------------------------------------------------------
# floats
# ---------------------------------------------------------------------------------


def format_float(x: float) -> bytes:
    """PHP 8 ``serialize()`` text of a float (``serialize_precision=-1``).

    Shortest round-trip digits (Python's ``repr``), positional when the decimal
    exponent is in ``-4..16``, else ``D.DDDE±X``::

        1.0 -> b"1"   -0.0 -> b"-0"   1e16 -> b"10000000000000000"
        1e17 -> b"1.0E+17"   1.5e-7 -> b"1.5E-7"   inf -> b"INF"
    """
    r = repr(x)
    if "e" not in r:
        if r[-2:] == ".0":
            r = r[:-2]
        elif r[-1] == "f" or r[-1] == "n":  # inf, -inf, nan
            return b"NAN" if r == "nan" else (b"INF" if r == "inf" else b"-INF")
        return r.encode("ascii")
    mant, _, exp_s = r.partition("e")
    exp = int(exp_s)
    if exp == 16:  # repr switches to exponent form one step before PHP does
        neg = mant[0] == "-"
        digits = mant.lstrip("-").replace(".", "")
        return (("-" if neg else "") + digits + "0" * (17 - len(digits))).encode(
            "ascii"
        )
    if "." not in mant:
        mant += ".0"
    return f"{mant}E{'+' if exp > 0 else '-'}{abs(exp)}".encode("ascii")


# ---------------------------------------------------------------------------------
# dumps
# ---------------------------------------------------------------------------------


def _type_error(value: Any) -> SerializeError:
    if isinstance(value, (date, time, timedelta)):
        return SerializeError(
            f"cannot serialize {type(value).__name__}: PHP has no plain date type; "
            "use ninja_redis.php.carbon(dt) to build a Carbon/DateTime object",
            value,
        )
    if isinstance(value, enum.Enum):
        return SerializeError(
            f"cannot serialize enum member {value!r}: use "
            "ninja_redis.php.PhpEnum('App\\\\Enums\\\\Name', 'Case') or its .value",
            value,
        )
    return SerializeError(
        f"cannot serialize a value of type {type(value).__module__}."
        f"{type(value).__qualname__} to PHP",
        value,
    )


def _int_bytes(v: int) -> bytes:
    if _INT64_MIN <= v <= _INT64_MAX:
        return b"i:%d;" % v
    raise SerializeError(f"integer {v} is outside PHP's 64-bit int range", v)


def _array_key(k: Any) -> int | bytes:
    """PHP's array key normalisation (``$a[$k] = ...``)."""
    tk = type(k)
    if tk is str or isinstance(k, str):
        if k[:1] in _NUM_START and _CANONICAL_INT.match(k):
            iv = int(k)
            if _INT64_MIN <= iv <= _INT64_MAX:
                return iv
        try:
            return k.encode("utf-8")  # type: ignore[no-any-return]
        except UnicodeEncodeError as exc:
            raise SerializeError(f"array key {k!r} is not valid UTF-8", k) from exc
    if tk is bool:
        return 1 if k else 0
    if tk is int or (isinstance(k, int) and not isinstance(k, enum.Enum)):
        if _INT64_MIN <= k <= _INT64_MAX:
            return int(k)
        raise SerializeError(f"array key {k} is outside PHP's 64-bit int range", k)
    if isinstance(k, (bytes, bytearray)):
        kb = bytes(k)
        if kb[:1] in (b"-", b"0", b"1", b"2", b"3", b"4", b"5", b"6", b"7", b"8", b"9"):
            if _CANONICAL_INT_B.match(kb):
                iv = int(kb)
                if _INT64_MIN <= iv <= _INT64_MAX:
                    return iv
        return kb
    if k is None:
        return b""
    if isinstance(k, float):
        # PHP truncates float keys toward zero (NaN/INF/out of range become 0)
        if math.isfinite(k) and -(2.0**63) <= k < 2.0**63:
            return int(k)
        return 0
    raise SerializeError(
        f"cannot use a {type(k).__name__} as a PHP array key (int or str only)", k
    )


def _prop_key(k: Any) -> bytes:
    tk = type(k)
    if tk is str:
        try:
            kb = k.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise SerializeError(f"property name {k!r} is not valid UTF-8", k) from exc
        return b's:%d:"%b";' % (len(kb), kb)
    if tk is int:
        if _INT64_MIN <= k <= _INT64_MAX:
            return b"i:%d;" % k
        raise SerializeError(f"property key {k} is outside PHP's int range", k)
    if tk is bytes:
        return b's:%d:"%b";' % (len(k), k)
    if isinstance(k, str) and not isinstance(k, enum.Enum):
        return _prop_key(str(k))
    if isinstance(k, int) and not isinstance(k, (bool, enum.Enum)):
        return _prop_key(int(k))
    raise SerializeError(
        f"cannot use a {type(k).__name__} as a PHP property name (str or int only)", k
    )


def _needs_normalising(d: dict[Any, Any]) -> bool:
    for k in d:
        tk = type(k)
        if tk is str:
            if k[:1] in _NUM_START:
                return True
        elif tk is not int:
            return True
    return False


def _class_bytes(name: str) -> bytes:
    if not isinstance(name, str):
        raise SerializeError(
            f"class name must be a str, not {type(name).__name__}", name
        )
    try:
        return name.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError as exc:
        raise SerializeError(f"class name {name!r} is not encodable", name) from exc


def dumps(value: Any) -> bytes:
    """Serialize ``value`` exactly like PHP 8's ``serialize()``.

    See :mod:`ninja_redis.php` for the type mapping. Lists, tuples, dicts and
    :class:`PhpObject` instances that occur more than once (by identity) are written
    as back-references (``R:N;`` for arrays and :class:`PhpRef`, ``r:N;`` for objects),
    using PHP's slot numbering.
    """
    t = type(value)
    if t is dict or t is list or t is tuple:
        out: list[str] = []  # pieces (``app``)
        chunks: list[str] = []  # and pieces already joined
        try:
            _fast_dump(value, out.append, set(), 0, False, chunks)
            chunks.append("".join(out))
            text = "".join(chunks)
            if text.isascii():  # (O(1)) every length taken was right
                return text.encode("ascii")
            out.clear()
            chunks.clear()
            _fast_dump(value, out.append, set(), 0, True, chunks)
            chunks.append("".join(out))
            return "".join(chunks).encode("utf-8", "surrogateescape")
        except (_Fallback, UnicodeEncodeError, RecursionError):
            pass  # the careful path below decides (and raises the right error)
    return _dumps_careful(value)


_encode_basestring = json.encoder.encode_basestring


def dumps_json_escaped(value: Any) -> bytes:
    """:func:`dumps` escaped as the inside of a JSON string (no quotes), UTF-8.

    The escaping of PHP's ``json_encode($s, JSON_UNESCAPED_UNICODE)``: ``"`` → ``\\"``,
    ``\\`` → ``\\\\``, ``/`` → ``\\/``, ``\\b \\t \\n \\f \\r``, other control
    characters → ``\\u00xx``, U+2028/U+2029 → ``\\u2028``/``\\u2029``; other
    characters as they are. Serialized bytes that are not valid UTF-8 raise
    :class:`~ninja_redis.exceptions.SerializeError` (``json_encode`` fails on them).
    """
    blob = dumps(value)
    try:
        text = blob.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SerializeError(
            f"json_encode: the serialized value is not valid UTF-8 (byte "
            f"{exc.start}; PHP: 'Malformed UTF-8 characters')",
            value,
        ) from None
    text = _encode_basestring(text)[1:-1].replace("/", "\\/")
    if "\u2028" in text or "\u2029" in text:
        text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return text.encode("utf-8")


# ----------------------------------------------------------------- payload rows

_ROW_PLAIN = frozenset({str, int, float, bool, type(None), PhpEnum, list, dict})
_HEX = "0123456789abcdef"


def _uuid4_text(r: bytes) -> bytes:
    """A version-4 UUID from 16 random bytes: digit 12 is ``4``, digit 16 the
    variant ``89ab`` (``Str::uuid()``'s form)."""
    h = r.hex()
    return (
        f"{h[0:8]}-{h[8:12]}-4{h[13:16]}-"
        f"{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:32]}"
    ).encode("ascii")


def build_payload_rows(
    pieces: tuple[bytes, bytes, bytes, bytes, bytes],
    count: int,
    spec: tuple[tuple[str, str, Any, Any], ...],
    names: frozenset[str],
    rows: list[Any],
    uuid_random: bytes,
    ids: bytes,
    omit_defaults: bool,
    convert: Any,
    identical: Any,
    prop_type: type,
    no_default: Any,
) -> list[bytes | None]:
    """Queue payloads of template rows: for row ``i``,
    ``p0 + uuid_i + p1 + (count + N) + p2 + props + p3 + id_i + p4`` where
    ``pieces = (p0, p1, p2, p3, p4)``, ``uuid_i`` is the version-4 UUID of
    ``uuid_random[16*i : 16*i+16]``, ``id_i`` is ``ids[32*i : 32*i+32]``, and
    ``props`` / ``N`` are the JSON-escaped items / count of
    :func:`dumps_json_escaped` of the row's properties: for each
    ``(name, raw, default, value)`` of ``spec``, ``raw`` → the row's value (or
    ``value``), left out when ``omit_defaults`` and ``identical(value, default)``
    (``default`` not ``no_default``), values of other types than
    str/int/float/bool/None/PhpEnum/list/dict passed through ``convert``.

    ``None`` for a row that needs the per-job path: not a dict, a key not in
    ``names``, a ``prop_type`` value, a :class:`SerializeError`, or a
    back-reference. Errors of ``convert``/``identical`` propagate. The C
    accelerator gives the same bytes.
    """
    p0, p1, p2, p3, p4 = pieces
    if len(uuid_random) != 16 * len(rows) or len(ids) != 32 * len(rows):
        raise ValueError("build_payload_rows: 16 random bytes and 32 id bytes per row")
    plain = _ROW_PLAIN
    out: list[bytes | None] = []
    add = out.append
    for i, row in enumerate(rows):
        if type(row) is not dict or not row.keys() <= names:
            add(None)
            continue
        own: dict[str, Any] = {}
        for name, raw, default, value in spec:
            if name in row:
                value = row[name]
                if isinstance(value, prop_type):
                    break
            if (
                omit_defaults
                and default is not no_default
                and identical(value, default)
            ):
                continue
            own[raw] = value if type(value) in plain else convert(value)
        else:
            try:
                blob = dumps_json_escaped(own)
            except SerializeError:
                add(None)
                continue
            if b"r:" in blob or b"R:" in blob:
                add(None)
                continue
            brace = blob.index(b"{")
            add(
                b"".join(
                    (
                        p0,
                        _uuid4_text(uuid_random[16 * i : 16 * i + 16]),
                        p1,
                        b"%d" % (count + int(blob[2 : brace - 1])),
                        p2,
                        blob[brace + 1 : -1],
                        p3,
                        ids[32 * i : 32 * i + 32],
                        p4,
                    )
                )
            )
            continue
        add(None)
    return out


def _dumps_careful(value: Any) -> bytes:
    """The reference serializer: every type, references, errors."""
    out: list[bytes] = []
    app = out.append
    seen: dict[Any, int] = {}
    stack: list[tuple[Iterator[Any], int]] = []  # (iterator, kind) 0=list 1=array 2=obj
    n = 0  # slot counter (php_add_var_hash)
    v = value
    via_ref = False
    while True:
        # ---- emit one value ------------------------------------------------------
        n += 1
        t = type(v)
        if t is str:
            try:
                b = v.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise SerializeError(
                    "str contains lone surrogates (not valid UTF-8); pass bytes", v
                ) from exc
            app(b's:%d:"%b";' % (len(b), b))
        elif t is int:
            if _INT64_MIN <= v <= _INT64_MAX:
                app(b"i:%d;" % v)
            else:
                raise SerializeError(
                    f"integer {v} is outside PHP's 64-bit int range", v
                )
        elif t is list or t is tuple:
            k = id(v)
            s = seen.get(k)
            if s is not None:
                app(b"R:%d;" % s)
                n -= 1
            else:
                seen[k] = n
                if v:
                    app(b"a:%d:{" % len(v))
                    stack.append((enumerate(v), 0))
                else:
                    app(b"a:0:{}")
        elif t is dict:
            k = id(v)
            s = seen.get(k)
            if s is not None:
                app(b"R:%d;" % s)
                n -= 1
            else:
                seen[k] = n
                if v:
                    if _needs_normalising(v):
                        norm: dict[int | bytes, Any] = {}
                        for dk, dv in v.items():
                            norm[_array_key(dk)] = dv
                        app(b"a:%d:{" % len(norm))
                        stack.append((iter(norm.items()), 1))
                    else:
                        app(b"a:%d:{" % len(v))
                        stack.append((iter(v.items()), 1))
                else:
                    app(b"a:0:{}")
        elif t is float:
            app(b"d:%b;" % format_float(v))
        elif v is None:
            app(b"N;")
        elif t is bool:
            app(b"b:1;" if v else b"b:0;")
        elif t is bytes:
            app(b's:%d:"%b";' % (len(v), v))
        elif isinstance(v, PhpObject):
            k = id(v)
            s = seen.get(k)
            if s is not None:
                app((b"R:%d;" if via_ref else b"r:%d;") % s)
                if via_ref:
                    n -= 1
            else:
                seen[k] = n
                cls = _class_bytes(v.class_name)
                props = v.properties
                if props:
                    app(b'O:%d:"%b":%d:{' % (len(cls), cls, len(props)))
                    stack.append((iter(props.items()), 2))
                else:
                    app(b'O:%d:"%b":0:{}' % (len(cls), cls))
        elif isinstance(v, PhpRef):
            inner = v.value
            if isinstance(
                inner, (list, tuple, dict, PhpObject, PhpEnum, PhpSerializable)
            ):
                # identity of the target itself (PHP keys references to objects by
                # the object; arrays are only ever shared through references)
                n -= 1
                v = inner
                via_ref = True
                continue
            k = id(v)
            s = seen.get(k)
            n -= 1
            if s is not None:
                app(b"R:%d;" % s)
            else:
                seen[k] = n + 1
                v = inner
                via_ref = False
                continue
        elif isinstance(v, PhpEnum):
            k2 = (PhpEnum, v.class_name, v.case)
            s = seen.get(k2)
            if s is not None:
                app((b"R:%d;" if via_ref else b"r:%d;") % s)
                if via_ref:
                    n -= 1
            else:
                seen[k2] = n
                body = _class_bytes(v.class_name) + b":" + _class_bytes(v.case)
                app(b'E:%d:"%b";' % (len(body), body))
        elif isinstance(v, PhpSerializable):
            k = id(v)
            s = seen.get(k)
            if s is not None:
                app((b"R:%d;" if via_ref else b"r:%d;") % s)
                if via_ref:
                    n -= 1
            else:
                seen[k] = n
                cls = _class_bytes(v.class_name)
                data = bytes(v.data)
                app(b'C:%d:"%b":%d:{%b}' % (len(cls), cls, len(data), data))
        elif isinstance(v, enum.Enum):
            raise _type_error(v)
        elif isinstance(v, bool):
            app(b"b:1;" if v else b"b:0;")
        elif isinstance(v, int):
            app(_int_bytes(int(v)))
        elif isinstance(v, float):
            app(b"d:%b;" % format_float(float(v)))
        elif isinstance(v, str):
            v = str(v)
            n -= 1
            continue
        elif isinstance(v, (bytearray, memoryview)):
            b = bytes(v)
            app(b's:%d:"%b";' % (len(b), b))
        elif isinstance(v, (list, tuple)):
            v = list(v) if isinstance(v, list) else tuple(v)
            n -= 1
            continue
        elif isinstance(v, dict):
            v = dict(v)
            n -= 1
            continue
        else:
            raise _type_error(v)
        via_ref = False

        # ---- find the next value ----------------------------------------------------
        while stack:
            it, kind = stack[-1]
            item = next(it, None)
            if item is None:
                app(b"}")
                stack.pop()
                continue
            k, v = item
            if kind == 0:
                app(b"i:%d;" % k)
            elif kind == 1:
                if type(k) is int:
                    if _INT64_MIN <= k <= _INT64_MAX:
                        app(b"i:%d;" % k)
                    else:
                        raise SerializeError(
                            f"array key {k} is outside PHP's 64-bit int range", k
                        )
                elif type(k) is str:
                    try:
                        kb = k.encode("utf-8")
                    except UnicodeEncodeError as exc:
                        raise SerializeError(
                            f"array key {k!r} is not valid UTF-8", k
                        ) from exc
                    app(b's:%d:"%b";' % (len(kb), kb))
                else:  # normalised: bytes
                    app(b's:%d:"%b";' % (len(k), k))
            else:
                app(_prop_key(k))
            break
        else:
            return b"".join(out)


# ---------------------------------------------------------------------------------
# loads
# ---------------------------------------------------------------------------------


def normalize_allowed_classes(
    allowed_classes: bool | Iterable[str],
) -> frozenset[bytes] | None:
    """``None`` when every class is allowed, else the allowed names as UTF-8 bytes,
    ASCII-lower-cased (PHP compares class names case-insensitively, ASCII only)."""
    if allowed_classes is True:
        return None
    if allowed_classes is False:
        return frozenset()
    if isinstance(allowed_classes, (str, bytes)):
        raise TypeError("allowed_classes must be a bool or an iterable of class names")
    names = []
    for name in allowed_classes:
        if not isinstance(name, str):
            raise TypeError("allowed_classes must contain class names (str)")
        names.append(name.encode("utf-8", "surrogateescape").lower())
    return frozenset(names)


class _NeedRefs(Exception):
    """Internal: ``R:`` points at a scalar; decode again wrapping those slots."""

    def __init__(self, slots: set[int]) -> None:
        self.slots = slots


def _err(msg: str, data: bytes, offset: int) -> UnserializeError:
    return UnserializeError(msg, data, offset)


def _uint_at(data: bytes, pos: int, stop: bytes, start: int) -> tuple[int, int]:
    """Parse ``[0-9]{1,18}`` at ``pos`` up to ``stop``; return (value, index of stop)."""
    end = data.find(stop, pos)
    if end < 0:
        raise _err("unexpected end of data", data, start)
    digits = data[pos:end]
    if not digits.isdigit() or len(digits) > 18:
        raise _err("malformed length or count", data, start)
    return int(digits), end


def loads(
    data: bytes,
    *,
    allowed_classes: bool | Iterable[str] = True,
    max_depth: int = 4096,
    strict: bool = False,
) -> Any:
    """Unserialize PHP ``serialize()`` bytes. See :func:`ninja_redis.php.loads`."""
    if isinstance(data, (bytearray, memoryview)):
        data = bytes(data)
    elif not isinstance(data, bytes):
        raise TypeError(f"loads() needs bytes, not {type(data).__name__}")
    allowed = normalize_allowed_classes(allowed_classes)
    if max_depth < 0:
        raise ValueError("max_depth must be >= 0 (0 means unlimited)")
    try:
        return _fast_loads(data, max_depth, strict)
    except _Fallback:
        pass  # objects, references, odd syntax, errors: the careful parser
    try:
        value, end = _decode(data, allowed, max_depth, None)
    except _NeedRefs as need:
        value, end = _decode(data, allowed, max_depth, need.slots)
    if strict and end != len(data):
        raise _err("unexpected data after the serialized value", data, end)
    return value


def _decode(
    data: bytes,
    allowed: frozenset[bytes] | None,
    max_depth: int,
    wrap: set[int] | None,
) -> tuple[Any, int]:
    n = len(data)
    pos = 0
    slots: list[Any] = [None]  # slot 0 unused; PHP numbers values from 1
    # frame: [container, remaining, list_mode, key, object_or_None, slot]
    stack: list[list[Any]] = []
    need: set[int] | None = None
    refs: dict[int, PhpRef] = {}
    find = data.find
    v: Any
    fr: list[Any]
    while True:
        # ---- one value at pos ---------------------------------------------------------
        start = pos
        t = data[pos : pos + 2]
        if t == b"s:":
            # s:5:"hello";
            colon = find(b":", pos + 2)
            digits = data[pos + 2 : colon]
            if colon < 0 or not digits.isdigit() or len(digits) > 18:
                raise _err("malformed string length", data, start)
            end = colon + 2 + int(digits)
            if data[colon + 1 : colon + 2] != b'"' or data[end : end + 2] != b'";':
                raise _err("malformed string (declared length mismatch)", data, start)
            raw = data[colon + 2 : end]
            try:
                v = raw.decode("utf-8")
            except UnicodeDecodeError:
                v = raw
            pos = end + 2
        elif t == b"i:":
            # i:-7;
            semi = find(b";", pos + 2)
            txt = data[pos + 2 : semi]
            if semi < 0 or not (
                txt.isdigit() or (txt[:1] in (b"-", b"+") and txt[1:].isdigit())
            ):
                raise _err("malformed integer", data, start)
            v = _parse_int(txt, data, start)
            pos = semi + 1
        elif t == b"a:" or t == b"O:":
            # a:2:{i:0;s:1:"a";i:1;s:1:"b";}   O:8:"stdClass":1:{s:1:"p";i:1;}
            obj: PhpObject | None = None
            if t == b"O:":
                cls, ok, q = _class_at(data, pos, start, allowed)
                count, brace = _uint_at(data, q, b":", start)
                if data[brace + 1 : brace + 2] != b"{":
                    raise _err("malformed object header", data, start)
                obj = object.__new__(PhpObject if ok else PhpIncompleteClass)
                cont: Any = {}
                obj.class_name = cls
                obj.properties = cont
            else:
                count, brace = _uint_at(data, pos + 2, b":", start)
                if data[brace + 1 : brace + 2] != b"{":
                    raise _err("malformed array header", data, start)
                cont = []
            pos = brace + 2
            if count * 6 > n - pos:
                raise _err("element count exceeds the input size", data, start)
            if max_depth and len(stack) >= max_depth:
                raise _err(f"maximum depth of {max_depth} exceeded", data, start)
            slot = len(slots)
            slots.append(cont if obj is None else obj)
            if count:
                fr = [cont, count, obj is None, None, obj, slot]
                stack.append(fr)
                pos = _read_key(data, pos, fr, slots)
                continue
            if data[pos : pos + 1] != b"}":
                raise _err("expected '}'", data, pos)
            pos += 1
            v = cont if obj is None else obj
            # already has its slot: deliver below without a new one
            if not stack:
                return _finish(v, pos, need)
            t = b""
        elif t == b"N;":
            v = None
            pos += 2
        elif t == b"b:":
            c = data[pos + 2 : pos + 4]
            if c == b"1;":
                v = True
            elif c == b"0;":
                v = False
            else:
                raise _err("malformed boolean", data, start)
            pos += 4
        elif t == b"d:":
            # d:0.1;  d:1.0E+25;  d:INF;  d:NAN;
            semi = find(b";", pos + 2)
            txt = data[pos + 2 : semi]
            if semi < 0:
                raise _err("malformed float", data, start)
            if _FLOAT.match(txt):
                v = float(txt)
            elif txt == b"INF":
                v = math.inf
            elif txt == b"-INF":
                v = -math.inf
            elif txt == b"NAN":
                v = math.nan
            else:
                raise _err("malformed float", data, start)
            pos = semi + 1
        elif t == b"r:" or t == b"R:":
            # r:2; (same object again)  R:2; (PHP reference)
            idx, semi = _uint_at(data, pos + 2, b";", start)
            if idx < 1 or idx >= len(slots):
                raise _err("back-reference to an unknown slot", data, start)
            target = slots[idx]
            pos = semi + 1
            if t == b"R:":
                if isinstance(target, (list, dict, PhpRef)):
                    v = target
                elif isinstance(target, (PhpObject, PhpEnum, PhpSerializable)):
                    ref = refs.get(idx)
                    if ref is None:
                        ref = refs[idx] = PhpRef(target)
                    v = ref
                else:
                    # a reference to a scalar: its first occurrence must hold the
                    # same PhpRef, so this pass ends with a second, wrapping pass
                    if need is None:
                        need = set()
                    need.add(idx)
                    v = None
                # R: takes no slot
                if not stack:
                    return _finish(v, pos, need)
                t = b""
            else:
                v = target.value if isinstance(target, PhpRef) else target
        elif t == b"E:":
            # E:11:"Suit:Hearts";
            ln, q = _uint_at(data, pos + 2, b":", start)
            eend = q + 2 + ln
            if data[q + 1 : q + 2] != b'"' or data[eend : eend + 2] != b'";':
                raise _err("malformed enum", data, start)
            body = data[q + 2 : eend]
            sep = body.find(b":")
            if sep <= 0 or sep == len(body) - 1:
                raise _err("malformed enum name", data, start)
            v = PhpEnum(
                body[:sep].decode("utf-8", "surrogateescape"),
                body[sep + 1 :].decode("utf-8", "surrogateescape"),
            )
            pos = eend + 2
        elif t == b"C:":
            # C:6:"Legacy":3:{RAW}
            cls, ok, q = _class_at(data, pos, start, allowed)
            count, brace = _uint_at(data, q, b":", start)
            pos = brace + 2
            close = pos + count
            if data[brace + 1 : brace + 2] != b"{" or data[close : close + 1] != b"}":
                raise _err("malformed custom object data", data, start)
            payload = data[pos:close]
            v = (PhpSerializable if ok else PhpIncompleteSerializable)(cls, payload)
            pos = close + 1
        else:
            if pos >= n:
                raise _err("unexpected end of data", data, start)
            raise _err("unknown or malformed value", data, start)

        if t:  # a new value: give it its slot
            if wrap is not None and len(slots) in wrap:
                v = PhpRef(v)
            slots.append(v)
            if not stack:
                return _finish(v, pos, need)

        # ---- deliver v to the open containers (closing the full ones) ---------------
        while True:
            fr = stack[-1]
            if fr[2]:
                fr[0].append(v)
            else:
                fr[0][fr[3]] = v
            fr[1] -= 1
            if fr[1]:
                pos = _read_key(data, pos, fr, slots)
                break
            if data[pos : pos + 1] != b"}":
                raise _err("expected '}'", data, pos)
            pos += 1
            stack.pop()
            v = fr[0] if fr[4] is None else fr[4]
            if not stack:
                return _finish(v, pos, need)


def _finish(v: Any, pos: int, need: set[int] | None) -> tuple[Any, int]:
    if need:
        raise _NeedRefs(need)
    return v, pos


def _parse_int(txt: bytes, data: bytes, start: int) -> int:
    if len(txt) > 19:
        sign = b"-" if txt[:1] == b"-" else b""
        txt = sign + (txt.lstrip(b"+-").lstrip(b"0") or b"0")
        if len(txt) > 20:
            raise _err("integer out of 64-bit range", data, start)
    v = int(txt)
    if not (_INT64_MIN <= v <= _INT64_MAX):
        raise _err("integer out of 64-bit range", data, start)
    return v


def _class_at(
    data: bytes, pos: int, start: int, allowed: frozenset[bytes] | None
) -> tuple[str, bool, int]:
    """Parse ``X:LEN:"Class":`` at ``pos``; return (name, allowed?, index after it)."""
    ln, q = _uint_at(data, pos + 2, b":", start)
    cend = q + 2 + ln
    if data[q + 1 : q + 2] != b'"' or data[cend : cend + 2] != b'":':
        raise _err("malformed class name", data, start)
    cls_b = data[q + 2 : cend]
    if not _CLASS_NAME.match(cls_b):
        raise _err("invalid class name", data, start)
    cls = cls_b.decode("utf-8", "surrogateescape")
    return cls, allowed is None or cls_b.lower() in allowed, cend + 2


def _read_key(data: bytes, pos: int, fr: list[Any], slots: list[Any]) -> int:
    """Read the next array/object key at ``pos`` into frame ``fr``; return new pos."""
    t = data[pos : pos + 2]
    k: Any
    if t == b"i:":
        semi = data.find(b";", pos + 2)
        txt = data[pos + 2 : semi]
        if semi < 0 or not (
            txt.isdigit() or (txt[:1] in (b"-", b"+") and txt[1:].isdigit())
        ):
            raise _err("malformed integer key", data, pos)
        k = _parse_int(txt, data, pos)
        end = semi + 1
    elif t == b"s:":
        colon = data.find(b":", pos + 2)
        digits = data[pos + 2 : colon]
        if colon < 0 or not digits.isdigit() or len(digits) > 18:
            raise _err("malformed string key length", data, pos)
        e = colon + 2 + int(digits)
        if data[colon + 1 : colon + 2] != b'"' or data[e : e + 2] != b'";':
            raise _err("malformed string key (declared length mismatch)", data, pos)
        raw = data[colon + 2 : e]
        end = e + 2
        if (
            fr[4] is None
            and raw
            and raw[0] in _NUM_START_B
            and _CANONICAL_INT_B.match(raw)
            and _INT64_MIN <= int(raw) <= _INT64_MAX
        ):
            k = int(raw)  # PHP: s:1:"5" as an array key is the int 5
        else:
            try:
                k = raw.decode("utf-8")
            except UnicodeDecodeError:
                k = raw
    else:
        raise _err("array or object key must be an int or a string", data, pos)
    if fr[2] and (type(k) is not int or k != len(fr[0])):
        # keys are not 0..n-1 in order: this PHP array is a dict
        d = dict(enumerate(fr[0]))
        fr[0] = d
        fr[2] = False
        slots[fr[5]] = d
    fr[3] = k
    return end


_NUM_START_B = frozenset(b"-0123456789")


# ---------------------------------------------------------------------------------
# fast paths: common data only, falling back to the careful code above/below
# ---------------------------------------------------------------------------------


class _Fallback(Exception):
    """Internal: the fast path met something it does not handle; redo carefully."""


_FAST_MAX_DEPTH = 200  # deeper data goes to the iterative careful dumps()
_KEY_PIECES: dict[Any, str] = {}  # str/int array key -> 's:4:"name";' / "i:3;"


def _key_piece(k: Any) -> str:
    """Encoded key for the fast path; raises _Fallback when PHP would normalise."""
    tk = type(k)
    if tk is str:
        if k[:1] in _NUM_START:
            raise _Fallback
        # UnicodeEncodeError (lone surrogates) -> careful path
        p = f's:{len(k) if k.isascii() else len(k.encode("utf-8"))}:"{k}";'
    elif tk is int:
        if not _INT64_MIN <= k <= _INT64_MAX:
            raise _Fallback
        p = f"i:{k};"
    else:
        raise _Fallback
    if len(_KEY_PIECES) >= 4096:
        _KEY_PIECES.clear()
    if len(p) <= 128:
        _KEY_PIECES[k] = p
    return p


def _float_piece(x: float) -> str:
    """``d:…;`` for a float (``format_float`` inlined for the common values)."""
    r = repr(x)
    if "e" in r or "n" in r:  # exponent form, inf, nan
        return "d:" + format_float(x).decode("ascii") + ";"
    if r[-2:] == ".0":
        r = r[:-2]
    return "d:" + r + ";"


def _fast_dump(
    v: Any, app: Any, seen: set[int], depth: int, exact: bool, chunks: list[str]
) -> None:
    """Append the serialization of list/dict ``v`` (exact types, never seen before).

    The pieces are ``str`` (f-strings are the cheapest way to build them) that
    ``dumps`` joins and encodes once. ``exact=False`` takes every string's length
    as its UTF-8 length, which is right only if the output is all ASCII (``dumps``
    checks, and otherwise calls again with ``exact=True``): then non-ASCII ``str``
    is measured by encoding it (which also rejects lone surrogates). ``bytes`` go
    in as ``surrogateescape`` text, which the final encode turns back into the same
    bytes. Each entry is one piece, key and scalar value together
    (``s:4:"name";s:3:"Ann";``).
    """
    if depth > _FAST_MAX_DEPTH:
        raise _Fallback
    vid = id(v)
    if vid in seen:  # shared container: R:N; numbering is the careful path's job
        raise _Fallback
    seen.add(vid)
    if type(v) is dict:
        if not v:
            app("a:0:{}")
            return
        app(f"a:{len(v)}:{{")
        kp = _KEY_PIECES.get
        for k, x in v.items():
            p = kp(k)
            if p is None or (type(k) is not str and type(k) is not int):
                p = _key_piece(k)
            t = type(x)
            if t is str:
                if not exact or x.isascii():
                    app(f'{p}s:{len(x)}:"{x}";')
                else:  # UnicodeEncodeError -> careful path
                    app(f'{p}s:{len(x.encode("utf-8"))}:"{x}";')
            elif t is int:
                if -0x8000000000000000 <= x <= 0x7FFFFFFFFFFFFFFF:
                    app(f"{p}i:{x};")
                else:
                    raise _Fallback
            elif x is None:
                app(p + "N;")
            elif t is bool:
                app(p + ("b:1;" if x else "b:0;"))
            elif t is float:  # _float_piece() inlined
                r = repr(x)
                if "e" in r or "n" in r:  # exponent form, inf, nan
                    r = format_float(x).decode("ascii")
                elif r[-2:] == ".0":
                    r = r[:-2]
                app(f"{p}d:{r};")
            elif t is dict or t is list or t is tuple:
                app(p)
                _fast_dump(x, app, seen, depth + 1, exact, chunks)
                if not depth and len(app.__self__) > 2048:
                    # keep few small pieces alive (their memory is reused)
                    chunks.append("".join(app.__self__))
                    app.__self__.clear()
            elif t is bytes:
                app(f'{p}s:{len(x)}:"{x.decode("utf-8", "surrogateescape")}";')
            else:
                raise _Fallback
        app("}")
    else:  # list or tuple
        if not v:
            app("a:0:{}")
            return
        app(f"a:{len(v)}:{{")
        i = -1
        for x in v:
            i += 1
            t = type(x)
            if t is str:
                if not exact or x.isascii():
                    app(f'i:{i};s:{len(x)}:"{x}";')
                else:
                    app(f'i:{i};s:{len(x.encode("utf-8"))}:"{x}";')
            elif t is int:
                if -0x8000000000000000 <= x <= 0x7FFFFFFFFFFFFFFF:
                    app(f"i:{i};i:{x};")
                else:
                    raise _Fallback
            elif x is None:
                app(f"i:{i};N;")
            elif t is bool:
                app(f"i:{i};b:1;" if x else f"i:{i};b:0;")
            elif t is float:
                app(f"i:{i};{_float_piece(x)}")
            elif t is dict or t is list or t is tuple:
                app(f"i:{i};")
                _fast_dump(x, app, seen, depth + 1, exact, chunks)
                if not depth and len(app.__self__) > 2048:
                    # keep few small pieces alive (their memory is reused)
                    chunks.append("".join(app.__self__))
                    app.__self__.clear()
            elif t is bytes:
                app(f'i:{i};s:{len(x)}:"{x.decode("utf-8", "surrogateescape")}";')
            else:
                raise _Fallback
        app("}")


# One token of common serialize() output per match; anything else (objects,
# references, enums, INF/NAN, non-canonical numbers, a string whose text contains
# '";', truncated or malformed input) ends up in the last group and sends the whole
# input to the careful parser, which produces the value or the exact error.
_TOKEN = re.compile(
    rb's:([0-9]{1,18}):"([^"]*(?:"(?!;)[^"]*)*)";'  # 1 length, 2 text up to '";'
    rb"|i:(-?[1-9][0-9]{0,17}|0);"  # 3 canonical int, always within int64
    rb"|a:([0-9]{1,18}):\{"  # 4 element count
    rb"|(\}+)"  # 5 closing braces
    rb"|(N);"  # 6
    rb"|b:([01]);"  # 7
    rb"|d:(-?[0-9]+(?:\.[0-9]+)?(?:E[+-][0-9]+)?);"  # 8 finite float as PHP writes it
    rb"|(.+)",  # 9 anything else: rest of the chunk
    re.S,
)
_CHUNK = 1 << 14  # tokenise this many input bytes at a time (bounds memory)
_KEY_CACHE: dict[bytes, Any] = {}  # raw array key -> str (or int for "5")


def _fast_key(raw: bytes) -> Any:
    if (
        raw
        and raw[0] in _NUM_START_B
        and _CANONICAL_INT_B.match(raw)
        and _INT64_MIN <= int(raw) <= _INT64_MAX
    ):
        k: Any = int(raw)  # s:1:"5" as an array key is the int 5
    else:
        try:
            k = raw.decode("utf-8")
        except UnicodeDecodeError:
            k = raw
    if len(_KEY_CACHE) >= 4096:
        _KEY_CACHE.clear()
    _KEY_CACHE[raw] = k
    return k


def _fast_loads_bytes(data: bytes, max_depth: int, strict: bool) -> Any:
    """Decode arrays of scalars from input that is not valid UTF-8 (strings may be
    binary); raise _Fallback for anything else."""
    n = len(data)
    findall = _TOKEN.findall
    kcache = _KEY_CACHE.get
    # saved (container, remaining, is_list, key) of the enclosing arrays; the
    # bottom entry (None, ...) stands for "top level"
    stack: list[tuple[Any, int, bool, Any]] = []
    push = stack.append
    pop = stack.pop
    cont: Any = None  # the array being filled (list or dict), None at top level
    rem = 0  # values cont still expects
    is_list = True
    want_key = False  # inside cont, between values: a key or '}' comes next
    key: Any = None
    result: Any = None
    done = False
    pos = 0
    size = _CHUNK
    while pos < n:
        start = pos
        end = min(n, pos + size)
        pos = end
        size = _CHUNK
        for sl, sb, iv, ac, cl, nn, bb, dd, junk in findall(data, start, end):
            if done:  # bytes after the complete value
                if strict:
                    raise _Fallback
                return result
            if junk:
                if end == n:
                    raise _Fallback
                # probably a token cut by the chunk end: tokenise again from it
                pos = end - len(junk)
                if pos == start:  # a token longer than the chunk
                    size = 2 * (end - start)
                break
            if want_key:
                if rem:
                    if sl:
                        if len(sb) != int(sl):
                            raise _Fallback
                        k = kcache(sb)
                        if k is None:
                            k = _fast_key(sb)
                    elif iv:
                        k = int(iv)
                    else:
                        raise _Fallback
                    if is_list and (type(k) is not int or k != len(cont)):
                        # keys are not 0..n-1 in order: this PHP array is a dict
                        cont = dict(enumerate(cont))
                        is_list = False
                    key = k
                    want_key = False
                    continue
                if not cl:
                    raise _Fallback
                left = len(cl)
                while True:  # close `left` arrays
                    v = cont
                    cont, rem, is_list, key = pop()
                    left -= 1
                    if cont is None:
                        result = v
                        done = True
                        if left and strict:
                            raise _Fallback
                        break
                    if is_list:
                        cont.append(v)
                    else:
                        cont[key] = v
                    rem -= 1
                    if not left:
                        break
                    if rem:
                        raise _Fallback
                continue
            # ---- a value ----
            if sl:
                if len(sb) != int(sl):
                    raise _Fallback
                try:
                    v = sb.decode("utf-8")
                except UnicodeDecodeError:
                    v = sb
            elif iv:
                v = int(iv)
            elif ac:
                if max_depth and len(stack) >= max_depth:
                    raise _Fallback
                push((cont, rem, is_list, key))
                cont = []
                rem = int(ac)
                is_list = True
                want_key = True
                continue
            elif nn:
                v = None
            elif bb:
                v = bb == b"1"
            elif dd:
                v = float(dd)
            else:  # '}' where a value belongs
                raise _Fallback
            if cont is None:
                result = v
                done = True
                continue
            if is_list:
                cont.append(v)
            else:
                cont[key] = v
            rem -= 1
            want_key = True
        if done:
            if strict and pos < n:
                raise _Fallback
            return result
    raise _Fallback


# Input that is valid UTF-8 as a whole (nearly everything) is decoded once and
# tokenised as text: every string token is then valid UTF-8 on its own, so it is
# the same str the careful parser makes, without a decode per string. One match per
# array entry: a key (``s:N:"…";`` or ``i:N;``) and its scalar value or the header
# of a nested array. Declared string lengths are byte lengths: they are checked on
# the matched text (len() for ASCII, else the UTF-8 length), and any mismatch (such
# as a string whose text contains '";') sends the input to the careful parser.
_S_BODY = r'[^"]*(?:"(?!;)[^"]*)*'  # string text up to the first '";'
_S_VALUE = (
    r's:([0-9]{1,18}):"(' + _S_BODY + r')";'  # length, text
    r"|i:(-?[1-9][0-9]{0,17}|0);"  # canonical int, always within int64
    r"|d:(-?[0-9]+(?:\.[0-9]+)?(?:E[+-][0-9]+)?);"  # finite float as PHP writes it
    r"|b:([01]);"
    r"|a:([0-9]{1,18}):\{"  # element count
    r"|N;"
)
_T_VALUE = re.compile(_S_VALUE)
_T_ENTRY = re.compile(
    # key token without its ';': s:N:"…" or i:N
    r'(s:[0-9]{1,18}:"' + _S_BODY + r'"|i:(?:-?[1-9][0-9]{0,17}|0));'
    r"(?:" + _S_VALUE + r")"
    r"|(\}+)"  # closing braces
    r"|(.+)",  # anything else: rest of the chunk
    re.S,
)
# key token -> key (str, or int for i:N and canonical numeric strings); only
# short tokens are kept, and the cache is emptied when full
_KEY_TOKENS: dict[str, Any] = {}
_LENGTHS = tuple(str(i) for i in range(4096))  # declared lengths, as matched


def _key_token(kt: str) -> Any:
    """The array key of the token ``kt`` (``s:4:"name"`` or ``i:5``), or _Fallback."""
    if kt[0] == "i":
        k: Any = int(kt[2:])
    else:
        colon = kt.index(":", 2)
        ln = int(kt[2:colon])
        k = kt[colon + 2 : -1]
        if len(k) != ln or not k.isascii():
            if len(k.encode("utf-8")) != ln:
                raise _Fallback
        if k[:1] in _NUM_START and _CANONICAL_INT.match(k):
            iv = int(k)
            if _INT64_MIN <= iv <= _INT64_MAX:
                k = iv  # s:1:"5" as an array key is the int 5
    if len(kt) <= 64:
        if len(_KEY_TOKENS) >= 4096:
            _KEY_TOKENS.clear()
        _KEY_TOKENS[kt] = k
    return k


def _fast_loads(data: bytes, max_depth: int, strict: bool) -> Any:
    """Decode arrays of scalars; raise _Fallback for anything else."""
    if data.isascii():
        return _fast_loads_text(data.decode("ascii"), False, max_depth, strict)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return _fast_loads_bytes(data, max_depth, strict)
    return _fast_loads_text(text, True, max_depth, strict)


def _fast_loads_text(text: str, na: bool, max_depth: int, strict: bool) -> Any:
    """``_fast_loads`` on the decoded input; ``na``: it has non-ASCII characters."""
    m = _T_VALUE.match(text)
    if m is None:
        raise _Fallback
    sl, sb, iv, dd, bb, ac = m.groups()
    v: Any
    if ac is None:  # a scalar at the top
        if sl is not None:
            if len(sb) != int(sl) or na and not sb.isascii():
                if len(sb.encode("utf-8")) != int(sl):
                    raise _Fallback
            v = sb
        elif iv is not None:
            v = int(iv)
        elif dd is not None:
            v = float(dd)
        elif bb is not None:
            v = bb == "1"
        else:
            v = None
        if strict and m.end() != len(text):
            raise _Fallback
        return v
    n = len(text)
    findall = _T_ENTRY.findall
    kget = _KEY_TOKENS.get
    lens = _LENGTHS
    # saved (container, declared count, is_list, key) of the enclosing arrays; the
    # bottom entry (None, ...) stands for "top level"
    stack: list[tuple[Any, int, bool, Any]] = [(None, 0, True, None)]
    push = stack.append
    pop = stack.pop
    cont: Any = []  # the array being filled (list or dict)
    count = int(ac)  # its declared element count, checked when it closes
    is_list = True
    k: Any
    pos = m.end()
    size = _CHUNK
    while pos < n:
        start = pos
        end = min(n, pos + size)
        pos = end
        size = _CHUNK
        it = iter(findall(text, start, end))
        for kt, sl, sb, iv, dd, bb, ac, cl, junk in it:
            if kt:
                # ---- one entry: key and value ----
                k = kget(kt)
                if k is None:
                    k = _key_token(kt)
                if is_list and (type(k) is not int or k != len(cont)):
                    # keys are not 0..n-1 in order: this PHP array is a dict
                    cont = dict(enumerate(cont))
                    is_list = False
                if sl:
                    # the declared length is the UTF-8 length (a mismatch: the text
                    # holds '";', or the input is malformed)
                    if len(sb) > 4095 or lens[len(sb)] != sl or na and not sb.isascii():
                        if len(sb.encode("utf-8")) != int(sl):
                            raise _Fallback
                    v = sb
                elif iv:
                    v = int(iv)
                elif ac:
                    if max_depth and len(stack) >= max_depth:
                        raise _Fallback
                    push((cont, count, is_list, k))
                    cont = []
                    count = int(ac)
                    is_list = True
                    continue
                elif dd:
                    v = float(dd)
                elif bb:
                    v = bb == "1"
                else:
                    v = None
                if is_list:
                    cont.append(v)
                else:
                    cont[k] = v
            elif cl:
                # close len(cl) arrays; each must hold its declared count (with
                # repeated keys it holds fewer: the careful parser decides)
                left = len(cl)
                while left:
                    if len(cont) != count:
                        raise _Fallback
                    v = cont
                    cont, count, is_list, k = pop()
                    left -= 1
                    if cont is None:
                        if strict and (left or pos < n or next(it, None) is not None):
                            raise _Fallback
                        return v
                    if is_list:
                        cont.append(v)
                    else:
                        cont[k] = v
            elif junk and end < n:
                # probably an entry cut by the chunk end: tokenise again from it
                pos = end - len(junk)
                if pos == start:  # an entry longer than the chunk
                    size = 2 * (end - start)
                break
            else:
                raise _Fallback
    raise _Fallback
