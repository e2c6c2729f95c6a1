"""Live round-trips with real Laravel 8.83 (Debian php-illuminate-*): Encrypter,
CookieValuePrefix and the EncryptCookies middleware, both directions.

Random keys (never the fixture key); many cases per ``php`` process
(driver: ``php/crypto.php``).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from ninja_redis.crypto import CIPHERS, Encrypter, LaravelCookies

pytestmark = [pytest.mark.php, pytest.mark.laravel]

DRIVER = Path(__file__).with_name("php") / "crypto.php"
VALUES = [b"", b"hello", b"gr\xc3\xbc\xc3\x9fe", b"\x00\xff" * 40, b"x" * 1000, b"a|b"]


def _probe() -> str | None:
    php = shutil.which("php")
    if php is None:
        return "no php binary (apt-get install php-cli)"
    probe = subprocess.run(
        [
            php,
            "-r",
            "require 'Illuminate/Encryption/autoload.php'; "
            "require 'Illuminate/Cookie/autoload.php'; echo 'ok';",
        ],
        capture_output=True,
        text=True,
    )
    if probe.stdout != "ok":
        return "Debian php-illuminate-encryption/-cookie not installed"
    return None


@pytest.fixture(scope="module")
def php() -> Any:
    reason = _probe()
    if reason:
        pytest.skip(reason)

    def run(cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
        proc = subprocess.run(
            ["php", str(DRIVER)],
            input=json.dumps(cases),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 0, proc.stderr
        out: list[dict[str, Any]] = json.loads(proc.stdout)
        assert len(out) == len(cases)
        return out

    return run


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def new_key(cipher: str) -> bytes:
    return os.urandom(16 if "128" in cipher else 32)


def test_python_encrypts_php_decrypts(php: Any) -> None:
    cases, expected = [], []
    for cipher in CIPHERS:
        key = new_key(cipher)
        enc = Encrypter(key, cipher.lower() if "128" in cipher else cipher)
        for value in VALUES:
            cases.append(
                {
                    "op": "decrypt",
                    "key_b64": b64(key),
                    "cipher": cipher,
                    "payload": enc.encrypt_string(value),
                    "unserialize": False,
                }
            )
            expected.append(value)
    for case, want, got in zip(cases, expected, php(cases), strict=True):
        assert got["ok"], (case["cipher"], got)
        assert base64.b64decode(got["value_b64"]) == want


def test_php_encrypts_python_decrypts(php: Any) -> None:
    cases, keys = [], []
    for cipher in CIPHERS:
        key = new_key(cipher)
        for value in VALUES:
            cases.append(
                {
                    "op": "encrypt",
                    "key_b64": b64(key),
                    "cipher": cipher,
                    "value_b64": b64(value),
                    "serialize": False,
                }
            )
            keys.append((key, cipher, value))
        for obj in ({"secret": [1, 2]}, "plain", 42, [1.5, None, True]):
            cases.append(
                {
                    "op": "encrypt",
                    "key_b64": b64(key),
                    "cipher": cipher,
                    "value_json": obj,
                    "serialize": True,
                }
            )
            keys.append((key, cipher, obj))
    for case, (key, cipher, value), got in zip(cases, keys, php(cases), strict=True):
        assert got["ok"], got
        enc = Encrypter(key, cipher)
        plaintext = base64.b64decode(got["plaintext_b64"])
        assert enc.decrypt_bytes(got["payload"]) == plaintext
        if not case["serialize"]:
            assert plaintext == value
        # previous keys: still decrypts when the PHP key is an old key
        rotated = Encrypter(new_key(cipher), cipher, previous_keys=[key])
        assert rotated.decrypt_bytes(got["payload"]) == plaintext


def test_serialize_true_both_ways(php: Any) -> None:
    pytest.importorskip("ninja_redis.php", reason="ninja_redis.php codec not present")
    values: list[Any] = [{"secret": [1, 2]}, "plain", 42, [1.5, None, True], "grüße"]
    cases, meta = [], []
    for cipher in CIPHERS:
        key = new_key(cipher)
        enc = Encrypter(key, cipher)
        for value in values:
            cases.append(
                {
                    "op": "decrypt",
                    "key_b64": b64(key),
                    "cipher": cipher,
                    "payload": enc.encrypt(value),
                    "unserialize": True,
                }
            )
            meta.append((enc, value, "py->php"))
            cases.append(
                {
                    "op": "encrypt",
                    "key_b64": b64(key),
                    "cipher": cipher,
                    "value_json": value,
                    "serialize": True,
                }
            )
            meta.append((enc, value, "php->py"))
    from ninja_redis import php as codec

    for (enc, value, way), got in zip(meta, php(cases), strict=True):
        assert got["ok"], got
        if way == "py->php":
            assert base64.b64decode(got["serialized_b64"]) == codec.dumps(value)
        else:
            assert enc.decrypt(got["payload"]) == value


def test_php_rejects_tampered_python_payload(php: Any) -> None:
    key = new_key("AES-256-CBC")
    enc = Encrypter(key)
    env = json.loads(base64.b64decode(enc.encrypt_string("x")))
    env["mac"] = "0" * 64
    bad = b64(json.dumps(env).encode())
    [got] = php(
        [
            {
                "op": "decrypt",
                "key_b64": b64(key),
                "cipher": "AES-256-CBC",
                "payload": bad,
                "unserialize": False,
            }
        ]
    )
    assert not got["ok"] and got["error"].endswith("DecryptException")


def test_cookie_prefix_matches(php: Any) -> None:
    key = os.urandom(32)
    names = ["laravel_session", "laravel-session", "XSRF-TOKEN", "cart[items]", "ü"]
    got = php([{"op": "prefix", "key_b64": b64(key), "name": n} for n in names])
    enc = LaravelCookies(Encrypter(key))
    assert [g["prefix"] for g in got] == [enc.prefix(n) for n in names]


def test_php_middleware_cookies_to_python(php: Any) -> None:
    cases, meta = [], []
    for cipher in CIPHERS:
        key = new_key(cipher)
        for name in ("laravel_session", "laravel-session", "XSRF-TOKEN"):
            for value in (
                b"AbCdEfGhIjKlMnOpQrStUvWxYz0123456789AbCd",
                b"tok",
                b"a b/c+d",
            ):
                cases.append(
                    {
                        "op": "cookie_encrypt",
                        "key_b64": b64(key),
                        "cipher": cipher,
                        "name": name,
                        "value_b64": b64(value),
                    }
                )
                meta.append((key, cipher, name, value))
    for (key, cipher, name, value), got in zip(meta, php(cases), strict=True):
        assert got["ok"], got
        cookies = LaravelCookies(Encrypter(key, cipher))
        assert cookies.decrypt_bytes(name, got["payload"]) == value
        # the Set-Cookie header Symfony renders (rawurlencode) decrypts too
        header_value = got["set_cookie"].split(";", 1)[0].split("=", 1)[1]
        assert cookies.decrypt_bytes(name, header_value) == value
        assert cookies.decrypt_or_none(name + "x", got["payload"]) is None


def test_python_cookies_to_php_middleware(php: Any) -> None:
    cases, expected = [], []
    for cipher in CIPHERS:
        key = new_key(cipher)
        cookies = LaravelCookies(Encrypter(key, cipher))
        for name in ("laravel_session", "laravel-session", "XSRF-TOKEN"):
            for value in ("AbCdEfGhIjKlMnOpQrStUvWxYz0123456789AbCd", "tok", "a b/c+d"):
                payload = cookies.encrypt(name, value, url_encode=False)
                cases.append(
                    {
                        "op": "cookie_decrypt",
                        "key_b64": b64(key),
                        "cipher": cipher,
                        "name": name,
                        "payload": payload,
                    }
                )
                expected.append(value.encode())
                # a cookie encrypted for another name is seen as null by the app
                cases.append(
                    {
                        "op": "cookie_decrypt",
                        "key_b64": b64(key),
                        "cipher": cipher,
                        "name": name + "-other",
                        "payload": payload,
                    }
                )
                expected.append(None)
    for want, got in zip(expected, php(cases), strict=True):
        assert got["ok"], got
        seen = got["value_b64"]
        assert (None if seen is None else base64.b64decode(seen)) == want
