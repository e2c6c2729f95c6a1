"""Pure ASGI 3 middleware: the Laravel session and user of each request.

::

    from fastapi import FastAPI, Request
    from ninja_redis import AsyncLaravel
    from ninja_redis.middleware.asgi import LaravelSessionMiddleware

    laravel = AsyncLaravel.from_env("/srv/laravel/.env")
    app = FastAPI()
    app.add_middleware(LaravelSessionMiddleware, laravel=laravel, require="user")

    @app.get("/me")
    async def me(request: Request):
        return {"user_id": request.state.laravel_user_id}

No dependency on Starlette: the values go into the ASGI scope (``scope["laravel_session"]``,
``scope["laravel_user_id"]``, ``scope["laravel_user"]``) and into ``scope["state"]``, which
Starlette/FastAPI expose as ``request.state.laravel_session`` etc.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, MutableMapping
from typing import TYPE_CHECKING, Any

from ._common import (
    UNAUTHENTICATED_BODY,
    CookieReader,
    aload_session,
    check_require,
    redis_timeout,
    rejected,
)

if TYPE_CHECKING:
    from .._async.app import AsyncLaravel
    from ._common import Require

__all__ = ["LaravelSessionMiddleware"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class LaravelSessionMiddleware:
    """ASGI middleware that attaches the Laravel session and user id to each request.

    ``laravel``: an :class:`~ninja_redis.AsyncLaravel` (its async client is used).
    ``guard``: the auth guard whose ``login_{guard}_…`` key holds the user id.
    ``require``: ``None`` (default: never reject), ``"session"`` (reject requests
    without a valid session) or ``"user"`` (reject guests); rejected HTTP requests get
    ``reject_status`` (401) with Laravel's ``{"message":"Unauthenticated."}``, websockets
    are closed with code 1008. ``user_loader``: ``user_loader(user_id)`` (sync or
    async) returning your user object or ``None`` (a deleted user counts as a guest).
    ``cookie_name``: defaults to the app's ``session.cookie``. ``session_cache``
    (default ``True``): turn on the store's server-assisted client-side cache
    (:meth:`~ninja_redis.AsyncSessionStore.enable_client_cache`) so a repeated session
    is not fetched from Redis on every request; it never serves a session that Redis
    has told it changed, and is off by itself where the server refuses tracking.

    A cookie that fails the MAC, the cookie-name prefix or the session-id format, an
    expired or missing session, unreadable session data and a Redis error or timeout
    all mean "no session" (logged on ``ninja_redis.middleware``); the session read
    is bounded by the connection's ``timeout``. Errors raised by ``user_loader``
    propagate. Lifespan (and any other non-HTTP, non-websocket) scopes pass through
    untouched.
    Changes to the session are not saved automatically: call
    ``await laravel.sessions.save(session)``.

    .. versionadded:: 0.1
    """

    def __init__(
        self,
        app: ASGIApp,
        laravel: AsyncLaravel,
        *,
        guard: str = "web",
        require: Require = None,
        reject_status: int = 401,
        user_loader: Callable[[int | str], Any] | None = None,
        cookie_name: str | None = None,
        session_cache: bool = True,
    ) -> None:
        self.app = app
        self.laravel = laravel
        self.guard = guard
        self.require = check_require(require)
        self.reject_status = reject_status
        self.user_loader = user_loader
        self.cookie_name = cookie_name or laravel.config.session_cookie
        if session_cache:
            laravel.sessions.enable_client_cache()
        self._needle = self.cookie_name.encode("latin-1") + b"="
        self._read_cookie = CookieReader(self.cookie_name)
        self._timeout = redis_timeout(laravel.sessions)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection."""
        kind = scope["type"]
        if kind != "http" and kind != "websocket":
            await self.app(scope, receive, send)
            return
        cookie = None
        for name, value in scope.get("headers") or ():
            if name == b"cookie" and self._needle in value:
                cookie = self._read_cookie(value)
                if cookie is not None:
                    break
        session = None
        if cookie:
            session = await aload_session(self.laravel.sessions, cookie, self._timeout)
        user_id = session.user_id(self.guard) if session is not None else None
        user = None
        if user_id is not None and self.user_loader is not None:
            user = self.user_loader(user_id)
            if inspect.isawaitable(user):
                user = await user
            if user is None:
                user_id = None
        if rejected(self.require, session, user_id):
            await self._reject(kind, send)
            return
        scope = dict(scope)
        scope["laravel_session"] = session
        scope["laravel_user_id"] = user_id
        scope["laravel_user"] = user
        state = scope.get("state")
        state = dict(state) if state is not None else {}
        state["laravel_session"] = session
        state["laravel_user_id"] = user_id
        state["laravel_user"] = user
        scope["state"] = state
        await self.app(scope, receive, send)

    async def _reject(self, kind: str, send: Send) -> None:
        if kind == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        await send(
            {
                "type": "http.response.start",
                "status": self.reject_status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(UNAUTHENTICATED_BODY)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": UNAUTHENTICATED_BODY})
