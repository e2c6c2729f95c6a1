"""The decrypt fast paths agree with the PHP-compatible slow paths.

``ninja_redis.crypto`` decodes what Laravel writes (canonical base64, Symfony's cookie
escapes, ``{"iv":…,"value":…,"mac":…,"tag":…}``) through shortcuts, and anything
else through code that mirrors PHP. Each shortcut must give exactly the slow path's
answer whenever it answers at all: checked here on corpora of canonical and odd
inputs and with hypothesis.
"""

from __future__ import annotations

import base64
import json
import os
import threading
from typing import Any
from urllib.parse import unquote

import pytest
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ninja_redis import crypto
from ninja_redis.crypto import CIPHERS, Encrypter, LaravelCookies
from ninja_redis.exceptions import DecryptError

PROPS = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

B64_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
# mostly base64, with the characters that make PHP's decoders differ
b64ish = st.text(
    alphabet=st.sampled_from(
        list(B64_ALPHABET) + ["=", "=", " ", "\n", "\t", "%", "é"]
    ),
    max_size=40,
)
canonical_b64 = st.binary(max_size=60).map(lambda b: base64.b64encode(b).decode())

B64_CORPUS = [
    "",
    "QQ==",
    "QUI=",
    "QUJD",
    "QR==",  # non-zero trailing bits
    "QQ",  # missing padding
    "QQ=",
    "QQ===",
    "Q===",
    "=QQ=",
    "QQ==QQ==",
    "Q=Q",
    "QU*JD",
    "QUJDR",
    "QUJD\n",
    " QUJD",
    "Q Q==",
    "Q\tQ\r\n==",
    "Q\x0bQ==",
    "QUJ\u00e9D",
    "%%%",
    "QUJD%3D",
    "AAAA" * 20,
]


# ------------------------------------------------------------------------ base64


@pytest.mark.parametrize("data", B64_CORPUS)
def test_lenient_base64_corpus(data: str) -> None:
    assert crypto._php_b64decode(data) == crypto._php_b64decode_slow(data)
    raw = data.encode("utf-8")
    assert crypto._php_b64decode(raw) == crypto._php_b64decode_slow(raw)


@pytest.mark.parametrize("data", B64_CORPUS)
def test_strict_base64_corpus(data: str) -> None:
    assert crypto._php_b64decode_strict(data) == crypto._php_b64decode_strict_slow(data)


@PROPS
@given(st.one_of(b64ish, canonical_b64))
def test_lenient_base64_agrees(data: str) -> None:
    assert crypto._php_b64decode(data) == crypto._php_b64decode_slow(data)
    raw = data.encode("utf-8")
    assert crypto._php_b64decode(raw) == crypto._php_b64decode_slow(raw)


@PROPS
@given(st.one_of(b64ish, canonical_b64))
def test_strict_base64_agrees(data: str) -> None:
    assert crypto._php_b64decode_strict(data) == crypto._php_b64decode_strict_slow(data)


@PROPS
@given(canonical_b64)
def test_canonical_base64_takes_the_fast_path(data: str) -> None:
    assert crypto._b64_canonical(data) == base64.b64decode(data)


# ------------------------------------------------------------------ cookie escapes

UNQUOTE_CORPUS = [
    "abc",
    "eyJpdiI6%3D%3D",
    "a%2Bb%2Fc%3D",
    "a%2bb",  # lower-case hex
    "a%3d",
    "a%41b",  # an escape Symfony never writes
    "a%",
    "a%3",
    "a%%3D",
    "%%3D2B",
    "%2%3DB",
    "%3%3D",
    "a%C3%A9",
    "a%ZZ",
    "+%2B+",
]


@pytest.mark.parametrize("value", UNQUOTE_CORPUS)
def test_unquote_cookie_corpus(value: str) -> None:
    assert crypto._unquote_cookie(value) == unquote(value)


@PROPS
@given(st.text(alphabet=st.sampled_from(list("%23DBFdbf=+/Aa9é")), max_size=30))
def test_unquote_cookie_agrees(value: str) -> None:
    assert crypto._unquote_cookie(value) == unquote(value)


# ---------------------------------------------------------------------- envelope


def _envelope_text(fields: dict[str, Any], **dump: Any) -> bytes:
    return json.dumps(fields, **dump).encode("utf-8")


field_text = st.text(
    alphabet=st.sampled_from(list(B64_ALPHABET) + ["=", "/", '"', "\\", "é", "\ud800"]),
    max_size=30,
)


@PROPS
@given(
    st.fixed_dictionaries(
        {"iv": field_text, "value": field_text, "mac": field_text},
        optional={"tag": st.one_of(st.none(), field_text), "x": st.integers()},
    ),
    st.booleans(),
)
@example({"iv": "AA==", "value": "AA==", "mac": "00ff", "tag": ""}, False)
@example({"iv": "a/b", "value": "", "mac": "", "tag": ""}, True)
def test_canonical_envelope_regex_matches_json(
    fields: dict[str, Any], spaced: bool
) -> None:
    separators = (", ", ": ") if spaced else (",", ":")
    for ensure_ascii in (True, False):
        try:
            raw = _envelope_text(
                fields, separators=separators, ensure_ascii=ensure_ascii
            )
        except UnicodeEncodeError:  # a lone surrogate without ensure_ascii
            continue
        match = crypto._CANONICAL_ENVELOPE.fullmatch(raw)
        if match is None:
            continue
        # the regex only answers for what json_decode would give the same strings
        assert tuple(g.decode("ascii") for g in match.groups()) == (
            crypto.Encrypter._json_fields(raw, raw)
        )


@pytest.mark.parametrize("cipher", CIPHERS)
def test_laravel_envelopes_take_the_regex_path(cipher: str) -> None:
    enc = Encrypter(Encrypter.generate_key(cipher), cipher)
    for plaintext in ("", "x", "a" * 100, "é/ü"):
        raw = base64.b64decode(enc.encrypt_string(plaintext))
        assert crypto._CANONICAL_ENVELOPE.fullmatch(raw) is not None


@pytest.mark.parametrize(
    "text",
    [
        '{"iv":"a"}',
        '{"iv":"\\/"}',
        '{"iv":"\\ud800"}',
        '{"iv":"\\\\ud800"}',
        '{"a":[1,2]}',
        '{"a":{"b":1}}',
        '{"a":"{"}',
        "[" * 600 + "]" * 600,
        '{"a":' + "[" * 520 + "]" * 520 + "}",
    ],
)
def test_json_php_check_is_only_skipped_when_it_cannot_fail(text: str) -> None:
    obj = json.loads(text)
    if not crypto._json_needs_php_check(text):
        assert crypto._php_json_ok(obj)


@settings(max_examples=150, deadline=None)
@given(
    st.recursive(
        st.text(max_size=5),
        lambda c: (
            st.lists(c, max_size=3)
            | st.dictionaries(st.text(max_size=3), c, max_size=3)
        ),
        max_leaves=6,
    )
)
def test_json_php_check_skip_is_safe(value: Any) -> None:
    text = json.dumps({"v": value})
    if not crypto._json_needs_php_check(text):
        assert crypto._php_json_ok(json.loads(text))


# -------------------------------------------------------------------------- CBC


def _reference_cbc(key: bytes, iv: bytes, ciphertext: bytes) -> bytes | None:
    """The straightforward cryptography CBC + PKCS#7 (the pre-fast-path code)."""
    if not ciphertext or len(ciphertext) % 16:
        return None
    dec = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    padded = dec.update(ciphertext) + dec.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    try:
        return unpadder.update(padded) + unpadder.finalize()
    except ValueError:
        return None


@PROPS
@given(
    st.sampled_from([16, 32]),
    st.binary(min_size=16, max_size=16),
    st.integers(0, 8),
    st.binary(max_size=120),
)
def test_cbc_decrypt_agrees_with_cryptography(
    key_size: int, iv: bytes, blocks: int, plaintext: bytes
) -> None:
    key = os.urandom(key_size)
    dec = crypto._CbcDecryptor(algorithms.AES(key))
    # random whole blocks: mostly bad padding
    junk = os.urandom(16 * blocks)
    assert crypto._cbc_decrypt(dec, iv, junk) == _reference_cbc(key, iv, junk)
    # a real encryption: good padding
    padder = padding.PKCS7(128).padder()
    enc = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    ct = enc.update(padder.update(plaintext) + padder.finalize()) + enc.finalize()
    assert crypto._cbc_decrypt(dec, iv, ct) == plaintext == _reference_cbc(key, iv, ct)
    # odd lengths are rejected like openssl_decrypt
    assert crypto._cbc_decrypt(dec, iv, ct[:-1]) is None


def test_padding_edge_cases() -> None:
    key, iv = os.urandom(32), os.urandom(16)
    dec = crypto._CbcDecryptor(algorithms.AES(key))
    enc = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    for block in (
        b"A" * 15 + b"\x00",  # n = 0
        b"A" * 15 + b"\x11",  # n = 17
        b"A" * 14 + b"\x01\x02",  # bytes before the last are not n
        b"\x10" * 16,  # a whole padding block
        b"A" * 15 + b"\x01",
    ):
        ct = enc.update(block)
        assert crypto._cbc_decrypt(dec, iv, ct) == _reference_cbc(key, iv, ct)
        iv = ct[-16:]  # the encryptor chains: so does the next check


def test_decrypt_from_many_threads() -> None:
    enc = Encrypter(Encrypter.generate_key())
    cookies = LaravelCookies(enc)
    values = [os.urandom(8).hex() * (i % 5 + 1) for i in range(40)]
    payloads = [cookies.encrypt("laravel-session", v) for v in values]
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(25):
                for value, payload in zip(values, payloads, strict=True):
                    assert cookies.decrypt("laravel-session", payload) == value
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


# ------------------------------------------------------------------ cookie prefix


def test_prefix_cache_is_per_name_and_key() -> None:
    old = Encrypter(Encrypter.generate_key())
    new = Encrypter(Encrypter.generate_key(), previous_keys=[old.key])
    a = LaravelCookies(old).encrypt("a", "value")
    b = LaravelCookies(old).encrypt("b", "value")
    cookies = LaravelCookies(new)
    for _ in range(2):  # cold and warm cache
        assert cookies.decrypt("a", a) == "value"
        assert cookies.decrypt("b", b) == "value"
        with pytest.raises(DecryptError):
            cookies.decrypt("a", b)
        with pytest.raises(DecryptError):
            cookies.decrypt("b", a)
    # a cookie for the old key only is rejected by an app without that key
    with pytest.raises(DecryptError):
        LaravelCookies(Encrypter(Encrypter.generate_key())).decrypt("a", a)


def test_prefix_cache_is_bounded() -> None:
    cookies = LaravelCookies(Encrypter(Encrypter.generate_key()))
    for i in range(3 * crypto._PREFIX_CACHE_SIZE):
        value = cookies.encrypt(f"c{i}", "v")
        assert cookies.decrypt(f"c{i}", value) == "v"
    assert len(cookies._prefixes) <= crypto._PREFIX_CACHE_SIZE
