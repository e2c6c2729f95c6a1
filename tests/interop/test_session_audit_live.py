"""Audit of sessions, cookies and the Encrypter against real PHP, with seeded random input.

PHP side (tests/interop/php/session_audit.php): Laravel 8.83's own ``Encrypter``,
``CookieValuePrefix`` and ``Recaller`` (Debian php-illuminate-*), and the Laravel
10.x-12.x envelope built and checked with PHP's own ``openssl_*``, ``json_*``,
``base64_decode`` and ``hash_equals``. ``php -S`` with tests/interop/php/cookie_server.php
is PHP's real ``Cookie:`` header parser plus 8.83's ``EncryptCookies``. Sessions go
through 8.83's ``Store`` (tests/interop/php/session.php). Keys are random, never the
fixture key; every generator is seeded (the seed is in the test id).
"""

from __future__ import annotations

import base64
import http.client
import json
import random
import socket
import string
import subprocess
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import pytest
import redis as redis_sync

from ninja_redis import php
from ninja_redis._sync.app import Laravel
from ninja_redis.crypto import (
    CIPHERS,
    Encrypter,
    LaravelCookies,
    Recaller,
    cookie_prefix,
    parse_cookie_header,
    password_hash_mac,
)
from ninja_redis.exceptions import DecryptError, SerializeError
from ninja_redis.sessions import (
    Session,
    login_key,
    php_json_decode,
    php_json_encode,
    wrap_cache_string,
)
from tests.interop._php import DRIVERS, run_driver

pytestmark = [pytest.mark.php, pytest.mark.laravel]

SEEDS = [11, 2024]

Result = dict[str, Any]


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def key_size(cipher: str) -> int:
    return 16 if "128" in cipher else 32


def iv_size(cipher: str) -> int:
    return 12 if cipher.endswith("GCM") else 16


def audit(cases: list[dict[str, Any]]) -> list[Result]:
    """Run the cases through session_audit.php (one PHP process)."""
    out: list[Result] = run_driver("session_audit.php", cases, {}, timeout=60)
    assert len(out) == len(cases)
    return out


class FixedIV(Encrypter):
    """An Encrypter whose next IVs are given (to compare whole envelopes)."""

    __slots__ = ("ivs",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.ivs: list[bytes] = []

    def _new_iv(self, size: int) -> bytes:
        return self.ivs.pop(0)


def py_decrypt(enc: Encrypter, payload: Any) -> bytes | None:
    try:
        return enc.decrypt_bytes(payload)
    except DecryptError:
        return None


def php_plaintext(r: Result) -> bytes | None:
    return base64.b64decode(r["plaintext_b64"]) if r["ok"] else None


# ---------------------------------------------------------------------- Encrypter


@pytest.mark.parametrize("seed", SEEDS)
def test_envelope_bytes_are_laravel_10_12_bytes(seed: int) -> None:
    """Same key, IV and plaintext: the whole base64 payload is byte-identical to the
    envelope PHP builds with openssl_encrypt + json_encode(JSON_UNESCAPED_SLASHES)."""
    rng = random.Random(seed)
    cases, expected = [], []
    for i in range(160):
        cipher = CIPHERS[i % 4]
        key = rng.randbytes(key_size(cipher))
        iv = rng.randbytes(iv_size(cipher))
        plaintext = rng.randbytes(rng.choice([0, 1, 15, 16, 17, rng.randint(0, 300)]))
        serialize = rng.random() < 0.5
        enc = FixedIV(key, cipher)
        enc.ivs.append(iv)
        expected.append(
            enc.encrypt(plaintext, serialize=True)
            if serialize
            else enc.encrypt_string(plaintext)
        )
        cases.append(
            {
                "op": "l10_encrypt",
                "key_b64": b64(key),
                "cipher": rng.choice([cipher, cipher.lower()]),
                "iv_b64": b64(iv),
                "plaintext_b64": b64(plaintext),
                "serialize": serialize,
            }
        )
    for r, want in zip(audit(cases), expected, strict=True):
        assert r["ok"], r
        assert r["payload"] == want


@pytest.mark.parametrize("seed", SEEDS)
def test_laravel_8_83_encrypter_both_ways(seed: int) -> None:
    rng = random.Random(seed)
    cases: list[dict[str, Any]] = []
    checks: list[Callable[[Result], None]] = []
    for i in range(120):
        cipher = CIPHERS[i % 4]
        key = rng.randbytes(key_size(cipher))
        enc = Encrypter(key, cipher)
        plaintext = rng.randbytes(rng.randint(0, 200))
        serialize = i % 3 == 0
        base = {"key_b64": b64(key), "cipher": cipher}
        # PHP encrypts, Python decrypts
        cases.append(
            {
                **base,
                "op": "l883_encrypt",
                "plaintext_b64": b64(plaintext),
                "serialize": serialize,
            }
        )

        def php_wrote(
            r: Result, enc: Encrypter = enc, p: bytes = plaintext, s: bool = serialize
        ) -> None:
            assert r["ok"], r
            if s:
                assert enc.decrypt(r["payload"]) == p
                assert enc.decrypt_bytes(r["payload"]) == php.dumps(p)
            else:
                assert enc.decrypt_bytes(r["payload"]) == p

        checks.append(php_wrote)
        # Python encrypts, PHP decrypts
        payload = enc.encrypt(plaintext) if serialize else enc.encrypt_string(plaintext)
        cases.append(
            {**base, "op": "l883_decrypt", "payload": payload, "unserialize": serialize}
        )

        def py_wrote(r: Result, p: bytes = plaintext, s: bool = serialize) -> None:
            assert r["ok"], r
            assert base64.b64decode(r["plaintext_b64"]) == (php.dumps(p) if s else p)

        checks.append(py_wrote)
    for r, check in zip(audit(cases), checks, strict=True):
        check(r)


@pytest.mark.parametrize("seed", SEEDS)
def test_previous_keys_both_ways(seed: int) -> None:
    """11+: Python payloads decrypt where the current key is a previous key of the
    PHP side, and PHP payloads of a previous key decrypt in Python only with
    APP_PREVIOUS_KEYS."""
    rng = random.Random(seed)
    cases, checks = [], []
    for i in range(80):
        cipher = CIPHERS[i % 4]
        current, old, other = (rng.randbytes(key_size(cipher)) for _ in range(3))
        plaintext = rng.randbytes(rng.randint(0, 100))
        payload = Encrypter(current, cipher, [old]).encrypt_string(plaintext)
        cases.append(
            {
                "op": "l10_decrypt",
                "keys_b64": [b64(other), b64(current)],
                "cipher": cipher,
                "payload": payload,
            }
        )
        checks.append(("php_reads", plaintext))
        cases.append(
            {
                "op": "l10_encrypt",
                "key_b64": b64(old),
                "cipher": cipher,
                "iv_b64": b64(rng.randbytes(iv_size(cipher))),
                "plaintext_b64": b64(plaintext),
                "serialize": False,
            }
        )
        checks.append(("py_reads", (current, old, other, cipher, plaintext)))
    for r, (kind, data) in zip(audit(cases), checks, strict=True):
        assert r["ok"], r
        if kind == "php_reads":
            assert php_plaintext(r) == data
        else:
            current, old, other, cipher, plaintext = data
            assert Encrypter(current, cipher, [other, old]).decrypt_bytes(
                r["payload"]
            ) == (plaintext)
            assert py_decrypt(Encrypter(current, cipher, [other]), r["payload"]) is None


def _envelope(payload: str) -> dict[str, Any]:
    obj: dict[str, Any] = json.loads(base64.b64decode(payload))
    return obj


def _mutations(
    rng: random.Random, cipher: str, key: bytes, payload: str
) -> list[tuple[Any, bool]]:
    """Edited payloads, each with whether all its fields are still strings/absent."""
    env = _envelope(payload)
    gcm = cipher.endswith("GCM")
    out: list[tuple[Any, bool]] = []

    def emit(obj: Any, *, strings: bool = True, slashes: bool = False) -> None:
        text = json.dumps(obj, separators=(",", ":"))
        if slashes:
            text = text.replace("/", "\\/")
        out.append((b64(text.encode()), strings))

    emit(env)
    emit(env, slashes=True)
    emit(dict(reversed(list(env.items()))))
    emit({**env, "extra": "x"})
    out.append((b64(json.dumps(env, indent=1).encode()), True))
    for n in sorted({0, 1, 8, 11, 12, 13, 15, 16, 17, 24, rng.randint(0, 40)}):
        emit({**env, "iv": b64(rng.randbytes(n))})
        emit({**env, "tag": b64(rng.randbytes(n))})
    emit({**env, "iv": env["iv"].rstrip("=")})
    emit({**env, "iv": " " + env["iv"]})
    emit({**env, "iv": env["iv"][:4] + "*" + env["iv"][4:]})
    emit({**env, "tag": ""})
    emit({**env, "tag": "0"})
    emit({**env, "tag": None}, strings=False)
    emit({k: v for k, v in env.items() if k != "tag"})
    emit({k: v for k, v in env.items() if k != "mac"})
    emit({**env, "mac": env["mac"].upper()})
    emit({**env, "mac": rng.randbytes(32).hex()})
    emit({**env, "mac": ""})
    emit({**env, "value": env["value"][:-4]})
    emit({**env, "value": env["value"][:4] + "*" + env["value"][4:]})
    emit({**env, "value": ""})
    emit({**env, "iv": 7}, strings=False)
    emit({**env, "mac": 0}, strings=False)
    emit({**env, "tag": 0}, strings=False)
    emit({**env, "tag": ["x"]}, strings=False)
    emit([env["iv"], env["value"]], strings=False)
    if gcm:
        emit({**env, "tag": env["tag"].rstrip("=")})
        emit({**env, "tag": env["tag"][:-6] + "A" * 4 + "=="})
    else:
        mac = hmac_hex(key, env["iv"] + env["value"])
        emit({**env, "mac": mac})
        emit({**env, "tag": "AAAA", "mac": mac})
    out.append((payload + "%3D", True))
    out.append((" " + payload, True))
    out.append((payload[: rng.randint(0, len(payload))], True))
    out.append((b64(rng.randbytes(rng.randint(0, 60))), True))
    return out


def hmac_hex(key: bytes, text: str) -> str:
    import hmac

    return hmac.new(key, text.encode(), "sha256").hexdigest()


@pytest.mark.parametrize("seed", SEEDS)
def test_mutated_envelopes_are_accepted_or_rejected_like_laravel(seed: int) -> None:
    """Python decrypts exactly the edited envelopes Laravel decrypts, to the same
    plaintext: against the 10-12 rules (previous keys included) and, for envelopes
    whose fields are strings, against Laravel 8.83's own Encrypter."""
    rng = random.Random(seed)
    cases: list[dict[str, Any]] = []
    expected: list[tuple[str, bytes | None]] = []
    for i in range(24):
        cipher = CIPHERS[i % 4]
        key, old = rng.randbytes(key_size(cipher)), rng.randbytes(key_size(cipher))
        signer = rng.choice([key, old])
        plaintext = rng.randbytes(rng.randint(0, 64))
        payload = Encrypter(signer, cipher).encrypt_string(plaintext)
        current = Encrypter(key, cipher, [old])
        alone = Encrypter(key, cipher)
        for mutated, strings in _mutations(rng, cipher, signer, payload):
            cases.append(
                {
                    "op": "l10_decrypt",
                    "keys_b64": [b64(key), b64(old)],
                    "cipher": cipher,
                    "payload": mutated,
                }
            )
            expected.append(("l10", py_decrypt(current, mutated)))
            if strings and isinstance(mutated, str):
                cases.append(
                    {
                        "op": "l883_decrypt",
                        "key_b64": b64(key),
                        "cipher": cipher,
                        "payload": mutated,
                        "unserialize": False,
                    }
                )
                expected.append(("l883", py_decrypt(alone, mutated)))
    accepted = 0
    for case, r, (side, want) in zip(cases, audit(cases), expected, strict=True):
        assert php_plaintext(r) == want, (side, case["cipher"], case["payload"], r)
        accepted += want is not None
    assert 100 < accepted < len(cases) - 100  # both outcomes are exercised


def test_found_mac_is_kept_for_the_later_keys() -> None:
    """11+: a MAC valid for key A whose ciphertext only decrypts under the next key B
    is decrypted with B (Laravel keeps $foundValidMac), here and in PHP."""
    from cryptography.hazmat.primitives import padding
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    rng = random.Random(5)
    a, b = rng.randbytes(32), rng.randbytes(32)
    plaintext = b"only key B opens this"
    while True:
        iv = rng.randbytes(16)
        padder = padding.PKCS7(128).padder()
        padded = padder.update(plaintext) + padder.finalize()
        encryptor = Cipher(algorithms.AES(b), modes.CBC(iv)).encryptor()
        ct = encryptor.update(padded) + encryptor.finalize()
        decryptor = Cipher(algorithms.AES(a), modes.CBC(iv)).decryptor()
        under_a = decryptor.update(ct) + decryptor.finalize()
        if under_a[-1] not in range(1, 17) or under_a[-under_a[-1] :] != bytes(
            [under_a[-1]] * under_a[-1]
        ):
            break  # bad padding under A: openssl_decrypt() fails with A
    iv_b64, value_b64 = b64(iv), b64(ct)
    env = {
        "iv": iv_b64,
        "value": value_b64,
        "mac": hmac_hex(a, iv_b64 + value_b64),
        "tag": "",
    }
    payload = b64(json.dumps(env, separators=(",", ":")).encode())
    assert Encrypter(a, "AES-256-CBC", [b]).decrypt_bytes(payload) == plaintext
    assert py_decrypt(Encrypter(a), payload) is None
    assert py_decrypt(Encrypter(b, "AES-256-CBC", [a]), payload) is None  # B first: no
    (r,) = audit(
        [
            {
                "op": "l10_decrypt",
                "keys_b64": [b64(a), b64(b)],
                "cipher": "AES-256-CBC",
                "payload": payload,
            }
        ]
    )
    assert php_plaintext(r) == plaintext


# ------------------------------------------------------------------------ cookies

NAME_CHARS = string.ascii_letters + string.digits + "-_.[]!#$%&'*+^`|~"


def random_name(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.15:
        return rng.choice(["laravel_session", "laravel-session", "XSRF-TOKEN"])
    if kind < 0.3:
        return "".join(chr(rng.randint(0xA0, 0x2FFF)) for _ in range(rng.randint(1, 8)))
    return "".join(rng.choice(NAME_CHARS) for _ in range(rng.randint(1, 24)))


@pytest.mark.parametrize("seed", SEEDS)
def test_cookie_prefix_of_random_names_and_keys(seed: int) -> None:
    rng = random.Random(seed)
    pairs = [
        (random_name(rng), rng.randbytes(rng.choice([16, 32]))) for _ in range(200)
    ]
    results = audit([{"op": "prefix", "name": n, "key_b64": b64(k)} for n, k in pairs])
    for (name, key), r in zip(pairs, results, strict=True):
        assert r["prefix"] == cookie_prefix(name, key)


@pytest.mark.parametrize("seed", SEEDS)
def test_cookies_with_previous_keys_like_laravel_11(seed: int) -> None:
    """A cookie is accepted if it decrypts under any key and carries the prefix of
    its own name under any key (not necessarily the same key), else null."""
    rng = random.Random(seed)
    cases, expected = [], []
    for i in range(60):
        cipher = CIPHERS[i % 4]
        cur, old = rng.randbytes(key_size(cipher)), rng.randbytes(key_size(cipher))
        name, other = random_name(rng), random_name(rng)
        value = rng.randbytes(rng.randint(0, 50)).hex()
        enc_key = rng.choice([cur, old])
        prefix_key = rng.choice([cur, old])
        prefix_name = rng.choice([name, name, other])
        payload = Encrypter(enc_key, cipher).encrypt_string(
            cookie_prefix(prefix_name, prefix_key) + value
        )
        wire = rng.choice([payload, quote(payload, safe="")])
        ours = LaravelCookies(Encrypter(cur, cipher, [old])).decrypt_or_none(name, wire)
        cases.append(
            {
                "op": "l10_cookie_decrypt",
                "keys_b64": [b64(cur), b64(old)],
                "cipher": cipher,
                "name": name,
                "payload": payload,
            }
        )
        expected.append(ours)
        assert (ours is None) == (prefix_name != name)
    for r, ours in zip(audit(cases), expected, strict=True):
        assert r["ok"], r
        seen = r["value_b64"]
        assert (None if seen is None else base64.b64decode(seen).decode()) == ours


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _tree(node: Any) -> Any:
    if node is None:
        return None
    if isinstance(node, dict):
        return [
            (base64.b64decode(k).decode("latin-1"), _tree(v)) for k, v in node["array"]
        ]
    return base64.b64decode(node).decode("latin-1")


def _flat(pairs: Any, prefix: str | None = None) -> Iterator[tuple[str, Any]]:
    for k, v in pairs:
        name = k if prefix is None else f"{prefix}[{k}]"
        if isinstance(v, list):
            yield from _flat(v, name)
        else:
            yield name, v


@pytest.fixture(scope="module")
def php_server() -> Iterator[Callable[..., dict[str, Any]]]:
    """``php -S`` on a free loopback port with the cookie_server.php router."""
    port = _free_port()
    proc = subprocess.Popen(
        ["php", "-S", f"127.0.0.1:{port}", "cookie_server.php"],
        cwd=DRIVERS,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                assert proc.poll() is None, "php -S exited"
                assert time.monotonic() < deadline, "php -S did not start"
                time.sleep(0.05)

        def send(
            header: str, key: bytes | None = None, cipher: str = "AES-256-CBC"
        ) -> dict[str, Any]:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            try:
                conn.putrequest("GET", "/")
                conn.putheader("Cookie", header)
                if key is not None:
                    conn.putheader("X-Key", b64(key))
                    conn.putheader("X-Cipher", cipher)
                conn.endheaders()
                reply = conn.getresponse()
                assert reply.status == 200
                data: dict[str, Any] = json.loads(reply.read())
            finally:
                conn.close()
            return {k: _tree(v) for k, v in data.items()}

        yield send
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.mark.parametrize("seed", SEEDS)
def test_cookie_header_parsed_like_php(
    php_server: Callable[..., dict[str, Any]], seed: int
) -> None:
    """$_COOKIE of PHP's own parser (names kept raw, '.'/' ' renamed, first wins,
    arrays), flattened to Laravel's validateArray names, equals parse_cookie_header."""
    rng = random.Random(seed)
    alphabet = "ab.[] _=%2E+0-"
    for _ in range(400):
        parts = []
        for _ in range(rng.randint(1, 5)):
            name = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 8)))
            value = "".join(rng.choice("xy%3D+ /") for _ in range(rng.randint(0, 4)))
            parts.append(name + ("=" + value if rng.random() < 0.9 else ""))
        header = rng.choice(["; ", ";", " ;\t"]).join(parts)
        theirs = [
            (k, v.encode("latin-1")) for k, v in _flat(php_server(header)["cookies"])
        ]
        ours = [
            (k, v.encode("utf-8", "surrogateescape"))
            for k, v in parse_cookie_header(header).items()
        ]
        assert ours == theirs, header


@pytest.mark.parametrize("seed", SEEDS)
def test_encrypted_cookies_through_a_real_request(
    php_server: Callable[..., dict[str, Any]], seed: int
) -> None:
    """Python-encrypted cookies in a real Cookie header: what Laravel 8.83's
    EncryptCookies (after PHP's parsing) sees for each name is what
    LaravelCookies.from_header returns (None where Laravel has null or nothing)."""
    rng = random.Random(seed)
    safe_chars = string.ascii_letters + string.digits + "-_!#$&'*+^`|~"
    for i in range(30):
        cipher = CIPHERS[i % 4]
        key = rng.randbytes(key_size(cipher))
        cookies = LaravelCookies(Encrypter(key, cipher))
        names: list[str] = []
        parts = []
        for _ in range(rng.randint(1, 4)):
            name = "".join(rng.choice(safe_chars) for _ in range(rng.randint(1, 12)))
            if rng.random() < 0.3:  # PHP renames these: Laravel never sees `name`
                name = name[:3] + rng.choice([".", " "]) + name[3:]
            value = "".join(rng.choice(string.printable[:94]) for _ in range(20))
            names.append(name)
            parts.append(f"{name}={cookies.encrypt(name, value)}")
        parts.append(f"plain{i}=not-encrypted")
        header = "; ".join(parts)
        seen = dict(php_server(header, key, cipher)["seen"])
        for name in [*names, *seen]:
            assert cookies.from_header(header, name) == seen.get(name), (name, header)


# --------------------------------------------------------- session serialization

_TEXT = "ab/\\\"'\x00\x01\x1f\x7f é€😀\u2028\ud7ff\ue000"


def random_value(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randint(0, 9 if depth < 3 else 6)
    if kind == 0:
        return None
    if kind == 1:
        return rng.random() < 0.5
    if kind == 2:
        return rng.choice(
            [0, -1, 7, 2**31, -(2**63), 2**63 - 1, rng.randint(-999, 999)]
        )
    if kind == 3:
        return rng.choice(
            [
                0.0,
                -0.0,
                1.0,
                0.1,
                1e15,
                1e16,
                1e20,
                1.5e-7,
                1e-5,
                -2.5,
                1e300,
                5e-324,
                rng.uniform(-1e6, 1e6),
                rng.random() * 10 ** rng.randint(-30, 30),
            ]
        )
    if kind in (4, 5, 6):
        return "".join(rng.choice(_TEXT) for _ in range(rng.randint(0, 8)))
    if kind in (7, 8):
        return [random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    keys = [
        rng.choice(["a", "_token", "x/y", "é", "0", "07", "-1", "1.5", ""])
        if rng.random() < 0.6
        else rng.randint(-3, 5)
        for _ in range(rng.randint(0, 4))
    ]
    return {k: random_value(rng, depth + 1) for k in keys}


@pytest.mark.parametrize("seed", SEEDS)
def test_json_session_serialization_is_php_json_encode(seed: int) -> None:
    """SESSION_SERIALIZATION=json (9.0+): Store::save() writes json_encode($attributes)
    with default flags; the same bytes here for random attribute arrays."""
    rng = random.Random(seed)
    values = [
        {"_token": "T" * 40, **{str(k): random_value(rng) for k in range(3)}}
        if i % 4 == 0
        else random_value(rng)
        for i in range(300)
    ]
    values += ["\udc80", {"bad": b"\xff"}, float("inf")]  # json_encode() fails
    results = audit(
        [{"op": "json_encode", "serialized_b64": b64(_dumps(v))} for v in values]
    )
    for value, r in zip(values, results, strict=True):
        assert r["ok"], r
        try:
            ours: bytes | None = php_json_encode(value)
        except SerializeError:
            ours = None
        theirs = None if r["json_b64"] is None else base64.b64decode(r["json_b64"])
        assert ours == theirs, value


def _dumps(value: Any) -> bytes:
    """serialize() of a value PHP cannot json_encode either way."""
    if isinstance(value, str) and not value.isascii():
        try:
            value.encode()
        except UnicodeEncodeError:
            return b's:2:"\xed\xb2";'  # invalid UTF-8
    return php.dumps(value)


@pytest.mark.parametrize("seed", SEEDS)
def test_json_session_decoding_is_php_json_decode(seed: int) -> None:
    """Reading a json session: json_decode($data, true), compared through serialize()."""
    rng = random.Random(seed)
    texts: list[bytes] = []
    for _ in range(200):
        text = php_json_encode(random_value(rng))
        if rng.random() < 0.3:
            text = text.replace(b",", b" ,\n ").replace(b":", b" : ")
        texts.append(text)
    texts += [
        b'{"a":1,"a":2}',
        b'{"07":1,"7":2,"-0":3,"9223372036854775808":4}',
        b"[1.0,1e2,-0,-0.0,12345678901234567890,1E-7]",
        b'"\\u00e9\\/\\ud83d\\ude00"',
        b"  [ ]  ",
        b"{}",
    ]
    results = audit([{"op": "json_decode", "json_b64": b64(t)} for t in texts])
    for text, r in zip(texts, results, strict=True):
        assert php.dumps(php_json_decode(text)) == base64.b64decode(
            r["serialized_b64"]
        ), text


# --------------------------------------------------------------- remember me


@pytest.mark.parametrize("seed", SEEDS)
def test_recaller_like_laravel_8_83(seed: int) -> None:
    rng = random.Random(seed)
    values = [
        "".join(rng.choice("ab| \t0") for _ in range(rng.randint(0, 9)))
        for _ in range(300)
    ]
    values += [
        "42|tok|$2y$12$abc",
        "42|tok|a|b",
        php.dumps("7|t|h").decode(),
        php.dumps("7|t|h|x").decode(),
        "i:5;",
        "b:0;",
        's:1:"0";',
        'a:1:{i:0;s:5:"1|2|3";}',
    ]
    results = audit([{"op": "recaller", "value": v} for v in values])
    for value, r in zip(values, results, strict=True):
        assert r["ok"], r
        try:
            ours = Recaller.parse(value, laravel_version=(8, 83))
        except DecryptError:
            assert not r["valid"], value
            continue
        assert r["valid"], value
        assert (ours.id, ours.token, ours.hash) == (r["id"], r["token"], r["hash"])


@pytest.mark.parametrize("seed", SEEDS)
def test_password_hash_mac_is_hash_hmac(seed: int) -> None:
    rng = random.Random(seed)
    pairs = [
        (
            "$2y$12$" + "".join(rng.choice(string.ascii_letters) for _ in range(53)),
            "base64:" + b64(rng.randbytes(32)),
        )
        for _ in range(50)
    ]
    results = audit([{"op": "hmac", "data": h, "key": k} for h, k in pairs])
    for (h, k), r in zip(pairs, results, strict=True):
        assert r["mac"] == password_hash_mac(h, k)


# ---------------------------------------------- sessions through Laravel 8.83


def run_session_php(
    redis_url: str,
    prefix: str,
    key: bytes,
    cipher: str,
    lifetime: int,
    cookie: str,
    cases: list[dict[str, Any]],
) -> list[Result]:
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
        "key_b64": b64(key),
        "cipher": cipher,
        "lifetime": lifetime,
        "cookie": cookie,
        "cases": cases,
    }
    out: list[Result] = run_driver("session.php", payload, {})
    for r in out:
        assert r["ok"], r
    return out


def assert_ttl(client: redis_sync.Redis, key: bytes, lifetime: int) -> None:
    """SETEX lifetime*60: the PTTL is at most that, and only the time since the write
    (a few seconds at most, even on a loaded machine) less."""
    pttl = client.pttl(key)
    assert lifetime * 60_000 - 10_000 < pttl <= lifetime * 60_000, (key, pttl)


@pytest.mark.parametrize("seed", SEEDS)
def test_sessions_with_random_keys_lifetimes_and_cookie_names(
    redis_url: str, prefix: str, seed: int
) -> None:
    """Laravel 8.83's Store/EncryptedStore and EncryptCookies with a random APP_KEY,
    cipher, SESSION_LIFETIME, SESSION_ENCRYPT and SESSION_COOKIE: the key, the TTL
    (lifetime*60), the value and the cookie are the same on both sides."""
    rng = random.Random(seed)
    client = redis_sync.Redis.from_url(redis_url)
    for i in range(8):
        cipher = CIPHERS[i % 4]
        key = rng.randbytes(key_size(cipher))
        lifetime = rng.choice([1, 7, 120, 525600, rng.randint(2, 100000)])
        cookie = "".join(
            rng.choice(string.ascii_letters + "-_.[]")
            for _ in range(rng.randint(1, 16))
        )
        encrypt = i % 3 != 0
        app = Laravel.from_url(
            redis_url,
            laravel_version="8.83",
            redis_prefix=prefix,
            cache_prefix="laravel_cache",
            session_cookie=cookie,
            session_lifetime=lifetime,
            session_encrypt=encrypt,
            app_key="base64:" + b64(key),
            cipher=cipher,
        )
        try:
            attrs = {"n": rng.randint(0, 99), "s": "Grüße/" + str(i)}
            py = app.sessions.create(attrs)
            py.login(rng.randint(1, 10**6))
            app.sessions.save(py)
            py_key = prefix.encode() + b"laravel_cache:" + py.id.encode()
            assert_ttl(client, py_key, lifetime)
            ops = [["put", k, v] for k, v in attrs.items()]
            php_write, php_read, php_cookie, py_cookie = run_session_php(
                redis_url,
                prefix,
                key,
                cipher,
                lifetime,
                cookie,
                [
                    {"op": "write", "id": None, "encrypt": encrypt, "ops": ops},
                    {"op": "read", "id": py.id, "encrypt": encrypt},
                    {"op": "cookie_encrypt", "value": py.id},
                    {
                        "op": "cookie_decrypt",
                        "payload": unquote(app.sessions.cookie_value(py)),
                    },
                ],
            )
            # PHP wrote: same key layout and TTL, Python reads the same attributes
            php_key = prefix.encode() + b"laravel_cache:" + php_write["id"].encode()
            assert_ttl(client, php_key, lifetime)
            loaded = app.sessions.load(php_write["id"])
            assert loaded is not None
            assert php.dumps(loaded.attributes) == base64.b64decode(
                php_write["attributes_b64"]
            )
            if not encrypt:
                assert base64.b64decode(php_write["value_b64"]) == wrap_cache_string(
                    php.dumps(loaded.attributes)
                )
            # Python wrote: PHP reads the same attributes and user id
            assert base64.b64decode(php_read["attributes_b64"]) == php.dumps(
                py.attributes
            )
            assert php_read["user_id"] == py.user_id()
            # cookies both ways under this SESSION_COOKIE
            assert app.sessions.session_id_from_cookie(php_cookie["payload"]) == py.id
            assert py_cookie["value"] == py.id
            session = app.sessions.from_cookie(php_cookie["payload"])
            assert isinstance(session, Session)
            assert session.user_id() == py.user_id()
            assert session.get(login_key()) == py.user_id()
        finally:
            app.close()
