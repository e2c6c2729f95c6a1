"""WSGI middleware: the Laravel session and user of each request (Flask, any WSGI app).

::

    from flask import Flask, request
    from ninja_redis import Laravel
    from ninja_redis.middleware.wsgi import LaravelSessionMiddleware

    laravel = Laravel.from_env("/srv/laravel/.env")
    app = Flask(__name__)
    app.wsgi_app = LaravelSessionMiddleware(app.wsgi_app, laravel)

    @app.get("/me")
    def me():
        return {"user_id": request.environ["laravel.user_id"]}

The values go into the WSGI environ: ``laravel.session``, ``laravel.user_id``,
``laravel.user``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from ._common import (
    REASONS,
    UNAUTHENTICATED_BODY,
    CookieReader,
    check_require,
    check_sync_loader,
    load_session,
    rejected,
)

if TYPE_CHECKING:
    from .._sync.app import Laravel
    from ._common import Require

__all__ = ["LaravelSessionMiddleware"]

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class LaravelSessionMiddleware:
    """WSGI middleware that attaches the Laravel session and user id to each request.

    Same options as the ASGI middleware (``guard``, ``require``, ``reject_status``,
    ``user_loader``, ``cookie_name``, ``session_cache``), with a blocking
    :class:`~ninja_redis.Laravel` and a plain ``user_loader(user_id)``. A cookie that
    fails any check, a missing or unreadable session and a Redis error all mean "no
    session" (logged on ``ninja_redis.middleware``); rejected requests get
    ``reject_status`` (401) and Laravel's ``{"message":"Unauthenticated."}``. An
    ``async def`` ``user_loader`` is refused (``TypeError``); its errors propagate.
    One instance serves any number of threads.

    .. versionadded:: 0.1
    """

    def __init__(
        self,
        app: WSGIApp,
        laravel: Laravel,
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
        check_sync_loader(user_loader)
        self.user_loader = user_loader
        self.cookie_name = cookie_name or laravel.config.session_cookie
        if session_cache:
            laravel.sessions.enable_client_cache()
        self._read_cookie = CookieReader(self.cookie_name)

    def __call__(
        self, environ: dict[str, Any], start_response: StartResponse
    ) -> Iterable[bytes]:
        """Handle one WSGI request."""
        header = environ.get("HTTP_COOKIE")
        cookie = self._read_cookie(header) if header else None
        session = load_session(self.laravel.sessions, cookie) if cookie else None
        user_id = session.user_id(self.guard) if session is not None else None
        user = None
        if user_id is not None and self.user_loader is not None:
            user = self.user_loader(user_id)
            if user is None:
                user_id = None
        if rejected(self.require, session, user_id):
            status = f"{self.reject_status} {REASONS.get(self.reject_status, 'Error')}"
            start_response(
                status,
                [
                    ("Content-Type", "application/json"),
                    ("Content-Length", str(len(UNAUTHENTICATED_BODY))),
                ],
            )
            return [UNAUTHENTICATED_BODY]
        environ["laravel.session"] = session
        environ["laravel.user_id"] = user_id
        environ["laravel.user"] = user
        return self.app(environ, start_response)
