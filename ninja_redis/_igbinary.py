"""igbinary (the PHP extension, format version 2) reader and writer.

Byte layout (big-endian), as written by ``igbinary_serialize()`` 3.x::

    00 00 00 02                  header (version 2; version 1 is read too)
    00                           null            04 / 05        false / true
    06 NN / 07 NN                int 0..255 / -1..-255 (08/09 16-bit, 0a/0b 32-bit,
                                 20/21 64-bit; magnitude + sign in the type byte)
    0c <8 bytes IEEE double>     float
    0d                           ""              11 LEN "..."   string (12 16-bit, 13 32-bit,
                                                                26 64-bit length)
    0e ID                        the ID-th string already written (0f 16-bit, 10 32-bit)
    14 N <key value>*N           array (15 16-bit, 16 32-bit count); keys are ints or strings
    17 LEN "Class" 14 N ...      object + properties (18/19 longer names,
                                 1a/1b/1c class name by string ID)
    17 LEN "Class" 1d LEN data   Serializable::serialize() payload (1e/1f longer)
    17 LEN "Enum" 27 <string>    enum case (PHP 8.1)
    01 ID / 22 ID                the ID-th array / object already written (02/03, 23/24
                                 longer IDs); 25 <value> marks a PHP reference (&)

Example: ``['theme' => 'dark']`` -> ``00 00 00 02 14 01 11 05 "theme" 11 04 "dark"``.

Strings (values, keys and class names) share one table: the second occurrence of the
same bytes is written as ``0e ID``. Arrays and objects share one ID counter; PHP shares
every empty array, so the second ``[]`` in a value is written as ``01 ID``.
"""

from __future__ import annotations

import struct
from typing import Any

from ._phpvalue import INT64_MAX, INT64_MIN, array_items, make_array, php_str
from .exceptions import PackError, SerializeError
from .php import PhpEnum, PhpObject, PhpRef, PhpSerializable

__all__ = ["dumps", "loads"]

_HEADER = b"\x00\x00\x00\x02"
_pack_d = struct.Struct(">d").pack
_unpack_d = struct.Struct(">d").unpack_from
_U16 = struct.Struct(">H")
_U32 = struct.Struct(">I")
_U64 = struct.Struct(">Q")

# ---------------------------------------------------------------------------------
# writer
# ---------------------------------------------------------------------------------


class _Writer:
    __slots__ = ("buf", "empty_id", "ids", "nrefs", "strings")

    def __init__(self) -> None:
        self.buf: list[bytes] = [_HEADER]
        self.strings: dict[bytes, int] = {}
        self.ids: dict[int, int] = {}  # id(python object) -> igbinary reference id
        self.nrefs = 0
        self.empty_id = -1

    def _id_ref(self, type8: int, n: int) -> None:
        if n <= 0xFF:
            self.buf.append(bytes((type8, n)))
        elif n <= 0xFFFF:
            self.buf.append(bytes((type8 + 1,)) + _U16.pack(n))
        else:
            self.buf.append(bytes((type8 + 2,)) + _U32.pack(n))

    def long(self, v: int) -> None:
        if v >= 0:
            if v <= 0xFF:
                self.buf.append(bytes((0x06, v)))
            elif v <= 0xFFFF:
                self.buf.append(b"\x08" + _U16.pack(v))
            elif v <= 0xFFFFFFFF:
                self.buf.append(b"\x0a" + _U32.pack(v))
            elif v <= INT64_MAX:
                self.buf.append(b"\x20" + _U64.pack(v))
            else:
                raise SerializeError(f"int {v} does not fit in a PHP int", v)
        else:
            k = -v
            if k <= 0xFF:
                self.buf.append(bytes((0x07, k)))
            elif k <= 0xFFFF:
                self.buf.append(b"\x09" + _U16.pack(k))
            elif k <= 0xFFFFFFFF:
                self.buf.append(b"\x0b" + _U32.pack(k))
            elif v >= INT64_MIN:
                self.buf.append(b"\x21" + _U64.pack(k))
            else:
                raise SerializeError(f"int {v} does not fit in a PHP int", v)

    def string(self, s: bytes) -> None:
        n = len(s)
        if n == 0:
            self.buf.append(b"\x0d")
            return
        sid = self.strings.get(s)
        if sid is not None:
            self._id_ref(0x0E, sid)
            return
        self.strings[s] = len(self.strings)
        self._chars(0x11, s)

    def _chars(self, type8: int, s: bytes) -> None:
        n = len(s)
        if n <= 0xFF:
            self.buf.append(bytes((type8, n)))
        elif n <= 0xFFFF:
            self.buf.append(bytes((type8 + 1,)) + _U16.pack(n))
        elif n <= 0xFFFFFFFF:
            self.buf.append(bytes((type8 + 2,)) + _U32.pack(n))
        elif type8 == 0x11:
            self.buf.append(b"\x26" + _U64.pack(n))
        else:  # pragma: no cover - 4 GiB payloads
            raise SerializeError("igbinary length does not fit in 32 bits", None)
        self.buf.append(s)

    def class_name(self, name: str) -> None:
        b = name.encode("utf-8", "surrogateescape")
        sid = self.strings.get(b)
        if sid is not None:
            self._id_ref(0x1A, sid)
            return
        self.strings[b] = len(self.strings)
        if len(b) > 0xFFFFFFFF:  # pragma: no cover
            raise SerializeError("class name too long", name)
        self._chars(0x17, b)

    def key(self, k: Any) -> None:
        if type(k) is int:
            self.long(k)
        elif type(k) is str:
            self.string(k.encode("utf-8", "surrogateescape"))
        else:
            self.string(bytes(k))

    def count(self, n: int) -> None:
        if n <= 0xFF:
            self.buf.append(bytes((0x14, n)))
        elif n <= 0xFFFF:
            self.buf.append(b"\x15" + _U16.pack(n))
        else:
            self.buf.append(b"\x16" + _U32.pack(n))

    def array(self, v: Any, top: bool) -> None:
        if not v:
            # PHP shares one immutable empty array: the 2nd [] is a back reference.
            if top:
                self.nrefs += 1
            elif self.empty_id >= 0:
                self._id_ref(0x01, self.empty_id)
                return
            else:
                self.empty_id = self.nrefs
                self.nrefs += 1
            self.buf.append(b"\x14\x00")
            return
        if not top:
            oid = id(v)
            seen = self.ids.get(oid)
            if seen is not None:
                self._id_ref(0x01, seen)
                return
            self.ids[oid] = self.nrefs
        self.nrefs += 1
        if type(v) is list:
            self.count(len(v))
            long = self.long
            value = self.value
            for i, item in enumerate(v):
                long(i)
                value(item)
            return
        items = array_items(v)
        self.count(len(items))
        for k, item in items:
            self.key(k)
            self.value(item)

    def obj(self, v: Any) -> None:
        oid = id(v)
        seen = self.ids.get(oid)
        if seen is not None:
            self._id_ref(0x22, seen)
            return
        self.ids[oid] = self.nrefs
        self.nrefs += 1
        self.class_name(v.class_name)
        if isinstance(v, PhpSerializable):
            data = bytes(v.data)
            n = len(data)
            if n <= 0xFF:
                self.buf.append(bytes((0x1D, n)))
            elif n <= 0xFFFF:
                self.buf.append(b"\x1e" + _U16.pack(n))
            else:
                self.buf.append(b"\x1f" + _U32.pack(n))
            self.buf.append(data)
            return
        if isinstance(v, PhpEnum):
            self.buf.append(b"\x27")
            self.string(v.case.encode("utf-8", "surrogateescape"))
            return
        props = v.properties
        self.count(len(props))
        for k, item in props.items():
            self.key(k)
            self.value(item)

    def value(self, v: Any, top: bool = False) -> None:
        t = type(v)
        if t is str:
            self.string(v.encode("utf-8", "surrogateescape"))
        elif t is int:
            self.long(v)
        elif v is None:
            self.buf.append(b"\x00")
        elif t is bool:
            self.buf.append(b"\x05" if v else b"\x04")
        elif t is float:
            self.buf.append(b"\x0c" + _pack_d(v))
        elif t is list or t is dict or t is tuple:
            self.array(v, top)
        elif t is bytes or t is bytearray or t is memoryview:
            self.string(bytes(v))
        elif isinstance(v, (PhpObject, PhpSerializable, PhpEnum)):
            self.obj(v)
        elif isinstance(v, PhpRef):
            self.value(v.value, top)
        elif isinstance(v, bool):
            self.buf.append(b"\x05" if v else b"\x04")
        elif isinstance(v, int):
            self.long(int(v))
        elif isinstance(v, float):
            self.buf.append(b"\x0c" + _pack_d(float(v)))
        elif isinstance(v, str):
            self.string(str(v).encode("utf-8", "surrogateescape"))
        elif isinstance(v, (list, tuple, dict)):
            self.array(v, top)
        else:
            raise SerializeError(
                f"igbinary cannot serialize a Python {t.__name__} value", v
            )


def dumps(value: Any) -> bytes:
    """``igbinary_serialize($value)`` (string deduplication on, like the default ini)."""
    w = _Writer()
    try:
        w.value(value, True)
    except RecursionError:
        raise SerializeError("value is nested too deeply", value) from None
    return b"".join(w.buf)


# ---------------------------------------------------------------------------------
# reader
# ---------------------------------------------------------------------------------


_SKIP = object()
_LONG_SIZES = {0x06: 1, 0x07: 1, 0x08: 2, 0x09: 2, 0x0A: 4, 0x0B: 4, 0x20: 8, 0x21: 8}
_NEG_TYPES = frozenset((0x07, 0x09, 0x0B, 0x21))
_STR_SIZES = {0x11: 1, 0x12: 2, 0x13: 4, 0x26: 8}
_ID_SIZES = {0x0E: 1, 0x0F: 2, 0x10: 4}
_COUNT_SIZES = {0x14: 1, 0x15: 2, 0x16: 4}
_OBJ_NAME_SIZES = {0x17: 1, 0x18: 2, 0x19: 4}
_ID_SIZES_OBJ = {0x1A: 1, 0x1B: 2, 0x1C: 4}
_OBJ_TYPES = frozenset((0x17, 0x18, 0x19, 0x1A, 0x1B, 0x1C))
_SER_SIZES = {0x1D: 1, 0x1E: 2, 0x1F: 4}
_REF_SIZES = {0x01: 1, 0x02: 2, 0x03: 4, 0x22: 1, 0x23: 2, 0x24: 4}


class _Reader:
    __slots__ = ("data", "end", "pos", "refs", "strings")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.end = len(data)
        self.pos = 4
        self.strings: list[str | bytes] = []
        self.refs: list[Any] = []

    def fail(self, msg: str) -> PackError:
        return PackError(f"igbinary: {msg} at offset {self.pos}", self.data)

    def need(self, n: int) -> None:
        if self.end - self.pos < n:
            raise self.fail("unexpected end of data")

    def u(self, size: int) -> int:
        self.need(size)
        p = self.pos
        self.pos = p + size
        if size == 1:
            return self.data[p]
        if size == 2:
            return int(_U16.unpack_from(self.data, p)[0])
        if size == 4:
            return int(_U32.unpack_from(self.data, p)[0])
        return int(_U64.unpack_from(self.data, p)[0])

    def long(self, t: int) -> int:
        size = _LONG_SIZES[t]
        k = self.u(size)
        neg = t in _NEG_TYPES
        if (
            size == 8
            and k >= 0x8000000000000000
            and (k > 0x8000000000000000 or not neg)
        ):
            return 0  # igbinary: "too big 64bit long" -> 0
        return -k if neg else k

    def chars(self, t: int, sizes: dict[int, int] = _STR_SIZES) -> bytes:
        size = sizes[t]
        n = self.u(size)
        self.need(n)
        p = self.pos
        self.pos = p + n
        return self.data[p : p + n]

    def new_string(self, t: int, sizes: dict[int, int] = _STR_SIZES) -> str | bytes:
        s = php_str(self.chars(t, sizes))
        self.strings.append(s)
        return s

    def string_id(self, t: int) -> str | bytes:
        i = self.u(_ID_SIZES[t])
        if i >= len(self.strings):
            raise self.fail("string id out of range")
        return self.strings[i]

    def key(self) -> Any:
        self.need(1)
        t = self.data[self.pos]
        self.pos += 1
        if t in _LONG_SIZES:
            return self.long(t)
        if t in _STR_SIZES:
            return self.new_string(t)
        if t in _ID_SIZES:
            return self.string_id(t)
        if t == 0x0D:
            return ""
        if t == 0x00:
            return _SKIP
        self.pos -= 1
        raise self.fail(f"unknown array key type 0x{t:02x}")

    def array(self, t: int) -> Any:
        n = self.u(_COUNT_SIZES[t])
        slot = len(self.refs)
        if n == 0:
            self.refs.append([])
            return []
        self.need(n)  # every element needs at least one byte
        keys: list[Any] = []
        values: list[Any] = []
        self.refs.append(None)
        for _ in range(n):
            k = self.key()
            if k is _SKIP:
                continue
            keys.append(k)
            values.append(self.value())
        arr = make_array(keys, values)
        self.refs[slot] = arr
        return arr

    def obj(self, t: int) -> Any:
        if t in _ID_SIZES_OBJ:
            i = self.u(_ID_SIZES_OBJ[t])
            if i >= len(self.strings):
                raise self.fail("class name id out of range")
            name = self.strings[i]
        else:
            name = self.new_string(t, _OBJ_NAME_SIZES)
        cname = (
            name if isinstance(name, str) else name.decode("utf-8", "surrogateescape")
        )
        self.need(1)
        slot = len(self.refs)
        self.refs.append(None)
        inner = self.data[self.pos]
        self.pos += 1
        result: Any
        if inner in _COUNT_SIZES:
            n = self.u(_COUNT_SIZES[inner])
            self.need(n)
            result = PhpObject(cname)
            self.refs[slot] = result
            props = result.properties
            for _ in range(n):
                k = self.key()
                if k is _SKIP:
                    continue
                props[k] = self.value()
        elif inner in _SER_SIZES:
            n = self.u(_SER_SIZES[inner])
            self.need(n)
            p = self.pos
            self.pos = p + n
            result = PhpSerializable(cname, self.data[p : p + n])
        elif inner == 0x27:
            self.need(1)
            ct = self.data[self.pos]
            self.pos += 1
            if ct in _STR_SIZES:
                case = self.new_string(ct)
            elif ct in _ID_SIZES:
                case = self.string_id(ct)
            else:
                raise self.fail("bad enum case name")
            case_s = case if isinstance(case, str) else case.decode("utf-8", "replace")
            result = PhpEnum(cname, case_s)
        else:
            self.pos -= 1
            raise self.fail(f"unknown object inner type 0x{inner:02x}")
        self.refs[slot] = result
        return result

    def ref(self, t: int) -> Any:
        i = self.u(_REF_SIZES[t])
        if i >= len(self.refs):
            raise self.fail("reference id out of range")
        v = self.refs[i]
        # an array back reference is a copy-on-write copy in PHP (objects are shared)
        return _copy_array(v) if type(v) is list or type(v) is dict else v

    def value(self) -> Any:
        self.need(1)
        data = self.data
        t = data[self.pos]
        self.pos += 1
        if t in _STR_SIZES:
            n = self.u(_STR_SIZES[t])
            self.need(n)
            p = self.pos
            self.pos = p + n
            s = php_str(data[p : p + n])
            self.strings.append(s)
            return s
        if t in _LONG_SIZES:
            return self.long(t)
        if t in _COUNT_SIZES:
            return self.array(t)
        if t in _ID_SIZES:
            return self.string_id(t)
        if t == 0x00:
            return None
        if t == 0x04:
            return False
        if t == 0x05:
            return True
        if t == 0x0C:
            self.need(8)
            p = self.pos
            self.pos = p + 8
            return _unpack_d(data, p)[0]
        if t == 0x0D:
            return ""
        if t in _OBJ_TYPES:
            return self.obj(t)
        if t in _REF_SIZES:
            return self.ref(t)
        if t == 0x25:
            self.need(1)
            inner = data[self.pos]
            v = self.value()
            if inner not in _COUNT_SIZES and inner not in _OBJ_TYPES:
                if inner not in _REF_SIZES:
                    self.refs.append(v)  # a referenced scalar gets an id too
            return v
        self.pos -= 1
        raise self.fail(f"unknown type 0x{t:02x}")


def _copy_array(v: Any) -> Any:
    if type(v) is list:
        return [_copy_array(x) for x in v]
    if type(v) is dict:
        return {k: _copy_array(x) for k, x in v.items()}
    return v


def loads(data: bytes) -> Any:
    """``igbinary_unserialize()`` of ``data`` (header version 1 or 2, no trailing bytes).

    Raises :class:`~ninja_redis.exceptions.PackError` on anything igbinary rejects.
    """
    if len(data) < 5:
        raise PackError("igbinary: need at least 5 bytes", data)
    if data[:4] not in (b"\x00\x00\x00\x02", b"\x00\x00\x00\x01"):
        raise PackError("igbinary: unsupported header (want version 1 or 2)", data)
    r = _Reader(bytes(data))
    try:
        v = r.value()
    except RecursionError:
        raise PackError("igbinary: value is nested too deeply", data) from None
    if r.pos != r.end:
        raise r.fail("unexpected data after the value")
    return v
