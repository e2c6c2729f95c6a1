"""Tagged cache, both generations (10+ sorted sets, 8/9 reference sets), real Redis."""

from __future__ import annotations

import hashlib
import re
import time
from typing import Any

import pytest
import redis as sync_redis

from ninja_redis._async.app import AsyncLaravel
from ninja_redis.exceptions import UnserializeError


def _app(redis_url: str, prefix: str, version: str) -> AsyncLaravel:
    return AsyncLaravel.from_url(
        redis_url, laravel_version=version, redis_prefix=prefix
    )


def _raw(app: AsyncLaravel) -> sync_redis.Redis:
    conn = app.config.connection("default")
    return sync_redis.Redis(host=conn.host, port=conn.port, db=1)


@pytest.mark.parametrize("version", ["10.50", "12.29", "12.67"])
async def test_zset_design(redis_url: str, prefix: str, version: str) -> None:
    app = _app(redis_url, prefix, version)
    r = _raw(app)
    try:
        head = (
            f"{prefix}laravel_cache_:" if version < "11" else f"{prefix}laravel-cache-"
        )
        cache = app.cache
        both = cache.tags(["people", "artists"])
        before = int(time.time())
        assert await both.put("john", {"name": "John"}, 600)
        ns = hashlib.sha1(b"tag:people:entries|tag:artists:entries").hexdigest()
        assert ns == "67a10cb892b135ed0c0aeda0ccf2afea4f0c7855"
        member = f"{ns}:john".encode()
        score = r.zscore(f"{head}tag:people:entries", member)
        assert score is not None and before + 600 <= score <= int(time.time()) + 600
        assert r.get(f"{head}{ns}:john".encode()) == b'a:1:{s:4:"name";s:4:"John";}'
        assert await both.get("john") == {"name": "John"}
        assert await cache.tags(["artists", "people"]).get("john") is None
        await cache.tags("people").forever("anne", "Anne")
        assert await cache.tags("people").increment("hits", 2) == 2
        people = f"{head}tag:people:entries"
        anne = hashlib.sha1(b"tag:people:entries").hexdigest()
        assert r.zscore(people, f"{anne}:anne") == -1
        assert r.zscore(people, f"{anne}:hits") == -1
        # increment again: ZADD NX keeps the score
        r.zadd(people, {f"{anne}:hits": 5})
        await cache.tags("people").increment("hits")
        assert r.zscore(people, f"{anne}:hits") == 5
        assert await cache.tags("artists").put("bob", "Bob", 600)
        assert await cache.tags("people").flush() is True
        assert await both.get("john") is None
        assert await cache.tags("people").get("anne") is None
        assert await cache.tags("artists").get("bob") == "Bob"
        # the other tag keeps its stale member, as in Laravel
        assert r.zscore(f"{head}tag:artists:entries", member) is not None
        assert r.exists(people) == 0
    finally:
        r.close()
        await app.aclose()


async def test_add_and_put_many_and_stale(redis_url: str, prefix: str) -> None:
    app = _app(redis_url, prefix, "12.67")
    r = _raw(app)
    try:
        cache = app.cache
        t = cache.tags(["reports"])
        zkey = f"{prefix}laravel-cache-tag:reports:entries"
        assert await t.add("a", 1, 60) is True
        assert await t.add("a", 2, 60) is False
        assert await t.get("a") == "1"
        assert await t.put_many({"r1": 1, "r2": [2]}, 300)
        assert await t.many(["r1", "r2", "nope"]) == {
            "r1": "1",
            "r2": [2],
            "nope": None,
        }
        ns = hashlib.sha1(b"tag:reports:entries").hexdigest()
        r.zadd(zkey, {f"{ns}:old": int(time.time()) - 10})
        assert await cache.flush_stale_tags() == 1
        assert r.zscore(zkey, f"{ns}:old") is None
        assert r.zscore(zkey, f"{ns}:r1") is not None
        assert await t.remember("rem", 60, lambda: "v") == "v"
        assert await t.pull("rem") == "v"
        big = {f"k{i}": i for i in range(2100)}
        assert await t.put_many(big, 60)
        assert await t.flush()
        assert await t.get("k5") is None
        assert r.exists(zkey) == 0
    finally:
        r.close()
        await app.aclose()


async def test_reference_set_design_laravel8(redis_url: str, prefix: str) -> None:
    app = _app(redis_url, prefix, "8.83")
    r = _raw(app)
    try:
        cache = app.cache
        head = f"{prefix}laravel_cache:"
        t = cache.tags(["users", "posts"])
        assert await t.put("u7", "x", 60)
        ids = []
        for name in ("users", "posts"):
            stored = r.get(f"{head}tag:{name}:key")
            assert stored is not None and r.ttl(f"{head}tag:{name}:key") == -1
            m = re.fullmatch(rb's:22:"([0-9a-f]{13}[0-9]{9})";', stored)
            assert m, stored
            ids.append(m.group(1))
        ns = hashlib.sha1(b"|".join(ids)).hexdigest()
        item = f"{head}{ns}:u7".encode()
        assert r.get(item) == b's:1:"x";'
        member = f"laravel_cache:{ns}:u7".encode()
        for tag_id in ids:
            assert r.smembers(f"{head}{tag_id.decode()}:standard_ref") == {member}
        assert await t.get("u7") == "x"
        await t.forever("f", 1)
        assert await t.increment("i") == 1
        fm = f"laravel_cache:{ns}:f".encode()
        assert fm in r.smembers(f"{head}{ids[0].decode()}:forever_ref")
        assert await cache.tags("users").flush()
        assert r.exists(item) == 0
        assert r.exists(f"{head}tag:users:key") == 0
        # posts keeps its (now stale) reference set, as on 8.83
        assert member in r.smembers(f"{head}{ids[1].decode()}:standard_ref")
        # a new id is created lazily: the old items are unreachable
        assert await t.get("u7") is None
        assert await cache.flush_stale_tags() == 0
    finally:
        r.close()
        await app.aclose()


# ------------------------------------------- 8/9 tagged get: one round trip in Lua


def _calls(client: sync_redis.Redis) -> dict[str, int]:
    stats = client.info("commandstats")
    calls = {k.removeprefix("cmdstat_"): int(v["calls"]) for k, v in stats.items()}
    for setup in ("config|resetstat", "info", "client|setinfo", "select", "hello"):
        calls.pop(setup, None)
    return calls


async def test_legacy_tagged_get_is_one_round_trip(
    redis_server_factory: Any, prefix: str
) -> None:
    """Laravel 8.83: a GET per tag id, then the item (3 round trips for two tags).
    Here one EVALSHA; the commands inside the script are Laravel's GETs."""
    server = redis_server_factory()
    client = server.client(db=1)
    try:
        async with AsyncLaravel.from_url(
            server.url, laravel_version="8.83", redis_prefix=prefix
        ) as app:
            both = app.cache.tags(["people", "artists"])
            assert await both.put("john", {"name": "John"}, 600)
            assert await both.get("john") == {"name": "John"}  # script now cached
            client.config_resetstat()
            assert await both.get("john") == {"name": "John"}
            assert _calls(client) == {"evalsha": 1, "get": 3}
            client.config_resetstat()
            assert await both.get("nobody", "dflt") == "dflt"
            assert _calls(client) == {"evalsha": 1, "get": 3}
    finally:
        client.close()


async def test_legacy_tagged_get_reads_every_stored_id_form(
    redis_url: str, prefix: str
) -> None:
    # ids as Laravel's RedisStore leaves them: serialized strings, and raw numeric
    # strings (a uniqid of digits only is is_numeric: stored without serialize())
    app = _app(redis_url, prefix, "8.83")
    r = _raw(app)
    try:
        head = f"{prefix}laravel_cache:".encode()
        r.set(head + b"tag:a:key", b's:22:"5f0c1d2e3a4b5123456789";')
        r.set(head + b"tag:b:key", b"1234567890123456789012")
        r.set(head + b"tag:c:key", b"12e3456789012345678901")
        ns = hashlib.sha1(
            b"5f0c1d2e3a4b5123456789|1234567890123456789012|12e3456789012345678901"
        ).hexdigest()
        r.set(head + ns.encode() + b":k", b'a:1:{s:1:"v";i:7;}')
        assert await app.cache.tags(["a", "b", "c"]).get("k") == {"v": 7}
        # a missing tag gets a fresh id, stored serialized (TagSet::resetTag)
        assert await app.cache.tags(["a", "fresh"]).get("k", "none") == "none"
        fresh = r.get(head + b"tag:fresh:key")
        assert fresh is not None and re.fullmatch(rb's:22:"[0-9a-f]{13}\d{9}";', fresh)
    finally:
        r.close()
        await app.aclose()


async def test_legacy_tagged_get_foreign_id_form_takes_the_codec_path(
    redis_url: str, prefix: str
) -> None:
    # an id stored in a form the script does not decode (here a serialized int) is
    # left to the codec: the same value Laravel's get() computes
    app = _app(redis_url, prefix, "8.83")
    r = _raw(app)
    try:
        head = f"{prefix}laravel_cache:".encode()
        r.set(head + b"tag:odd:key", b"i:42;")
        ns = hashlib.sha1(b"42").hexdigest()
        r.set(head + ns.encode() + b":k", b's:3:"yes";')
        assert await app.cache.tags(["odd"]).get("k") == "yes"
        # corrupt id bytes: the typed error names the tag key, as before
        r.set(head + b"tag:bad:key", b"\x00garbage")
        with pytest.raises(UnserializeError):
            await app.cache.tags(["bad"]).get("k")
    finally:
        r.close()
        await app.aclose()
