"""Bad input on the cookie -> session-id path: nothing crashes, leaks or gets accepted.

Pure: ``SessionStore.session_id_from_cookie`` does no I/O (the Redis part of
``from_cookie`` is exercised in tests/_async/test_session.py).
"""

from __future__ import annotations

import base64
import json
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ninja_redis._sync.app import Laravel
from ninja_redis.crypto import Encrypter
from ninja_redis.exceptions import DecryptError

KEY = Encrypter.generate_key()
SID = "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789AbCd"


def app(**kw: object) -> Laravel:
    opts: dict[str, object] = {"laravel_version": "12.67", "app_key": KEY}
    opts.update(kw)
    return Laravel.from_url("redis://127.0.0.1:1/0", **opts)  # type: ignore[arg-type]


APP = app()
STORE = APP.sessions
NAME = APP.config.session_cookie
GOOD = APP.cookies.encrypt(NAME, SID, url_encode=False)


def envelope(payload: str) -> dict[str, str]:
    data: dict[str, str] = json.loads(base64.b64decode(payload))
    return data


def pack(env: dict[str, object]) -> str:
    return base64.b64encode(json.dumps(env, separators=(",", ":")).encode()).decode()


def check_rejected(value: str | bytes) -> None:
    assert STORE.session_id_from_cookie(value) is None
    with pytest.raises(DecryptError) as info:
        STORE.session_id_from_cookie(value, strict=True)
    text = str(info.value) + repr(info.value)
    assert SID not in text and KEY not in text and KEY[7:] not in text


def test_good_cookie() -> None:
    assert STORE.session_id_from_cookie(GOOD) == SID
    assert (
        STORE.session_id_from_cookie(APP.sessions.cookie_value(STORE.create()))
        is not None
    )


def test_tampered_mac() -> None:
    env = envelope(GOOD)
    mac = env["mac"]
    for i in (0, 31, 63):
        flipped = mac[:i] + ("0" if mac[i] != "0" else "1") + mac[i + 1 :]
        check_rejected(pack({**env, "mac": flipped}))
    check_rejected(pack({**env, "mac": mac.upper()}))
    check_rejected(pack({**env, "mac": ""}))


def test_swapped_iv_and_value() -> None:
    env = envelope(GOOD)
    other = envelope(APP.cookies.encrypt(NAME, SID, url_encode=False))
    check_rejected(pack({**env, "iv": other["iv"]}))
    check_rejected(pack({**env, "value": other["value"]}))
    check_rejected(pack({**env, "iv": env["value"][:24], "value": env["iv"]}))


def test_every_single_byte_change_of_the_json() -> None:
    raw = base64.b64decode(GOOD)
    # renaming the empty "tag" key leaves a CBC payload Laravel accepts as well
    tag = raw.index(b'"tag":""') + 1
    for i in range(len(raw)):
        if tag <= i < tag + 3:
            continue
        for delta in (1, 0x20):
            changed = bytearray(raw)
            changed[i] ^= delta
            check_rejected(base64.b64encode(bytes(changed)).decode())


def test_truncated() -> None:
    for n in range(0, len(GOOD), 7):
        check_rejected(GOOD[:n] if n else "x")


def test_oversized_and_non_base64() -> None:
    check_rejected(base64.b64encode(os.urandom(1 << 20)).decode())
    check_rejected("A" * (4 << 20))
    for junk in ("!!!!", "%%%", "€uro", "eyJ", "e30=", "bnVsbA==", "W10=", "\x00\x01"):
        check_rejected(junk)


def test_json_fields() -> None:
    env = envelope(GOOD)
    for missing in ("iv", "value", "mac"):
        check_rejected(pack({k: v for k, v in env.items() if k != missing}))
    check_rejected(pack({**env, "iv": 123}))
    check_rejected(pack({**env, "tag": "AAAAAAAAAAAAAAAAAAAAAA=="}))  # a tag with CBC
    check_rejected(pack([env]))  # type: ignore[arg-type]
    # extra fields are ignored by Laravel too (validPayload checks only the known ones)
    assert STORE.session_id_from_cookie(pack({**env, "extra": "x"})) == SID


def test_gcm_payload_with_cbc_key_and_back() -> None:
    gcm_app = app(cipher="AES-256-GCM")
    gcm_cookie = gcm_app.cookies.encrypt(NAME, SID, url_encode=False)
    assert gcm_app.sessions.session_id_from_cookie(gcm_cookie) == SID
    check_rejected(gcm_cookie)
    assert gcm_app.sessions.session_id_from_cookie(GOOD) is None


def test_wrong_name_and_bad_ids() -> None:
    check_rejected(APP.cookies.encrypt("XSRF-TOKEN", SID))
    for bad in (
        "",
        "short",
        SID + "x",
        SID[:-1] + "-",
        SID[:-1] + "é",
        "../" + SID[3:],
    ):
        check_rejected(APP.cookies.encrypt(NAME, bad))
    # a right-looking plaintext without the cookie prefix
    check_rejected(APP.encrypter.encrypt_string(SID))
    check_rejected(APP.encrypter.encrypt(APP.cookies.prefix(NAME) + SID))  # serialized


def test_previous_keys() -> None:
    rotated = app(app_key=Encrypter.generate_key(), previous_keys=(KEY,))
    assert rotated.sessions.session_id_from_cookie(GOOD) == SID


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.one_of(st.text(max_size=400), st.binary(max_size=400)))
def test_random_input_never_crashes(value: str | bytes) -> None:
    assert STORE.session_id_from_cookie(value) is None


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["iv", "value", "mac", "tag", "x"]),
        st.one_of(
            st.text(max_size=60),
            st.integers(),
            st.none(),
            st.lists(st.integers(), max_size=3),
        ),
    )
)
def test_random_envelopes(env: dict[str, object]) -> None:
    assert STORE.session_id_from_cookie(pack(env)) is None


def test_verified_cookie_cache() -> None:
    store = app().sessions
    assert store.session_id_from_cookie(GOOD) == SID
    assert store._verified == {GOOD: SID}
    assert store.session_id_from_cookie(GOOD, strict=True) == SID
    forged = pack({**envelope(GOOD), "mac": "0" * 64})
    assert store.session_id_from_cookie(forged) is None
    assert forged not in store._verified
    store.cookie_cache_size = 2
    for _ in range(3):
        store.session_id_from_cookie(APP.cookies.encrypt(NAME, SID, url_encode=False))
    assert len(store._verified) == 2 and GOOD not in store._verified
    cold = type(store)(APP, cookie_cache_size=0)
    assert cold.session_id_from_cookie(GOOD) == SID and cold._verified == {}
