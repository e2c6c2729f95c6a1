"""Hostile input: only DecryptError escapes, and it never leaks plaintext or keys.

Property: for any input, ``decrypt`` either returns the *original* plaintext
(PHP's lenient base64 makes some edits harmless, e.g. inserted junk characters)
or raises :class:`DecryptError`; no other exception, no other plaintext.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ninja_redis.crypto import CIPHERS, Encrypter, LaravelCookies
from ninja_redis.exceptions import DecryptError

SECRET = "Very-Secret-Plaintext-7f3a9c"
KEYS = {c: Encrypter.generate_key(c) for c in CIPHERS}
ENCRYPTERS = {c: Encrypter(k, c) for c, k in KEYS.items()}
PAYLOADS = {c: e.encrypt_string(SECRET) for c, e in ENCRYPTERS.items()}
COOKIES = {c: LaravelCookies(e) for c, e in ENCRYPTERS.items()}
COOKIE_VALUES = {c: j.encrypt("laravel-session", SECRET) for c, j in COOKIES.items()}

FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

cipher_st = st.sampled_from(CIPHERS)


def forbidden(cipher: str) -> list[str]:
    """Strings that must never appear in an error message."""
    key = ENCRYPTERS[cipher].key
    return [
        SECRET,
        SECRET[:12],
        KEYS[cipher],
        KEYS[cipher][7:],
        key.hex(),
        repr(key)[2:-1],
    ]


def check(cipher: str, payload: Any) -> None:
    enc = ENCRYPTERS[cipher]
    try:
        result = enc.decrypt_string(payload)
    except DecryptError as exc:
        text = f"{exc} {exc!r} {exc.args!r}"
        for bad in forbidden(cipher):
            assert bad not in text
        assert exc.__cause__ is None
    else:
        assert result == SECRET


def envelope(cipher: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(base64.b64decode(PAYLOADS[cipher]))
    return data


def wrap(obj: Any) -> str:
    return base64.b64encode(json.dumps(obj).encode()).decode()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=12,
)


@FUZZ
@given(cipher_st, st.one_of(st.text(max_size=300), st.binary(max_size=300)))
def test_arbitrary_input(cipher: str, payload: str | bytes) -> None:
    check(cipher, payload)


@FUZZ
@given(cipher_st, json_values)
def test_arbitrary_json(cipher: str, obj: Any) -> None:
    check(cipher, wrap(obj))


@FUZZ
@given(
    cipher_st,
    st.fixed_dictionaries(
        {},
        optional={
            "iv": json_values
            | st.just("AAECAwQFBgcICQoLDA0ODw==")
            | st.just("AAECAwQFBgcICQoL"),
            "value": json_values | st.just("+6PhkQC3hIYgKik4Wr/9AA=="),
            "mac": json_values
            | st.text(alphabet="0123456789abcdef", min_size=64, max_size=64),
            "tag": json_values | st.just("J5f/NTuKBG0oI23NnQV7uw==") | st.just(""),
            "extra": json_values,
        },
    ),
)
def test_envelope_like_json(cipher: str, obj: dict[str, Any]) -> None:
    check(cipher, wrap(obj))


@FUZZ
@given(cipher_st, st.sampled_from(["iv", "value", "mac", "tag"]), st.data())
def test_field_tampering(cipher: str, field: str, data: st.DataObject) -> None:
    env = envelope(cipher)
    original = env[field]
    mutated = data.draw(
        st.one_of(
            st.text(max_size=80),
            # flip / drop / insert one character
            st.integers(0, max(len(original) - 1, 0)).map(
                lambda i: (
                    original[:i]
                    + ("A" if original[i : i + 1] != "A" else "B")
                    + original[i + 1 :]
                )
            ),
            st.integers(0, len(original)).map(
                lambda i: original[:i] + original[i + 1 :]
            ),
            st.integers(0, len(original)).map(
                lambda i: original[:i] + "/" + original[i:]
            ),
        )
    )
    env[field] = mutated
    check(cipher, wrap(env))


@FUZZ
@given(cipher_st, st.data())
def test_outer_payload_edits(cipher: str, data: st.DataObject) -> None:
    payload = PAYLOADS[cipher]
    i = data.draw(st.integers(0, len(payload)))
    edit = data.draw(st.sampled_from(["truncate", "insert", "replace", "drop"]))
    ch = data.draw(st.characters())
    if edit == "truncate":
        payload = payload[:i]
    elif edit == "insert":
        payload = payload[:i] + ch + payload[i:]
    elif edit == "replace":
        payload = payload[:i] + ch + payload[i + 1 :]
    else:
        payload = payload[:i] + payload[i + 1 :]
    check(cipher, payload)


@FUZZ
@given(cipher_st, cipher_st)
def test_payload_of_other_cipher_or_key(source: str, target: str) -> None:
    payload = PAYLOADS[source]
    if source == target:
        other = Encrypter(Encrypter.generate_key(target), target)
        with pytest.raises(DecryptError):
            other.decrypt_bytes(payload)
    else:
        check(target, payload)


@FUZZ
@given(cipher_st, st.data())
def test_swapped_iv_from_another_payload(cipher: str, data: st.DataObject) -> None:
    other = envelope(cipher)
    env = json.loads(base64.b64decode(ENCRYPTERS[cipher].encrypt_string(SECRET)))
    env["iv"] = other["iv"]
    payload = wrap(env)
    with pytest.raises(DecryptError):
        ENCRYPTERS[cipher].decrypt_bytes(payload)
    check(cipher, payload)


@FUZZ
@given(cipher_st, st.text(max_size=200), st.text(max_size=20))
def test_cookies_never_raise_from_decrypt_or_none(
    cipher: str, value: str, name: str
) -> None:
    cookies = COOKIES[cipher]
    assert cookies.decrypt_or_none(name, value) in (None, SECRET)
    assert cookies.from_header(value, name) in (None, SECRET)
    try:
        cookies.decrypt(name, value)
    except DecryptError as exc:
        for bad in forbidden(cipher):
            assert bad not in str(exc)


@pytest.mark.parametrize("cipher", CIPHERS)
def test_wrong_cookie_name_message_hides_value(cipher: str) -> None:
    with pytest.raises(DecryptError) as info:
        COOKIES[cipher].decrypt("other", COOKIE_VALUES[cipher])
    for bad in forbidden(cipher):
        assert bad not in str(info.value)


@pytest.mark.parametrize("cipher", CIPHERS)
@pytest.mark.parametrize("size", [1 << 16, 1 << 22])
def test_oversized_values(cipher: str, size: int) -> None:
    env = envelope(cipher)
    for field in ("value", "mac", "iv", "tag"):
        check(cipher, wrap({**env, field: "A" * size}))
    check(cipher, "A" * size)
    check(cipher, "%" * size)
    check(cipher, wrap({**env, "pad": ["x"] * (size // 16)}))
