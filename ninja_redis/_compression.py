"""phpredis compression framing (``Redis::OPT_COMPRESSION``), byte for byte.

* ``lzf``: raw liblzf output, no header. The output buffer is ``len + max(128, len/25)``
  bytes; if the data does not fit, phpredis stores it *uncompressed*. ``"42"`` ->
  ``01 34 32``. Empty values are stored as is.
* ``zstd``: one zstd frame with the content size (``28 b5 2f fd ...``). Level
  ``compression_level`` when 1..max, else 3.
* ``lz4``: ``crc8(len) || int32-LE len || raw LZ4 block``; ``LZ4_compress_HC`` when the
  level is 1..12. CRC-8: poly 0x31, init 0xFF. ``"42"`` -> ``d0 02 00 00 00 20 34 32``.
  Empty values are stored as is.

:func:`decompress` returns ``None`` whenever phpredis' own decompression would fail;
phpredis then uses the stored bytes unchanged (so plain values written before
compression was enabled stay readable).

LZ4 and zstd compression go through the same C libraries phpredis links against
(``liblz4``, ``libzstd``, loaded with :mod:`ctypes`) when they are installed, so the
bytes match phpredis on that machine even where library versions pick different
matches; otherwise (or with ``NINJA_REDIS_SYSTEM_COMPRESSION=0``) the Python packages
are used. Both produce valid frames that phpredis decompresses identically. LZF uses
``python-lzf``; phpredis builds its own bundled liblzf, whose output can differ for
some large inputs (every value in the golden fixtures matches).

The compression modules are optional (``pip install 'ninja_redis[compression]'``) and
imported only when a value is actually compressed or decompressed.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import importlib
import os
import struct
from types import ModuleType
from typing import Any

from .exceptions import MissingExtraError

__all__ = ["COMPRESSIONS", "compress", "crc8", "decompress"]

COMPRESSIONS = ("none", "lzf", "zstd", "lz4")

_INT_MAX = 2**31 - 1
_UINT_MAX = 2**32 - 1
_LZF_MARGIN = 128
_LZ4_MAX_LEVEL = 12
_ZSTD_DEFAULT_LEVEL = 3

_MODULES: dict[str, ModuleType] = {}


def _module(name: str) -> Any:
    mod = _MODULES.get(name)
    if mod is None:
        module = {"lz4": "lz4.block", "zstd": "zstandard", "lzf": "lzf"}[name]
        try:
            mod = importlib.import_module(module)
        except ImportError:
            raise MissingExtraError(
                f"{name} compression", extra="compression", module=module.split(".")[0]
            ) from None
        _MODULES[name] = mod
    return mod


_SYSTEM: dict[str, Any] = {}


def _system(name: str) -> Any:
    """The system C library ``name`` (or ``None``), loaded once."""
    if name in _SYSTEM:
        return _SYSTEM[name]
    lib: Any = None
    if os.environ.get("NINJA_REDIS_SYSTEM_COMPRESSION", "1") not in (
        "0",
        "false",
        "no",
    ):
        path = ctypes.util.find_library(name)
        if path:
            try:
                lib = ctypes.CDLL(path)
                if name == "lz4":
                    lib.LZ4_compressBound.argtypes = [ctypes.c_int]
                    lib.LZ4_compressBound.restype = ctypes.c_int
                    for fn in (lib.LZ4_compress_default, lib.LZ4_compress_HC):
                        fn.restype = ctypes.c_int
                    lib.LZ4_compress_default.argtypes = [
                        ctypes.c_char_p,
                        ctypes.c_char_p,
                        ctypes.c_int,
                        ctypes.c_int,
                    ]
                    lib.LZ4_compress_HC.argtypes = [
                        ctypes.c_char_p,
                        ctypes.c_char_p,
                        ctypes.c_int,
                        ctypes.c_int,
                        ctypes.c_int,
                    ]
                else:
                    lib.ZSTD_compressBound.restype = ctypes.c_size_t
                    lib.ZSTD_compressBound.argtypes = [ctypes.c_size_t]
                    lib.ZSTD_compress.restype = ctypes.c_size_t
                    lib.ZSTD_compress.argtypes = [
                        ctypes.c_char_p,
                        ctypes.c_size_t,
                        ctypes.c_char_p,
                        ctypes.c_size_t,
                        ctypes.c_int,
                    ]
                    lib.ZSTD_isError.restype = ctypes.c_uint
                    lib.ZSTD_isError.argtypes = [ctypes.c_size_t]
                    lib.ZSTD_maxCLevel.restype = ctypes.c_int
            except (OSError, AttributeError):
                lib = None
    _SYSTEM[name] = lib
    return lib


def _crc8_table() -> bytes:
    table = bytearray(256)
    for i in range(256):
        c = i
        for _ in range(8):
            c = ((c << 1) ^ 0x31) & 0xFF if c & 0x80 else (c << 1) & 0xFF
        table[i] = c
    return bytes(table)


_CRC8 = _crc8_table()
_LEN = struct.Struct("<i")


def crc8(data: bytes) -> int:
    """phpredis' CRC-8 (polynomial 0x31, init 0xFF, no reflection, no final xor)."""
    c = 0xFF
    for b in data:
        c = _CRC8[c ^ b]
    return c


def compress(method: str, data: bytes, level: int | None = None) -> bytes:
    """What phpredis stores for ``data`` under compression ``method``."""
    n = len(data)
    if method == "lzf":
        if n == 0 or n > _UINT_MAX:
            return data
        cap = n + min(_UINT_MAX - n, max(_LZF_MARGIN, n // 25))
        # phpredis compiles its own bundled liblzf: the system liblzf1 build differs
        # more often than python-lzf does, so python-lzf is used here.
        out = _module("lzf").compress(data, cap)
        return data if out is None else bytes(out)
    if method == "zstd":
        lv = level or 0
        if lv < 1:
            lv = _ZSTD_DEFAULT_LEVEL
        lib = _system("zstd")
        if lib is not None:
            lv = min(lv, lib.ZSTD_maxCLevel())
            cap = lib.ZSTD_compressBound(n)
            buf = ctypes.create_string_buffer(cap)
            res = lib.ZSTD_compress(buf, cap, data, n, lv)
            if not lib.ZSTD_isError(res):
                return buf.raw[:res]
        zstd = _module("zstd")
        lv = min(lv, zstd.MAX_COMPRESSION_LEVEL)
        return bytes(
            zstd.ZstdCompressor(level=lv, write_content_size=True).compress(data)
        )
    if method == "lz4":
        if n == 0 or n > _INT_MAX:
            return data
        hdr = _LEN.pack(n)
        lv = level or 0
        head = bytes((crc8(hdr),)) + hdr
        lib = _system("lz4")
        if lib is not None:
            cap = lib.LZ4_compressBound(n)
            buf = ctypes.create_string_buffer(cap)
            if 1 <= lv <= _LZ4_MAX_LEVEL:
                res = lib.LZ4_compress_HC(data, buf, n, cap, lv)
            else:
                res = lib.LZ4_compress_default(data, buf, n, cap)
            return head + buf.raw[:res] if res > 0 else data
        block = _module("lz4")
        if 1 <= lv <= _LZ4_MAX_LEVEL:
            body = block.compress(
                data, mode="high_compression", compression=lv, store_size=False
            )
        else:
            body = block.compress(data, store_size=False)
        return head + bytes(body)
    if method == "none":
        return data
    raise ValueError(f"unknown phpredis compression {method!r}")


def decompress(method: str, data: bytes) -> bytes | None:
    """phpredis' decompression of ``data``, or ``None`` where phpredis fails."""
    n = len(data)
    if method == "lzf":
        if n == 0:
            return None
        lzf = _module("lzf")
        # phpredis retries with a buffer of 2x, 4x, 8x ... the input; one LZF byte
        # pair expands to at most 264 bytes, so 512x always fits a valid stream.
        factor = 2
        while factor <= 512:
            try:
                out = lzf.decompress(data, factor * n)
            except ValueError:
                return None
            if out is not None:
                return bytes(out)
            factor *= 2
        return None
    if method == "zstd":
        zstd = _module("zstd")
        try:
            size = zstd.frame_content_size(data)
        except zstd.ZstdError:
            return None
        # unknown size, > INT_MAX, or impossible for the input length (RLE blocks
        # expand at most ~32768x): phpredis fails or would allocate gigabytes.
        if size < 0 or size > _INT_MAX or size > n * 32768 + 1024:
            return None
        try:
            out = zstd.ZstdDecompressor().decompress(
                data, max_output_size=size, allow_extra_data=False
            )
        except zstd.ZstdError:
            return None
        return bytes(out) if len(out) == size else None
    if method == "lz4":
        if n < 5 or n > _INT_MAX + 5:
            return None
        if crc8(data[1:5]) != data[0]:
            return None
        size = _LEN.unpack_from(data, 1)[0]
        # LZ4 expands at most ~255x; a larger claim is corrupt (and phpredis would
        # try to allocate it).
        if size <= 0 or size > (n - 5) * 255 + 16:
            return None
        block = _module("lz4")
        try:
            out = block.decompress(data[5:], uncompressed_size=size)
        except Exception:  # lz4.block.LZ4BlockError
            return None
        return bytes(out) if len(out) == size else None
    if method == "none":
        return data
    raise ValueError(f"unknown phpredis compression {method!r}")
