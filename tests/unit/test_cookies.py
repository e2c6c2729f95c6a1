"""LaravelCookies (EncryptCookies + CookieValuePrefix), session ids, remember-me."""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import quote

import pytest

from ninja_redis.crypto import (
    SESSION_GUARD_HASH,
    Encrypter,
    LaravelCookies,
    Recaller,
    cookie_prefix,
    is_valid_session_id,
    parse_cookie_header,
    password_hash_mac,
    password_hash_matches,
    recaller_cookie_name,
)
from ninja_redis.exceptions import DecryptError

from .test_crypto import FixedIV

FIXTURE_APP_KEY = "base64:e59K8xMtz9ifYFctzSdIRDYiAwHijRg7zKybchfWKKA="
SESSION_ID = "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789AbCd"
# spec §8.2 example: laravel_session, iv 00..0f
SPEC_COOKIE_JSON = (
    '{"iv":"AAECAwQFBgcICQoLDA0ODw==","value":"wO69pJr1QeOvJnXpO9+xIdYG8ZP2gYF7juIneXA9'
    "jYRKrSyztHNcJ8jRLnO1MVZfm52qkYAd1tGE9BTyLZ6ii2IeXyqUxpIkNn0X7m3nOUvstpHzwx7nZPmy1Ea"
    '/W/70","mac":"427211ab37e7ed4ca2a8dd17ffa3bebadba603e504abe68a3399d8252aa8981e",'
    '"tag":""}'
)


@pytest.fixture
def cookies() -> LaravelCookies:
    return LaravelCookies(Encrypter(FIXTURE_APP_KEY))


@pytest.mark.parametrize(
    ("name", "prefix"),
    [
        ("laravel-session", "cd132cf344b57d9aa3480c0f68a29703aac9fc51|"),
        ("laravel_session", "10803562c52e30f6039a3e990507c65985168f06|"),
        ("XSRF-TOKEN", "c485692cc64ca3d7bd573d8dfee37038aef86f6e|"),
    ],
)
def test_spec_prefixes(cookies: LaravelCookies, name: str, prefix: str) -> None:
    assert cookies.prefix(name) == prefix
    assert cookie_prefix(name, cookies.encrypter.key) == prefix


def test_spec_cookie_example_is_byte_exact() -> None:
    # spec §8.2 example: the §8.1 key (bytes 00..1f), iv 00..0f
    cookies = LaravelCookies(FixedIV(bytes(range(32)), iv=bytes(range(16))))
    assert (
        cookies.prefix("laravel_session") == "7198b0a1a7564e003b468667d6241918ce65aafa|"
    )
    bare = cookies.encrypt("laravel_session", SESSION_ID, url_encode=False)
    expected = base64.b64encode(SPEC_COOKIE_JSON.encode()).decode()
    assert bare == expected
    header_value = cookies.encrypt("laravel_session", SESSION_ID)
    assert header_value == quote(expected, safe="")
    assert header_value == expected.replace("+", "%2B").replace("/", "%2F").replace(
        "=", "%3D"
    )
    reader = LaravelCookies(
        Encrypter("base64:" + base64.b64encode(bytes(range(32))).decode())
    )
    assert reader.session_id_from_cookie(header_value, "laravel_session") == SESSION_ID
    assert reader.session_id_from_cookie(expected, "laravel_session") == SESSION_ID


def test_encrypt_decrypt_roundtrip(cookies: LaravelCookies) -> None:
    for value in ("", "tok", "ünïcode ✓", "a|b|c", "x" * 5000):
        for url_encode in (True, False):
            wire = cookies.encrypt("c", value, url_encode=url_encode)
            assert cookies.decrypt("c", wire) == value
            assert cookies.decrypt("c", wire.encode()) == value
    assert cookies.decrypt_bytes("c", cookies.encrypt("c", b"\xff\x00")) == b"\xff\x00"


def test_encrypted_value_is_rawurlencoded(cookies: LaravelCookies) -> None:
    for _ in range(30):
        wire = cookies.encrypt("laravel_session", SESSION_ID)
        bare = cookies.encrypt("laravel_session", SESSION_ID, url_encode=False)
        assert set(wire) <= set(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789%"
        )
        assert "=" not in wire and "+" not in wire and "/" not in wire
        assert cookies.decrypt("laravel_session", bare) == SESSION_ID


def test_plaintext_layout(cookies: LaravelCookies) -> None:
    wire = cookies.encrypt("laravel-session", SESSION_ID)
    plaintext = cookies.encrypter.decrypt_bytes(wire.replace("%3D", "="))
    assert plaintext == (cookies.prefix("laravel-session") + SESSION_ID).encode()
    assert len(plaintext) == 81


def test_wrong_name_is_rejected(cookies: LaravelCookies) -> None:
    wire = cookies.encrypt("laravel-session", SESSION_ID)
    with pytest.raises(DecryptError, match="cookie name") as info:
        cookies.decrypt("other-cookie", wire)
    assert SESSION_ID not in str(info.value)
    assert cookies.decrypt_or_none("other-cookie", wire) is None
    assert cookies.decrypt_or_none("laravel-session", None) is None


def test_wrong_key_and_tampering_rejected(cookies: LaravelCookies) -> None:
    wire = cookies.encrypt("c", "v", url_encode=False)
    other = LaravelCookies(Encrypter(Encrypter.generate_key()))
    with pytest.raises(DecryptError, match="MAC"):
        other.decrypt("c", wire)
    with pytest.raises(DecryptError):
        cookies.decrypt("c", wire[:-8])
    assert cookies.decrypt_or_none("c", "garbage") is None
    with pytest.raises(DecryptError):
        cookies.decrypt("c", 5)  # type: ignore[arg-type]


def test_value_encrypted_without_prefix_is_rejected(cookies: LaravelCookies) -> None:
    # Laravel < 7.22 cookies (no prefix) are seen as null
    bare = cookies.encrypter.encrypt_string(SESSION_ID)
    assert cookies.decrypt_or_none("laravel-session", bare) is None


def test_previous_key_prefix_accepted() -> None:
    old, new = Encrypter.generate_key(), Encrypter.generate_key()
    old_cookie = LaravelCookies(Encrypter(old)).encrypt("laravel-session", SESSION_ID)
    rotated = LaravelCookies(Encrypter(new, previous_keys=[old]))
    assert rotated.decrypt("laravel-session", old_cookie) == SESSION_ID
    assert LaravelCookies(Encrypter(new)).decrypt_or_none("x", old_cookie) is None
    # 11+: prefix made with a previous key but encrypted with the current key
    mixed = Encrypter(new).encrypt_string(
        cookie_prefix("laravel-session", Encrypter(old).key) + SESSION_ID
    )
    assert rotated.decrypt("laravel-session", mixed) == SESSION_ID
    assert (
        LaravelCookies(Encrypter(new)).decrypt_or_none("laravel-session", mixed) is None
    )


def test_gcm_cookies() -> None:
    cookies = LaravelCookies(Encrypter(FIXTURE_APP_KEY, "AES-256-GCM"))
    wire = cookies.encrypt("laravel-session", SESSION_ID)
    assert cookies.session_id_from_cookie(wire, "laravel-session") == SESSION_ID
    cbc = LaravelCookies(Encrypter(FIXTURE_APP_KEY))
    assert cbc.decrypt_or_none("laravel-session", wire) is None


def test_array_cookie_names(cookies: LaravelCookies) -> None:
    wire = cookies.encrypt("cart[items]", "3")
    assert cookies.decrypt("cart[items]", wire) == "3"
    assert cookies.decrypt_or_none("cart", wire) is None
    assert cookies.prefix("cart[items]") == cookie_prefix(
        "cart[items]", cookies.encrypter.key
    )
    header = f"cart[items]={wire}; other=1"
    assert cookies.from_header(header, "cart[items]") == "3"


@pytest.mark.parametrize(
    "value",
    [
        SESSION_ID[:-1],
        SESSION_ID + "x",
        SESSION_ID[:-1] + "-",
        SESSION_ID[:-1] + "é",
        SESSION_ID[:-1] + "\n",
        "",
    ],
)
def test_session_id_must_be_40_alnum(cookies: LaravelCookies, value: str) -> None:
    wire = cookies.encrypt("laravel-session", value)
    with pytest.raises(DecryptError, match="session id") as info:
        cookies.session_id_from_cookie(wire, "laravel-session")
    assert value not in str(info.value) or value == ""
    assert not is_valid_session_id(value)


def test_is_valid_session_id() -> None:
    assert is_valid_session_id(SESSION_ID)
    assert not is_valid_session_id(None)
    assert not is_valid_session_id("١" * 40)  # Unicode digits are not ctype_alnum


def test_parse_cookie_header() -> None:
    header = (
        " laravel-session=abc%3D; XSRF-TOKEN=x%2By+z; flag; =nameless; "
        "laravel-session=second;\tspaced = v ; a%20b=1"
    )
    parsed = parse_cookie_header(header)
    assert parsed["laravel-session"] == "abc="  # first occurrence wins
    assert parsed["XSRF-TOKEN"] == "x+y+z"  # rawurldecode: '+' stays
    assert parsed["flag"] == ""
    # PHP 8 (checked with php -S): a trailing space in a name becomes "_", and
    # names are not percent-decoded
    assert parsed["spaced_"] == " v "
    assert parsed["a%20b"] == "1"
    assert "spaced " not in parsed and "a b" not in parsed
    assert "" not in parsed
    assert parse_cookie_header("") == {}


def test_from_header(cookies: LaravelCookies) -> None:
    wire = cookies.encrypt("laravel-session", SESSION_ID)
    header = f"theme=dark; laravel-session={wire}; XSRF-TOKEN=abc"
    assert cookies.from_header(header, "laravel-session") == SESSION_ID
    assert cookies.from_header(header, "missing") is None
    assert cookies.from_header(header, "XSRF-TOKEN") is None


# --------------------------------------------------------------------- remember me


def test_recaller_cookie_name() -> None:
    assert (
        SESSION_GUARD_HASH
        == hashlib.sha1(b"Illuminate\\Auth\\SessionGuard").hexdigest()
    )
    assert recaller_cookie_name() == f"remember_web_{SESSION_GUARD_HASH}"
    assert recaller_cookie_name("admin").startswith("remember_admin_")


def test_recaller_parse() -> None:
    r = Recaller.parse("42|tok|$2y$12$hash")
    assert (r.id, r.token, r.hash) == ("42", "tok", "$2y$12$hash")
    assert str(r) == "42|tok|$2y$12$hash"
    assert "tok" not in repr(r) and "hash" not in repr(r).replace("Recaller", "")
    # 9.12+: extra segments allowed, the hash is the third (explode('|', $v, 4)[2])
    r = Recaller.parse("7|t|a|b")
    assert (r.hash, r.extra, str(r)) == ("a", ("b",), "7|t|a|b")
    with pytest.raises(DecryptError):  # 8.x: exactly three segments
        Recaller.parse("7|t|a|b", laravel_version=(8, 83))
    for bad in ("42|tok", "nopipe", " |tok|h", "42| \t|h", ""):
        with pytest.raises(DecryptError):
            Recaller.parse(bad)


def test_remember_cookie_roundtrip(cookies: LaravelCookies) -> None:
    name = recaller_cookie_name("web")
    mac = password_hash_mac("$2y$12$abc", FIXTURE_APP_KEY)
    wire = cookies.encrypt(name, f"42|token|{mac}")
    r = Recaller.parse(cookies.decrypt(name, wire))
    assert r.id == "42"
    assert password_hash_matches(r.hash, "$2y$12$abc", FIXTURE_APP_KEY)
    assert not password_hash_matches(r.hash, "$2y$12$abd", FIXTURE_APP_KEY)


def test_password_hash_mac() -> None:
    expected = hmac.new(
        FIXTURE_APP_KEY.encode(), b"$2y$12$abc", hashlib.sha256
    ).hexdigest()
    assert password_hash_mac("$2y$12$abc", FIXTURE_APP_KEY) == expected
    assert password_hash_mac(b"$2y$12$abc", FIXTURE_APP_KEY.encode()) == expected
    # Laravel's own test: hash_hmac('sha256', 'bar', 'base-key-for-password-hash-mac')
    fallback = hmac.new(b"base-key-for-password-hash-mac", b"bar", hashlib.sha256)
    assert password_hash_mac("bar", None) == fallback.hexdigest()
    # raw hashes of Laravel <= 12.44 still match
    assert password_hash_matches("$2y$12$abc", "$2y$12$abc", FIXTURE_APP_KEY)
    assert not password_hash_matches("", "$2y$12$abc", FIXTURE_APP_KEY)
