"""Every encrypted payload and cookie Laravel 10-13 wrote in the golden fixtures.

Python must decrypt each one with the fixture APP_KEY to exactly what Laravel
recorded, and re-encrypting the plaintext with the payload's own IV must give the
very same bytes.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from ninja_redis.crypto import Encrypter, LaravelCookies, cookie_prefix
from ninja_redis.exceptions import DecryptError
from tests._shared import VERSIONS, iter_fixtures, load_fixture, raw

from .test_crypto import FixedIV

ENVELOPE = re.compile(r"eyJpdiI6[A-Za-z0-9+/]+(?:=|%3D){0,2}")


def cipher_of(data: dict[str, Any], step: dict[str, Any] | None = None) -> str:
    env = (step or {}).get("env") or {}
    return str(
        env.get("APP_CIPHER")
        or data.get("env_overrides", {}).get("APP_CIPHER")
        or data["config"]["cipher"]
    )


def app_key(data: dict[str, Any]) -> str:
    return str(data["config"]["app_key"])


def reencrypt(data: dict[str, Any], cipher: str, payload: str, plaintext: bytes) -> str:
    iv = base64.b64decode(json.loads(base64.b64decode(payload))["iv"])
    return FixedIV(app_key(data), cipher, iv=iv).encrypt_string(plaintext)


# --------------------------------------------------------------------- encrypter.json


def encrypter_steps(serialized_encrypt_only: bool = False) -> Iterator[Any]:
    for version in VERSIONS:
        data = load_fixture(version, "encrypter")
        for i, step in enumerate(data["steps"]):
            if serialized_encrypt_only and (
                step["args"][0] != "crypt:encrypt" or "--string" in step["args"]
            ):
                continue
            yield pytest.param(data, step, id=f"{version}-{i}-{step['args'][0]}")


@pytest.mark.parametrize(("data", "step"), list(encrypter_steps()))
def test_encrypter_fixture(data: dict[str, Any], step: dict[str, Any]) -> None:
    cipher = cipher_of(data, step)
    enc = Encrypter(app_key(data), cipher)
    out = step["output"]
    string_mode = "--string" in step["args"]
    if out["command"] == "crypt:encrypt":
        payload = out["payload"]
        if string_mode:
            expected = out["input"]["json"].encode()
        else:
            expected = raw(out["input"]["serialize"])
        # the recorded JSON envelope, byte for byte
        assert json.loads(base64.b64decode(payload)) == out["payload_json"]
        assert enc.decrypt_bytes(payload) == expected
        assert reencrypt(data, cipher, payload, expected) == payload
        if string_mode:
            assert enc.decrypt_string(payload) == out["input"]["json"]
    else:
        payload = step["args"][1]
        decrypted = enc.decrypt_bytes(payload)
        if string_mode:
            assert decrypted.decode() == out["value"]["json"]
        else:
            assert decrypted == raw(out["value"]["serialize"])


@pytest.mark.parametrize(("data", "step"), list(encrypter_steps(True)))
def test_encrypter_fixture_serialize_path(
    data: dict[str, Any], step: dict[str, Any]
) -> None:
    php = pytest.importorskip("ninja_redis.php", reason="ninja_redis.php not present")
    out = step["output"]
    cipher = cipher_of(data, step)
    payload = out["payload"]
    value = php.loads(raw(out["input"]["serialize"]))
    assert value == out["input"]["json"]
    assert Encrypter(app_key(data), cipher).decrypt(payload) == value
    iv = base64.b64decode(out["payload_json"]["iv"])
    assert FixedIV(app_key(data), cipher, iv=iv).encrypt(value) == payload


# --------------------------------------------------------------------- session_cookie.json


def cookie_steps() -> Iterator[Any]:
    for version in VERSIONS:
        data = load_fixture(version, "session_cookie")
        for i, step in enumerate(data["steps"]):
            yield pytest.param(data, step, id=f"{version}-{i}-{step['args'][0]}")


@pytest.mark.parametrize(("data", "step"), list(cookie_steps()))
def test_session_cookie_fixture(data: dict[str, Any], step: dict[str, Any]) -> None:
    cipher = cipher_of(data, step)
    enc = Encrypter(app_key(data), cipher)
    cookies = LaravelCookies(enc)
    out = step["output"]
    name = out["name"]
    if out["command"] == "cookie:encrypt":
        assert cookies.prefix(name) == out["prefix"]
        assert cookie_prefix(name, enc.key) == out["prefix"]
        payload = out["encrypted"]
        assert cookies.decrypt(name, payload) == out["value"]
        plaintext = (out["prefix"] + out["value"]).encode()
        assert enc.decrypt_bytes(payload) == plaintext
        assert reencrypt(data, cipher, payload, plaintext) == payload
        iv = base64.b64decode(json.loads(base64.b64decode(payload))["iv"])
        fixed = LaravelCookies(FixedIV(app_key(data), cipher, iv=iv))
        assert fixed.encrypt(name, out["value"], url_encode=False) == payload
        assert fixed.encrypt(name, out["value"]) == payload.replace("=", "%3D")
    else:
        payload = step["args"][2]
        assert enc.decrypt_bytes(payload) == raw(out["decrypted_raw"])
        seen = out["value_seen_by_app"]
        assert cookies.decrypt_or_none(name, payload) == seen
        if seen is None:  # the wrong-cookie-name case
            with pytest.raises(DecryptError, match="cookie name"):
                cookies.decrypt(name, payload)
        else:
            assert cookies.decrypt(name, payload) == seen
            assert cookies.session_id_from_cookie(payload, name) == seen


def test_fixture_has_wrong_name_case_in_every_version() -> None:
    for version in VERSIONS:
        steps = load_fixture(version, "session_cookie")["steps"]
        assert any(s["output"].get("value_seen_by_app", "") is None for s in steps)


# --------------------------------------------------------------------- response cookies


def response_cookies() -> Iterator[Any]:
    for version, scenario, data in iter_fixtures():
        for i, step in enumerate(data["steps"]):
            for cookie in step["output"].get("cookies") or ():
                if "decrypted_raw" in cookie:
                    yield pytest.param(
                        data,
                        step,
                        cookie,
                        id=f"{version}-{scenario}-{i}-{cookie['name']}",
                    )


@pytest.mark.parametrize(("data", "step", "cookie"), list(response_cookies()))
def test_response_cookie_fixture(
    data: dict[str, Any], step: dict[str, Any], cookie: dict[str, Any]
) -> None:
    """Every Set-Cookie that EncryptCookies produced while running the scenarios."""
    cipher = cipher_of(data, step)
    cookies = LaravelCookies(Encrypter(app_key(data), cipher))
    name, payload = cookie["name"], cookie["value"]
    plaintext = raw(cookie["decrypted_raw"])
    header_value = cookie["set_cookie_header"].split(";", 1)[0].split("=", 1)[1]
    assert cookies.decrypt_bytes(name, payload) == plaintext[41:]
    assert cookies.decrypt_bytes(name, header_value) == plaintext[41:]
    value = plaintext[41:].decode()
    if name == data["config"]["session_cookie"]:
        assert cookies.session_id_from_cookie(header_value, name) == value
        assert value == step["output"]["session_id"]
    iv = base64.b64decode(json.loads(base64.b64decode(payload))["iv"])
    fixed = LaravelCookies(FixedIV(app_key(data), cipher, iv=iv))
    assert fixed.encrypt(name, value, url_encode=False) == payload
    # Symfony's rawurlencode() of the value, as in the recorded Set-Cookie header
    assert fixed.encrypt(name, value) == header_value


# --------------------------------------------------------------------- queue_push_jobs_gcm


@pytest.mark.parametrize("version", VERSIONS)
def test_encrypted_gcm_job_command(version: str) -> None:
    data = load_fixture(version, "queue_push_jobs_gcm")
    assert cipher_of(data) == "AES-256-GCM"
    enc = Encrypter(app_key(data), "AES-256-GCM")
    job = raw(data["steps"][0]["output"]["job_serialize"])
    work = data["steps"][1]["output"]
    command = json.loads(raw(work["raw_body"]))["data"]["command"]
    assert command == work["payload"]["data"]["command"]
    # encrypt(serialize(clone $job)) with serialize=true: serialized twice
    expected = b's:%d:"%s";' % (len(job), job)
    assert enc.decrypt_bytes(command) == expected
    assert reencrypt(data, "AES-256-GCM", command, expected) == command
    with pytest.raises(DecryptError):
        Encrypter(app_key(data), "AES-256-CBC").decrypt_bytes(command)


# --------------------------------------------------------------------- everything else


def _collect(data: dict[str, Any]) -> list[tuple[str, dict[str, Any] | None]]:
    """``(payload, step)`` for each distinct envelope in one fixture file."""
    found: dict[str, dict[str, Any] | None] = {}

    def walk(obj: Any, step: dict[str, Any] | None) -> None:
        if isinstance(obj, dict):
            if isinstance(obj.get("b64"), str) and "len" in obj:
                walk(base64.b64decode(obj["b64"]).decode("latin-1"), step)
            for v in obj.values():
                walk(v, step)
        elif isinstance(obj, list):
            for v in obj:
                walk(v, step)
        elif isinstance(obj, str):
            for m in ENVELOPE.finditer(obj):
                # Set-Cookie headers carry the padding as %3D
                found.setdefault(m.group().replace("%3D", "="), step)

    for step in data["steps"]:
        walk(step, step)
    walk(data["final_dump"], None)
    return list(found.items())


def all_envelopes() -> Iterator[Any]:
    """Every base64 envelope anywhere in any fixture (steps, dumps, payload bodies)."""
    for version, scenario, data in iter_fixtures():
        for i, (payload, step) in enumerate(_collect(data)):
            yield pytest.param(data, step, payload, id=f"{version}-{scenario}-{i}")


ALL_ENVELOPES = list(all_envelopes())


def test_envelope_scan_found_enough() -> None:
    assert len(ALL_ENVELOPES) >= 4 * 20


@pytest.mark.parametrize(("data", "step", "payload"), ALL_ENVELOPES)
def test_every_fixture_envelope(
    data: dict[str, Any], step: dict[str, Any] | None, payload: str
) -> None:
    cipher = cipher_of(data, step)
    enc = Encrypter(app_key(data), cipher)
    plaintext = enc.decrypt_bytes(payload)
    # a cookie (41-byte prefix), encrypt() (serialize()d) or encryptString() value
    assert (
        re.match(rb"[0-9a-f]{40}\|", plaintext)
        or plaintext[:2] in (b"s:", b"a:")
        or plaintext == b"plain text"
    )
    assert reencrypt(data, cipher, payload, plaintext) == payload
    with pytest.raises(DecryptError):
        Encrypter(Encrypter.generate_key(cipher), cipher).decrypt_bytes(payload)
