"""ASGI middleware with Starlette/FastAPI-style apps through httpx's ASGITransport."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from ninja_redis._async.app import AsyncLaravel
from ninja_redis.middleware.asgi import LaravelSessionMiddleware
from tests.middleware.conftest import Seeded, options


async def me(request: Request) -> JSONResponse:
    session = request.state.laravel_session
    return JSONResponse(
        {
            "user_id": request.state.laravel_user_id,
            "user": request.state.laravel_user,
            "theme": session.get("theme") if session is not None else None,
            "scope_user_id": request.scope["laravel_user_id"],
        }
    )


def build(laravel: AsyncLaravel, **kw: Any) -> LaravelSessionMiddleware:
    inner = Starlette(routes=[Route("/me", me)])
    return LaravelSessionMiddleware(inner, laravel, **kw)


async def get(app: Any, cookies: dict[str, str] | None = None) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        headers = {}
        if cookies:
            headers["cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
        return await client.get("/me", headers=headers)


async def test_logged_in_guest_forged(
    seeded: Seeded, redis_url: str, prefix: str
) -> None:
    async with AsyncLaravel.from_url(redis_url, **options(prefix)) as laravel:  # type: ignore[arg-type]
        app = build(laravel)
        r = await get(app, {"other": "x", seeded.cookie_name: seeded.logged_in})
        assert r.status_code == 200
        assert r.json() == {
            "user_id": 42,
            "user": None,
            "theme": "dark",
            "scope_user_id": 42,
        }
        r = await get(app, {seeded.cookie_name: seeded.guest})
        assert r.json()["user_id"] is None and r.json()["theme"] is None
        r = await get(app, {seeded.cookie_name: seeded.forged})
        assert r.json() == {
            "user_id": None,
            "user": None,
            "theme": None,
            "scope_user_id": None,
        }
        r = await get(app, {seeded.cookie_name: "not-even-base64!"})
        assert r.status_code == 200 and r.json()["user_id"] is None
        r = await get(app)
        assert r.status_code == 200 and r.json()["user_id"] is None


@pytest.mark.parametrize(("require", "guest_status"), [("session", 200), ("user", 401)])
async def test_require(
    seeded: Seeded, redis_url: str, prefix: str, require: str, guest_status: int
) -> None:
    async with AsyncLaravel.from_url(redis_url, **options(prefix)) as laravel:  # type: ignore[arg-type]
        app = build(laravel, require=require)
        assert (
            await get(app, {seeded.cookie_name: seeded.logged_in})
        ).status_code == 200
        assert (
            await get(app, {seeded.cookie_name: seeded.guest})
        ).status_code == guest_status
        r = await get(app, {seeded.cookie_name: seeded.forged})
        assert r.status_code == 401
        assert r.json() == {"message": "Unauthenticated."}
        assert (await get(app)).status_code == 401


async def test_user_loader(seeded: Seeded, redis_url: str, prefix: str) -> None:
    async def load(user_id: int | str) -> dict[str, Any] | None:
        return {"id": user_id, "name": "Taylor"} if user_id == 42 else None

    async with AsyncLaravel.from_url(redis_url, **options(prefix)) as laravel:  # type: ignore[arg-type]
        r = await get(
            build(laravel, user_loader=load), {seeded.cookie_name: seeded.logged_in}
        )
        assert r.json()["user"] == {"id": 42, "name": "Taylor"}
        r = await get(
            build(laravel, user_loader=lambda uid: None, require="user"),
            {seeded.cookie_name: seeded.logged_in},
        )
        assert r.status_code == 401  # a deleted user is a guest


async def test_websocket_and_lifespan(
    seeded: Seeded, redis_url: str, prefix: str
) -> None:
    async with AsyncLaravel.from_url(redis_url, **options(prefix)) as laravel:  # type: ignore[arg-type]
        seen: list[Any] = []

        async def inner(scope: Any, receive: Any, send: Any) -> None:
            seen.append(scope.get("laravel_user_id", "absent"))

        app = LaravelSessionMiddleware(inner, laravel, require="user")
        header = f"{seeded.cookie_name}={seeded.logged_in}".encode()
        sent: list[Any] = []

        async def send(message: Any) -> None:
            sent.append(message)

        async def receive() -> Any:
            return {"type": "websocket.connect"}

        await app(
            {"type": "websocket", "headers": [(b"cookie", header)]}, receive, send
        )
        await app({"type": "lifespan"}, receive, send)
        assert seen == [42, "absent"]
        await app({"type": "websocket", "headers": []}, receive, send)
        assert sent == [{"type": "websocket.close", "code": 1008}]
        assert seen == [42, "absent"]


def test_bad_option(seeded: Seeded) -> None:
    with pytest.raises(ValueError):
        LaravelSessionMiddleware(
            lambda s, r, se: None, seeded.laravel, require="always"
        )  # type: ignore[arg-type]
