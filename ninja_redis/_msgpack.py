"""MessagePack as the PHP ``msgpack`` extension writes and reads it (phpredis serializer 3).

Writer rules (``msgpack_pack()``):

* PHP lists (keys ``0..n-1`` in order) -> msgpack array, every other array -> map
  (``[1, 2, 3]`` -> ``93 01 02 03``; ``['name' => 'x']`` -> ``81 a4 "name" a1 "x"``);
* ints in the smallest encoding (``42`` -> ``2a``, ``-33`` -> ``d0 df``, ``128`` -> ``cc 80``);
* floats always float64 (``2.5`` -> ``cb 40 04 00 00 00 00 00 00``);
* every PHP string is a msgpack ``str`` (fixstr, then ``d9`` str8 for 32..255 bytes,
  ``da``/``db``), never ``bin``;
* objects are maps whose first entry is ``nil => "Class"`` followed by the properties.

Reading uses the ``msgpack`` package (C accelerated) and maps the result like every
decoder in ninja_redis (strings -> ``str`` if UTF-8, arrays -> ``list``/``dict``).
Trailing bytes after the value are ignored, like the extension does.
"""

from __future__ import annotations

import struct
from typing import Any

import msgpack  # type: ignore[import-untyped]

from ._phpvalue import INT64_MAX, INT64_MIN, array_items, is_list_like, php_str
from .exceptions import PackError, SerializeError
from .php import PhpEnum, PhpObject, PhpRef, PhpSerializable

__all__ = ["dumps", "loads"]

_pack_d = struct.Struct(">d").pack
_B = struct.Struct(">B")
_H = struct.Struct(">H")
_I = struct.Struct(">I")
_Q = struct.Struct(">Q")
_b = struct.Struct(">b")
_h = struct.Struct(">h")
_i = struct.Struct(">i")
_q = struct.Struct(">q")


def _int(v: int, out: list[bytes]) -> None:
    if v >= 0:
        if v < 0x80:
            out.append(bytes((v,)))
        elif v <= 0xFF:
            out.append(b"\xcc" + _B.pack(v))
        elif v <= 0xFFFF:
            out.append(b"\xcd" + _H.pack(v))
        elif v <= 0xFFFFFFFF:
            out.append(b"\xce" + _I.pack(v))
        elif v <= INT64_MAX:
            out.append(b"\xcf" + _Q.pack(v))
        else:
            raise SerializeError(f"int {v} does not fit in a PHP int", v)
    elif v >= -32:
        out.append(bytes((v & 0xFF,)))
    elif v >= -0x80:
        out.append(b"\xd0" + _b.pack(v))
    elif v >= -0x8000:
        out.append(b"\xd1" + _h.pack(v))
    elif v >= -0x80000000:
        out.append(b"\xd2" + _i.pack(v))
    elif v >= INT64_MIN:
        out.append(b"\xd3" + _q.pack(v))
    else:
        raise SerializeError(f"int {v} does not fit in a PHP int", v)


def _str(b: bytes, out: list[bytes]) -> None:
    n = len(b)
    if n < 32:
        out.append(bytes((0xA0 | n,)))
    elif n <= 0xFF:
        out.append(b"\xd9" + _B.pack(n))
    elif n <= 0xFFFF:
        out.append(b"\xda" + _H.pack(n))
    else:
        out.append(b"\xdb" + _I.pack(n))
    out.append(b)


def _map_header(n: int, out: list[bytes]) -> None:
    if n < 16:
        out.append(bytes((0x80 | n,)))
    elif n <= 0xFFFF:
        out.append(b"\xde" + _H.pack(n))
    else:
        out.append(b"\xdf" + _I.pack(n))


def _key(k: Any, out: list[bytes]) -> None:
    if type(k) is int:
        _int(k, out)
    elif type(k) is str:
        _str(k.encode("utf-8", "surrogateescape"), out)
    else:
        _str(bytes(k), out)


def _value(v: Any, out: list[bytes]) -> None:
    t = type(v)
    if t is str:
        _str(v.encode("utf-8", "surrogateescape"), out)
    elif t is int:
        _int(v, out)
    elif v is None:
        out.append(b"\xc0")
    elif t is bool:
        out.append(b"\xc3" if v else b"\xc2")
    elif t is float:
        out.append(b"\xcb" + _pack_d(v))
    elif t is list or t is tuple:
        n = len(v)
        if n < 16:
            out.append(bytes((0x90 | n,)))
        elif n <= 0xFFFF:
            out.append(b"\xdc" + _H.pack(n))
        else:
            out.append(b"\xdd" + _I.pack(n))
        for item in v:
            _value(item, out)
    elif t is dict:
        items = array_items(v)
        if is_list_like(items):
            _value([x for _, x in items], out)
            return
        _map_header(len(items), out)
        for k, item in items:
            _key(k, out)
            _value(item, out)
    elif t is bytes or t is bytearray or t is memoryview:
        _str(bytes(v), out)
    elif isinstance(v, PhpObject):
        props = v.properties
        _map_header(len(props) + 1, out)
        out.append(b"\xc0")
        _str(v.class_name.encode("utf-8", "surrogateescape"), out)
        for k, item in props.items():
            _key(k, out)
            _value(item, out)
    elif isinstance(v, PhpRef):
        _value(v.value, out)
    elif isinstance(v, (PhpEnum, PhpSerializable)):
        raise SerializeError(
            f"msgpack: cannot serialize {type(v).__name__} {v.class_name}", v
        )
    elif isinstance(v, bool):
        out.append(b"\xc3" if v else b"\xc2")
    elif isinstance(v, int):
        _int(int(v), out)
    elif isinstance(v, float):
        out.append(b"\xcb" + _pack_d(float(v)))
    elif isinstance(v, str):
        _str(str(v).encode("utf-8", "surrogateescape"), out)
    elif isinstance(v, (list, tuple, dict)):
        _value(list(v) if not isinstance(v, dict) else dict(v), out)
    else:
        raise SerializeError(f"msgpack cannot serialize a Python {t.__name__} value", v)


def dumps(value: Any) -> bytes:
    """``msgpack_pack($value)`` of the PHP msgpack extension."""
    out: list[bytes] = []
    try:
        _value(value, out)
    except RecursionError:
        raise SerializeError("value is nested too deeply", value) from None
    return b"".join(out)


def _conv(v: Any) -> Any:
    if type(v) is bytes:
        return php_str(v)
    return v


def _list_hook(items: list[Any]) -> list[Any]:
    for i, v in enumerate(items):
        if type(v) is bytes:
            items[i] = php_str(v)
    return items


def _pairs_hook(pairs: list[tuple[Any, Any]]) -> Any:
    if pairs and pairs[0][0] is None and isinstance(pairs[0][1], (bytes, str)):
        name = pairs[0][1]
        cname = (
            name.decode("utf-8", "surrogateescape") if isinstance(name, bytes) else name
        )
        obj = PhpObject(cname)
        props = obj.properties
        for k, v in pairs[1:]:
            if k is None:
                raise PackError("msgpack: PHP object references are not supported")
            props[_mkey(k)] = _conv(v)
        return obj
    keys = []
    values = []
    for k, v in pairs:
        keys.append(_mkey(k))
        values.append(_conv(v))
    for i, k in enumerate(keys):
        if k != i or type(k) is not int:
            return dict(zip(keys, values, strict=True))
    return values


def _mkey(k: Any) -> Any:
    t = type(k)
    if t is int:
        return k
    if t is bytes:
        s = php_str(k)
        # PHP stores numeric string keys ("5") as int keys
        if isinstance(s, str) and s and (s[0] in "-0123456789"):
            from ._phpvalue import _key

            return _key(s)
        return s
    if k is None:
        return ""
    if t is bool:
        return int(k)
    if t is float:
        return int(k)
    raise PackError(f"msgpack: unsupported map key type {t.__name__}")


def loads(data: bytes) -> Any:
    """``msgpack_unpack()`` as phpredis calls it; :class:`PackError` when it fails."""
    if not data:
        raise PackError("msgpack: empty input")
    try:
        v = msgpack.unpackb(
            data,
            raw=True,
            strict_map_key=False,
            use_list=True,
            list_hook=_list_hook,
            object_pairs_hook=_pairs_hook,
        )
    except msgpack.ExtraData as extra:
        v = extra.unpacked
    except PackError:
        raise
    except (ValueError, TypeError, RecursionError, msgpack.UnpackException) as exc:
        raise PackError(f"msgpack: {exc}", data) from None
    if isinstance(v, msgpack.ExtType):
        raise PackError("msgpack: extension types are not supported", data)
    return _conv(v)
