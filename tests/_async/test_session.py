"""AsyncSessionStore against a real Redis: fixture sessions, writes, concurrency, layouts."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
import redis as redis_sync

from ninja_redis._async.app import AsyncLaravel
from ninja_redis.crypto import Encrypter
from ninja_redis.exceptions import DecryptError, UnserializeError
from ninja_redis.sessions import SessionConflict, login_key, wrap_cache_string
from tests._shared import VERSIONS, load_fixture, raw

KEY = Encrypter.generate_key()
SID = "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789AbCd"


def make_app(redis_url: str, prefix: str, **overrides: Any) -> AsyncLaravel:
    options: dict[str, Any] = {
        "laravel_version": "12.67",
        "redis_prefix": prefix,
        "app_key": KEY,
    }
    options.update(overrides)
    return AsyncLaravel.from_url(redis_url, **options)


@pytest_asyncio.fixture
async def app(redis_url: str, prefix: str) -> AsyncIterator[AsyncLaravel]:
    async with make_app(redis_url, prefix) as laravel:
        yield laravel


# ------------------------------------------------------------------ fixtures


def _load_dump(client: redis_sync.Redis, data: dict[str, Any], prefix: str) -> None:
    for db in data["final_dump"]:
        if db["db"] != 0:
            continue
        for e in db["keys"]:
            if e["type"] == "string":
                client.set(
                    prefix.encode() + raw(e["key"]), raw(e["value"]), ex=e["ttl"]
                )


def _fixture_app(redis_url: str, prefix: str, data: dict[str, Any]) -> AsyncLaravel:
    c = data["config"]
    return make_app(
        redis_url,
        prefix + c["redis_prefix"],
        laravel_version=c["laravel_version"],
        cache_prefix=c["cache_prefix"],
        session_cookie=c["session_cookie"],
        session_serialization=c.get("session_serialization") or "php",
        session_encrypt=bool(c.get("session_encrypt")),
        app_key=c["app_key"],
    )


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(
    "scenario",
    [
        "session_php",
        "session_json",
        "session_php_encrypted",
        "session_json_encrypted",
        "session_login",
    ],
)
async def test_fixture_cookie_loads_fixture_session(
    redis_url: str, prefix: str, version: str, scenario: str
) -> None:
    data = load_fixture(version, scenario)
    client = redis_sync.Redis.from_url(redis_url)
    try:
        _load_dump(client, data, prefix)
        last = [s for s in data["steps"] if s["args"][0] == "session:write"][-1]
        cookie = last["output"]["cookies"][0]["value"]
        async with _fixture_app(redis_url, prefix, data) as laravel:
            session = await laravel.sessions.from_cookie(cookie)
            assert session is not None
            assert session.id == last["output"]["session_id"]
            assert session.exists
            expected = last["output"]["attributes_after_save"]
            assert list(session) == list(expected)
            assert session.token == expected["_token"]
            want_user = 42 if scenario == "session_login" else None
            assert session.user_id() == want_user
            # the Set-Cookie header as the browser sends it back (%3D) works too
            header = last["output"]["cookies"][0]["set_cookie_header"].split(";")[0]
            again = await laravel.sessions.from_header("a=b; " + header)
            assert again is not None and again.id == session.id
            # saving what we read (no flash left to age) gives Laravel's exact bytes
            key = laravel.sessions.key(session.id)
            before = client.get(key)
            await laravel.sessions.save(session)
            after = client.get(key)
            if not data["config"].get("session_encrypt"):
                assert after == before
            else:
                assert after != before  # new IV, same plaintext:
                reread = await laravel.sessions.load(session.id)
                assert reread is not None and reread.attributes == session.attributes
            assert client.ttl(key) == 7200
    finally:
        client.close()


# ------------------------------------------------------------------ writes


async def test_save_writes_laravel_value_and_ttl(
    app: AsyncLaravel, redis_client: redis_sync.Redis, prefix: str
) -> None:
    s = app.sessions.create({"cart": [{"sku": "A-1", "qty": 2}], "theme": "dark"})
    s.flash("status", "Saved!")
    await app.sessions.save(s)
    key = (prefix + "laravel-cache-" + s.id).encode()
    assert app.sessions.key(s.id) == key
    value = redis_client.get(key)
    assert value is not None and value.startswith(b"s:")
    assert (
        value
        == wrap_cache_string(
            b'a:5:{s:6:"_token";s:40:"' + s.token.encode() + b'";'  # type: ignore[union-attr]
            b's:4:"cart";a:1:{i:0;a:2:{s:3:"sku";s:3:"A-1";s:3:"qty";i:2;}}'
            b's:5:"theme";s:4:"dark";s:6:"status";s:6:"Saved!";'
            b's:6:"_flash";a:2:{s:3:"new";a:0:{}s:3:"old";a:1:{i:0;s:6:"status";}}}'
        )
    )
    assert 7190 <= redis_client.ttl(key) <= 7200
    loaded = await app.sessions.load(s.id)
    assert loaded is not None and loaded["status"] == "Saved!"
    await app.sessions.save(loaded)  # next request: the flash is gone
    again = await app.sessions.load(s.id)
    assert again is not None and "status" not in again
    assert again["_flash"] == {"new": [], "old": []}


async def test_session_connection_and_lifetime(redis_url: str, prefix: str) -> None:
    url3 = redis_url.rsplit("/", 1)[0] + "/3"
    async with make_app(url3, prefix, session_lifetime=5) as laravel:
        s = laravel.sessions.create()
        await laravel.sessions.save(s)
        other = redis_sync.Redis.from_url(url3)
        try:
            assert other.ttl(laravel.sessions.key(s.id)) == 300
        finally:
            other.close()


@pytest.mark.parametrize("serialization", ["php", "json"])
@pytest.mark.parametrize("encrypt", [False, True])
async def test_round_trip_modes(
    redis_url: str, prefix: str, serialization: str, encrypt: bool
) -> None:
    async with make_app(
        redis_url, prefix, session_serialization=serialization, session_encrypt=encrypt
    ) as laravel:
        s = laravel.sessions.create(
            {"name": "Grüße/ü", "n": 1.5, "list": [1, "2", None]}
        )
        s.login(7)
        await laravel.sessions.save(s)
        cookie = laravel.sessions.cookie_value(s)
        loaded = await laravel.sessions.from_cookie(cookie)
        assert loaded is not None
        assert loaded.attributes == s.attributes
        assert loaded.user_id() == 7
        raw_value = await laravel.sessions.redis.get(laravel.sessions.key(s.id))
        if encrypt:
            assert raw_value.startswith(b"s:") and b"eyJpdiI6" in raw_value
        elif serialization == "json":
            assert b'"name":"Gr\\u00fc\\u00dfe\\/\\u00fc"' in raw_value


async def test_laravel_8_ignores_json_serialization(
    redis_url: str, prefix: str
) -> None:
    async with make_app(
        redis_url, prefix, laravel_version="8.83", session_serialization="json"
    ) as laravel:
        s = laravel.sessions.create({"a": 1})
        await laravel.sessions.save(s)
        value = await laravel.sessions.redis.get(laravel.sessions.key(s.id))
        assert value.startswith(b"s:") and b'"a:3:{' in value
        assert laravel.sessions.key(s.id).endswith(b"laravel_cache:" + s.id.encode())


async def test_regenerate_invalidate_destroy(
    app: AsyncLaravel, redis_client: redis_sync.Redis
) -> None:
    s = app.sessions.create({"a": 1})
    await app.sessions.save(s)
    old_id, old_token = s.id, s.token
    await app.sessions.regenerate(s)
    assert s.id != old_id and s.token != old_token
    assert redis_client.exists(app.sessions.key(old_id)) == 0
    assert redis_client.exists(app.sessions.key(s.id)) == 0  # until save()
    await app.sessions.save(s)
    assert (await app.sessions.load(s.id)) is not None
    mid = s.id
    await app.sessions.invalidate(s)
    assert len(s) == 0 and s.id != mid
    assert redis_client.exists(app.sessions.key(mid)) == 0
    await app.sessions.save(s)
    await app.sessions.destroy(s.id)
    assert await app.sessions.load(s.id) is None


async def test_missing_invalid_expired(app: AsyncLaravel) -> None:
    assert await app.sessions.load(SID) is None
    assert await app.sessions.load("short") is None
    assert await app.sessions.load(SID[:-1] + "!") is None
    assert await app.sessions.from_cookie(None) is None
    assert await app.sessions.from_cookie("") is None


async def test_password_hash_versions(redis_url: str, prefix: str) -> None:
    for version, hashed in (("12.44", False), ("12.45", True)):
        async with make_app(redis_url, prefix, laravel_version=version) as laravel:
            s = laravel.sessions.create()
            laravel.sessions.set_password_hash(s, "$2y$12$abc")
            stored = s.password_hash()
            assert stored is not None
            assert (stored != "$2y$12$abc") is hashed
            assert laravel.sessions.password_hash_matches(s, "$2y$12$abc")
            assert not laravel.sessions.password_hash_matches(s, "$2y$12$abd")


# --------------------------------------------------------------- concurrency


async def test_update_retries_on_concurrent_write(
    app: AsyncLaravel, redis_client: redis_sync.Redis
) -> None:
    s = app.sessions.create({"a": 0, "b": 0})
    await app.sessions.save(s)
    calls = 0

    def bump_a(session: Any) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            # another writer (think: PHP) saves in between our read and our write
            other = app.sessions.decode(s.id, redis_client.get(app.sessions.key(s.id)))
            other["b"] = 1
            redis_client.set(app.sessions.key(s.id), app.sessions.encode(other), ex=60)
        session["a"] = session["a"] + 1

    result = await app.sessions.update(s.id, bump_a)
    assert calls == 2
    assert result is not None
    final = await app.sessions.load(s.id)
    assert final is not None and final["a"] == 1 and final["b"] == 1
    assert 7190 <= redis_client.ttl(app.sessions.key(s.id)) <= 7200
    assert await app.sessions.update(SID, bump_a) is None


async def test_update_gives_up(
    app: AsyncLaravel, redis_client: redis_sync.Redis
) -> None:
    s = app.sessions.create({"a": 0})
    await app.sessions.save(s)

    def always_interfere(session: Any) -> None:
        other = app.sessions.decode(s.id, redis_client.get(app.sessions.key(s.id)))
        other["a"] = other["a"] + 100
        redis_client.set(app.sessions.key(s.id), app.sessions.encode(other))

    with pytest.raises(SessionConflict) as info:
        await app.sessions.update(s.id, always_interfere, retries=2)
    assert app.sessions.key(s.id) == info.value.key


async def test_save_if_unchanged(
    app: AsyncLaravel, redis_client: redis_sync.Redis
) -> None:
    s = app.sessions.create({"a": 1})
    await app.sessions.save(s, if_unchanged=True)  # new: must not exist yet
    loaded = await app.sessions.load(s.id)
    assert loaded is not None
    redis_client.set(app.sessions.key(s.id), app.sessions.encode(s), ex=60)
    s2 = app.sessions.create()
    s2.id = s.id
    with pytest.raises(SessionConflict):
        await app.sessions.save(s2, if_unchanged=True)  # exists already
    loaded["a"] = 2
    await app.sessions.save(loaded, if_unchanged=True)  # bytes unchanged: ok
    loaded2 = await app.sessions.load(s.id)
    assert loaded2 is not None and loaded2["a"] == 2


# ------------------------------------------------------------------ bad data


async def test_corrupt_stored_session(
    app: AsyncLaravel, redis_client: redis_sync.Redis
) -> None:
    s = app.sessions.create()
    cookie = app.sessions.cookie_value(s)
    key = app.sessions.key(s.id)
    for bad in (b"garbage", b's:5:"a:1:{";', b's:10:"a:1:{', b"i:5;", b's:3:"i:5";'):
        redis_client.set(key, bad)
        with pytest.raises(UnserializeError) as info:
            await app.sessions.load(s.id)
        assert info.value.key == key
        assert await app.sessions.from_cookie(cookie) is None
        with pytest.raises(UnserializeError):
            await app.sessions.from_cookie(cookie, strict=True)


async def test_encrypted_session_with_other_key(redis_url: str, prefix: str) -> None:
    async with make_app(redis_url, prefix, session_encrypt=True) as a:
        s = a.sessions.create()
        await a.sessions.save(s)
    other = Encrypter.generate_key()
    async with make_app(redis_url, prefix, session_encrypt=True, app_key=other) as b:
        with pytest.raises(DecryptError) as info:
            await b.sessions.load(s.id)
        assert KEY not in str(info.value) and other not in str(info.value)
    async with make_app(
        redis_url, prefix, session_encrypt=True, app_key=other, previous_keys=(KEY,)
    ) as c:
        assert await c.sessions.load(s.id) is not None


async def test_forged_cookie(app: AsyncLaravel) -> None:
    s = app.sessions.create()
    await app.sessions.save(s)
    good = app.sessions.cookie_value(s)
    assert await app.sessions.from_cookie(good) is not None
    forged = Encrypter(Encrypter.generate_key()).encrypt_string(
        app.cookies.prefix(app.config.session_cookie) + s.id
    )
    assert await app.sessions.from_cookie(forged) is None
    with pytest.raises(DecryptError):
        await app.sessions.from_cookie(forged, strict=True)
    other_name = app.cookies.encrypt("XSRF-TOKEN", s.id)
    assert await app.sessions.from_cookie(other_name) is None


async def test_from_request_shapes(app: AsyncLaravel) -> None:
    s = app.sessions.create()
    await app.sessions.save(s)
    cookie = app.sessions.cookie_value(s)
    name = app.config.session_cookie
    header = f"x=1; {name}={cookie}"
    scope = {"type": "http", "headers": [(b"cookie", header.encode())]}
    environ = {"wsgi.version": (1, 0), "HTTP_COOKIE": header}

    class Req:
        cookies = {name: cookie}

    for req in (scope, environ, Req(), {name: cookie}):
        got = await app.sessions.from_request(req)
        assert got is not None and got.id == s.id
    assert await app.sessions.from_request({"type": "http", "headers": []}) is None
    with pytest.raises(TypeError):
        await app.sessions.from_request(object())


# -------------------------------------------------------------- hash layout


async def test_hash_layout(
    redis_url: str, prefix: str, redis_client: redis_sync.Redis
) -> None:
    async with make_app(redis_url, prefix, session_layout="hash") as laravel:
        s = laravel.sessions.create({"a": 1})
        s.login(9)
        s.ip_address, s.user_agent = "10.0.0.1", "pytest"
        await laravel.sessions.save(s)
        key = laravel.sessions.key(s.id)
        assert key == (prefix + "session:" + s.id).encode()
        fields = redis_client.hgetall(key)
        assert set(fields) == {
            b"data",
            b"last_activity",
            b"user_id",
            b"ip_address",
            b"user_agent",
        }
        assert fields[b"user_id"] == b"9"
        blob = base64.b64decode(fields[b"data"])
        assert blob.startswith(b'a:4:{s:6:"_token"')
        assert 7190 <= redis_client.ttl(key) <= 7200
        loaded = await laravel.sessions.from_cookie(laravel.sessions.cookie_value(s))
        assert loaded is not None and loaded.user_id() == 9
        assert loaded.ip_address == "10.0.0.1"

        def inc(session: Any) -> None:
            session["a"] += 1

        await laravel.sessions.update(s.id, inc)
        again = await laravel.sessions.load(s.id)
        assert again is not None and again["a"] == 2
        redis_client.hset(key, "last_activity", "1")  # older than the lifetime
        assert await laravel.sessions.load(s.id) is None
        await laravel.sessions.destroy(s.id)
        assert redis_client.exists(key) == 0
    async with make_app(
        redis_url, prefix, session_layout="hash", session_encrypt=True
    ) as laravel:
        s = laravel.sessions.create({"x": "y"})
        await laravel.sessions.save(s)
        data = base64.b64decode(redis_client.hget(laravel.sessions.key(s.id), "data"))
        assert data.startswith(b"eyJpdiI6")
        loaded = await laravel.sessions.load(s.id)
        assert loaded is not None and loaded["x"] == "y"
    assert login_key("api").startswith("login_api_")
