"""Pure-Python PHP ``serialize()`` / ``unserialize()`` (the reference implementation).

The C accelerator ``_speedups`` must behave identically, error offsets included.
Both parsers are iterative (an explicit stack), so nesting depth is limited only by
``max_depth`` and never by Python's recursion limit.
"""

from __future__ import annotations

import enum
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

__all__ = ["dumps", "format_float", "loads", "normalize_allowed_classes"]

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
