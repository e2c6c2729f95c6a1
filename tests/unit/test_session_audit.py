"""Audit of the Encrypter, cookies and sessions against Laravel 10.x-12.x rules (pure).

Seeded random keys, IVs and plaintexts (never the fixture key). The expected values
come from Laravel's sources (``Encrypter``, ``CookieValuePrefix``, ``EncryptCookies``,
``Recaller``) and, for the ``Cookie:`` header table, from PHP 8.2's own parser (``php
-S`` printing ``$_COOKIE``); tests/interop/test_session_audit_live.py checks the same
things against running PHP.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import re
from typing import Any

import pytest
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from ninja_redis import php
from ninja_redis.config import LaravelConfig
from ninja_redis.crypto import (
    CIPHERS,
    Encrypter,
    LaravelCookies,
    Recaller,
    cookie_prefix,
    parse_cookie_header,
)
from ninja_redis.exceptions import DecryptError
from ninja_redis.keys import KeySpace

SEEDS = [3, 77]
ENVELOPE = re.compile(
    r'\{"iv":"([A-Za-z0-9+/=]+)","value":"([A-Za-z0-9+/=]*)",'
    r'"mac":"([0-9a-f]{64}|)","tag":"([A-Za-z0-9+/=]*)"\}'
)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def key_size(cipher: str) -> int:
    return 16 if "128" in cipher else 32


def iv_size(cipher: str) -> int:
    return 12 if cipher.endswith("GCM") else 16


def envelope(payload: str) -> dict[str, Any]:
    obj: dict[str, Any] = json.loads(base64.b64decode(payload, validate=True))
    return obj


def repack(env: dict[str, Any]) -> str:
    return b64(json.dumps(env, separators=(",", ":")).encode())


def mac(key: bytes, env: dict[str, Any]) -> str:
    return hmac.new(key, (env["iv"] + env["value"]).encode(), "sha256").hexdigest()


# ---------------------------------------------------------------------- Encrypter


@pytest.mark.parametrize("seed", SEEDS)
def test_envelope_layout_for_random_keys(seed: int) -> None:
    """iv, value, mac, tag in that order, unescaped slashes, 16/12-byte IV, CBC:
    lowercase hex HMAC-SHA256 of iv+value (base64 text) and tag "", GCM: mac "" and
    a 16-byte tag; the plaintext is serialize($value) or the raw string."""
    rng = random.Random(seed)
    for i in range(200):
        cipher = CIPHERS[i % 4]
        key = rng.randbytes(key_size(cipher))
        enc = Encrypter(rng.choice([key, "base64:" + b64(key)]), cipher)
        plaintext = rng.randbytes(rng.randint(0, 100))
        serialize = rng.random() < 0.5
        payload = enc.encrypt(plaintext) if serialize else enc.encrypt_string(plaintext)
        raw = base64.b64decode(payload, validate=True)
        m = ENVELOPE.fullmatch(raw.decode("ascii"))
        assert m is not None, raw
        iv_b64, value_b64, mac_hex, tag_b64 = m.groups()
        assert len(base64.b64decode(iv_b64)) == iv_size(cipher)
        if cipher.endswith("GCM"):
            assert mac_hex == "" and len(base64.b64decode(tag_b64)) == 16
        else:
            assert tag_b64 == ""
            expected = hmac.new(key, (iv_b64 + value_b64).encode(), "sha256")
            assert mac_hex == expected.hexdigest()
        assert enc.decrypt_bytes(payload) == (
            php.dumps(plaintext) if serialize else plaintext
        )
        assert b"\\/" not in raw


@pytest.mark.parametrize("cipher", CIPHERS)
def test_only_the_cipher_iv_length_is_accepted(cipher: str) -> None:
    """validPayload(): strlen(base64_decode($iv, true)) === openssl_cipher_iv_length
    (16 CBC, 12 GCM). CBC payloads get a MAC recomputed for the new IV so that only
    the length decides."""
    rng = random.Random(cipher)
    key = rng.randbytes(key_size(cipher))
    enc = Encrypter(key, cipher)
    env = envelope(enc.encrypt_string(b"x" * 40))
    for n in range(0, 33):
        changed = {**env, "iv": b64(rng.randbytes(n))}
        if not cipher.endswith("GCM"):
            changed["mac"] = mac(key, changed)
            if n == 16:
                # another IV only changes the first block: still decrypts
                assert enc.decrypt_bytes(repack(changed))[16:] == b"x" * 24
                continue
        with pytest.raises(DecryptError):
            enc.decrypt_bytes(repack(changed))


@pytest.mark.parametrize("cipher", ["AES-128-GCM", "AES-256-GCM"])
def test_gcm_tag_must_be_16_bytes(cipher: str) -> None:
    """ensureTagIsValid(): strlen($tag) === 16 for AEAD, even though OpenSSL itself
    would accept a truncated (12-byte) prefix of the right tag."""
    rng = random.Random(cipher)
    enc = Encrypter(rng.randbytes(key_size(cipher)), cipher)
    env = envelope(enc.encrypt_string(b"hello"))
    tag = base64.b64decode(env["tag"])
    assert enc.decrypt_bytes(repack(env)) == b"hello"
    for bad in (tag[:12], tag[:15], tag + b"\0", b"", None):
        changed = {**env, "tag": None if bad is None else b64(bad)}
        with pytest.raises(DecryptError):
            enc.decrypt_bytes(repack(changed))
    # empty($payload['tag']): "0" and "" count as no tag -> rejected for GCM
    for absent in ("0", ""):
        with pytest.raises(DecryptError):
            enc.decrypt_bytes(repack({**env, "tag": absent}))


@pytest.mark.parametrize("cipher", ["AES-128-CBC", "AES-256-CBC"])
def test_cbc_tag_field(cipher: str) -> None:
    """CBC: a non-empty tag is refused (ensureTagIsValid), "", "0", null and a
    missing tag are fine; a non-string tag is an invalid payload (10+)."""
    rng = random.Random(cipher)
    enc = Encrypter(rng.randbytes(key_size(cipher)), cipher)
    env = envelope(enc.encrypt_string(b"hello"))
    for ok in ("", "0", None):
        assert enc.decrypt_bytes(repack({**env, "tag": ok})) == b"hello"
    assert enc.decrypt_bytes(repack({k: v for k, v in env.items() if k != "tag"}))
    for bad in ("AAAA", b64(rng.randbytes(16)), 0, False, [], {}):
        with pytest.raises(DecryptError):
            enc.decrypt_bytes(repack({**env, "tag": bad}))


def _cbc(key: bytes, iv: bytes, plaintext: bytes) -> bytes:
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plaintext) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return encryptor.update(padded) + encryptor.finalize()


def _pads_ok(key: bytes, iv: bytes, ct: bytes) -> bool:
    decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    block = decryptor.update(ct) + decryptor.finalize()
    n = block[-1]
    return 1 <= n <= 16 and block[-n:] == bytes([n]) * n


@pytest.mark.parametrize("seed", SEEDS)
def test_a_found_mac_is_kept_for_the_later_keys(seed: int) -> None:
    """Laravel 11+ Encrypter::decrypt(): once the MAC matched key A, a failed
    openssl_decrypt() with A moves on to the next keys without a MAC check."""
    rng = random.Random(seed)
    a, b, c = (rng.randbytes(32) for _ in range(3))
    while True:
        iv = rng.randbytes(16)
        ct = _cbc(c, iv, b"opened by the third key")
        if not _pads_ok(a, iv, ct) and not _pads_ok(b, iv, ct):
            break
    env = {"iv": b64(iv), "value": b64(ct), "mac": "", "tag": ""}
    env["mac"] = mac(a, env)
    payload = repack(env)
    assert Encrypter(a, "AES-256-CBC", [b, c]).decrypt_bytes(payload) == (
        b"opened by the third key"
    )
    # keys before the MAC's key are never tried; without c nothing opens it
    for keys in ([c, a], [b, a], [a, b]):
        with pytest.raises(DecryptError):
            Encrypter(keys[0], "AES-256-CBC", keys[1:]).decrypt_bytes(payload)


@pytest.mark.parametrize("cipher", CIPHERS)
def test_previous_keys_decrypt_in_order(cipher: str) -> None:
    rng = random.Random(cipher)
    keys = [rng.randbytes(key_size(cipher)) for _ in range(4)]
    for signer in keys:
        payload = Encrypter(signer, cipher).encrypt_string(b"v")
        assert Encrypter(keys[0], cipher, keys[1:]).decrypt_bytes(payload) == b"v"
        others = [k for k in keys if k != signer]
        with pytest.raises(DecryptError):
            Encrypter(others[0], cipher, others[1:]).decrypt_bytes(payload)


# ------------------------------------------------------------------------ cookies


@pytest.mark.parametrize("seed", SEEDS)
def test_cookie_prefix_and_previous_keys(seed: int) -> None:
    """CookieValuePrefix::validate($name, $value, getAllKeys()): the prefix of any
    key, whichever key decrypted the payload; another name's prefix is refused."""
    rng = random.Random(seed)
    for i in range(100):
        cipher = CIPHERS[i % 4]
        cur, old = rng.randbytes(key_size(cipher)), rng.randbytes(key_size(cipher))
        name = "".join(rng.choice("ab_-.[]é") for _ in range(rng.randint(1, 12)))
        value = rng.randbytes(rng.randint(0, 30)).hex()
        prefix_key, enc_key = rng.choice([cur, old]), rng.choice([cur, old])
        prefix = cookie_prefix(name, prefix_key)
        assert prefix == (
            hmac.new(prefix_key, name.encode() + b"v2", hashlib.sha1).hexdigest() + "|"
        )
        payload = Encrypter(enc_key, cipher).encrypt_string(prefix + value)
        both = LaravelCookies(Encrypter(cur, cipher, [old]))
        assert both.decrypt(name, payload) == value
        assert both.decrypt_or_none(name + "x", payload) is None
        # 10.x (no previous keys): the current key, for the payload and the prefix
        only = LaravelCookies(Encrypter(cur, cipher))
        accepted = enc_key == cur and prefix_key == cur
        assert only.decrypt_or_none(name, payload) == (value if accepted else None)


# PHP 8.2's $_COOKIE for these headers (php -S printing json_encode($_COOKIE)),
# flattened to the names EncryptCookies::validateArray() computes prefixes from.
PHP_COOKIE_TABLE: list[tuple[str, dict[str, str]]] = [
    ("a%3Db=1", {"a%3Db": "1"}),
    ("my.app session=2", {"my_app_session": "2"}),
    (" x=%41+%2B", {"x": "A++"}),
    ("a=1; a=2", {"a": "1"}),
    ("c[x]=1; c[y]=2; c[x]=3", {"c[x]": "3", "c[y]": "2"}),
    ("d[a.b]=1", {"d[a.b]": "1"}),
    ("e[=1", {"e_": "1"}),
    ("e.f[=1", {"e_f_": "1"}),
    ("[x]=1", {}),
    ("g[]=1; g[]=2", {"g[0]": "1", "g[1]": "2"}),
    ("h[a][b]=5", {"h[a][b]": "5"}),
    ("  lead=1;\ttab=2", {"lead": "1", "tab": "2"}),
    ("k.l[m.n][o]=1", {"k_l[m.n][o]": "1"}),
    ("q", {"q": ""}),
    ("=r", {}),
    ("s=a=b", {"s": "a=b"}),
    ("t t=1", {"t_t": "1"}),
    ("__Host-x=1", {"__Host-x": "1"}),
    ("u%2Ev=1", {"u%2Ev": "1"}),
    ("v[ a ]=1", {"v[ a ]": "1"}),
    ("w[a]x=1", {"w[a]": "1"}),
    ("y]=1", {"y]": "1"}),
    ("z[a=1]=2", {"z_a": "1]=2"}),
    ("c=1; c[x]=2", {"c[x]": "2"}),
    ("c[x]=2; c=1", {"c[x]": "2"}),
    ("c[x]=1; c[x][y]=2", {"c[x][y]": "2"}),
    ("c[x][y]=2; c[x]=1", {"c[x]": "1"}),
    ("g[5]=a; g[]=b", {"g[5]": "a", "g[6]": "b"}),
    ("g[x]=a; g[]=b; g[]=c", {"g[x]": "a", "g[0]": "b", "g[1]": "c"}),
    ("a.b=1; a_b=2", {"a_b": "1"}),
    ("a_b=2; a.b=1", {"a_b": "2"}),
    ("c[]=1; c[0]=2", {"c[0]": "2"}),
    (" .x=1", {"_x": "1"}),
    ("a+b=1", {"a+b": "1"}),
    ("x[a b.c]=1", {"x[a b.c]": "1"}),
    ("x[a][=1", {"x[a]": "1"}),
    ("x[a]b[c]=1", {"x[a]": "1"}),
    ("x[-1]=1; x[]=2", {"x[-1]": "1", "x[0]": "2"}),
    ("x[07]=1; x[7]=2", {"x[07]": "1", "x[7]": "2"}),
    ('q="abc"', {"q": '"abc"'}),
    ("x[a]]=1", {"x[a]": "1"}),
    ("0=1", {"0": "1"}),
    ("1[2]=3", {"1[2]": "3"}),
    ("v[ a]=1", {"v[ a]": "1"}),
    ("v[  ]=1", {"v[  ]": "1"}),
    ("v[a ]=1", {"v[a ]": "1"}),
    ("v[ ]=1; v[ ]=2", {"v[0]": "1", "v[1]": "2"}),
    ("v[x][ ]=1", {"v[x][0]": "1"}),
    ("spaced = v ", {"spaced_": " v "}),
    ("laravel-session=abc%3D; laravel-session=second", {"laravel-session": "abc="}),
]


@pytest.mark.parametrize(("header", "expected"), PHP_COOKIE_TABLE)
def test_cookie_header_like_php(header: str, expected: dict[str, str]) -> None:
    parsed = parse_cookie_header(header)
    assert parsed == expected
    assert list(parsed) == list(expected)  # PHP's order


def test_cookie_values_keep_non_utf8_bytes() -> None:
    """rawurldecode() yields bytes; ones that are not UTF-8 survive as surrogates."""
    assert parse_cookie_header("p=%FF%C3%A9").get("p") == "\udcffé"
    assert parse_cookie_header("p=%FF").get("p", "").encode(
        "utf-8", "surrogateescape"
    ) == (b"\xff")


def test_configured_cookie_name_php_renames_is_never_found() -> None:
    """SESSION_COOKIE=my.app_session: PHP files the cookie under my_app_session, so
    Laravel never finds its session cookie; neither does ninja_redis."""
    cookies = LaravelCookies(Encrypter(random.Random(1).randbytes(32)))
    header = "my.app_session=" + cookies.encrypt("my.app_session", "A" * 40)
    assert cookies.from_header(header, "my.app_session") is None
    assert cookies.from_header(header, "my_app_session") is None  # prefix of another
    assert "my_app_session" in parse_cookie_header(header)


# --------------------------------------------------------------- remember me


@pytest.mark.parametrize(
    ("value", "since_9_12", "on_8_x"),
    [
        ("42|tok|$2y$12$h", ("42", "tok", "$2y$12$h", ()), ("42", "tok", "$2y$12$h")),
        ("42|tok|", ("42", "tok", "", ()), ("42", "tok", "")),
        ("42|tok|h|extra", ("42", "tok", "h", ("extra",)), None),
        ("42|tok|h||", ("42", "tok", "h", ("", "")), None),
        ('s:7:"1|t|h|x";', ("1", "t", "h", ("x",)), None),
        ('s:5:"1|t|h";', ("1", "t", "h", ()), ("1", "t", "h")),
        ("42|tok", None, None),
        (" |tok|h", None, None),
        ("42|\t\0|h", None, None),
        ("i:1;", None, None),
        ('a:1:{i:0;s:5:"1|2|3";}', None, None),
        ('s:1:"0";', None, None),
        ("", None, None),
    ],
)
def test_recaller_per_version(
    value: str, since_9_12: tuple[Any, ...] | None, on_8_x: tuple[Any, ...] | None
) -> None:
    """Recaller::valid(): 8.x exactly three segments; 9.12+ (laravel/framework#42316)
    three or more, hash = explode('|', $v, 4)[2]; a serialized string is unwrapped."""
    for version in (None, (9, 12), (10, 50), (12, 45)):
        if since_9_12 is None:
            with pytest.raises(DecryptError):
                Recaller.parse(value, laravel_version=version)
        else:
            r = Recaller.parse(value, laravel_version=version)
            assert (r.id, r.token, r.hash, r.extra) == since_9_12
    for version in ((8, 83), (9, 11)):
        if on_8_x is None:
            with pytest.raises(DecryptError):
                Recaller.parse(value, laravel_version=version)
        else:
            r = Recaller.parse(value, laravel_version=version)
            assert (r.id, r.token, r.hash) == on_8_x


def test_recaller_round_trip() -> None:
    r = Recaller("7", "tok", "mac", ("x", "y"))
    assert str(r) == "7|tok|mac|x|y"
    assert Recaller.parse(str(r)) == r
    assert "tok" not in repr(r) and "mac" not in repr(r) and "'x'" not in repr(r)


# --------------------------------------------------------------- session keys


@pytest.mark.parametrize(
    ("version", "cache_prefix", "head"),
    [
        ("8.83", None, b"laravel_database_laravel_cache:"),
        ("9.52", None, b"laravel_database_laravel_cache_:"),
        ("10.50", None, b"laravel_database_laravel_cache_:"),
        ("11.56", None, b"laravel_database_laravel_cache_"),
        ("12.67", None, b"laravel-database-laravel-cache-"),
        ("12.67", "custom", b"laravel-database-custom"),
        ("10.50", "custom", b"laravel_database_custom:"),
        ("13.26", None, b"laravel-database-laravel-cache-"),
    ],
)
def test_session_key_layout(
    version: str, cache_prefix: str | None, head: bytes
) -> None:
    """⟨P of the session connection⟩ + ⟨C⟩ (8.x-10.x append ':') + id (spec §7.2)."""
    overrides = {} if cache_prefix is None else {"cache_prefix": cache_prefix}
    cfg = LaravelConfig.from_mapping({}, laravel_version=version, **overrides)
    sid = "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789AbCd"
    assert KeySpace(cfg).session(sid) == head + sid.encode()
