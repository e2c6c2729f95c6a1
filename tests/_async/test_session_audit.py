"""Session store audit against a real Redis: version-dependent login, migrate,
invalidate, random lifetimes and keys, SESSION_ENCRYPT with previous keys.

Expected behaviour from Laravel's ``Store`` and ``SessionGuard`` (``updateSession``:
``migrate(true)`` before 12.34, ``regenerate(true)`` since laravel/framework#57204,
12.34; spec §7.3 saw the ``_token`` kept on 10.50/11.56 and replaced on 12.67).
"""

from __future__ import annotations

import base64
import random
from typing import Any

import pytest
import redis as redis_sync

from ninja_redis import php
from ninja_redis._async.app import AsyncLaravel
from ninja_redis.crypto import CIPHERS, Encrypter
from ninja_redis.exceptions import DecryptError
from ninja_redis.sessions import login_key, unwrap_cache_string


def make_app(redis_url: str, prefix: str, **overrides: Any) -> AsyncLaravel:
    options: dict[str, Any] = {
        "laravel_version": "12.67",
        "redis_prefix": prefix,
        "app_key": Encrypter.generate_key(),
    }
    options.update(overrides)
    return AsyncLaravel.from_url(redis_url, **options)


def pttl_ok(client: redis_sync.Redis, key: bytes, lifetime: int) -> bool:
    pttl = client.pttl(key)
    return bool(lifetime * 60_000 - 10_000 < pttl <= lifetime * 60_000)


@pytest.mark.parametrize(
    ("version", "new_token"),
    [
        ("8.83", False),
        ("10.50", False),
        ("11.56", False),
        ("12.33", False),
        ("12.34", True),
        ("12.67", True),
        ("13.26", True),
    ],
)
async def test_login_moves_the_session_like_session_guard(
    redis_url: str, prefix: str, version: str, new_token: bool
) -> None:
    client = redis_sync.Redis.from_url(redis_url)
    lifetime = random.Random(version).randint(1, 50_000)
    async with make_app(
        redis_url, prefix, laravel_version=version, session_lifetime=lifetime
    ) as app:
        store = app.sessions
        session = store.create({"cart": [1, 2]})
        await store.save(session)
        old_id, token = session.id, session.token
        old_key = store.key(old_id)
        assert client.exists(old_key) and pttl_ok(client, old_key, lifetime)

        await store.login(session, 42)
        assert session.id != old_id and not session.exists
        assert not client.exists(old_key)  # migrate(true): old key destroyed
        assert (session.token != token) is new_token
        assert session.user_id() == 42 and session["cart"] == [1, 2]
        await store.save(session)
        value = client.get(store.key(session.id))
        assert value is not None and pttl_ok(client, store.key(session.id), lifetime)
        stored = php.loads(unwrap_cache_string(value))
        assert stored[login_key()] == 42 and stored["_token"] == session.token
        loaded = await store.load(session.id)
        assert loaded is not None and loaded.user_id() == 42


async def test_migrate_keeps_or_destroys_the_old_key(
    redis_url: str, prefix: str
) -> None:
    client = redis_sync.Redis.from_url(redis_url)
    async with make_app(redis_url, prefix) as app:
        store = app.sessions
        session = store.create({"a": 1})
        await store.save(session)
        first, token = session.id, session.token
        await store.migrate(session)  # Laravel's default: the old key stays
        assert session.id != first and session.token == token
        assert client.exists(store.key(first))
        await store.save(session)
        second = session.id
        await store.migrate(session, destroy=True)
        assert not client.exists(store.key(second))
        assert session.token == token and session["a"] == 1
        # regenerate = migrate + a new token
        await store.save(session)
        third = session.id
        await store.regenerate(session, destroy=False)
        assert session.token != token and client.exists(store.key(third))


async def test_invalidate_flushes_and_destroys(redis_url: str, prefix: str) -> None:
    client = redis_sync.Redis.from_url(redis_url)
    async with make_app(redis_url, prefix) as app:
        store = app.sessions
        session = store.create({"a": 1})
        session.login(7)
        await store.save(session)
        old = session.id
        await store.invalidate(session)
        assert session.id != old and not client.exists(store.key(old))
        assert dict(session) == {} and session.token is None
        session.regenerate_token()  # what the logout controller does next
        await store.save(session)
        stored = php.loads(unwrap_cache_string(client.get(store.key(session.id))))
        assert list(stored) == ["_token", "_flash"]


@pytest.mark.parametrize("cipher", CIPHERS)
async def test_encrypted_sessions_with_previous_keys(
    redis_url: str, prefix: str, cipher: str
) -> None:
    """SESSION_ENCRYPT with APP_PREVIOUS_KEYS (11+): a session written under the old
    key still loads after the rotation; the next save uses the new key."""
    size = 16 if "128" in cipher else 32
    rng = random.Random(cipher)
    old_key = Encrypter.generate_key(cipher)
    new_key = "base64:" + base64.b64encode(rng.randbytes(size)).decode()
    common: dict[str, Any] = {
        "laravel_version": "11.56",
        "session_encrypt": True,
        "cipher": cipher,
        "session_serialization": "json",
    }
    async with make_app(redis_url, prefix, app_key=old_key, **common) as before:
        session = before.sessions.create({"name": "Grüße", "n": [1, 2.5, None]})
        await before.sessions.save(session)
        sid = session.id
        raw_before = await before.sessions.redis.get(before.sessions.key(sid))
    async with make_app(
        redis_url, prefix, app_key=new_key, previous_keys=[old_key], **common
    ) as after:
        loaded = await after.sessions.load(sid)
        assert loaded is not None and loaded["name"] == "Grüße"
        await after.sessions.save(loaded)
        raw_after = await after.sessions.redis.get(after.sessions.key(sid))
        envelope = unwrap_cache_string(raw_after)
        new_only = Encrypter.from_app_key(new_key, cipher)
        assert new_only.decrypt(envelope).startswith('{"_token":')
        with pytest.raises(DecryptError):  # the old key cannot read it
            Encrypter.from_app_key(old_key, cipher).decrypt(envelope)
        assert raw_before != raw_after
