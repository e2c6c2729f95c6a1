"""Replay every cache / tag / lock golden fixture through ninja_redis and compare bytes.

For each ``laravel-X/<scenario>.json`` the steps that Laravel ran (``cache:put``,
``tags:flush``, ``lock:acquire``, ...) are run through :class:`ninja_redis.Cache` against a
private redis-server, with the fixture's prefixes, serializer and compression, on the
fixture's clock (each step starts at the same offset from the start as in the fixture).
Then the resulting Redis databases are compared with the fixture's ``final_dump``: keys,
types, values byte for byte, TTLs (±1 s), zset members and scores (relative to the start,
±1 s). Every value Laravel returned (``get``, ``many``, ``increment``, lock results) must
be what Python returns. Session and queue steps belong to other modules and are skipped;
their keys are left out of the comparison.
"""

from __future__ import annotations

import re
import time
from typing import Any

import pytest

from ninja_redis import php
from ninja_redis._sync.app import Laravel
from ninja_redis.config import LaravelConfig
from ninja_redis.exceptions import LockError, UnserializeError
from tests._shared import FIXTURES, dump_keys, load_fixture, raw

SCENARIOS = (
    "cache_value_types",
    "cache_forever_value_types",
    "cache_ttl_add_forget",
    "cache_increment",
    "cache_put_many",
    "tags_put_forever_flush",
    "tags_put_many_and_stale",
    "locks",
    "predis_client",
    "underscore_prefixes",
    "cache_touch",
    "cache_flush_locks",
)
SKIPPED_COMMANDS = {"session:write", "queue:push", "queue:work-once"}


def _cases() -> list[Any]:
    out = []
    for d in sorted(FIXTURES.glob("laravel-*")):
        version = d.name.removeprefix("laravel-")
        for f in sorted(d.glob("*.json")):
            if f.stem in SCENARIOS or f.stem.startswith("phpredis_"):
                marks = (
                    [pytest.mark.slow] if f.stem == "tags_put_many_and_stale" else []
                )
                out.append(
                    pytest.param(version, f.stem, id=f"{version}-{f.stem}", marks=marks)
                )
    assert out, "no fixtures found"
    return out


@pytest.fixture(scope="module")
def server(redis_server_factory: Any) -> Any:
    return redis_server_factory()


def _config(data: dict[str, Any], port: int, env: dict[str, str]) -> LaravelConfig:
    cfg = data["config"]
    over: dict[str, Any] = {}
    if env.get("REDIS_CACHE_LOCK_CONNECTION"):
        over["lock_connection"] = env["REDIS_CACHE_LOCK_CONNECTION"]
    return LaravelConfig.from_mapping(
        {},
        laravel_version=cfg["laravel_version"],
        redis_host="127.0.0.1",
        redis_port=port,
        redis_prefix=cfg["redis_prefix"],
        cache_prefix=cfg["cache_prefix"],
        redis_serializer=cfg["serializer"],
        redis_compression=cfg["compression"],
        redis_client=cfg["redis_client"],
        **over,
    )


def _value(typed: dict[str, Any]) -> Any:
    """The Python value behind a fixture input (its exact PHP serialize() bytes)."""
    return php.loads(raw(typed["serialize"]))


def _tags(arg: str) -> list[str]:
    return arg.split(",")


class Replayer:
    """Runs fixture steps with ninja_redis."""

    def __init__(self, data: dict[str, Any], port: int) -> None:
        self.data = data
        self.port = port
        self.apps: dict[str, Laravel] = {}

    def app(self, env: dict[str, str]) -> Laravel:
        key = repr(sorted(env.items()))
        if key not in self.apps:
            self.apps[key] = Laravel(_config(self.data, self.port, env))
        return self.apps[key]

    def close(self) -> None:
        for app in self.apps.values():
            app.close()

    def run(self, step: dict[str, Any]) -> None:
        args = step["args"]
        cmd = args[0]
        out = step["output"]
        inp = out.get("input", {})
        cache = self.app(step.get("env") or {}).cache
        err = out.get("error")
        if cmd == "cache:put":
            assert (
                cache.put(args[1], _value(inp["value"]), int(args[3])) == out["return"]
            )
        elif cmd == "cache:forever":
            assert cache.forever(args[1], _value(inp["value"])) == out["return"]
        elif cmd == "cache:add":
            assert (
                cache.add(args[1], _value(inp["value"]), int(args[3])) == out["return"]
            )
        elif cmd == "cache:get":
            if err:
                with pytest.raises(UnserializeError) as info:
                    cache.get(args[1])
                assert info.value.key is not None and info.value.key.endswith(
                    args[1].encode()
                )
            else:
                got = cache.get(args[1])
                assert php.dumps(got) == raw(out["value"]["serialize"]), args
        elif cmd == "cache:many":
            got = cache.many(args[1].split(","))
            assert [v["key"] for v in out["values"]] == list(got)
            for v in out["values"]:
                assert php.dumps(got[v["key"]]) == raw(v["value"]["serialize"])
        elif cmd == "cache:putMany":
            values = {k: _value(v) for k, v in inp["values"].items()}
            assert cache.put_many(values, int(args[2])) == out["return"]
        elif cmd in ("cache:increment", "cache:decrement"):
            by = int(args[2]) if len(args) > 2 else 1
            fn = cache.increment if cmd == "cache:increment" else cache.decrement
            assert fn(args[1], by) == out["return"]
        elif cmd == "cache:forget":
            assert cache.forget(args[1]) == out["return"]
        elif cmd == "cache:touch":
            assert cache.touch(args[1], int(args[2])) == out["return"]
        elif cmd == "cache:flushLocks":
            if err:
                with pytest.raises(
                    LockError, match="only supported when the lock store"
                ):
                    cache.flush_locks(mode="flushdb")
            else:
                cache.flush_locks(mode="flushdb")
        elif cmd == "tags:put":
            tagged = cache.tags(_tags(args[1]))
            assert (
                tagged.put(args[2], _value(inp["value"]), int(args[4])) == out["return"]
            )
            assert tagged.item_key(args[2]).endswith(out["item_key"].encode())
        elif cmd == "tags:forever":
            tagged = cache.tags(_tags(args[1]))
            assert tagged.forever(args[2], _value(inp["value"])) == out["return"]
        elif cmd == "tags:putMany":
            tagged = cache.tags(_tags(args[1]))
            values = {k: _value(v) for k, v in inp["values"].items()}
            assert tagged.put_many(values, int(args[3])) == out["return"]
        elif cmd == "tags:increment":
            by = int(args[3]) if len(args) > 3 else 1
            assert cache.tags(_tags(args[1])).increment(args[2], by) == out["return"]
        elif cmd == "tags:get":
            tagged = cache.tags(_tags(args[1]))
            assert tagged.item_key(args[2]).endswith(out["item_key"].encode())
            got = tagged.get(args[2])
            assert php.dumps(got) == raw(out["value"]["serialize"]), args
        elif cmd == "tags:itemKey":
            key = cache.tags(_tags(args[1])).item_key(args[2])
            assert key.endswith(out["item_key"].encode())
        elif cmd == "tags:flush":
            assert cache.tags(_tags(args[1])).flush() is True
        elif cmd == "tags:flushStale":
            cache.flush_stale_tags()
        elif cmd == "lock:acquire":
            owner = args[3] if len(args) > 3 else None
            lock = cache.lock(args[1], int(args[2]), owner)
            assert lock.get() == out["acquired"]
            if owner is not None:
                assert lock.owner == out["owner"]
            else:
                assert re.fullmatch(r"[A-Za-z0-9]{16}", lock.owner)
        elif cmd == "lock:owner":
            lock = cache.lock(args[1])
            current = lock.current_owner()
            expected = raw(out["owner"])
            if re.fullmatch(rb"[A-Za-z0-9]{16}", expected):  # random owner: shape only
                assert isinstance(current, str)
                assert re.fullmatch(r"[A-Za-z0-9]{16}", current)
            else:
                assert current == expected.decode()
        elif cmd == "lock:release":
            assert cache.restore_lock(args[1], args[2]).release() == out["released"]
        elif cmd == "lock:force":
            cache.lock(args[1]).force_release()
        else:  # pragma: no cover - a new fixture command must be handled explicitly
            raise AssertionError(f"unhandled fixture command {cmd}")


def _ours(server: Any) -> dict[int, dict[bytes, dict[str, Any]]]:
    out: dict[int, dict[bytes, dict[str, Any]]] = {}
    for db in (0, 1):
        client = server.client(db)
        try:
            entries: dict[bytes, dict[str, Any]] = {}
            for key in client.keys("*"):
                kind = client.type(key).decode()
                e: dict[str, Any] = {"type": kind, "ttl": client.ttl(key)}
                if kind == "string":
                    e["value"] = client.get(key)
                elif kind == "zset":
                    e["members"] = client.zrange(key, 0, -1, withscores=True)
                elif kind == "set":
                    e["members"] = sorted(client.smembers(key))
                entries[key] = e
            out[db] = entries
        finally:
            client.close()
    return out


def _is_foreign(key: bytes, data: dict[str, Any]) -> bool:
    """Session and queue keys (other modules' business)."""
    cfg = data["config"]
    cache_prefix = cfg["cache_prefix"]
    if cache_prefix and int(cfg["laravel_version"].split(".")[0]) < 11:
        cache_prefix += ":"
    head = (cfg["redis_prefix"] + cache_prefix).encode()
    if key.startswith(cfg["redis_prefix"].encode() + b"queues:"):
        return True
    rest = key[len(head) :] if key.startswith(head) else b""
    return bool(re.fullmatch(rb"[A-Za-z0-9]{40}", rest))


@pytest.mark.parametrize(("version", "scenario"), _cases())
def test_fixture_replay(server: Any, version: str, scenario: str) -> None:
    data = load_fixture(version, scenario)
    admin = server.client(0)
    admin.flushall()
    admin.close()
    rep = Replayer(data, server.port)
    start = time.time()
    try:
        step_late = 0.0  # how much later than Laravel's schedule a step ran (max)
        for step in data["steps"]:
            # run on the fixture's clock: same offset from the start as in Laravel
            delay = (step["time"] - data["time_start"]) - (time.time() - start)
            if delay > 0:
                time.sleep(delay)
            if step["args"][0] in SKIPPED_COMMANDS:
                continue
            step_late = max(step_late, -delay)
            rep.run(step)
            step_late = max(
                step_late, (time.time() - start) - (step["time"] - data["time_start"])
            )
        delay = (data["time_end"] - data["time_start"]) - (time.time() - start)
        if delay > 0:
            time.sleep(delay)
        ours = _ours(server)
        dump_late = max(
            0.0, (time.time() - start) - (data["time_end"] - data["time_start"])
        )
    finally:
        rep.close()

    for dbdump in data["final_dump"]:
        db = dbdump["db"]
        expected = {
            k: e for k, e in dump_keys(data, db).items() if not _is_foreign(k, data)
        }
        got = ours.get(db, {})
        assert sorted(got) == sorted(expected), f"db {db} keys differ"
        for key, e in expected.items():
            g = got[key]
            assert g["type"] == e["type"], key
            if e["ttl"] < 0:
                assert g["ttl"] == e["ttl"], key
            else:
                # ours - Laravel's = (how late our write ran) - (how late our dump ran),
                # plus 1 s of whole-second rounding either way.
                diff = g["ttl"] - e["ttl"]
                assert -1 - dump_late <= diff <= 1 + step_late, (
                    key,
                    g["ttl"],
                    e["ttl"],
                    dump_late,
                    step_late,
                )
            if e["type"] == "string":
                fv = raw(e["value"])
                if re.fullmatch(rb"[A-Za-z0-9]{16}", fv) and scenario in ("locks",):
                    assert re.fullmatch(rb"[A-Za-z0-9]{16}", g["value"]), key
                else:
                    assert g["value"] == fv, key
            elif e["type"] == "zset":
                exp = [(raw(m["member"]), m["score"]) for m in e["members"]]
                assert [m for m, _ in g["members"]] == [m for m, _ in exp], key
                for (_, ours_score), (_, score) in zip(g["members"], exp, strict=True):
                    s = float(score)
                    if s == -1:
                        assert ours_score == -1, key
                    else:
                        rel_fixture = s - data["time_start"]
                        rel_ours = ours_score - start
                        assert abs(rel_fixture - rel_ours) <= 1, (
                            key,
                            rel_fixture,
                            rel_ours,
                        )
            elif e["type"] == "set":
                assert g["members"] == sorted(raw(m) for m in e["members"]), key
            else:  # pragma: no cover
                raise AssertionError(f"unexpected type {e['type']}")
    # every db we wrote to is in the fixture
    for db, keys in ours.items():
        if keys and db not in {d["db"] for d in data["final_dump"]}:
            raise AssertionError(f"unexpected keys in db {db}: {sorted(keys)[:5]}")
