"""Laravel cache values and phpredis value packing, byte for byte.

Two layers:

* :class:`PhpRedisPacker` is phpredis itself: ``pack()`` is ``Redis::_pack()`` (what
  ``SET`` stores when ``OPT_SERIALIZER`` / ``OPT_COMPRESSION`` are set), ``unpack()`` is
  what ``GET`` returns.
* :class:`LaravelCacheCodec` is Laravel's ``RedisStore`` on top of it: numbers stored
  raw, everything else ``serialize()``-d, and the version-dependent interaction with a
  connection-level phpredis serializer (see ``docs/serializers.md``).

Pure module: no ``redis`` / ``asyncio`` imports.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from enum import Enum
from typing import Any

from . import _compression
from ._phpvalue import format_php_number, is_php_numeric, php_str
from .exceptions import PackError, SerializeError, UnserializeError
from .php import dumps as php_dumps
from .php import loads as php_loads

__all__ = [
    "COMPRESSIONS",
    "SERIALIZERS",
    "LaravelCacheCodec",
    "PhpRedisPacker",
    "format_php_number",
    "is_php_numeric",
]

SERIALIZERS = ("none", "php", "igbinary", "msgpack", "json")
COMPRESSIONS = _compression.COMPRESSIONS

#: ``Redis::SERIALIZER_*`` / ``Redis::COMPRESSION_*`` numbers (and Laravel's config
#: names) accepted as aliases.
_SERIALIZER_ALIASES = {
    0: "none",
    1: "php",
    2: "igbinary",
    3: "msgpack",
    4: "json",
    "": "none",
}
_COMPRESSION_ALIASES = {0: "none", 1: "lzf", 2: "zstd", 3: "lz4", "": "none"}


def _norm(
    value: Any, names: tuple[str, ...], aliases: dict[Any, str], what: str
) -> str:
    if value is None:
        return "none"
    if isinstance(value, str):
        v = value.strip().lower()
        for prefix in ("redis::serializer_", "redis::compression_"):
            if v.startswith(prefix):
                v = v[len(prefix) :]
        v = aliases.get(v, v)
        if v in names:
            return v
    elif isinstance(value, int) and not isinstance(value, bool) and value in aliases:
        return aliases[value]
    raise ValueError(f"unknown phpredis {what} {value!r}; expected one of {names}")


def _none_string(value: Any) -> bytes:
    """phpredis with serializer none: ``zval_get_string()`` of the value."""
    t = type(value)
    if t is bytes:
        return value  # type: ignore[no-any-return]
    if t is str:
        return value.encode("utf-8", "surrogateescape")  # type: ignore[no-any-return]
    if t is int or t is float:
        return format_php_number(value).encode("ascii")
    if value is None or value is False:
        return b""
    if value is True:
        return b"1"
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, (list, tuple, dict)):
        return b"Array"
    from .php import PhpEnum, PhpObject, PhpSerializable

    if isinstance(value, (PhpObject, PhpSerializable, PhpEnum)):
        return b"Object"
    if isinstance(value, (int, float)):
        return format_php_number(value).encode("ascii")
    raise SerializeError(f"cannot send a Python {t.__name__} to Redis", value)


class PhpRedisPacker:
    """phpredis' value packing for one connection configuration.

    ``serializer``: ``"none"``, ``"php"``, ``"igbinary"``, ``"msgpack"`` or ``"json"``
    (``Redis::SERIALIZER_*`` numbers work too). ``compression``: ``"none"``, ``"lzf"``,
    ``"zstd"`` or ``"lz4"``; ``compression_level`` is ``Redis::OPT_COMPRESSION_LEVEL``.

    ``pack(value)`` returns exactly what ``Redis::_pack()`` (and so ``SET``) produces:
    serialize, then compress. ``unpack(data)`` mirrors phpredis reading a reply: if
    decompression fails the stored bytes are used unchanged, and if unserializing
    fails the (decompressed) bytes are returned as a PHP string. Pass
    ``strict=True`` to get a :class:`~ninja_redis.exceptions.PackError` instead.

    Use the lenient default wherever phpredis would read the same key (cache ``get``,
    tag members, lock owners), so Python sees what PHP sees; use ``strict=True`` when a
    value *must* be in the configured format (e.g. validating data before migrating it).

    The compression modules are optional: ``lz4``/``zstandard``/``lzf`` are imported on
    first use and :class:`~ninja_redis.exceptions.MissingExtraError` is raised then.

    .. versionadded:: 0.1
    """

    __slots__ = ("_dump", "_load", "compression", "compression_level", "serializer")

    def __init__(
        self,
        serializer: str | int | None = "none",
        compression: str | int | None = "none",
        compression_level: int | None = None,
    ) -> None:
        self.serializer = _norm(
            serializer, SERIALIZERS, _SERIALIZER_ALIASES, "serializer"
        )
        self.compression = _norm(
            compression, COMPRESSIONS, _COMPRESSION_ALIASES, "compression"
        )
        self.compression_level = compression_level
        s = self.serializer
        if s == "php":
            self._dump: Any = php_dumps
            self._load: Any = php_loads
        elif s == "igbinary":
            from . import _igbinary

            self._dump, self._load = _igbinary.dumps, _igbinary.loads
        elif s == "msgpack":
            from . import _msgpack

            self._dump, self._load = _msgpack.dumps, _msgpack.loads
        elif s == "json":
            from . import _phpjson

            self._dump, self._load = _phpjson.dumps, _phpjson.loads
        else:
            self._dump, self._load = _none_string, None

    @property
    def is_active(self) -> bool:
        """True when values are serialized or compressed (phpredis packs them)."""
        return self.serializer != "none" or self.compression != "none"

    def __repr__(self) -> str:
        return (
            f"PhpRedisPacker(serializer={self.serializer!r}, "
            f"compression={self.compression!r}, "
            f"compression_level={self.compression_level!r})"
        )

    def serialize(self, value: Any) -> bytes:
        """``Redis::_serialize()``: the serializer step only (no compression)."""
        return bytes(self._dump(value))

    def pack(self, value: Any) -> bytes:
        """``Redis::_pack()``: serialize, then compress (see the module docs)."""
        data = self._dump(value)
        if self.compression == "none":
            return bytes(data)
        return _compression.compress(
            self.compression, bytes(data), self.compression_level
        )

    def unserialize(self, data: bytes, *, strict: bool = False) -> Any:
        """``Redis::_unserialize()``: the serializer step only."""
        load = self._load
        if load is None:
            return php_str(bytes(data))
        try:
            return load(bytes(data))
        except (PackError, UnserializeError) as exc:
            if strict:
                if isinstance(exc, PackError):
                    raise
                raise PackError(
                    f"php unserialize failed: {exc.reason}", bytes(data)
                ) from exc
            return php_str(bytes(data))

    def unpack(self, data: bytes, *, strict: bool = False) -> Any:
        """``Redis::_unpack()`` / what ``GET`` returns for stored bytes ``data``."""
        data = bytes(data)
        if self.compression != "none":
            raw = _compression.decompress(self.compression, data)
            if raw is None:
                if strict:
                    raise PackError(f"{self.compression} decompression failed", data)
            else:
                data = raw
        return self.unserialize(data, strict=strict)


def _raw_numeric_string(data: bytes) -> bool:
    """Does RedisStore store this string raw? ``is_numeric`` and finite as a float:
    ``"1e999"`` is numeric but overflows to INF, so it is ``serialize()``-d
    (8.x–12.28 ``! in_array($value, [INF, -INF])``, 12.29+ ``is_finite($value)``)."""
    return is_php_numeric(data) and math.isfinite(float(data))


def _php_scalar(value: Any) -> Any:
    """The plain ``int``/``float``/``str``/``bytes`` behind a subclass instance
    (``numpy.float64``, a ``str`` subclass) or a ``bytearray``/``memoryview``: the PHP
    value is the same, so RedisStore's numeric rule must see it. ``bool`` and enum
    members are left alone (not numbers in PHP; enums need ``PhpEnum``)."""
    if isinstance(value, (bool, Enum)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    return value


def _finite_number(value: Any) -> bool:
    t = type(value)
    if t is int:
        return True
    if t is float:
        return math.isfinite(value)
    return False


class LaravelCacheCodec:
    """Laravel ``RedisStore`` value encoding for one store configuration.

    ``laravel_version``: ``(major, minor)`` of the PHP application (the rules changed
    in 11.39). ``serializer`` / ``compression`` / ``compression_level``: the phpredis
    options of the cache connection (``database.redis.cache.options``).
    ``allowed_classes``: Laravel 12.53+ ``cache.serializable_classes`` (``True`` = all;
    ignored before 12.53, which revives every class).

    Without a phpredis serializer Laravel stores PHP numbers raw (``42``, ``0.3``,
    numeric strings byte for byte) and ``serialize()``-s everything else; ``get()``
    returns a stored number as a *string* (``"42"``), like Laravel does.

    .. versionadded:: 0.1
    """

    __slots__ = ("_legacy", "_plain", "allowed_classes", "laravel_version", "packer")

    def __init__(
        self,
        laravel_version: tuple[int, int] | tuple[int, int, int] = (12, 67),
        serializer: str | int | None = "none",
        compression: str | int | None = "none",
        compression_level: int | None = None,
        allowed_classes: bool | Iterable[str] = True,
    ) -> None:
        self.laravel_version = tuple(laravel_version)
        self.packer = PhpRedisPacker(serializer, compression, compression_level)
        if self.laravel_version[:2] < (12, 53):
            # cache.serializable_classes is read from 12.53 on (spec §0 row 9)
            allowed_classes = True
        if allowed_classes is not True and not isinstance(allowed_classes, bool):
            allowed_classes = frozenset(allowed_classes)
        self.allowed_classes = allowed_classes
        self._plain = not self.packer.is_active
        #: before 11.39 Laravel serialized first and let phpredis serialize again
        self._legacy = self.laravel_version[:2] < (11, 39)

    def __repr__(self) -> str:
        p = self.packer
        return (
            f"LaravelCacheCodec(laravel_version={self.laravel_version!r}, "
            f"serializer={p.serializer!r}, compression={p.compression!r})"
        )

    is_php_numeric = staticmethod(is_php_numeric)

    # -- Laravel's own encoding E(v) ---------------------------------------------

    def _php_loads(self, data: bytes) -> Any:
        if not data:
            return False  # unserialize('') is false, without a notice
        if self.allowed_classes is True:
            return php_loads(data)
        return php_loads(data, allowed_classes=self.allowed_classes)

    @staticmethod
    def encode(value: Any) -> bytes:
        """Laravel's ``RedisStore::serialize()`` without a phpredis serializer.

        Finite ints/floats -> decimal (PHP ``(string)``, precision 14); numeric strings
        byte for byte; everything else -> PHP ``serialize()``. ``bool`` is not numeric.
        """
        t = type(value)
        if t is str:
            b = value.encode("utf-8", "surrogateescape")
            if _raw_numeric_string(b):
                return b  # type: ignore[no-any-return]
        elif t is int:
            return str(value).encode("ascii")
        elif t is float:
            if math.isfinite(value):
                return format_php_number(value).encode("ascii")
        elif t is bytes:
            if _raw_numeric_string(value):
                return value  # type: ignore[no-any-return]
        else:
            plain = _php_scalar(value)
            if plain is not value:
                return LaravelCacheCodec.encode(plain)
        return php_dumps(value)

    def decode(self, data: bytes) -> Any:
        """Laravel's ``RedisStore::unserialize()`` of plain stored bytes.

        A PHP numeric string comes back as ``str`` (``"42"``); anything else is
        ``unserialize()``-d. Corrupt data raises
        :class:`~ninja_redis.exceptions.UnserializeError` (never ``None``).
        """
        if is_php_numeric(data):
            return data.decode("ascii")
        return self._php_loads(data)

    # -- public API ---------------------------------------------------------------

    def dumps(self, value: Any) -> bytes:
        """The bytes ``put()`` / ``forever()`` / ``putMany()`` store for ``value``."""
        if self._plain:
            t = type(value)
            if t is dict or t is list:  # hot path: arrays are never PHP-numeric
                return php_dumps(value)
            return self.encode(value)
        packer = self.packer
        if packer.serializer == "none":
            return packer.pack(self.encode(value))
        value = _php_scalar(value)
        if self._legacy:
            # <= 11.38: RedisStore::serialize() returned numbers as PHP numbers and
            # everything else as serialize() text; phpredis then packed that:
            # 42 -> i:42;   ['a'=>1] -> s:14:"a:1:{s:1:"a";i:1;}";
            if _finite_number(value):
                return packer.pack(value)
            if isinstance(value, (str, bytes)) and _raw_numeric_string(
                value.encode("utf-8", "surrogateescape")
                if isinstance(value, str)
                else value
            ):
                return packer.pack(value)
            return packer.pack(php_dumps(value))
        return packer.pack(value)

    def dumps_for_add(self, value: Any) -> bytes:
        """The bytes ``add()`` stores (an EVAL argument, which phpredis never packs).

        11.39+ packs it itself, so this equals :meth:`dumps`; before 11.39 it is the
        plain Laravel encoding (no phpredis serializer, no compression).
        """
        if self._legacy:
            return self.encode(value)
        return self.dumps(value)

    def loads(self, data: bytes) -> Any:
        """What Laravel's ``Cache::get()`` returns for stored bytes ``data``.

        * plain: numeric strings as ``str``, else ``unserialize()``;
        * compression only: decompressed (or used as is, like phpredis), then as plain;
        * with a phpredis serializer: phpredis' lenient unpack (numbers come back as
          ``int``/``float``); before 11.39 the unpacked string is ``unserialize()``-d a
          second time, like Laravel did.

        Raises :class:`~ninja_redis.exceptions.UnserializeError` for corrupt data and
        where Laravel itself throws (before 11.39 with the php serializer, a value
        written by ``add()`` unpacks to an array and Laravel raises ``TypeError``).
        """
        if self._plain:
            # hot path. serialize() output starts with a type letter (a:, s:, O:, N;
            # ...), a PHP numeric string with a digit, sign, dot or whitespace
            # (all <= b"9"), so a letter first skips the is_numeric regex.
            if type(data) is bytes and data[:1] > b"9":
                if self.allowed_classes is True:
                    return php_loads(data)
                return php_loads(data, allowed_classes=self.allowed_classes)
            if is_php_numeric(data):
                return bytes(data).decode("ascii")
            return self._php_loads(bytes(data))
        packer = self.packer
        if packer.serializer == "none":
            raw = _compression.decompress(packer.compression, bytes(data))
            return self.decode(bytes(data) if raw is None else raw)
        value = packer.unpack(data)
        if not self._legacy:
            return value
        # Laravel <= 11.38: is_numeric($value) ? $value : unserialize($value)
        t = type(value)
        if t is int or t is float:
            return value
        if t is str or t is bytes:
            b = value.encode("utf-8", "surrogateescape") if t is str else value
            if is_php_numeric(b):
                return value
            return self._php_loads(b)
        raise UnserializeError(
            "Laravel < 11.39 throws TypeError here: phpredis unpacked the value to a "
            f"PHP {type(value).__name__}, which RedisStore then passes to unserialize() "
            "(typically a value written by add() under a phpredis serializer)",
            bytes(data),
        )

    def pack_member(self, member: str | bytes) -> bytes:
        """A tag-set member or lock owner as phpredis sends it (packed when a serializer
        or compression is configured, plain bytes otherwise)."""
        if self._plain:
            return (
                member.encode("utf-8", "surrogateescape")
                if isinstance(member, str)
                else bytes(member)
            )
        return self.packer.pack(member)

    def unpack_member(self, data: bytes) -> str | bytes:
        """The string behind a packed tag-set member or lock owner (lenient, like
        phpredis: unpackable bytes come back unchanged)."""
        if self._plain:
            return php_str(bytes(data))
        value = self.packer.unpack(data)
        if isinstance(value, (str, bytes)):
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return format_php_number(value)
        return php_str(bytes(data))
