"""LaravelCacheCodec against every cache value real Laravel wrote in the golden fixtures.

For each ``phpredis_*`` and ``cache_*`` scenario of every Laravel version: the bytes
``put``/``forever``/``add`` stored must equal ``codec.dumps*(input)``, ``get`` must
return what Laravel returned, and packed tag-set members must round-trip.
"""

from __future__ import annotations

from typing import Any

import pytest

from ninja_redis import php
from ninja_redis.codec import LaravelCacheCodec
from ninja_redis.exceptions import UnserializeError
from tests._shared import dump_keys, iter_fixtures, raw

_WRITE = ("cache:put", "cache:forever", "cache:add")


def _version(v: str) -> tuple[int, int]:
    major, minor = v.split(".")[:2]
    return int(major), int(minor)


def _codec(version: str, data: dict[str, Any]) -> LaravelCacheCodec:
    cfg = data["config"]
    return LaravelCacheCodec(
        _version(version),
        serializer=cfg.get("serializer") or "none",
        compression=cfg.get("compression") or "none",
    )


def _cache_prefix(version: str, data: dict[str, Any]) -> bytes:
    cfg = data["config"]
    colon = ":" if _version(version) < (11, 0) and cfg["cache_prefix"] else ""
    return (cfg["redis_prefix"] + cfg["cache_prefix"] + colon).encode()


def _cases() -> list[Any]:
    writes, reads, members = [], [], []
    for version, scenario, data in iter_fixtures():
        if not scenario.startswith(("phpredis_", "cache_")):
            continue
        prefix = _cache_prefix(version, data)
        final = dump_keys(data)
        for i, step in enumerate(data["steps"]):
            out = step["output"]
            cmd = out.get("command")
            sid = f"{version}-{scenario}-{i}-{cmd}"
            dump = (
                dump_keys({"final_dump": step["dump_after"]})
                if "dump_after" in step
                else final
            )
            if cmd in _WRITE and "input" in out and out.get("return") is not False:
                key = prefix + out["input"]["key"].encode()
                if key in dump and dump[key]["type"] == "string":
                    writes.append(
                        pytest.param(
                            version,
                            scenario,
                            cmd,
                            out["input"]["value"],
                            raw(dump[key]["value"]),
                            id=sid,
                        )
                    )
            elif cmd == "cache:get" and "key" in out:
                key = prefix + out["key"].encode()
                entry = final.get(key)
                if entry is not None and entry["type"] == "string":
                    reads.append(
                        pytest.param(
                            version, scenario, out, raw(entry["value"]), id=sid
                        )
                    )
            elif cmd == "tags:put":
                item_key = out["item_key"]
                for tag in out["input"]["tags"]:
                    zkey = prefix + f"tag:{tag}:entries".encode()
                    if zkey in final:
                        for m in final[zkey]["members"]:
                            members.append(
                                pytest.param(
                                    version,
                                    scenario,
                                    item_key,
                                    raw(m["member"]),
                                    id=f"{sid}-{tag}",
                                )
                            )
    return [writes, reads, members]


WRITES, READS, MEMBERS = _cases()
_DATA = {(v, s): d for v, s, d in iter_fixtures()}


def test_fixture_cases_found() -> None:
    assert len(WRITES) >= 280
    assert len(READS) > 150
    assert len(MEMBERS) >= 28


@pytest.mark.parametrize(("version", "scenario", "cmd", "value", "stored"), WRITES)
def test_dumps_matches_laravel(
    version: str, scenario: str, cmd: str, value: dict[str, Any], stored: bytes
) -> None:
    codec = _codec(version, _DATA[version, scenario])
    py_value = php.loads(raw(value["serialize"]))
    got = codec.dumps_for_add(py_value) if cmd == "cache:add" else codec.dumps(py_value)
    assert got == stored


@pytest.mark.parametrize(("version", "scenario", "out", "stored"), READS)
def test_loads_matches_laravel_get(
    version: str, scenario: str, out: dict[str, Any], stored: bytes
) -> None:
    codec = _codec(version, _DATA[version, scenario])
    if "error" in out:
        # Laravel <= 11.38 + php serializer: get() after add() throws TypeError
        assert "TypeError" in out["error"]
        with pytest.raises(UnserializeError, match="TypeError"):
            codec.loads(stored)
        return
    expected = php.loads(raw(out["value"]["serialize"]))
    got = codec.loads(stored)
    assert got == expected
    assert type(got) is type(expected)


@pytest.mark.parametrize(("version", "scenario", "item_key", "member"), MEMBERS)
def test_tag_members(version: str, scenario: str, item_key: str, member: bytes) -> None:
    codec = _codec(version, _DATA[version, scenario])
    assert codec.pack_member(item_key) == member
    assert codec.unpack_member(member) == item_key
