"""JSON as phpredis' json serializer (serializer 4) writes and reads it.

phpredis calls ``php_json_encode(value, PHP_JSON_OBJECT_AS_ARRAY)``; that flag has the
value 1, which the *encoder* reads as ``JSON_HEX_TAG``. So the bytes are PHP's default
``json_encode()`` plus ``<``/``>`` escaped as ``\\u003C``/``\\u003E``:

* ``/`` -> ``\\/``, every non-ASCII character -> ``\\uXXXX`` (lowercase hex, surrogate
  pairs), controls -> ``\\b \\f \\n \\r \\t`` or ``\\u00XX``;
* floats with ``serialize_precision = -1`` and no forced ``.0``: ``1.0`` -> ``1``,
  ``0.1`` -> ``0.1``, ``1e100`` -> ``1.0e+100``, ``-0.0`` -> ``-0``;
* PHP lists -> ``[...]``, other arrays -> ``{...}``, the empty array -> ``[]``.

Reading is ``json_decode($data, true)``: objects become arrays (numeric string keys turn
into int keys), integers beyond 64 bits become floats, invalid UTF-8, lone surrogates
and ``NaN`` literals are errors.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from ._phpvalue import INT64_MAX, INT64_MIN, _key, array_items, is_list_like, php_gcvt
from .exceptions import PackError, SerializeError
from .php import PhpEnum, PhpObject, PhpRef, PhpSerializable

__all__ = ["dumps", "loads"]

_ESCAPE_RE = re.compile(r'[\x00-\x1f"\\/<>\x7f-\U0010ffff]')
_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "/": "\\/",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "<": "\\u003C",
    ">": "\\u003E",
    "\x7f": "\x7f",
}


def _escape_char(m: re.Match[str]) -> str:
    c = m.group()
    e = _ESCAPES.get(c)
    if e is not None:
        return e
    o = ord(c)
    if o < 0x10000:
        return f"\\u{o:04x}"
    o -= 0x10000
    return f"\\u{0xD800 | (o >> 10):04x}\\u{0xDC00 | (o & 0x3FF):04x}"


def _string(s: str | bytes) -> str:
    if isinstance(s, (bytes, bytearray, memoryview)):
        try:
            s = bytes(s).decode("utf-8")
        except UnicodeDecodeError:
            raise SerializeError(
                "json: PHP json_encode() fails on invalid UTF-8 (phpredis would store "
                "a truncated value)",
                s,
            ) from None
    else:
        try:
            s.encode("utf-8")
        except UnicodeEncodeError:
            raise SerializeError("json: string is not valid UTF-8", s) from None
    return '"' + _ESCAPE_RE.sub(_escape_char, s) + '"'


def _value(v: Any, out: list[str]) -> None:
    t = type(v)
    if t is str or t is bytes or t is bytearray:
        out.append(_string(v))
    elif t is int or (isinstance(v, int) and t is not bool):
        if not INT64_MIN <= v <= INT64_MAX:
            raise SerializeError(f"int {v} does not fit in a PHP int", v)
        out.append(str(int(v)))
    elif v is None:
        out.append("null")
    elif t is bool:
        out.append("true" if v else "false")
    elif t is float or isinstance(v, float):
        if not math.isfinite(v):
            raise SerializeError(
                "json: PHP json_encode() fails on INF/NAN (phpredis would store 0)", v
            )
        out.append(php_gcvt(float(v), -1, "e"))
    elif isinstance(v, (list, tuple, dict)):
        items = array_items(v)
        if not items:
            out.append("[]")
        elif is_list_like(items):
            out.append("[")
            for i, (_, item) in enumerate(items):
                if i:
                    out.append(",")
                _value(item, out)
            out.append("]")
        else:
            _object(items, out)
    elif isinstance(v, PhpObject):
        # json_encode() sees public properties only (mangled names start with \0)
        props = [
            (k, x)
            for k, x in v.properties.items()
            if not (isinstance(k, (str, bytes)) and k[:1] in ("\0", b"\0"))
        ]
        _object(props, out)
    elif isinstance(v, PhpRef):
        _value(v.value, out)
    elif isinstance(v, (PhpEnum, PhpSerializable)):
        raise SerializeError(f"json: cannot serialize {type(v).__name__}", v)
    else:
        raise SerializeError(f"json cannot serialize a Python {t.__name__} value", v)


def _object(items: list[Any], out: list[str]) -> None:
    out.append("{")
    for i, (k, item) in enumerate(items):
        if i:
            out.append(",")
        out.append(_string(str(k) if isinstance(k, int) else k))
        out.append(":")
        _value(item, out)
    out.append("}")


def dumps(value: Any) -> bytes:
    """phpredis json serializer output for ``value``."""
    out: list[str] = []
    try:
        _value(value, out)
    except RecursionError:
        raise SerializeError("value is nested too deeply", value) from None
    return "".join(out).encode("ascii")


def _parse_int(s: str) -> int | float:
    v = int(s)
    if INT64_MIN <= v <= INT64_MAX:
        return v
    return float(s)


def _bad_constant(s: str) -> Any:
    raise ValueError(f"invalid JSON literal {s}")


def _pairs(pairs: list[tuple[str, Any]]) -> Any:
    keys = [_key(k) for k, _ in pairs]
    values = [v for _, v in pairs]
    for i, k in enumerate(keys):
        if k != i or type(k) is not int:
            return dict(zip(keys, values, strict=True))
    # duplicate keys collapse like PHP's array update
    return (
        values if len(set(keys)) == len(keys) else dict(zip(keys, values, strict=True))
    )


_DECODER = json.JSONDecoder(
    object_pairs_hook=_pairs, parse_int=_parse_int, parse_constant=_bad_constant
)


def _check_surrogates(v: Any) -> None:
    if isinstance(v, str):
        v.encode("utf-8")
    elif isinstance(v, list):
        for x in v:
            _check_surrogates(x)
    elif isinstance(v, dict):
        for k, x in v.items():
            _check_surrogates(k)
            _check_surrogates(x)


def loads(data: bytes) -> Any:
    """``json_decode($data, true)``; :class:`PackError` when PHP would fail."""
    try:
        text = data.decode("utf-8")
        v = _DECODER.decode(text)
        if "\\u" in text:
            _check_surrogates(v)
    except (ValueError, RecursionError) as exc:
        raise PackError(f"json: {exc}", data) from None
    return v
