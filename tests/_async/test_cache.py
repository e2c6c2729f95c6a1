"""AsyncCache against a real Redis: commands, bytes, TTL rules, corrupt data, flush, ACL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import pytest_asyncio
import redis as sync_redis

from ninja_redis._async.app import AsyncLaravel
from ninja_redis.exceptions import UnserializeError


@pytest_asyncio.fixture
async def app(redis_url: str, prefix: str) -> AsyncIterator[AsyncLaravel]:
    app = AsyncLaravel.from_url(redis_url, laravel_version="12.67", redis_prefix=prefix)
    try:
        yield app
    finally:
        await app.aclose()


def raw_client(app: AsyncLaravel, db: int = 1) -> sync_redis.Redis:
    conn = app.config.connection("default")
    return sync_redis.Redis(host=conn.host, port=conn.port, db=db)


async def test_put_get_bytes_and_ttl(app: AsyncLaravel, prefix: str) -> None:
    cache = app.cache
    r = raw_client(app)
    assert await cache.put("user_preferences_7", {"theme": "dark"}, 86400) is True
    key = f"{prefix}laravel-cache-user_preferences_7".encode()
    assert r.get(key) == b'a:1:{s:5:"theme";s:4:"dark";}'
    assert r.ttl(key) == 86400
    assert await cache.get("user_preferences_7") == {"theme": "dark"}
    await cache.put("n", 5, 60)
    await cache.put("f", 0.1 + 0.2, 60)
    await cache.put("b", False, 60)
    assert r.get(f"{prefix}laravel-cache-n".encode()) == b"5"
    assert r.get(f"{prefix}laravel-cache-f".encode()) == b"0.3"
    assert await cache.get("n") == "5"  # numbers come back as strings, like Laravel
    assert await cache.get("b") is False
    assert await cache.get("missing", "dflt") == "dflt"
    r.close()


async def test_ttl_forms(app: AsyncLaravel, prefix: str) -> None:
    cache = app.cache
    r = raw_client(app)
    await cache.put("td", "x", timedelta(seconds=100))
    await cache.put("fl", "x", 50.9)
    until = datetime.now(timezone.utc) + timedelta(seconds=200)
    await cache.put("dt", "x", until)
    assert r.ttl(f"{prefix}laravel-cache-td".encode()) == 100
    assert r.ttl(f"{prefix}laravel-cache-fl".encode()) == 50
    assert 199 <= r.ttl(f"{prefix}laravel-cache-dt".encode()) <= 200
    await cache.put("forever", "x", None)
    assert r.ttl(f"{prefix}laravel-cache-forever".encode()) == -1
    # TTL <= 0: put deletes, add refuses
    assert await cache.put("forever", "y", 0) is True
    assert await cache.get("forever") is None
    assert await cache.add("never", "y", -5) is False
    assert (
        await cache.add("never", "y", datetime.now(timezone.utc) - timedelta(1))
        is False
    )
    assert r.exists(f"{prefix}laravel-cache-never".encode()) == 0
    r.close()


async def test_add_increment_forget_pull_has(app: AsyncLaravel) -> None:
    cache = app.cache
    assert await cache.add("a", "first", 120) is True
    assert await cache.add("a", "second", 120) is False
    assert await cache.get("a") == "first"
    assert await cache.add("nottl", 1) is True
    assert await cache.add("nottl", 2) is False
    assert await cache.increment("c") == 1
    assert await cache.increment("c", 5) == 6
    assert await cache.decrement("c", 2) == 4
    assert await cache.get("c") == "4"
    assert await cache.has("c") is True
    assert await cache.pull("c") == "4"
    assert await cache.has("c") is False
    assert await cache.forget("a") is True
    assert await cache.forget("a") is False
    await cache.put("nul", None, 10)
    assert await cache.has("nul") is False  # a cached null is a miss, as in Laravel


async def test_many_put_many(app: AsyncLaravel, prefix: str) -> None:
    cache = app.cache
    r = raw_client(app)
    assert await cache.put_many({"u:1": {"name": "Ann"}, "count": 3}, 300) is True
    got = await cache.many(["u:1", "count", "u:3"])
    assert got == {"u:1": {"name": "Ann"}, "count": "3", "u:3": None}
    assert await cache.many({"u:3": "d"}) == {"u:3": "d"}
    assert r.ttl(f"{prefix}laravel-cache-count".encode()) == 300
    await cache.put_many({"p": 1, "q": 2})
    assert r.ttl(f"{prefix}laravel-cache-p".encode()) == -1
    assert await cache.put_many({"p": 1, "q": 2}, 0) is True
    assert await cache.many(["p", "q"]) == {"p": None, "q": None}
    r.close()


async def test_remember_and_forever(app: AsyncLaravel) -> None:
    cache = app.cache
    calls: list[int] = []

    def compute() -> list[int]:
        calls.append(1)
        return [1, 2]

    async def acompute() -> str:
        return "async"

    assert await cache.remember("r", 60, compute) == [1, 2]
    assert await cache.remember("r", 60, compute) == [1, 2]
    assert len(calls) == 1
    assert await cache.remember_forever("rf", acompute) == "async"
    assert await cache.remember_forever("rf", acompute) == "async"


async def test_touch(app: AsyncLaravel, prefix: str) -> None:
    cache = app.cache
    r = raw_client(app)
    await cache.put("t", "v", 60)
    assert await cache.touch("t", 3600) is True
    assert r.ttl(f"{prefix}laravel-cache-t".encode()) == 3600
    assert await cache.touch("missing", 60) is False
    assert await cache.touch("t", 0) is True
    assert r.exists(f"{prefix}laravel-cache-t".encode()) == 0
    r.close()


async def test_flexible_fresh_stale_refresh(app: AsyncLaravel, prefix: str) -> None:
    cache = app.cache
    r = raw_client(app)
    calls: list[int] = []

    def compute() -> int:
        calls.append(1)
        return len(calls)

    assert await cache.flexible("stats", (5, 10), compute) == 1
    created_key = (
        f"{prefix}laravel-cache-illuminate:cache:flexible:created:stats".encode()
    )
    assert r.ttl(created_key) == 10
    # fresh: the cached value (a number comes back as a string, like in Laravel)
    assert await cache.flexible("stats", (5, 10), compute) == "1"
    # make it stale: created 6 s ago
    r.set(created_key, str(int(r.get(created_key)) - 6), keepttl=True)
    assert await cache.flexible("stats", (5, 10), compute) == "1"  # stale value
    await cache.wait_background()
    assert await cache.get("stats") == "2"  # refreshed in the background
    lock_key = f"{prefix}laravel-cache-illuminate:cache:flexible:lock:stats".encode()
    r0 = raw_client(app, 0)
    assert r0.exists(lock_key) == 0  # the refresh lock was released
    r.close()
    r0.close()


async def test_corrupt_value_raises_with_key(app: AsyncLaravel, prefix: str) -> None:
    cache = app.cache
    r = raw_client(app)
    key = f"{prefix}laravel-cache-bad".encode()
    r.set(key, b"a:1:{s:5:")
    with pytest.raises(UnserializeError) as info:
        await cache.get("bad")
    assert info.value.key == key
    assert key.decode() in str(info.value)
    assert await cache.get("bad", "d", on_corrupt="default") == "d"
    with pytest.raises(UnserializeError):
        await cache.many(["bad"])
    cache.on_corrupt = "default"
    assert await cache.many({"bad": 7}) == {"bad": 7}
    r.close()


async def test_prefix_flush_leaves_other_prefixes(
    app: AsyncLaravel, prefix: str
) -> None:
    cache = app.cache
    r = raw_client(app)
    other = b"someone-else:key"
    r.set(other, b"x")
    await cache.put_many({f"k{i}": i for i in range(2500)}, 60)
    seen: list[int] = []
    assert await cache.flush(batch=500, progress=seen.append) == 2500
    assert seen and seen[-1] == 2500 and seen == sorted(seen)
    assert r.get(other) == b"x"
    assert list(r.scan_iter(match=f"{prefix}*")) == []
    r.delete(other)
    r.close()


ACL_COMMANDS = (
    "+get +set +setex +setnx +mget +del +unlink +incrby +decrby +expire +persist "
    "+exists +scan +zadd +zrem +zscan +zremrangebyscore +sadd +sscan +evalsha "
    "+eval +multi +exec +select +ping"
)


async def test_restricted_server_acl(redis_server_factory: Any, prefix: str) -> None:
    """Everything works with FLUSHALL/FLUSHDB/CONFIG/KEYS renamed away and an ACL
    user limited to the commands documented in docs/cache.md."""
    server = redis_server_factory(
        [
            'rename-command FLUSHALL ""',
            'rename-command FLUSHDB ""',
            'rename-command CONFIG ""',
            'rename-command KEYS ""',
            f"user app on >pw ~* &* -@all {ACL_COMMANDS}",
            "user default off",
        ],
        username="app",
        password="pw",
    )
    app = AsyncLaravel.from_url(
        f"redis://app:pw@127.0.0.1:{server.port}/0",
        laravel_version="12.67",
        redis_prefix=prefix,
    )
    try:
        cache = app.cache
        assert await cache.put("a", [1], 60)
        assert await cache.get("a") == [1]
        assert await cache.add("b", 1, 60)
        assert await cache.put_many({"c": 1, "d": 2}, 60)
        assert await cache.put_many({"e": 1})
        assert await cache.many(["c", "d"]) == {"c": "1", "d": "2"}
        assert await cache.increment("i") == 1
        assert await cache.pull("i") == "1"
        assert await cache.touch("a", 10)
        tagged = cache.tags(["t1", "t2"])
        assert await tagged.put("x", "y", 60)
        assert await tagged.add("z", "y", 60)
        assert await tagged.increment("n") == 1
        assert await tagged.get("x") == "y"
        assert await cache.flush_stale_tags() == 0
        assert await tagged.flush()
        lock = cache.lock("l", 10)
        assert await lock.get()
        assert await lock.refresh(20)
        assert await lock.release()
        assert await cache.flush() >= 1
    finally:
        await app.aclose()
