"""ninja_redis.crypto.Encrypter: keys, ciphers, the exact envelope, Laravel's checks."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from ninja_redis.crypto import CIPHERS, Encrypter, _php_b64decode, _php_b64decode_strict
from ninja_redis.exceptions import ConfigError, DecryptError

# spec §8.1: key = bytes 00..1f, iv = 00..0f (CBC) / 00..0b (GCM)
SPEC_KEY = bytes(range(32))
SPEC_APP_KEY = "base64:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
SPEC_CBC_JSON = (
    '{"iv":"AAECAwQFBgcICQoLDA0ODw==","value":"+6PhkQC3hIYgKik4Wr/9AA==",'
    '"mac":"5309c5bf85932ce2d4c733b633896113682aabb147e5d093ff8d8231e9c0374c","tag":""}'
)
SPEC_GCM_JSON = (
    '{"iv":"AAECAwQFBgcICQoL","value":"L2e6d6o=","mac":"",'
    '"tag":"J5f/NTuKBG0oI23NnQV7uw=="}'
)


class FixedIV(Encrypter):
    """An Encrypter whose IV is chosen by the test (reproduces golden payloads)."""

    __slots__ = ("_iv",)

    def __init__(self, *args: Any, iv: bytes, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._iv = iv

    def _new_iv(self, size: int) -> bytes:
        return self._iv


def b64(data: bytes | str) -> str:
    return base64.b64encode(data.encode() if isinstance(data, str) else data).decode()


def envelope(payload: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(base64.b64decode(payload))
    return data


def rewrap(obj: Any) -> str:
    return b64(json.dumps(obj, separators=(",", ":")))


def key_for(cipher: str) -> bytes:
    return bytes(range(16 if "128" in cipher else 32))


# --------------------------------------------------------------------- spec examples


def test_spec_cbc_example_is_byte_exact() -> None:
    enc = FixedIV(SPEC_APP_KEY, iv=bytes(range(16)))
    # encrypt('hello') == encrypt of the serialized plaintext s:5:"hello";
    payload = enc.encrypt_string('s:5:"hello";')
    assert base64.b64decode(payload).decode() == SPEC_CBC_JSON
    assert payload == b64(SPEC_CBC_JSON)
    assert Encrypter(SPEC_KEY).decrypt_bytes(payload) == b's:5:"hello";'


def test_spec_gcm_example_is_byte_exact() -> None:
    enc = FixedIV(SPEC_KEY, "aes-256-gcm", iv=bytes(range(12)))
    payload = enc.encrypt_string("hello")
    assert payload == b64(SPEC_GCM_JSON)
    assert Encrypter(SPEC_APP_KEY, "AES-256-GCM").decrypt_string(payload) == "hello"


def test_spec_example_serialized_roundtrip_with_php_codec() -> None:
    pytest.importorskip("ninja_redis.php", reason="ninja_redis.php codec not present")
    enc = FixedIV(SPEC_APP_KEY, iv=bytes(range(16)))
    payload = enc.encrypt("hello")
    assert payload == b64(SPEC_CBC_JSON)
    assert Encrypter(SPEC_KEY).decrypt(payload) == "hello"
    assert Encrypter(SPEC_KEY).decrypt(payload, unserialize=False) == b's:5:"hello";'


# --------------------------------------------------------------------- envelope shape


@pytest.mark.parametrize("cipher", CIPHERS)
@pytest.mark.parametrize("plaintext", [b"", b"x", b"a" * 16, b"\x00\xff/+=" * 50])
def test_roundtrip_and_envelope_shape(cipher: str, plaintext: bytes) -> None:
    enc = Encrypter(key_for(cipher), cipher)
    payload = enc.encrypt_string(plaintext)
    assert payload.isascii()
    raw_json = base64.b64decode(payload, validate=True).decode()
    assert "\\/" not in raw_json  # JSON_UNESCAPED_SLASHES
    env = json.loads(raw_json)
    assert list(env) == ["iv", "value", "mac", "tag"]
    if cipher.endswith("CBC"):
        assert len(base64.b64decode(env["iv"])) == 16
        assert len(env["mac"]) == 64 and env["mac"] == env["mac"].lower()
        assert env["tag"] == ""
    else:
        assert len(base64.b64decode(env["iv"])) == 12
        assert env["mac"] == ""
        assert len(base64.b64decode(env["tag"])) == 16
    assert enc.decrypt_bytes(payload) == plaintext
    assert enc.decrypt(payload, unserialize=False) == plaintext
    assert enc.decrypt_bytes(payload.encode()) == plaintext


def test_random_iv_every_time() -> None:
    enc = Encrypter(SPEC_KEY)
    assert len({envelope(enc.encrypt_string("same"))["iv"] for _ in range(20)}) == 20


def test_encrypt_without_serialize_accepts_str_and_bytes_only() -> None:
    enc = Encrypter(SPEC_KEY)
    assert enc.decrypt_string(enc.encrypt("grüße", serialize=False)) == "grüße"
    assert enc.decrypt_bytes(enc.encrypt(b"\xff", serialize=False)) == b"\xff"
    with pytest.raises(TypeError):
        enc.encrypt(5, serialize=False)
    with pytest.raises(TypeError):
        enc.encrypt_string(None)  # type: ignore[arg-type]


def test_decrypt_string_requires_utf8() -> None:
    enc = Encrypter(SPEC_KEY)
    payload = enc.encrypt_string(b"\xff\xfe")
    with pytest.raises(DecryptError, match="decrypt_bytes"):
        enc.decrypt_string(payload)


# --------------------------------------------------------------------- keys


def test_app_key_formats() -> None:
    assert Encrypter(SPEC_APP_KEY).key == SPEC_KEY
    assert Encrypter(bytearray(SPEC_KEY)).key == SPEC_KEY
    # a string without base64: is used as raw UTF-8 bytes
    assert Encrypter("k" * 32).key == b"k" * 32
    assert Encrypter("k" * 16, "AES-128-CBC").key == b"k" * 16
    # base64_decode() is lenient like PHP's (whitespace ignored)
    assert Encrypter(SPEC_APP_KEY[:20] + " \n" + SPEC_APP_KEY[20:]).key == SPEC_KEY


@pytest.mark.parametrize(
    ("key", "cipher"),
    [
        (SPEC_APP_KEY, "AES-128-CBC"),
        (SPEC_APP_KEY, "aes-128-gcm"),
        ("base64:" + b64(bytes(16)), "AES-256-CBC"),
        ("short", "AES-256-CBC"),
        (b"", "AES-256-CBC"),
        ("base64:", "AES-256-GCM"),
    ],
)
def test_wrong_key_length_is_config_error_without_key(key: Any, cipher: str) -> None:
    with pytest.raises(ConfigError) as info:
        Encrypter(key, cipher)
    msg = str(info.value)
    assert "APP_KEY" in msg
    assert info.value.variable == "APP_KEY"
    if isinstance(key, str) and len(key) > 8:
        assert key not in msg and key[7:] not in msg
    assert "short" not in msg


def test_empty_app_key() -> None:
    with pytest.raises(ConfigError, match="key:generate"):
        Encrypter("")


def test_unknown_cipher() -> None:
    with pytest.raises(ConfigError, match="AES-256-CBC") as info:
        Encrypter(SPEC_KEY, "AES-256-CFB")
    assert info.value.variable == "APP_CIPHER"


@pytest.mark.parametrize("cipher", ["aes-256-cbc", "AES-256-cbc", "Aes-256-Gcm"])
def test_cipher_is_case_insensitive(cipher: str) -> None:
    enc = Encrypter(SPEC_KEY, cipher)
    assert enc.cipher == cipher.upper()
    assert enc.decrypt_string(enc.encrypt_string("x")) == "x"


def test_repr_hides_keys() -> None:
    enc = Encrypter(SPEC_APP_KEY, previous_keys=["base64:" + b64(bytes(32))])
    text = repr(enc)
    assert text == "Encrypter(cipher='AES-256-CBC', previous_keys=1)"
    assert SPEC_APP_KEY[7:] not in text


@pytest.mark.parametrize("cipher", CIPHERS)
def test_generate_key(cipher: str) -> None:
    key = Encrypter.generate_key(cipher)
    assert key.startswith("base64:")
    assert len(base64.b64decode(key[7:])) == (16 if "128" in cipher else 32)
    enc = Encrypter(key, cipher)
    assert enc.decrypt_string(enc.encrypt_string("k")) == "k"
    assert Encrypter.generate_key(cipher) != key


def test_supported() -> None:
    assert Encrypter.supported(bytes(32), "AES-256-GCM")
    assert not Encrypter.supported(bytes(16), "AES-256-GCM")
    assert not Encrypter.supported(bytes(32), "nope")


# --------------------------------------------------------------------- previous keys


def test_previous_keys_decrypt_but_never_encrypt() -> None:
    old, new = Encrypter.generate_key(), Encrypter.generate_key()
    old_payload = Encrypter(old).encrypt_string("from the old key")
    rotated = Encrypter(new, previous_keys=[old])
    assert rotated.decrypt_string(old_payload) == "from the old key"
    assert rotated.all_keys == (Encrypter(new).key, Encrypter(old).key)
    # new payloads use the current key only
    assert Encrypter(new).decrypt_string(rotated.encrypt_string("x")) == "x"
    with pytest.raises(DecryptError, match="MAC"):
        Encrypter(old).decrypt_string(rotated.encrypt_string("x"))
    # without the previous key the old payload is rejected
    with pytest.raises(DecryptError, match="MAC"):
        Encrypter(new).decrypt_string(old_payload)


def test_previous_keys_gcm() -> None:
    old, new = (Encrypter.generate_key("AES-256-GCM") for _ in range(2))
    payload = Encrypter(old, "AES-256-GCM").encrypt_string("gcm")
    assert Encrypter(new, "AES-256-GCM", [old]).decrypt_string(payload) == "gcm"
    with pytest.raises(DecryptError):
        Encrypter(new, "AES-256-GCM").decrypt_string(payload)


def test_from_app_key_parses_previous_keys_like_config_app() -> None:
    k1, k2, cur = (Encrypter.generate_key() for _ in range(3))
    enc = Encrypter.from_app_key(cur, "AES-256-CBC", f"{k1},,{k2},")
    assert len(enc.all_keys) == 3
    assert Encrypter.from_app_key(cur).all_keys == (enc.key,)
    assert len(Encrypter.from_app_key(cur, previous_keys="").all_keys) == 1
    # config/app.php does not trim: " base64:..." is a raw 52-byte string
    with pytest.raises(ConfigError, match="APP_PREVIOUS_KEYS entry 2") as info:
        Encrypter.from_app_key(cur, "AES-256-CBC", f"{k1}, {k2}")
    assert k2[7:] not in str(info.value)


def test_previous_keys_must_be_a_sequence_of_keys() -> None:
    with pytest.raises(ConfigError, match="from_app_key"):
        Encrypter(SPEC_KEY, previous_keys=SPEC_APP_KEY)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="APP_PREVIOUS_KEYS entry 1"):
        Encrypter(SPEC_KEY, "AES-256-CBC", [bytes(16)])


# --------------------------------------------------------------------- PHP base64


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("QQ==", b"A"),
        ("Q=Q", b"A"),  # '=' is skipped and decoding goes on
        ("QU*JD", b"ABC"),  # junk skipped
        ("QUJDR", b"ABC"),  # a lone trailing sextet is dropped
        ("QUJD\n", b"ABC"),
        ("", b""),
        ("%%%", b""),
        ("QUJ\u00e9D", b"ABC"),  # non-ASCII is junk too
        (b"Q\x00Q", b"A"),
    ],
)
def test_php_lenient_base64(data: str | bytes, expected: bytes) -> None:
    assert _php_b64decode(data) == expected


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("QQ==", b"A"),
        ("QQ", b"A"),  # missing padding is fine
        ("Q Q==", b"A"),  # space, tab, CR, LF skipped
        ("Q\tQ\r\n==", b"A"),
        ("Q\x0bQ==", None),  # vertical tab is not skipped
        ("QQ=", None),
        ("QQ===", None),
        ("QQ==QQ==", None),
        ("Q", None),
        ("QQ*=", None),
    ],
)
def test_php_strict_base64(data: str, expected: bytes | None) -> None:
    assert _php_b64decode_strict(data) == expected


# --------------------------------------------------------------------- Laravel checks


def _cbc() -> tuple[Encrypter, str, dict[str, Any]]:
    enc = Encrypter(SPEC_KEY)
    payload = enc.encrypt_string("secret-plaintext")
    return enc, payload, envelope(payload)


def test_lenient_outer_base64_is_accepted_like_php() -> None:
    enc, payload, _ = _cbc()
    # base64_decode($payload) ignores junk, whitespace and missing padding
    assert enc.decrypt_string(" " + payload[:10] + "*\n" + payload[10:]) == (
        "secret-plaintext"
    )
    assert enc.decrypt_string(payload.rstrip("=")) == "secret-plaintext"


def test_tag_null_or_zero_counts_as_absent_for_cbc() -> None:
    enc, _, env = _cbc()
    for tag in (None, "", "0"):
        assert enc.decrypt_string(rewrap({**env, "tag": tag})) == "secret-plaintext"
    without = {k: v for k, v in env.items() if k != "tag"}
    assert enc.decrypt_string(rewrap(without)) == "secret-plaintext"
    # key order and extra keys do not matter to json_decode
    reordered = {"extra": [1, {"a": None}], "mac": env["mac"], "value": env["value"]}
    assert enc.decrypt_string(rewrap({**reordered, "iv": env["iv"]})) == (
        "secret-plaintext"
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"tag": "AAAA"}, "AEAD"),
        ({"tag": 5}, "invalid"),
        ({"tag": []}, "invalid"),
        ({"iv": None}, "invalid"),
        ({"iv": 5}, "invalid"),
        ({"value": ["x"]}, "invalid"),
        ({"mac": 0}, "invalid"),
        ({"mac": None}, "invalid"),
        ({"iv": "AAAA"}, "invalid"),
        ({"iv": b64(bytes(12))}, "GCM"),
        ({"iv": b64(bytes(16))[:-2] + "*="}, "invalid"),
        ({"mac": "0" * 64}, "MAC"),
        ({"mac": ""}, "MAC"),
        ({"mac": "é" * 64}, "MAC"),
        ({"value": "AAAA"}, "MAC"),
    ],
)
def test_cbc_rejects(change: dict[str, Any], message: str) -> None:
    enc, _, env = _cbc()
    with pytest.raises(DecryptError, match=message):
        enc.decrypt_bytes(rewrap({**env, **change}))


def test_missing_fields_rejected() -> None:
    enc, _, env = _cbc()
    for field in ("iv", "value", "mac"):
        with pytest.raises(DecryptError, match="invalid"):
            enc.decrypt_bytes(rewrap({k: v for k, v in env.items() if k != field}))


@pytest.mark.parametrize(
    "raw_json",
    [
        "",
        "null",
        "[]",
        '["iv","value","mac"]',
        '"string"',
        "{",
        '{"iv":NaN}',
        '{"iv":"\\ud800","value":"","mac":""}',  # PHP rejects unpaired surrogates
    ],
)
def test_not_a_json_object(raw_json: str) -> None:
    with pytest.raises(DecryptError, match="invalid"):
        Encrypter(SPEC_KEY).decrypt_bytes(b64(raw_json))


def test_json_nesting_limit_of_php() -> None:
    enc, _, env = _cbc()
    ok = dict(env, extra=json.loads("[" * 510 + "]" * 510))
    assert enc.decrypt_string(rewrap(ok)) == "secret-plaintext"
    deep = dict(env, extra=json.loads("[" * 512 + "]" * 512))
    with pytest.raises(DecryptError, match="invalid"):
        enc.decrypt_bytes(rewrap(deep))
    very_deep = b64('{"a":' + "[" * 100_000 + "]" * 100_000 + "}")
    with pytest.raises(DecryptError, match="invalid"):
        enc.decrypt_bytes(very_deep)


def test_non_utf8_json_and_bom_rejected() -> None:
    enc = Encrypter(SPEC_KEY)
    for raw in (
        b'{"iv":"\xff"}',
        b'\xef\xbb\xbf{"iv":""}',
        '{"iv":""}'.encode("utf-16"),
    ):
        with pytest.raises(DecryptError, match="invalid"):
            enc.decrypt_bytes(b64(raw))


@pytest.mark.parametrize("bad", [None, 5, ["x"], {"iv": "x"}])
def test_non_string_payload(bad: Any) -> None:
    with pytest.raises(DecryptError, match="str or bytes"):
        Encrypter(SPEC_KEY).decrypt_bytes(bad)


def test_gcm_checks() -> None:
    enc = Encrypter(SPEC_KEY, "AES-256-GCM")
    payload = enc.encrypt_string("gcm-plaintext")
    env = envelope(payload)
    assert enc.decrypt_string(rewrap({**env, "mac": "ignored"})) == "gcm-plaintext"
    for tag in ("", "0", None, b64(bytes(15)), b64(bytes(17))):
        with pytest.raises(DecryptError, match="tag"):
            enc.decrypt_bytes(rewrap({**env, "tag": tag}))
    without = {k: v for k, v in env.items() if k != "tag"}
    with pytest.raises(DecryptError, match="tag"):
        enc.decrypt_bytes(rewrap(without))
    with pytest.raises(DecryptError, match="Could not decrypt"):
        enc.decrypt_bytes(rewrap({**env, "tag": b64(bytes(16))}))
    flipped = bytearray(base64.b64decode(env["value"]))
    flipped[0] ^= 1
    with pytest.raises(DecryptError, match="Could not decrypt"):
        enc.decrypt_bytes(rewrap({**env, "value": b64(bytes(flipped))}))
    with pytest.raises(DecryptError, match="CBC"):
        enc.decrypt_bytes(rewrap({**env, "iv": b64(bytes(16))}))


@pytest.mark.parametrize(
    ("source", "target"),
    [
        ("AES-256-GCM", "AES-256-CBC"),
        ("AES-256-CBC", "AES-256-GCM"),
        ("AES-128-GCM", "AES-128-CBC"),
        ("AES-128-CBC", "AES-128-GCM"),
        ("AES-128-CBC", "AES-256-CBC"),
        ("AES-256-GCM", "AES-128-GCM"),
    ],
)
def test_payload_for_another_cipher(source: str, target: str) -> None:
    payload = Encrypter(key_for(source), source).encrypt_string("x")
    with pytest.raises(DecryptError):
        Encrypter(key_for(target), target).decrypt_bytes(payload)


def test_mac_valid_but_ciphertext_bad_is_decrypt_error() -> None:
    # Only a key holder can build this; Laravel's openssl_decrypt() returns false.
    import hashlib
    import hmac

    iv = b64(bytes(16))
    for value in ("", b64(bytes(15)), b64(bytes(16))):
        mac = hmac.new(SPEC_KEY, (iv + value).encode(), hashlib.sha256).hexdigest()
        payload = rewrap({"iv": iv, "value": value, "mac": mac, "tag": ""})
        with pytest.raises(DecryptError, match="Could not decrypt"):
            Encrypter(SPEC_KEY).decrypt_bytes(payload)


def test_decrypt_error_carries_payload_not_plaintext() -> None:
    enc, payload, env = _cbc()
    bad = rewrap({**env, "mac": "f" * 64})
    with pytest.raises(DecryptError) as info:
        enc.decrypt_bytes(bad)
    assert info.value.payload == bad
    assert "secret-plaintext" not in str(info.value)
    assert isinstance(info.value, ValueError)


def test_unserialize_failure_is_decrypt_error_without_plaintext() -> None:
    pytest.importorskip("ninja_redis.php", reason="ninja_redis.php codec not present")
    enc = Encrypter(SPEC_KEY)
    payload = enc.encrypt_string("not-serialized-secret")
    with pytest.raises(DecryptError, match="serialize") as info:
        enc.decrypt(payload)
    assert "not-serialized-secret" not in str(info.value)
    assert info.value.__context__ is None and info.value.__cause__ is None


def test_module_imports_no_io_libraries() -> None:
    import subprocess
    import sys

    code = (
        "import sys, ninja_redis.crypto; "
        "bad = {'redis', 'asyncio'} & set(sys.modules); "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_from_app_key_accepts_a_list_of_previous_keys() -> None:
    old, cur = Encrypter.generate_key(), Encrypter.generate_key()
    payload = Encrypter(old).encrypt_string("x")
    assert (
        Encrypter.from_app_key(cur, "AES-256-CBC", (old,)).decrypt_string(payload)
        == "x"
    )
    assert (
        Encrypter.from_app_key(cur, "AES-256-CBC", [old]).decrypt_string(payload) == "x"
    )
