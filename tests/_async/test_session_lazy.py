"""Cache hits hand out lazily decoded sessions that behave like eagerly loaded ones.

Against a real Redis with the server-assisted session cache live: the second and later
loads of the same bytes build a :class:`Session` whose attributes are decoded on first
use (``Session._lazy``); these tests compare it with the eager load straight from Redis.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from ninja_redis._async import _backend
from ninja_redis._async.app import AsyncLaravel
from ninja_redis._async.tracking import NOT_CACHED
from ninja_redis.crypto import Encrypter
from ninja_redis.exceptions import DecryptError, UnserializeError
from ninja_redis.sessions import Session, encode_attributes

KEY = Encrypter.generate_key()
LAYOUTS = [("php", False), ("json", False), ("php", True)]


async def wait_for(predicate: Any, timeout: float = 5.0) -> None:
    deadline = _backend.monotonic() + timeout
    while not predicate():
        assert _backend.monotonic() < deadline, "condition not met in time"
        await _backend.sleep(0.002)


@pytest_asyncio.fixture(params=LAYOUTS, ids=lambda p: f"{p[0]}-enc{int(p[1])}")
async def app(request: Any, redis_url: str, prefix: str) -> AsyncIterator[AsyncLaravel]:
    serialization, encrypt = request.param
    async with AsyncLaravel.from_url(
        redis_url,
        laravel_version="12.67",
        redis_prefix=prefix,
        app_key=KEY,
        session_serialization=serialization,
        session_encrypt=encrypt,
    ) as laravel:
        cache = laravel.sessions.enable_client_cache()
        cache.usable()
        await wait_for(cache.usable)
        yield laravel


async def saved(app: AsyncLaravel) -> Session:
    store = app.sessions
    cache = store.client_cache
    assert cache is not None
    session = store.create({"theme": "dark", "cart": [{"id": 1, "qty": 2}]})
    session.login(42)
    session.login("9b1d-uuid", "admin")
    session.set_previous_url("https://example.test/cart")
    session.flash("status", "saved")
    seen = cache.invalidations
    await store.save(session, age_flash=False)
    await wait_for(lambda: cache.invalidations >= seen + 2)  # local + server
    return session


async def lazy_load(app: AsyncLaravel, session_id: str) -> Session:
    """Load until the cached entry knows its bytes decode: then a hit is lazy."""
    store = app.sessions
    cache = store.client_cache
    assert cache is not None
    first = await store.load(session_id)  # miss: eager, validates the bytes
    assert first is not None and first._loader is None
    hits = cache.hits
    session = await store.load(session_id)
    assert cache.hits == hits + 1
    assert session is not None and session._loader is not None  # not decoded yet
    return session


async def test_lazy_session_matches_the_eager_one(app: AsyncLaravel) -> None:
    store = app.sessions
    session = await saved(app)
    lazy = await lazy_load(app, session.id)
    eager = await store._load_fresh(session.id)
    assert eager is not None and eager._loader is None
    assert type(lazy) is Session
    assert lazy.user_id() == eager.user_id() == 42
    assert lazy.user_id("admin") == eager.user_id("admin") == "9b1d-uuid"
    assert lazy.user_id("api") is None
    assert lazy._loader is not None  # user ids came from the cache entry
    assert lazy.id == eager.id and lazy.exists and eager.exists
    assert lazy.original == eager.original
    assert lazy.token == eager.token and lazy.previous_url == eager.previous_url
    assert list(lazy.attributes.items()) == list(eager.attributes.items())
    assert lazy._loader is None  # decoded on that first use
    blob = encode_attributes(eager.attributes, store.serialization)
    assert encode_attributes(lazy.attributes, store.serialization) == blob
    if not store.encrypt:  # encryption uses a random IV
        assert store.encode(lazy) == store.encode(eager) == eager.original


async def test_flash_and_save_round_trip_bytes_equal(app: AsyncLaravel) -> None:
    store = app.sessions
    session = await saved(app)
    lazy = await lazy_load(app, session.id)
    eager = await store._load_fresh(session.id)
    assert eager is not None
    for s in (lazy, eager):
        assert s.get("status") == "saved"
        s.keep("status")
        s.flash("message", "hello")
        s.put("cart.0.qty", 3)
        s.age_flash_data()
    assert list(lazy.attributes.items()) == list(eager.attributes.items())
    if not store.encrypt:  # encryption uses a random IV: compare the plain value
        assert store.encode(lazy) == store.encode(eager)
    await store.save(lazy, age_flash=False)
    reread = await store._load_fresh(session.id)
    assert reread is not None
    assert list(reread.attributes.items()) == list(eager.attributes.items())
    assert lazy.original == await store.redis.get(store.key(session.id))
    eager.age_flash_data()
    reread.age_flash_data()
    assert list(reread.attributes.items()) == list(eager.attributes.items())


async def test_every_load_is_an_independent_object(app: AsyncLaravel) -> None:
    store = app.sessions
    session = await saved(app)
    a = await lazy_load(app, session.id)
    b = await store.load(session.id)
    assert b is not None and b._loader is not None and a is not b
    a.put("cart.0.qty", 100)
    a.logout()
    assert b.user_id() == 42 and b.get("cart.0.qty") == 2
    assert a.attributes is not b.attributes
    assert a.attributes["cart"] is not b.attributes["cart"]
    c = await store.load(session.id)
    assert c is not None and c.user_id() == 42 and c.get("cart.0.qty") == 2


async def test_unreadable_bytes_fail_on_every_load(app: AsyncLaravel) -> None:
    store = app.sessions
    cache = store.client_cache
    assert cache is not None
    session = await saved(app)
    key = store.key(session.id)
    seen = cache.invalidations
    await store.redis.set(key, b's:5:"a:1:{";', ex=600)
    await wait_for(lambda: cache.invalidations > seen)
    cookie = store.cookie_value(session)
    error = DecryptError if store.encrypt else UnserializeError
    for _ in range(3):  # a miss, then hits of the same unreadable bytes
        with pytest.raises(error):
            await store.load(session.id)
        assert await store.from_cookie(cookie) is None
        with pytest.raises(error):
            await store.from_cookie(cookie, strict=True)
    entry = cache.lookup(key)
    assert entry is not NOT_CACHED and entry.meta is None  # never marked as readable
