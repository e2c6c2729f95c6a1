"""The hot paths tuned for speed keep their behaviour: EVALSHA after the server lost
its scripts, ``many`` with a corrupt value, cached per-tag-list keys, lock owners."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
import redis as sync_redis

from ninja_redis._async.app import AsyncLaravel
from ninja_redis._async.lock import random_owner
from ninja_redis.exceptions import UnserializeError


@pytest_asyncio.fixture(params=["12.67", "8.83"])
async def app(
    request: pytest.FixtureRequest, redis_url: str, prefix: str
) -> AsyncIterator[AsyncLaravel]:
    app = AsyncLaravel.from_url(
        redis_url, laravel_version=request.param, redis_prefix=prefix
    )
    try:
        yield app
    finally:
        await app.aclose()


def raw(app: AsyncLaravel, db: int) -> sync_redis.Redis:
    conn = app.config.connection("default")
    return sync_redis.Redis(host=conn.host, port=conn.port, db=db)


async def test_scripts_survive_script_flush(app: AsyncLaravel) -> None:
    cache = app.cache
    lock = cache.lock("flushed", 10, "me")
    assert await lock.get() is True
    raw(app, 0).script_flush()  # NOSCRIPT on the next EVALSHA: load and retry
    assert await lock.refresh() is True
    raw(app, 0).script_flush()
    assert await lock.release() is True
    raw(app, 1).script_flush()
    assert await cache.add("added", [1, 2], 60) is True
    assert await cache.add("added", [1, 2], 60) is False
    raw(app, 1).script_flush()
    tagged = cache.tags(["a", "b"])
    assert await tagged.add("t", "v", 60) is True
    raw(app, 1).script_flush()
    assert await tagged.get("t") == "v"


async def test_many_with_a_corrupt_value(app: AsyncLaravel) -> None:
    cache = app.cache
    await cache.put_many({"a": [1], "b": {"x": "y"}, "n": 5}, 60)
    bad = app.keys.cache("bad")
    raw(app, 1).set(bad, b"a:1:{broken")
    names = ["a", "bad", "b", "missing", "n", "a"]
    with pytest.raises(UnserializeError) as info:
        await cache.many(names)
    assert bad in str(info.value).encode() or info.value.key == bad
    got = await cache.many(names, on_corrupt="default")
    assert got == {"a": [1], "bad": None, "b": {"x": "y"}, "missing": None, "n": "5"}
    assert list(got) == ["a", "bad", "b", "missing", "n"]
    await cache.forget("bad")
    assert await cache.many(names) == {
        "a": [1],
        "bad": None,
        "b": {"x": "y"},
        "missing": None,
        "n": "5",
    }


async def test_tag_lists_keep_their_own_keys(app: AsyncLaravel) -> None:
    cache = app.cache
    for _ in range(2):  # second round uses the cached per-tag-list keys
        await cache.tags(["a", "b"]).put("k", "ab", 60)
        await cache.tags(["b", "a"]).put("k", "ba", 60)
        await cache.tags("a").put("k", "a", 60)
        assert await cache.tags(["a", "b"]).get("k") == "ab"
        assert await cache.tags(["b", "a"]).get("k") == "ba"
        assert await cache.tags(["a"]).get("k") == "a"
    key_ab = await cache.tags(["a", "b"]).item_key("k")
    key_ba = await cache.tags(["b", "a"]).item_key("k")
    assert key_ab != key_ba
    await cache.tags(["a", "b"]).flush()
    assert await cache.tags(["a", "b"]).get("k") is None


def test_random_owner_is_like_str_random() -> None:
    owners = {random_owner() for _ in range(2000)}
    assert len(owners) == 2000
    assert all(re.fullmatch(r"[A-Za-z0-9]{16}", o) for o in owners)
    assert re.fullmatch(r"[A-Za-z0-9]{40}", random_owner(40))
    assert random_owner(0) == ""
    # every character of the alphabet shows up (no '+', '/', '=' from base64)
    assert set("".join(owners)) == set(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    )
