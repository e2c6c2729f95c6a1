"""Shared setup for the middleware tests: a logged-in session and its cookie."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from ninja_redis._sync.app import Laravel
from ninja_redis.crypto import Encrypter

KEY = Encrypter.generate_key()


@dataclass
class Seeded:
    laravel: Laravel
    cookie_name: str
    logged_in: str  # cookie value of a session with user 42
    guest: str  # cookie value of a session without a user
    forged: str  # valid-looking cookie under another key
    session_id: str


def options(prefix: str) -> dict[str, object]:
    return {"laravel_version": "12.67", "redis_prefix": prefix, "app_key": KEY}


@pytest.fixture
def seeded(redis_url: str, prefix: str) -> Iterator[Seeded]:
    with Laravel.from_url(redis_url, **options(prefix)) as laravel:  # type: ignore[arg-type]
        s = laravel.sessions.create({"theme": "dark"})
        s.login(42)
        laravel.sessions.save(s)
        g = laravel.sessions.create()
        laravel.sessions.save(g)
        other = Laravel.from_url(
            redis_url, **{**options(prefix), "app_key": Encrypter.generate_key()}
        )  # type: ignore[arg-type]
        yield Seeded(
            laravel=laravel,
            cookie_name=laravel.config.session_cookie,
            logged_in=laravel.sessions.cookie_value(s),
            guest=laravel.sessions.cookie_value(g),
            forged=other.sessions.cookie_value(s),
            session_id=s.id,
        )
