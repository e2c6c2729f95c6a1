"""phpredis compression framing: LZF, zstd and LZ4 edge cases."""

from __future__ import annotations

import os
import struct

import pytest

from ninja_redis import _compression as comp
from ninja_redis.codec import PhpRedisPacker


def test_spec_examples() -> None:
    assert comp.compress("lzf", b"42") == b"\x01\x34\x32"
    assert comp.compress("zstd", b"42") == bytes.fromhex(
        "28b52ffd200211000034 32".replace(" ", "")
    )
    assert comp.compress("lz4", b"42") == bytes.fromhex(
        "d0020000002034 32".replace(" ", "")
    )
    payload = b'a:1:{s:5:"theme";s:4:"dark";}'
    assert comp.compress("lzf", payload)[:1] == b"\x1c"
    assert comp.compress("lz4", payload)[:6] == bytes.fromhex("661d000000f0")
    assert comp.compress("zstd", payload)[:9] == bytes.fromhex("28b52ffd201de90000")
    for n, crc in [(2, 0xD0), (8, 0xCB), (29, 0x66), (30, 0xFA), (99, 0xDB)]:
        assert comp.crc8(struct.pack("<i", n)) == crc


@pytest.mark.parametrize("method", ["lzf", "lz4"])
def test_empty_is_stored_uncompressed(method: str) -> None:
    assert comp.compress(method, b"") == b""
    assert comp.decompress(method, b"") is None


def test_zstd_empty_has_a_frame() -> None:
    frame = comp.compress("zstd", b"")
    assert frame[:4] == b"\x28\xb5\x2f\xfd"
    assert comp.decompress("zstd", frame) == b""


def test_lzf_incompressible_fits_margin() -> None:
    data = os.urandom(5000)
    out = comp.compress("lzf", data)
    assert len(out) <= 5000 + 200
    assert comp.decompress("lzf", out) == data


@pytest.mark.parametrize("level", [None, 0, 1, 3, 19, 22, 99, -5])
def test_zstd_levels_round_trip(level: int | None) -> None:
    data = b"hello world " * 300
    assert comp.decompress("zstd", comp.compress("zstd", data, level)) == data


@pytest.mark.parametrize("level", [None, 0, 1, 4, 9, 12, 13, -1])
def test_lz4_levels_round_trip(level: int | None) -> None:
    data = b"hello world " * 300
    out = comp.compress("lz4", data, level)
    assert out[1:5] == struct.pack("<i", len(data))
    assert comp.decompress("lz4", out) == data


def test_lz4_hc_differs_from_default() -> None:
    data = bytes(range(256)) * 20 + b"abcabcabcabd" * 50
    assert comp.compress("lz4", data, 12) != comp.compress("lz4", data)


def test_corrupt_frames_fail_like_phpredis() -> None:
    good = comp.compress("lz4", b"hello hello hello hello")
    assert comp.decompress("lz4", bytes([good[0] ^ 1]) + good[1:]) is None  # bad CRC
    assert comp.decompress("lz4", good[:4]) is None  # short header
    assert comp.decompress("lz4", good[:-3]) is None  # truncated block
    huge = struct.pack("<i", 2**31 - 1)
    assert comp.decompress("lz4", bytes([comp.crc8(huge)]) + huge + b"\x00") is None
    z = comp.compress("zstd", b"hello" * 100)
    assert comp.decompress("zstd", z[:-2]) is None
    assert comp.decompress("zstd", z + b"xx") is None
    assert comp.decompress("zstd", b"not zstd") is None
    assert comp.decompress("lzf", b"\xe0\xff\xff") is None
    assert comp.decompress("lzf", b"\x05ab") is None


def test_packer_falls_back_to_raw_bytes() -> None:
    p = PhpRedisPacker("none", "lz4")
    assert p.unpack(b"plain value") == "plain value"
    p = PhpRedisPacker("igbinary", "zstd")
    assert p.unpack(b"\x00\x00\x00\x02\x06\x05") == 5  # uncompressed igbinary


def test_missing_module(monkeypatch: pytest.MonkeyPatch) -> None:
    from ninja_redis.exceptions import MissingExtraError

    def fake(name: str) -> object:
        raise ImportError(name)

    monkeypatch.setattr(comp, "_MODULES", {})
    monkeypatch.setattr(comp, "_SYSTEM", {"lz4": None, "zstd": None})
    monkeypatch.setattr(comp.importlib, "import_module", fake)
    p = PhpRedisPacker("none", "lz4")  # constructing needs nothing
    with pytest.raises(MissingExtraError) as info:
        p.pack(b"x")
    assert info.value.extra == "compression"
    assert info.value.module == "lz4"
