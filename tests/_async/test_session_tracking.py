"""The session store's server-assisted client-side cache against a real Redis.

Every test can fail: a stale read, an entry served while the invalidation connection is
down, or a cache that never serves anything all break an assertion.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
import redis as redis_sync

from ninja_redis._async import _backend
from ninja_redis._async.app import AsyncLaravel
from ninja_redis._async.tracking import NOT_CACHED, AsyncSessionCache
from ninja_redis.crypto import Encrypter
from ninja_redis.middleware.asgi import LaravelSessionMiddleware

KEY = Encrypter.generate_key()


def make_app(url: str, prefix: str, **overrides: Any) -> AsyncLaravel:
    options: dict[str, Any] = {
        "laravel_version": "12.67",
        "redis_prefix": prefix,
        "app_key": KEY,
    }
    options.update(overrides)
    return AsyncLaravel.from_url(url, **options)


async def wait_for(predicate: Any, timeout: float = 5.0) -> None:
    deadline = _backend.monotonic() + timeout
    while not predicate():
        assert _backend.monotonic() < deadline, "condition not met in time"
        await _backend.sleep(0.002)


async def live_cache(app: AsyncLaravel, **options: Any) -> AsyncSessionCache:
    cache = app.sessions.enable_client_cache(**options)
    cache.usable()  # starts the subscriber
    await wait_for(cache.usable)
    return cache


async def save(store: Any, session: Any) -> None:
    """Save, then wait for the server's invalidation of our own write (which would
    otherwise evict the next entry a moment later: an extra miss, not an error)."""
    cache = store.client_cache
    assert cache is not None
    seen = cache.invalidations
    await store.save(session)
    await wait_for(lambda: cache.invalidations >= seen + 2)  # local + server


@pytest_asyncio.fixture
async def app(redis_url: str, prefix: str) -> AsyncIterator[AsyncLaravel]:
    async with make_app(redis_url, prefix) as laravel:
        yield laravel


async def test_repeated_loads_are_served_from_memory(app: AsyncLaravel) -> None:
    cache = await live_cache(app)
    session = app.sessions.create({"theme": "dark"})
    await save(app.sessions, session)
    first = await app.sessions.load(session.id)
    assert first is not None and first["theme"] == "dark"
    hits = cache.hits
    for _ in range(5):
        again = await app.sessions.load(session.id)
        assert again is not None and again["theme"] == "dark"
    assert cache.hits == hits + 5
    # each caller gets its own Session: mutations do not leak into the cache
    again = await app.sessions.load(session.id)
    assert again is not None
    again.put("theme", "light")
    third = await app.sessions.load(session.id)
    assert third is not None and third["theme"] == "dark"
    assert third is not again and third.original == again.original


async def test_cached_answers_without_io_or_says_not_cached(app: AsyncLaravel) -> None:
    store = app.sessions
    session = store.create({"theme": "dark"})
    assert store.cached(session.id) is NOT_CACHED  # no client cache yet
    cache = await live_cache(app)
    await save(store, session)
    assert store.cached("not a session id") is None
    assert store.cached(session.id) is NOT_CACHED  # not read yet
    assert (await store.load(session.id)) is not None  # now cached
    hits = cache.hits
    hit = store.cached(session.id)
    assert hit is not None and hit["theme"] == "dark" and cache.hits == hits + 1
    missing = "a" * 40
    assert store.cached(missing) is NOT_CACHED
    assert await store.load(missing) is None  # a miss is cached too
    assert store.cached(missing) is None


async def test_write_by_another_client_is_never_served_stale(
    app: AsyncLaravel, redis_url: str
) -> None:
    """After the writer's ack plus the delivery of the invalidation, reads are fresh."""
    cache = await live_cache(app)
    store = app.sessions
    session = store.create({"n": 0})
    await save(store, session)
    writer = redis_sync.Redis.from_url(redis_url)  # stands in for PHP
    key = store.key(session.id)
    try:
        for n in range(1, 30):
            cached = await store.load(session.id)  # fill the cache
            assert cached is not None and cached["n"] == n - 1
            assert cache.get(key) is not NOT_CACHED
            seen = cache.invalidations
            value = store.encode(store.create({"n": n}))
            writer.set(key, value, ex=600)  # acknowledged to the writer
            await wait_for(lambda s=seen: cache.invalidations > s)  # + delivery
            fresh = await store.load(session.id)
            assert fresh is not None and fresh["n"] == n, n
    finally:
        writer.close()


async def test_read_right_after_the_writers_ack_is_fresh(
    app: AsyncLaravel, redis_url: str
) -> None:
    """No waiting at all: Redis writes the invalidation to our socket before the
    writer's reply, and a hit is refused while unread bytes sit on that socket."""
    cache = await live_cache(app)
    store = app.sessions
    session = store.create({"n": 0})
    await save(store, session)
    writer = redis_sync.Redis.from_url(redis_url)
    key = store.key(session.id)
    try:
        for n in range(1, 50):
            cached = await store.load(session.id)
            assert cached is not None and cached["n"] == n - 1
            writer.set(key, store.encode(store.create({"n": n})), ex=600)
            fresh = await store.load(session.id)
            assert fresh is not None and fresh["n"] == n, n
    finally:
        writer.close()
    # (each fresh read above may be evicted by the invalidation processed after it:
    # an extra miss, never a stale hit) once quiet, hits resume
    await _backend.sleep(0.05)
    hits = cache.hits
    await store.load(session.id)
    last = await store.load(session.id)
    assert last is not None and last["n"] == 49
    assert cache.hits > hits


async def test_a_read_racing_an_invalidation_is_not_cached(
    app: AsyncLaravel, redis_url: str
) -> None:
    cache = await live_cache(app)
    store = app.sessions
    session = store.create({"v": "old"})
    await save(store, session)
    key = store.key(session.id)
    token = cache.begin(key)
    assert token is not None
    old = await store.wire.execute("GET", key)  # the GET in flight returns "old"
    seen = cache.invalidations
    writer = redis_sync.Redis.from_url(redis_url)
    try:
        writer.set(key, store.encode(store.create({"v": "new"})), ex=600)
    finally:
        writer.close()
    await wait_for(lambda: cache.invalidations > seen)
    cache.finish(key, token, old, 600_000)  # the reply lands after the invalidation
    assert cache.get(key) is NOT_CACHED
    loaded = await store.load(session.id)
    assert loaded is not None and loaded["v"] == "new"


@pytest.mark.parametrize("command", ["DEL", "UNLINK", "PEXPIRE"])
async def test_delete_and_expiry_invalidate(
    app: AsyncLaravel, redis_url: str, command: str
) -> None:
    await live_cache(app)
    store = app.sessions
    session = store.create({"a": 1})
    await save(store, session)
    assert await store.load(session.id) is not None
    assert await store.load(session.id) is not None  # cached now
    writer = redis_sync.Redis.from_url(redis_url)
    try:
        if command == "PEXPIRE":
            writer.pexpire(store.key(session.id), 50)
        else:
            writer.execute_command(command, store.key(session.id))
    finally:
        writer.close()
    await wait_for(
        lambda: store.client_cache is not None and len(store.client_cache) == 0
    )
    if command == "PEXPIRE":
        await _backend.sleep(0.1)
    assert await store.load(session.id) is None


async def test_entries_never_outlive_the_key_ttl(app: AsyncLaravel) -> None:
    cache = await live_cache(app, max_age=30.0)
    store = app.sessions
    session = store.create({"a": 1})
    await save(app.sessions, session)
    seen = cache.invalidations
    expires_at = _backend.monotonic() + 1.5
    await store.wire.execute("PEXPIRE", store.key(session.id), 1500)
    await wait_for(lambda: cache.invalidations > seen)
    assert await store.load(session.id) is not None  # miss: reads GET + PTTL
    hits = cache.hits
    assert await store.load(session.id) is not None  # hit
    assert cache.hits == hits + 1
    assert _backend.monotonic() < expires_at  # both loads ran before the expiry
    # no invalidation needed: the entry's deadline is the key's own expiry
    await _backend.sleep(max(0.0, expires_at - _backend.monotonic()) + 0.05)
    assert await store.load(session.id) is None


async def test_max_age_and_lru_bound(app: AsyncLaravel) -> None:
    cache = await live_cache(app, max_entries=3, max_age=0.2)
    store = app.sessions
    ids = []
    for i in range(5):
        s = store.create({"i": i})
        await save(store, s)
        ids.append(s.id)
        await store.load(s.id)
    assert len(cache) == 3
    assert cache.get(store.key(ids[0])) is NOT_CACHED
    assert cache.get(store.key(ids[4])) is not NOT_CACHED
    await _backend.sleep(0.25)
    assert cache.get(store.key(ids[4])) is NOT_CACHED


async def test_flushdb_and_flushall_invalidate_everything(
    redis_server_factory: Any, prefix: str
) -> None:
    server = redis_server_factory()
    async with make_app(server.url, prefix) as laravel:
        cache = await live_cache(laravel)
        store = laravel.sessions
        for flush in ("FLUSHDB", "FLUSHALL"):
            session = store.create({"a": 1})
            await save(store, session)
            await store.load(session.id)
            assert cache.get(store.key(session.id)) is not NOT_CACHED
            flushes = cache.flushes
            client = server.client()
            try:
                client.execute_command(flush)
            finally:
                client.close()
            await wait_for(lambda f=flushes: cache.flushes > f)
            assert len(cache) == 0
            assert await store.load(session.id) is None


async def test_lost_invalidation_connection_stops_serving(
    app: AsyncLaravel, redis_url: str
) -> None:
    cache = await live_cache(app, max_age=120.0)  # only the flush can drop entries here
    store = app.sessions
    session = store.create({"v": 1})
    await save(store, session)
    await store.load(session.id)
    key = store.key(session.id)
    assert cache.get(key) is not NOT_CACHED
    bystander = store.create({"b": 1})  # cached, and never read again below
    await save(store, bystander)
    await store.load(bystander.id)
    assert cache.get(store.key(bystander.id)) is not NOT_CACHED
    admin = redis_sync.Redis.from_url(redis_url)
    try:
        # kill our subscriber connection; write while it is down
        ids = [
            c["id"]
            for c in admin.client_list()
            if "S" in c.get("flags", "") or c.get("sub") not in (None, "0")
        ]
        assert ids
        for cid in ids:
            admin.client_kill_filter(_id=cid)
        admin.set(key, store.encode(store.create({"v": 2})), ex=600)
    finally:
        admin.close()
    loaded = await store.load(session.id)
    assert loaded is not None and loaded["v"] == 2
    # it reconnects and serves again; the loss flushed every entry (the load above
    # may already have re-cached the fresh value if tracking was back by then)
    await wait_for(cache.usable)
    assert cache.get(store.key(bystander.id)) is NOT_CACHED
    await store.load(session.id)
    assert cache.get(key) is not NOT_CACHED


async def test_tracking_refused_by_acl_falls_back_silently(
    redis_url: str, prefix: str
) -> None:
    user = f"u{prefix.rstrip(':')}"
    admin = redis_sync.Redis.from_url(redis_url)
    admin.execute_command(
        "ACL", "SETUSER", user, "on", ">pw", "~*", "&*", "+@all", "-subscribe"
    )
    try:
        url = redis_url.replace("redis://", f"redis://{user}:pw@")
        async with make_app(url, prefix) as laravel:
            cache = laravel.sessions.enable_client_cache()
            cache.usable()
            await wait_for(lambda: cache.disabled)
            session = laravel.sessions.create({"a": 1})
            await laravel.sessions.save(session)
            for _ in range(3):
                loaded = await laravel.sessions.load(session.id)
                assert loaded is not None and loaded["a"] == 1
            assert cache.hits == 0 and not cache.usable()
    finally:
        admin.execute_command("ACL", "DELUSER", user)
        admin.close()


async def test_own_writes_and_update_bypass_stale_entries(app: AsyncLaravel) -> None:
    await live_cache(app)
    store = app.sessions
    session = store.create({"n": 1})
    await save(store, session)
    await store.load(session.id)
    loaded = await store.load(session.id)
    assert loaded is not None
    loaded.put("n", 2)
    await store.save(loaded)
    again = await store.load(session.id)  # no wait: our own write dropped the entry
    assert again is not None and again["n"] == 2
    updated = await store.update(session.id, lambda s: s.put("n", s.get("n") + 1))
    assert updated is not None and updated["n"] == 3
    await store.destroy(session.id)
    assert await store.load(session.id) is None


async def test_hash_layout_is_cached_and_invalidated(
    redis_url: str, prefix: str
) -> None:
    async with make_app(redis_url, prefix, session_layout="hash") as laravel:
        cache = await live_cache(laravel)
        store = laravel.sessions
        session = store.create({"a": 1})
        await save(laravel.sessions, session)
        await store.load(session.id)
        hits = cache.hits
        assert (await store.load(session.id)) is not None
        assert cache.hits == hits + 1
        seen = cache.invalidations
        writer = redis_sync.Redis.from_url(redis_url)
        try:
            writer.delete(store.key(session.id))
        finally:
            writer.close()
        await wait_for(lambda: cache.invalidations > seen)
        assert await store.load(session.id) is None


async def test_middleware_enables_it_and_aclose_stops_it(
    redis_url: str, prefix: str
) -> None:
    laravel = make_app(redis_url, prefix)

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        return None

    LaravelSessionMiddleware(inner, laravel)
    cache = laravel.sessions.client_cache
    assert cache is not None
    cache.usable()
    await wait_for(cache.usable)
    handle = cache._handle
    await laravel.aclose()
    assert not _backend.background_alive(handle, here=False)
    off = make_app(redis_url, prefix)
    LaravelSessionMiddleware(inner, off, session_cache=False)
    assert off.sessions.client_cache is None
    await off.aclose()


@pytest.mark.php
async def test_php_writer_is_seen(redis_url: str, prefix: str) -> None:
    from tests.interop.test_session_live import run_php

    async with make_app(
        redis_url, prefix, laravel_version="8.83", cache_prefix="laravel_cache"
    ) as laravel:
        cache = await live_cache(laravel)
        store = laravel.sessions
        session = store.create({"n": 1})
        await save(store, session)
        await store.load(session.id)
        assert cache.get(store.key(session.id)) is not NOT_CACHED
        seen = cache.invalidations
        await _backend.run_blocking(
            run_php,
            redis_url,
            prefix,
            KEY,
            [
                {
                    "op": "write",
                    "id": session.id,
                    "encrypt": False,
                    "ops": [["put", "n", 2]],
                    "save": True,
                }
            ],
        )
        await wait_for(lambda: cache.invalidations > seen)
        loaded = await store.load(session.id)
        assert loaded is not None and loaded["n"] == 2


async def test_server_down_and_back_never_serves_and_never_hangs(
    redis_server_factory: Any, prefix: str
) -> None:
    server = redis_server_factory()
    async with make_app(server.url, prefix) as laravel:
        cache = await live_cache(laravel, timeout=0.5)
        store = laravel.sessions
        session = store.create({"a": 1})
        await save(store, session)
        await store.load(session.id)
        assert cache.get(store.key(session.id)) is not NOT_CACHED
        server.kill()
        await wait_for(lambda: not cache.usable())
        assert len(cache) == 0
        assert cache.get(store.key(session.id)) is NOT_CACHED
        server.restart()
        await wait_for(cache.usable, timeout=10.0)
        # the restarted server is empty: the session is gone, not served from memory
        assert await store.load(session.id) is None
        started = _backend.monotonic()
    assert _backend.monotonic() - started < 3.0  # aclose() did not hang


async def test_unanswered_ping_stops_serving(
    redis_server_factory: Any, prefix: str
) -> None:
    """A connection that stays open but stops answering (paused or half-open server)."""
    server = redis_server_factory()
    async with make_app(server.url, prefix) as laravel:
        cache = await live_cache(laravel, health_interval=0.05, timeout=0.2)
        store = laravel.sessions
        session = store.create({"a": 1})
        await save(store, session)
        await store.load(session.id)
        assert cache.get(store.key(session.id)) is not NOT_CACHED
        admin = server.client()
        try:
            admin.execute_command("CLIENT", "PAUSE", 1500, "ALL")
            await wait_for(lambda: not cache.usable(), timeout=1.0)
            assert cache.get(store.key(session.id)) is NOT_CACHED
        finally:
            admin.execute_command("CLIENT", "UNPAUSE")
            admin.close()
        await wait_for(cache.usable, timeout=10.0)
