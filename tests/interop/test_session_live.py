"""Two-way live tests with Laravel 8.83's own session Store (Debian php-illuminate-*).

PHP (tests/interop/php/session.php) runs ``Illuminate\\Session\\Store`` /
``EncryptedStore`` over ``CacheBasedSessionHandler`` + ``RedisStore`` (phpredis) against
the private test Redis, and ``EncryptCookies`` for the cookie. Random APP_KEYs.
"""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from ninja_redis import php
from ninja_redis._sync.app import Laravel
from ninja_redis.crypto import Encrypter
from ninja_redis.sessions import Session, login_key

pytestmark = [pytest.mark.php, pytest.mark.laravel]

DRIVER = Path(__file__).parent / "php" / "session.php"
COOKIE = "laravel_session"
SID = "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789AbCd"


def run_php(
    redis_url: str,
    prefix: str,
    key: str,
    cases: list[dict[str, Any]],
    cipher: str = "AES-256-CBC",
) -> list[dict[str, Any]]:
    u = urlsplit(redis_url)
    redis_cfg: dict[str, Any] = {
        "host": u.hostname,
        "port": u.port or 6379,
        "database": int((u.path or "/0").lstrip("/") or 0),
    }
    if u.password:
        redis_cfg["password"] = u.password
    payload = {
        "redis": redis_cfg,
        "prefix": prefix,
        "cache_prefix": "laravel_cache",
        "key_b64": key.removeprefix("base64:"),
        "cipher": cipher,
        "lifetime": 120,
        "cookie": COOKIE,
        "cases": cases,
    }
    proc = subprocess.run(
        ["php", str(DRIVER)],
        input=json.dumps(payload).encode(),
        capture_output=True,
        timeout=25,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    out: list[dict[str, Any]] = json.loads(proc.stdout)
    for r in out:
        assert r["ok"], r
    return out


def make_app(redis_url: str, prefix: str, key: str, **kw: Any) -> Laravel:
    return Laravel.from_url(
        redis_url,
        laravel_version="8.83",
        redis_prefix=prefix,
        cache_prefix="laravel_cache",
        session_cookie=COOKIE,
        app_key=key,
        **kw,
    )


# Each inner list is one request: the ops run between start() and save().
REQUESTS: list[list[list[Any]]] = [
    [
        ["put", "a", 1],
        ["flash", "x", 1],
        ["flash", "y", "two"],
        ["now", "z", 3.5],
        ["put", "cart.0.qty", 2],
        ["setPreviousUrl", "http://localhost/a/b?c=d"],
    ],
    [
        ["keep", ["x"]],
        ["flash", "w", [1, 2]],
        ["push", "list", "p"],
        ["push", "list", "q"],
        ["put", login_key(), 42],
        ["put", "name", "Grüße"],
    ],
    [["reflash"], ["forget", "a"], ["increment", "visits"], ["forget", "cart.0.qty"]],
    [["flash", "y", 5], ["flashInput", {"q": "r"}], ["keep"], ["flash", "x", None]],
    [["now", "n", True], ["remove", "name"], ["keep", ["y", "w"]]],
    [],
    [["flash", "x", 9], ["flash", "y", 8], ["keep", ["y"]]],
    [],
]

PY_NAMES = {"setPreviousUrl": "set_previous_url", "flashInput": "flash_input"}


def apply(session: Session, ops: list[list[Any]]) -> None:
    for op in ops:
        getattr(session, PY_NAMES.get(op[0], op[0]))(*op[1:])


@pytest.mark.parametrize("encrypt", [False, True])
def test_same_history_same_bytes(redis_url: str, prefix: str, encrypt: bool) -> None:
    key = Encrypter.generate_key()
    token = "T" * 40
    cases = [
        {
            "op": "write",
            "id": SID,
            "encrypt": encrypt,
            "ops": ([["put", "_token", token]] if i == 0 else []) + ops,
        }
        for i, ops in enumerate(REQUESTS)
    ]
    results = run_php(redis_url, prefix + "php:", key, cases)
    with make_app(redis_url, prefix + "py:", key, session_encrypt=encrypt) as app:
        store = app.sessions
        session = Session(SID)
        session.put("_token", token)
        for ops, php_result in zip(REQUESTS, results, strict=True):
            apply(session, ops)
            store.save(session)
            value = store.redis.get(store.key(SID))
            php_value = base64.b64decode(php_result["value_b64"])
            if encrypt:
                ours = app.encrypter.decrypt(value[value.index(b'"') + 1 : -2])
                theirs = app.encrypter.decrypt(
                    php_value[php_value.index(b'"') + 1 : -2]
                )
                assert ours == theirs
            else:
                assert value == php_value
            assert php.dumps(session.attributes) == base64.b64decode(
                php_result["attributes_b64"]
            )
            session = store.load(SID)  # the next request reads what was saved
            assert session is not None


@pytest.mark.parametrize("encrypt", [False, True])
@pytest.mark.parametrize("cipher", ["AES-256-CBC", "AES-128-GCM"])
def test_php_session_read_by_python(
    redis_url: str, prefix: str, encrypt: bool, cipher: str
) -> None:
    key = Encrypter.generate_key(cipher)
    res = run_php(
        redis_url,
        prefix,
        key,
        [
            {
                "op": "write",
                "encrypt": encrypt,
                "ops": [
                    ["put", {"theme": "dark", "u": "ü"}],
                    ["put", login_key(), 7],
                    ["flash", "status", "ok"],
                ],
            },
        ],
        cipher=cipher,
    )
    sid = res[0]["id"]
    cookie = run_php(
        redis_url, prefix, key, [{"op": "cookie_encrypt", "value": sid}], cipher=cipher
    )[0]["payload"]
    with make_app(
        redis_url, prefix, key, session_encrypt=encrypt, cipher=cipher
    ) as app:
        session = app.sessions.from_cookie(cookie)
        assert session is not None and session.id == sid
        assert session.user_id() == 7
        assert session["status"] == "ok"
        assert php.dumps(session.attributes) == base64.b64decode(
            res[0]["attributes_b64"]
        )


@pytest.mark.parametrize("encrypt", [False, True])
@pytest.mark.parametrize("cipher", ["AES-256-CBC", "AES-256-GCM"])
def test_python_session_read_by_php(
    redis_url: str, prefix: str, encrypt: bool, cipher: str
) -> None:
    key = Encrypter.generate_key(cipher)
    with make_app(
        redis_url, prefix, key, session_encrypt=encrypt, cipher=cipher
    ) as app:
        s = app.sessions.create({"cart": [{"sku": "A-1"}], "n": 1.5})
        s.login(42)
        s.flash("status", "Saved/ok")
        app.sessions.save(s)
        cookie = app.sessions.cookie_value(s)
        expected = php.dumps(s.attributes)
    res = run_php(
        redis_url,
        prefix,
        key,
        [
            {"op": "cookie_decrypt", "payload": cookie.replace("%3D", "=")},
            {"op": "read", "id": s.id, "encrypt": encrypt},
        ],
        cipher=cipher,
    )
    assert res[0]["value"] == s.id
    assert res[1]["user_id"] == 42
    assert base64.b64decode(res[1]["attributes_b64"]) == expected


def test_php_rejects_forged_python_cookie(redis_url: str, prefix: str) -> None:
    key = Encrypter.generate_key()
    with make_app(redis_url, prefix, key) as app:
        s = app.sessions.create()
        good = app.sessions.cookie_value(s).replace("%3D", "=")
    with make_app(redis_url, prefix, Encrypter.generate_key()) as other:
        forged = other.sessions.cookie_value(s).replace("%3D", "=")
    res = run_php(
        redis_url,
        prefix,
        key,
        [
            {"op": "cookie_decrypt", "payload": good},
            {"op": "cookie_decrypt", "payload": forged},
        ],
    )
    assert res[0]["value"] == s.id
    assert res[1]["value"] is None
