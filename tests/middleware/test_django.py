"""Django middleware with Django's test clients (minimal settings configured here)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import django
import pytest
from django.conf import settings

from ninja_redis._async.app import AsyncLaravel
from tests.middleware.conftest import Seeded, options

if not settings.configured:
    settings.configure(
        DEBUG=False,
        SECRET_KEY="test",
        ALLOWED_HOSTS=["*"],
        ROOT_URLCONF=__name__,
        MIDDLEWARE=["ninja_redis.middleware.django.LaravelSessionMiddleware"],
        INSTALLED_APPS=[],
        DATABASES={},
        LARAVEL_SESSION={},
        USE_TZ=True,
    )
    django.setup()

from django.http import HttpRequest, JsonResponse
from django.test import AsyncClient, Client, override_settings
from django.urls import path


def me(request: HttpRequest) -> JsonResponse:
    session = request.laravel_session  # type: ignore[attr-defined]
    return JsonResponse(
        {
            "user_id": request.laravel_user_id,  # type: ignore[attr-defined]
            "user": request.laravel_user,  # type: ignore[attr-defined]
            "theme": session.get("theme") if session is not None else None,
        }
    )


async def ame(request: HttpRequest) -> JsonResponse:
    return me(request)


urlpatterns = [path("me", me), path("ame", ame)]
MIDDLEWARE = ["ninja_redis.middleware.django.LaravelSessionMiddleware"]


def django_settings(**laravel_session: Any) -> Any:
    """override_settings that do not depend on who configured Django first."""
    return override_settings(
        ROOT_URLCONF=__name__, MIDDLEWARE=MIDDLEWARE, LARAVEL_SESSION=laravel_session
    )


@pytest.fixture
def configured(seeded: Seeded) -> Iterator[Seeded]:
    with django_settings(app=seeded.laravel):
        yield seeded


def call(client: Any, url: str, cookie: str | None, name: str) -> Any:
    if cookie is not None:
        client.cookies[name] = cookie
    return client.get(url)


def test_django_sync(configured: Seeded) -> None:
    s = configured
    r = call(Client(), "/me", s.logged_in, s.cookie_name)
    assert r.status_code == 200
    assert json.loads(r.content) == {"user_id": 42, "user": None, "theme": "dark"}
    assert (
        json.loads(call(Client(), "/me", s.forged, s.cookie_name).content)["user_id"]
        is None
    )
    assert (
        json.loads(call(Client(), "/me", None, s.cookie_name).content)["user_id"]
        is None
    )


def test_django_require_and_loader(seeded: Seeded) -> None:
    s = seeded
    conf = {"app": s.laravel, "require": "user", "user_loader": lambda uid: {"id": uid}}
    with django_settings(**conf):
        r = call(Client(), "/me", s.logged_in, s.cookie_name)
        assert json.loads(r.content)["user"] == {"id": 42}
        r = call(Client(), "/me", s.guest, s.cookie_name)
        assert r.status_code == 401 and json.loads(r.content) == {
            "message": "Unauthenticated."
        }


async def test_django_async(seeded: Seeded, redis_url: str, prefix: str) -> None:
    s = seeded
    async with AsyncLaravel.from_url(redis_url, **options(prefix)) as alaravel:  # type: ignore[arg-type]
        with django_settings(app=s.laravel, async_app=alaravel, require="session"):
            client = AsyncClient()
            client.cookies[s.cookie_name] = s.logged_in
            r = await client.get("/ame")
            assert r.status_code == 200 and json.loads(r.content)["user_id"] == 42
            client.cookies[s.cookie_name] = s.forged
            assert (await client.get("/ame")).status_code == 401
