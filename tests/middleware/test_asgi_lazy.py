"""The ASGI middleware on a session-cache hit: a lazily decoded session per request."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio

from ninja_redis._async import _backend
from ninja_redis._async.app import AsyncLaravel
from ninja_redis.crypto import Encrypter
from ninja_redis.middleware.asgi import LaravelSessionMiddleware
from ninja_redis.sessions import Session

KEY = Encrypter.generate_key()


async def wait_for(predicate: Any, timeout: float = 5.0) -> None:
    deadline = _backend.monotonic() + timeout
    while not predicate():
        assert _backend.monotonic() < deadline, "condition not met in time"
        await _backend.sleep(0.002)


@pytest_asyncio.fixture
async def app(redis_url: str, prefix: str) -> AsyncIterator[AsyncLaravel]:
    async with AsyncLaravel.from_url(
        redis_url, laravel_version="12.67", redis_prefix=prefix, app_key=KEY
    ) as laravel:
        yield laravel


async def saved(app: AsyncLaravel) -> Session:
    session = app.sessions.create({"theme": "dark"})
    session.login(42)
    await app.sessions.save(session)
    return session


async def test_middleware_requests_get_their_own_lazy_sessions(
    app: AsyncLaravel,
) -> None:
    session = await saved(app)
    seen: list[dict[str, Any]] = []

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope)

    middleware = LaravelSessionMiddleware(inner, app, require="user")
    cookie = app.sessions.cookie_value(session)
    header = f"{app.config.session_cookie}={cookie}".encode("latin-1")
    scope = {"type": "http", "headers": [(b"cookie", header)]}

    async def receive() -> Any:
        return {"type": "http.request"}

    async def send(message: Any) -> None:
        raise AssertionError("not rejected")

    cache = app.sessions.client_cache  # turned on by the middleware
    assert cache is not None
    cache.usable()
    await wait_for(cache.usable)
    for _ in range(3):
        await middleware(scope, receive, send)
    assert cache.hits >= 2
    sessions = [s["laravel_session"] for s in seen]
    assert [s["laravel_user_id"] for s in seen] == [42, 42, 42]
    assert [s["state"]["laravel_user_id"] for s in seen] == [42, 42, 42]
    assert all(s["state"]["laravel_session"] is s["laravel_session"] for s in seen)
    assert len({id(s) for s in sessions}) == 3
    assert sessions[0]._loader is None  # the miss decoded (and checked) the bytes
    assert sessions[1]._loader is not None and sessions[2]._loader is not None
    assert all(type(s) is Session for s in sessions)
    sessions[1].put("theme", "light")
    assert sessions[2]["theme"] == "dark" and sessions[0]["theme"] == "dark"
    assert sessions[2].attributes == sessions[0].attributes
    assert sessions[2].original == sessions[0].original
