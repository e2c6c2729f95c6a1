"""Session bytes against the golden fixtures of real Laravel 10/11/12/13 (no Redis).

Every ``session:write`` step of the session fixtures is replayed with
:class:`ninja_redis.sessions.Session` (same id, same attributes, same flash history, the
CSRF token taken from the fixture since it is random) and the Redis value we would write
is compared byte for byte with the value Laravel wrote. Encrypted sessions are compared
after decryption (the IV is random).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from ninja_redis.config import LaravelConfig
from ninja_redis.crypto import Encrypter, LaravelCookies
from ninja_redis.keys import KeySpace
from ninja_redis.sessions import (
    Session,
    decode_attributes,
    encode_attributes,
    login_key,
    unwrap_cache_string,
    wrap_cache_string,
)
from tests._shared import VERSIONS, load_fixture, raw

SCENARIOS = (
    "session_php",
    "session_json",
    "session_php_encrypted",
    "session_json_encrypted",
    "session_login",
    "underscore_prefixes",
    "predis_client",
)
CASES = [(v, s) for v in VERSIONS for s in SCENARIOS]


def fixture_config(data: dict[str, Any], **extra: Any) -> LaravelConfig:
    """A LaravelConfig equal to the fixture's Laravel configuration."""
    c = data["config"]
    return LaravelConfig.from_url(
        "redis://127.0.0.1:6379/0",
        laravel_version=c["laravel_version"],
        redis_prefix=c["redis_prefix"],
        cache_prefix=c["cache_prefix"],
        session_cookie=c["session_cookie"],
        session_serialization=c.get("session_serialization") or "php",
        session_encrypt=bool(c.get("session_encrypt")),
        app_key=c["app_key"],
        cipher=c.get("cipher") or "AES-256-CBC",
        **extra,
    )


def _options(args: list[str]) -> dict[str, str]:
    out = {}
    for a in args[2:]:
        name, _, value = a[2:].partition("=")
        out[name] = value
    return out


def stored_values(step: dict[str, Any]) -> dict[bytes, bytes]:
    """db 0 string values after a step."""
    out = {}
    for db in step.get("dump_after") or []:
        if db["db"] == 0:
            for e in db["keys"]:
                if e["type"] == "string":
                    out[raw(e["key"])] = raw(e["value"])
    return out


def replay(version: str, scenario: str) -> list[tuple[bytes, bytes, bytes, Session]]:
    """``(key, laravel_value, our_inner_blob_or_value, session)`` per write step."""
    data = load_fixture(version, scenario)
    cfg = fixture_config(data)
    keys = KeySpace(cfg)
    enc = Encrypter.from_app_key(cfg.app_key or "", cfg.cipher)
    ser = cfg.session_serialization
    store: dict[bytes, bytes] = {}
    results = []
    for step in data["steps"]:
        args = step["args"]
        if args[0] != "session:write":
            if step.get("dump_after"):
                store = stored_values(step)
            continue
        out = step["output"]
        opts = _options(args)
        incoming = out["incoming_session_id"]
        after = out["attributes_after_save"]
        old = store.get(keys.session(incoming))
        if old is not None:
            inner = unwrap_cache_string(old)
            if cfg.session_encrypt:
                inner = enc.decrypt(inner)
                inner = inner.encode() if isinstance(inner, str) else inner
            session = Session(incoming, decode_attributes(inner, ser), exists=True)
        else:
            session = Session(incoming)
            session.put("_token", after["_token"])  # random in Laravel: take it
        session.put(json.loads(args[1]))
        if "flash" in opts:
            for k, v in json.loads(opts["flash"]).items():
                session.flash(k, v)
        if "login" in opts:
            session.login(int(opts["login"]))
            session.id = out["session_id"]  # migrate(true): random new id
            session.put("_token", after["_token"])  # 12.x+ regenerates it
        if "previous-url" in opts:
            session.set_previous_url(opts["previous-url"])
        session.age_flash_data()
        key = keys.session(session.id)
        assert key == raw(
            next(
                e["key"]
                for db in step["dump_after"]
                if db["db"] == 0
                for e in db["keys"]
                if raw(e["key"]).endswith(session.id.encode())
            )
        )
        laravel_value = stored_values(step)[key]
        inner = encode_attributes(session.attributes, ser)
        results.append((key, laravel_value, inner, session))
        store = stored_values(step)
    assert results, "the fixture has no session:write step"
    return results


@pytest.mark.parametrize(("version", "scenario"), CASES)
def test_python_writes_laravel_bytes(version: str, scenario: str) -> None:
    data = load_fixture(version, scenario)
    cfg = fixture_config(data)
    enc = Encrypter.from_app_key(cfg.app_key or "", cfg.cipher)
    for _key, laravel_value, inner, _session in replay(version, scenario):
        if cfg.session_encrypt:
            envelope = unwrap_cache_string(laravel_value)
            plain = enc.decrypt(envelope, unserialize=False)
            # EncryptedStore: Crypt::encrypt($blob) -> plaintext is serialize($blob)
            assert plain == wrap_cache_string(inner)
        else:
            assert wrap_cache_string(inner) == laravel_value


@pytest.mark.parametrize(("version", "scenario"), CASES)
def test_python_reads_laravel_bytes(version: str, scenario: str) -> None:
    data = load_fixture(version, scenario)
    cfg = fixture_config(data)
    enc = Encrypter.from_app_key(cfg.app_key or "", cfg.cipher)
    for _key, laravel_value, _inner, session in replay(version, scenario):
        blob = unwrap_cache_string(laravel_value)
        if cfg.session_encrypt:
            decrypted = enc.decrypt(blob)
            blob = decrypted.encode() if isinstance(decrypted, str) else decrypted
        attrs = decode_attributes(blob, cfg.session_serialization)
        assert attrs == session.attributes
        assert list(attrs) == list(session.attributes)  # PHP order


@pytest.mark.parametrize("version", VERSIONS)
def test_login_fixture_user_id(version: str) -> None:
    steps = replay(version, "session_login")
    assert steps[0][3].user_id() is None
    assert steps[1][3].user_id() == 42
    assert isinstance(steps[1][3].user_id(), int)
    assert steps[1][3].user_id("admin") is None
    assert steps[2][3].previous_url == "https://example.test/dashboard"
    assert login_key() == "login_web_59ba36addc2b2f9401580f014c7f58ea4e30989d"


@pytest.mark.parametrize("version", VERSIONS)
def test_fixture_cookies_give_the_session_id(version: str) -> None:
    for scenario in ("session_php", "session_json", "session_login", "session_cookie"):
        data = load_fixture(version, scenario)
        cfg = fixture_config(data)
        seen = 0
        for step in data["steps"]:
            out = step["output"]
            cipher = (step.get("env") or {}).get("APP_CIPHER", cfg.cipher)
            cookies = LaravelCookies(Encrypter.from_app_key(cfg.app_key or "", cipher))
            for c in out.get("cookies", []):
                if c["name"] == cfg.session_cookie:
                    sid = cookies.session_id_from_cookie(c["value"], cfg.session_cookie)
                    assert sid == out["session_id"]
                    seen += 1
            if step["args"][0] == "cookie:decrypt":
                name, value = step["args"][1], step["args"][2]
                assert cookies.decrypt_or_none(name, value) == out["value_seen_by_app"]
                seen += 1
        assert seen
