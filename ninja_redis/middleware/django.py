"""Django middleware: ``request.laravel_session``, ``request.laravel_user_id``.

settings.py::

    MIDDLEWARE = [..., "ninja_redis.middleware.django.LaravelSessionMiddleware", ...]
    LARAVEL_SESSION = {
        "app": "myproject.laravel.laravel",          # a ninja_redis.Laravel (sync views)
        "async_app": "myproject.laravel.alaravel",   # an AsyncLaravel (ASGI / async views)
        "guard": "web",
        "require": None,            # or "session" / "user": 401 otherwise
        "user_loader": "myproject.laravel.load_user",   # optional, user_id -> user | None
        "session_cache": True,      # server-assisted cache of session reads (default)
    }

Values may be the objects themselves or dotted import paths. The middleware is sync and
async capable: under ASGI with async views it uses ``async_app``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.conf import settings  # type: ignore[import-untyped]
from django.core.exceptions import ImproperlyConfigured  # type: ignore[import-untyped]
from django.http import HttpRequest, HttpResponse  # type: ignore[import-untyped]
from django.utils.module_loading import import_string  # type: ignore[import-untyped]

from ._common import (
    UNAUTHENTICATED_BODY,
    CookieReader,
    aload_session,
    check_require,
    check_sync_loader,
    load_session,
    redis_timeout,
    rejected,
)

__all__ = ["LaravelSessionMiddleware"]


def _resolve(value: Any) -> Any:
    return import_string(value) if isinstance(value, str) else value


class LaravelSessionMiddleware:
    """Django middleware that attaches the Laravel session and user id to each request.

    Sets ``request.laravel_session`` (a :class:`~ninja_redis.sessions.Session` or
    ``None``), ``request.laravel_user_id`` and ``request.laravel_user`` (from the
    optional ``user_loader``). Configured by the ``LARAVEL_SESSION`` setting (see the
    module docstring). A cookie that fails the MAC or prefix check, a missing or
    unreadable session and a Redis error mean "no session" (logged on
    ``ninja_redis.middleware``). In an async chain a plain ``user_loader`` runs through
    ``sync_to_async`` (so it may use the ORM); errors it raises propagate.

    .. versionadded:: 0.1
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        options = dict(getattr(settings, "LARAVEL_SESSION", {}) or {})
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)
        key = "async_app" if self.is_async else "app"
        self.laravel = _resolve(options.get(key))
        if self.laravel is None:
            raise ImproperlyConfigured(
                f"settings.LARAVEL_SESSION[{key!r}] must name a "
                f"{'AsyncLaravel' if self.is_async else 'Laravel'} instance"
            )
        self.guard: str = options.get("guard", "web")
        try:
            self.require = check_require(options.get("require"))
        except ValueError as exc:
            raise ImproperlyConfigured(f"LARAVEL_SESSION: {exc}") from None
        self.reject_status: int = options.get("reject_status", 401)
        self.user_loader = _resolve(options.get("user_loader"))
        self._aloader: Callable[[Any], Awaitable[Any]] | None = None
        if self.user_loader is not None and self.is_async:
            if iscoroutinefunction(self.user_loader):
                self._aloader = self.user_loader
            else:
                # a plain loader does ORM queries: not in the event loop
                # (SynchronousOnlyOperation), in Django's sync thread instead
                self._aloader = sync_to_async(self.user_loader)
        elif not self.is_async:
            try:
                check_sync_loader(self.user_loader)
            except TypeError as exc:
                raise ImproperlyConfigured(f"LARAVEL_SESSION: {exc}") from None
        self.cookie_name: str = (
            options.get("cookie_name") or self.laravel.config.session_cookie
        )
        if options.get("session_cache", True):
            self.laravel.sessions.enable_client_cache()
        self._read_cookie = CookieReader(self.cookie_name)
        self._timeout = redis_timeout(self.laravel.sessions)

    def _cookie(self, request: HttpRequest) -> str | None:
        # The Cookie header as PHP reads it (first of duplicate names wins; "." and
        # " " in names become "_"), not request.COOKIES (where the last one wins).
        header = request.META.get("HTTP_COOKIE")
        return self._read_cookie(header) if header else None

    def __call__(self, request: HttpRequest) -> Any:
        """Handle one request (returns a coroutine under async Django)."""
        if self.is_async:
            return self.__acall__(request)
        cookie = self._cookie(request)
        session = load_session(self.laravel.sessions, cookie) if cookie else None
        user_id = session.user_id(self.guard) if session is not None else None
        user = None
        if user_id is not None and self.user_loader is not None:
            user = self.user_loader(user_id)
            if user is None:
                user_id = None
        return self._finish(request, session, user_id, user, self.get_response)

    async def __acall__(self, request: HttpRequest) -> Any:
        """The async path: uses ``async_app`` (an AsyncLaravel)."""
        cookie = self._cookie(request)
        session = None
        if cookie:
            session = await aload_session(self.laravel.sessions, cookie, self._timeout)
        user_id = session.user_id(self.guard) if session is not None else None
        user = None
        if user_id is not None and self._aloader is not None:
            user = await self._aloader(user_id)
            if user is None:
                user_id = None
        response = self._finish(request, session, user_id, user, self.get_response)
        if isinstance(response, Awaitable):
            return await response
        return response

    def _finish(
        self,
        request: HttpRequest,
        session: Any,
        user_id: Any,
        user: Any,
        get_response: Callable[[HttpRequest], Any],
    ) -> Any:
        if rejected(self.require, session, user_id):
            return HttpResponse(
                UNAUTHENTICATED_BODY,
                status=self.reject_status,
                content_type="application/json",
            )
        request.laravel_session = session
        request.laravel_user_id = user_id
        request.laravel_user = user
        return get_response(request)
