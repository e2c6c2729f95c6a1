"""Laravel's ``Encrypter`` (``APP_KEY`` payloads) and encrypted cookies, byte for byte.

An encrypted value is the base64 of a JSON envelope (keys in this order, slashes
unescaped, ``mac`` for CBC, ``tag`` for GCM)::

    {"iv":"AAECAwQFBgcICQoLDA0ODw==","value":"+6PhkQC3hIYgKik4Wr/9AA==","mac":"5309c5…374c","tag":""}

A cookie is encrypted with ``serialize=false`` and a 41-byte plaintext prefix
``hex(HMAC-SHA1(key, name + "v2")) + "|"``::

    7198b0a1a7564e003b468667d6241918ce65aafa|AbCdEfGhIjKlMnOpQrStUvWxYz0123456789AbCd

Decryption follows Laravel 11+/12's checks: PHP's lenient ``base64_decode``, a JSON
object with string ``iv``/``value``/``mac`` (and a string or null ``tag``), an IV of
the cipher's length, for CBC the MAC compared in constant time against the current
key and then each previous key *before* anything is decrypted, for GCM a 16-byte tag.
Every failure raises :class:`~ninja_redis.exceptions.DecryptError`, whose message
never contains plaintext or key material.

This module is pure: no ``redis``/``asyncio`` imports, no I/O.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import importlib
import json
import os
import re
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any, Final, Literal, NamedTuple, overload
from urllib.parse import quote, unquote, unquote_to_bytes

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .exceptions import CodecError, ConfigError, DecryptError

if TYPE_CHECKING:
    from .config import LaravelVersion

__all__ = [
    "CIPHERS",
    "SESSION_GUARD_HASH",
    "Encrypter",
    "LaravelCookies",
    "Recaller",
    "cookie_prefix",
    "is_valid_session_id",
    "parse_cookie_header",
    "password_hash_mac",
    "password_hash_matches",
    "recaller_cookie_name",
]

KeyLike = bytes | str

#: The ciphers Laravel 8.x-13.x support, in canonical spelling (names are
#: case-insensitive everywhere).
CIPHERS: Final = ("AES-128-CBC", "AES-256-CBC", "AES-128-GCM", "AES-256-GCM")

#: ``sha1('Illuminate\Auth\SessionGuard')``: suffix of the session login key
#: (``login_web_…``) and of the remember-me cookie name (``remember_web_…``).
SESSION_GUARD_HASH: Final = "59ba36addc2b2f9401580f014c7f58ea4e30989d"

# SessionGuard::hashPasswordForCookie() falls back to this key when app.key is null.
_PASSWORD_HASH_FALLBACK_KEY: Final = b"base-key-for-password-hash-mac"

_GCM_TAG_SIZE: Final = 16
_COOKIE_PREFIX_LEN: Final = 41  # 40 hex chars + "|"
_JSON_MAX_DEPTH: Final = 512  # json_decode()'s default $depth

_B64_CHARS = re.compile(r"[A-Za-z0-9+/]*")
_B64_JUNK_STR = re.compile(r"[^A-Za-z0-9+/]+")
_B64_JUNK_BYTES = re.compile(rb"[^A-Za-z0-9+/]+")
_B64_STRICT_WS = re.compile(r"[\t\n\r ]+")
_B64_STRICT = re.compile(r"([A-Za-z0-9+/]*)(=*)")
_B64_CANONICAL_STR = re.compile(r"[A-Za-z0-9+/]*={0,2}")
_B64_CANONICAL_BYTES = re.compile(rb"[A-Za-z0-9+/]*={0,2}")
_SURROGATE = re.compile("[\ud800-\udfff]")
# The envelope exactly as Laravel's json_encode(..., JSON_UNESCAPED_SLASHES) writes it:
# no escapes are possible inside these fields, so json_decode() would give the same
# four strings. Anything else (other key order, "\/", spaces, extra keys, a null tag)
# goes through the JSON decoder.
_CANONICAL_ENVELOPE = re.compile(
    rb'\{"iv":"([A-Za-z0-9+/=]*)","value":"([A-Za-z0-9+/=]*)",'
    rb'"mac":"([0-9a-f]*)","tag":"([A-Za-z0-9+/=]*)"\}'
)
_SESSION_ID = re.compile(r"[A-Za-z0-9]{40}")


@dataclass(frozen=True)
class _CipherSpec:
    name: str
    key_size: int
    iv_size: int
    aead: bool


_CIPHER_SPECS: Final = {
    "aes-128-cbc": _CipherSpec("AES-128-CBC", 16, 16, False),
    "aes-256-cbc": _CipherSpec("AES-256-CBC", 32, 16, False),
    "aes-128-gcm": _CipherSpec("AES-128-GCM", 16, 12, True),
    "aes-256-gcm": _CipherSpec("AES-256-GCM", 32, 12, True),
}


# --------------------------------------------------------------------------- base64
#
# Fast path: what Laravel itself produces is canonical base64 (alphabet only, ``=``
# padding to a multiple of 4). For such input PHP's lenient and strict decoders both
# give exactly what a strict C decoder gives, so that is tried first; anything else
# (junk, whitespace, missing or misplaced ``=``) takes the PHP-compatible slow path.
# tests/unit/test_crypto_fastpath.py checks that both paths agree.


def _b64_canonical(data: str | bytes) -> bytes | None:
    """Decode canonical base64 (``[A-Za-z0-9+/]*`` + up to two ``=``, length a multiple
    of 4) in C; ``None`` for anything else, which then takes PHP's slow path.

    (CPython's ``strict_mode`` is not used: it accepts ``"AAAAAAAA="``, PHP does not.)
    """
    if len(data) % 4:
        return None
    if isinstance(data, str):
        if _B64_CANONICAL_STR.fullmatch(data) is None:
            return None
    elif _B64_CANONICAL_BYTES.fullmatch(data) is None:
        return None
    return binascii.a2b_base64(data)


def _php_b64decode(data: str | bytes) -> bytes:
    """PHP ``base64_decode($data)`` (non-strict): never fails.

    Every byte outside ``A-Za-z0-9+/`` (``=``, whitespace, ``%``, non-ASCII) is
    skipped, decoding goes on after ``=``, and a lone trailing sextet is dropped:
    ``"Q=Q"`` -> ``b"A"``, ``"QU*JD"`` -> ``b"ABC"``.
    """
    fast = _b64_canonical(data)
    if fast is not None:
        return fast
    return _php_b64decode_slow(data)


def _php_b64decode_slow(data: str | bytes) -> bytes:
    """:func:`_php_b64decode` without the canonical fast path."""
    if isinstance(data, str):
        clean = (
            data.encode("ascii")
            if _B64_CHARS.fullmatch(data)
            else _B64_JUNK_STR.sub("", data).encode("ascii")
        )
    else:
        clean = _B64_JUNK_BYTES.sub(b"", data)
    rem = len(clean) % 4
    if rem == 1:
        clean = clean[:-1]
    elif rem:
        clean += b"=" * (4 - rem)
    return binascii.a2b_base64(clean)


def _php_b64decode_strict(data: str) -> bytes | None:
    """PHP ``base64_decode($data, true)``; ``None`` where PHP returns ``false``.

    Tab, LF, CR and space are skipped; any other non-alphabet byte, data after
    ``=``, a lone trailing sextet or wrong padding fail; missing padding is fine.
    """
    fast = _b64_canonical(data)
    if fast is not None:
        return fast
    return _php_b64decode_strict_slow(data)


def _php_b64decode_strict_slow(data: str) -> bytes | None:
    """:func:`_php_b64decode_strict` without the canonical fast path."""
    m = _B64_STRICT.fullmatch(_B64_STRICT_WS.sub("", data))
    if m is None:
        return None
    chars, pad = len(m.group(1)), len(m.group(2))
    if chars % 4 == 1 or (pad and (pad > 2 or (chars + pad) % 4)):
        return None
    return _php_b64decode_slow(m.group(1))


def _b64encode(data: bytes) -> str:
    """PHP ``base64_encode``: standard alphabet, ``=`` padding, no newlines."""
    return base64.b64encode(data).decode("ascii")


# --------------------------------------------------------------------------- keys


def _cipher_spec(cipher: str) -> _CipherSpec:
    spec = _CIPHER_SPECS.get(cipher.lower()) if isinstance(cipher, str) else None
    if spec is None:
        raise ConfigError(
            f"unsupported cipher {cipher!r} (APP_CIPHER / app.cipher); "
            f"supported ciphers are: {', '.join(CIPHERS)}",
            variable="APP_CIPHER",
        )
    return spec


def _parse_key(key: object, spec: _CipherSpec, variable: str) -> bytes:
    """``EncryptionServiceProvider::parseKey()`` + length check; no key in errors."""
    if isinstance(key, (bytes, bytearray, memoryview)):
        raw = bytes(key)
    elif isinstance(key, str):
        if not key:
            raise ConfigError(
                f"{variable} is empty: no application encryption key has been "
                "specified (php artisan key:generate)",
                variable=variable,
            )
        if key.startswith("base64:"):
            raw = _php_b64decode(key[7:])
        else:
            try:
                raw = key.encode("utf-8")
            except UnicodeEncodeError:
                raise ConfigError(
                    f"{variable} is not valid UTF-8 text", variable=variable
                ) from None
    else:
        raise ConfigError(
            f"{variable} must be str or bytes, not {type(key).__name__}",
            variable=variable,
        )
    if len(raw) != spec.key_size:
        raise ConfigError(
            f"{variable} is {len(raw)} bytes long but {spec.name} needs a "
            f"{spec.key_size}-byte key (an APP_KEY is 'base64:' followed by the "
            f"base64 of {spec.key_size} random bytes; check APP_KEY and APP_CIPHER)",
            variable=variable,
        )
    return raw


def _parse_previous_keys_csv(csv: str | None) -> list[str]:
    # config/app.php: array_filter(explode(',', (string) env('APP_PREVIOUS_KEYS', '')))
    # (array_filter also drops "0"; nothing is trimmed).
    return [k for k in (csv or "").split(",") if k not in ("", "0")]


# --------------------------------------------------------------------------- envelope


def _invalid(reason: str, payload: object) -> DecryptError:
    return DecryptError(
        f"The payload is invalid: {reason}",
        payload if isinstance(payload, (str, bytes)) else None,
    )


def _php_json_ok(obj: object) -> bool:
    """Reject what PHP's ``json_decode`` rejects but Python's json accepts.

    Unpaired UTF-16 surrogates (``"\\ud800"``) and nesting deeper than 512.
    """
    stack: list[tuple[object, int]] = [(obj, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return False
        elif isinstance(item, (dict, list)):
            if depth > _JSON_MAX_DEPTH:
                return False
            if isinstance(item, dict):
                for k, v in item.items():
                    stack.append((k, depth))
                    stack.append((v, depth + 1))
            else:
                stack.extend((v, depth + 1) for v in item)
    return True


def _json_needs_php_check(text: str) -> bool:
    """Could :func:`_php_json_ok` reject this JSON text?

    Only a ``\\u`` escape can make a surrogate (the text is valid UTF-8), and depth
    needs brackets: a flat object of plain strings, like every envelope Laravel
    writes, skips the walk.
    """
    return "\\u" in text or "[" in text or text.count("{") > 1


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


# json.loads() builds a new decoder on every call when given parse_constant.
_JSON_DECODER: Final = json.JSONDecoder(parse_constant=_reject_constant)


class _Envelope(NamedTuple):
    iv_field: str
    value_field: str
    mac_field: str
    iv: bytes
    tag: bytes | None


def _equal_digests(expected: bytes, given: bytes) -> bool:
    """Constant-time comparison (``hash_equals``) of a computed and a given MAC."""
    return hmac.compare_digest(expected, given)


# --------------------------------------------------------------------------- Encrypter


class Encrypter:
    """Laravel's ``Illuminate\\Encryption\\Encrypter`` (``Crypt::encrypt()``).

    ``key``: raw key bytes, or an ``APP_KEY`` string (``base64:…`` is decoded, any
    other string is used as its UTF-8 bytes). ``cipher``: ``AES-256-CBC`` (default),
    ``AES-128-CBC``, ``AES-256-GCM`` or ``AES-128-GCM``, case-insensitive.
    ``previous_keys``: older keys tried after the current one when decrypting
    (``APP_PREVIOUS_KEYS``, Laravel 11+); encryption always uses ``key``.

    A wrong key length raises :class:`~ninja_redis.exceptions.ConfigError` naming the
    variable, never its value. The keys are not part of ``repr()``.

    .. versionadded:: 0.1
    """

    __slots__ = ("_ciphers", "_decryptors", "_keys", "_spec")

    def __init__(
        self,
        key: KeyLike,
        cipher: str = "AES-256-CBC",
        previous_keys: Sequence[KeyLike] = (),
    ) -> None:
        spec = _cipher_spec(cipher)
        if isinstance(previous_keys, (str, bytes)):
            raise ConfigError(
                "previous_keys must be a list of keys; for a comma-separated "
                "APP_PREVIOUS_KEYS value use Encrypter.from_app_key()",
                variable="APP_PREVIOUS_KEYS",
            )
        keys = [_parse_key(key, spec, "APP_KEY")]
        keys += [
            _parse_key(k, spec, f"APP_PREVIOUS_KEYS entry {i + 1}")
            for i, k in enumerate(previous_keys)
        ]
        self._spec = spec
        self._keys: tuple[bytes, ...] = tuple(keys)
        # Key schedules built once (AESGCM / algorithms.AES objects are immutable and
        # thread-safe), in the order of _keys.
        self._ciphers: tuple[Any, ...] = tuple(
            AESGCM(k) if spec.aead else algorithms.AES(k) for k in keys
        )
        self._decryptors: tuple[_CbcDecryptor, ...] = (
            () if spec.aead else tuple(_CbcDecryptor(a) for a in self._ciphers)
        )

    @classmethod
    def from_app_key(
        cls,
        app_key: str,
        cipher: str = "AES-256-CBC",
        previous_keys: str | Sequence[KeyLike] | None = None,
    ) -> Encrypter:
        """Build from the ``.env`` values APP_KEY, APP_CIPHER and APP_PREVIOUS_KEYS.

        ``previous_keys`` as a string is the raw comma-separated
        ``APP_PREVIOUS_KEYS``, split exactly as ``config/app.php`` does (empty
        entries dropped, nothing trimmed); a list/tuple is used as is.
        """
        if previous_keys is None or isinstance(previous_keys, str):
            previous_keys = _parse_previous_keys_csv(previous_keys)
        return cls(app_key, cipher, previous_keys)

    @staticmethod
    def generate_key(cipher: str = "AES-256-CBC") -> str:
        """A new random ``APP_KEY`` string for ``cipher``: ``base64:`` + 16 or 32 bytes.

        Like ``php artisan key:generate``.
        """
        return "base64:" + _b64encode(os.urandom(_cipher_spec(cipher).key_size))

    @staticmethod
    def supported(key: bytes, cipher: str) -> bool:
        """``Encrypter::supported()``: is ``cipher`` known and ``key`` its size."""
        spec = _CIPHER_SPECS.get(cipher.lower())
        return spec is not None and len(key) == spec.key_size

    @property
    def cipher(self) -> str:
        """The cipher name in canonical spelling, e.g. ``"AES-256-CBC"``."""
        return self._spec.name

    @property
    def key(self) -> bytes:
        """The raw current key (``getKey()``). Secret: never log it."""
        return self._keys[0]

    @property
    def all_keys(self) -> tuple[bytes, ...]:
        """The current key followed by the previous keys (``getAllKeys()``). Secret."""
        return self._keys

    def __repr__(self) -> str:
        return (
            f"Encrypter(cipher={self._spec.name!r}, "
            f"previous_keys={len(self._keys) - 1})"
        )

    # ---------------------------------------------------------------- encrypt

    def encrypt(self, value: Any, serialize: bool = True) -> str:
        """Encrypt ``value`` like ``Crypt::encrypt($value, $serialize)``.

        With ``serialize=True`` the plaintext is PHP ``serialize(value)``
        (``ninja_redis.php.dumps``); otherwise ``value`` must be ``str`` (encoded
        as UTF-8) or ``bytes``. Returns the base64 payload (ASCII).
        """
        if serialize:
            plaintext = _php_codec().dumps(value)
        else:
            plaintext = _plain_bytes(value)
        return self._encrypt_bytes(plaintext)

    def encrypt_string(self, value: str | bytes) -> str:
        """``Crypt::encryptString($value)``: encrypt without ``serialize()``."""
        return self._encrypt_bytes(_plain_bytes(value))

    def _new_iv(self, size: int) -> bytes:
        """A fresh random IV (tests override this to reproduce golden payloads)."""
        return os.urandom(size)

    def _encrypt_bytes(self, plaintext: bytes) -> str:
        spec, key = self._spec, self._keys[0]
        iv = self._new_iv(spec.iv_size)
        if len(iv) != spec.iv_size:
            raise ValueError(f"{spec.name} needs a {spec.iv_size}-byte IV")
        iv_b64 = _b64encode(iv)
        if spec.aead:
            # openssl_encrypt(…, 'aes-256-gcm', $key, 0, $iv, $tag): no AAD, 16-byte tag
            sealed = self._ciphers[0].encrypt(iv, plaintext, None)
            value_b64 = _b64encode(sealed[:-_GCM_TAG_SIZE])
            tag_b64 = _b64encode(sealed[-_GCM_TAG_SIZE:])
            mac = ""
        else:
            padder = padding.PKCS7(128).padder()
            padded = padder.update(plaintext) + padder.finalize()
            enc = Cipher(self._ciphers[0], modes.CBC(iv)).encryptor()
            value_b64 = _b64encode(enc.update(padded) + enc.finalize())
            # hash_hmac('sha256', $iv.$value, $key): over the two base64 strings
            mac = _mac(key, (iv_b64 + value_b64).encode("ascii"))
            tag_b64 = ""
        # json_encode(compact('iv', 'value', 'mac', 'tag'), JSON_UNESCAPED_SLASHES):
        # every field is base64 or hex, so nothing needs escaping.
        envelope = (
            f'{{"iv":"{iv_b64}","value":"{value_b64}","mac":"{mac}","tag":"{tag_b64}"}}'
        )
        return _b64encode(envelope.encode("ascii"))

    # ---------------------------------------------------------------- decrypt

    @overload
    def decrypt(self, payload: str | bytes, unserialize: Literal[False]) -> bytes: ...

    @overload
    def decrypt(self, payload: str | bytes, unserialize: bool = True) -> Any: ...

    def decrypt(self, payload: str | bytes, unserialize: bool = True) -> Any:
        """Decrypt like ``Crypt::decrypt($payload, $unserialize)``.

        With ``unserialize=True`` the plaintext is PHP-unserialized
        (``ninja_redis.php.loads``); with ``False`` the raw plaintext ``bytes`` are
        returned. Raises :class:`~ninja_redis.exceptions.DecryptError` for any bad,
        tampered or foreign payload (and for plaintext that is not valid
        ``serialize()`` output).
        """
        data = self.decrypt_bytes(payload)
        if not unserialize:
            return data
        codec = _php_codec()
        failure: str | None = None
        try:
            return codec.loads(data)
        except (CodecError, ValueError) as exc:
            offset = getattr(exc, "offset", None)
            failure = "the decrypted data is not valid PHP serialize() output" + (
                f" (offset {offset})" if isinstance(offset, int) else ""
            )
        # Raised outside the except block: the codec error quotes plaintext, so it
        # must not travel along as __context__.
        raise DecryptError(failure, payload)

    def decrypt_string(self, payload: str | bytes) -> str:
        """``Crypt::decryptString($payload)`` as ``str`` (the plaintext must be UTF-8).

        Use :meth:`decrypt_bytes` for binary plaintext.
        """
        data = self.decrypt_bytes(payload)
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            pass
        raise DecryptError(
            "the decrypted data is not UTF-8 text; use decrypt_bytes()", payload
        )

    def decrypt_bytes(self, payload: str | bytes) -> bytes:
        """Decrypt without unserializing and return the plaintext bytes."""
        env = self._envelope(payload)
        spec = self._spec
        ciphertext = _php_b64decode(env.value_field)
        if spec.aead:
            # GCM: no MAC; the tag authenticates. Try each key (11+ previous keys).
            for aead in self._ciphers:
                try:
                    return aead.decrypt(  # type: ignore[no-any-return]
                        env.iv, ciphertext + (env.tag or b""), None
                    )
                except InvalidTag:
                    continue
            raise DecryptError("Could not decrypt the data.", payload)
        # CBC: find the key whose MAC matches before decrypting anything.
        mac_input = (env.iv_field + env.value_field).encode("utf-8")
        given = env.mac_field.encode("utf-8")
        for i, key in enumerate(self._keys):
            if _equal_digests(_mac_bytes(key, mac_input), given):
                # Laravel 11+ keeps $foundValidMac once set: if this key's
                # openssl_decrypt() fails, the later keys are tried without a MAC.
                for dec in self._decryptors[i:]:
                    plaintext = _cbc_decrypt(dec, env.iv, ciphertext)
                    if plaintext is not None:
                        return plaintext
                raise DecryptError("Could not decrypt the data.", payload)
        raise DecryptError("The MAC is invalid.", payload)

    def _envelope(self, payload: object) -> _Envelope:
        """``getJsonPayload()`` + ``validPayload()`` + ``ensureTagIsValid()`` of 11+."""
        if not isinstance(payload, (str, bytes)):
            raise _invalid(f"expected str or bytes, not {type(payload).__name__}", None)
        # json_decode(base64_decode($payload), true)
        raw = _php_b64decode(payload)
        canonical = _CANONICAL_ENVELOPE.fullmatch(raw)
        tag_f: str | None
        if canonical is not None:
            # What Laravel writes: json_decode() gives exactly these four strings.
            iv_f, value_f, mac_f, tag_f = (
                g.decode("ascii") for g in canonical.groups()
            )
        else:
            iv_f, value_f, mac_f, tag_f = self._json_fields(raw, payload)
        spec = self._spec
        iv = _php_b64decode_strict(iv_f)
        if iv is None or len(iv) != spec.iv_size:
            hint = {12: " (is this a GCM payload?)", 16: " (is this a CBC payload?)"}
            raise _invalid(
                f"'iv' must be the base64 of {spec.iv_size} bytes for {spec.name}"
                + (hint.get(len(iv), "") if iv is not None else ""),
                payload,
            )
        # empty($payload['tag']) ? null : base64_decode($payload['tag'])  ("0" is empty)
        tag = None if tag_f in (None, "", "0") else _php_b64decode(tag_f)
        if spec.aead and (tag is None or len(tag) != _GCM_TAG_SIZE):
            raise DecryptError(
                f"Could not decrypt the data: {spec.name} needs a 16-byte 'tag'",
                payload,
            )
        if not spec.aead and tag is not None:
            raise DecryptError(
                "Unable to use tag because the cipher algorithm does not support AEAD "
                f"({spec.name}; is this a GCM payload?)",
                payload,
            )
        return _Envelope(iv_f, value_f, mac_f, iv, tag)

    @staticmethod
    def _json_fields(
        raw: bytes, payload: str | bytes
    ) -> tuple[str, str, str, str | None]:
        """The envelope's fields through ``json_decode`` rules (any JSON object)."""
        failure: str | None = None
        try:
            text = raw.decode("utf-8")
            obj = _JSON_DECODER.decode(text)
        except UnicodeDecodeError:
            failure = "not base64 of UTF-8 JSON"
        except (ValueError, RecursionError):
            failure = "not base64 of a JSON object"
        if failure is not None:
            raise _invalid(failure, payload)
        if not isinstance(obj, dict) or (
            _json_needs_php_check(text) and not _php_json_ok(obj)
        ):
            raise _invalid("not base64 of a JSON object", payload)
        iv_f, value_f, mac_f = obj.get("iv"), obj.get("value"), obj.get("mac")
        if not (isinstance(iv_f, str) and isinstance(value_f, str)):
            raise _invalid("'iv' and 'value' must be strings", payload)
        if not isinstance(mac_f, str):
            raise _invalid("'mac' must be a string", payload)
        tag_f = obj.get("tag")  # isset(): a null tag counts as absent
        if tag_f is not None and not isinstance(tag_f, str):
            raise _invalid("'tag' must be a string", payload)
        return iv_f, value_f, mac_f, tag_f


def _php_codec() -> ModuleType:
    """``ninja_redis.php`` (``dumps``/``loads``), imported only when needed."""
    return importlib.import_module("ninja_redis.php")


def _plain_bytes(value: object) -> bytes:
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    raise TypeError(
        f"encrypting without serialize needs str or bytes, not {type(value).__name__}"
    )


def _mac(key: bytes, data: bytes) -> str:
    """``hash_hmac('sha256', $iv.$value, $key)``: 64 lowercase hex chars."""
    return hmac.digest(key, data, "sha256").hex()


def _mac_bytes(key: bytes, data: bytes) -> bytes:
    """:func:`_mac` as ASCII bytes (one-shot C HMAC)."""
    return hmac.digest(key, data, "sha256").hex().encode("ascii")


class _CbcDecryptor:
    """AES-CBC decryption for one key without a new OpenSSL context per message.

    Creating a CBC context costs more than decrypting a cookie, so each thread keeps
    one ECB context per key (only whole blocks go through it, so it never holds
    state between calls) and CBC is done by hand: ``P[i] = D(C[i]) xor C[i-1]``,
    ``C[-1] = iv``.
    """

    __slots__ = ("_aes", "_local")

    def __init__(self, aes: algorithms.AES) -> None:
        self._aes = aes
        self._local = threading.local()

    def decrypt(self, iv: bytes, ciphertext: bytes) -> bytes:
        """Decrypt whole blocks (``len(ciphertext) % 16 == 0``), no unpadding."""
        ecb = getattr(self._local, "ecb", None)
        if ecb is None:
            ecb = Cipher(self._aes, modes.ECB()).decryptor()
            self._local.ecb = ecb
        blocks: bytes = ecb.update(ciphertext)
        size = len(ciphertext)
        chain = int.from_bytes(iv + ciphertext[:-16], "big")
        return (int.from_bytes(blocks, "big") ^ chain).to_bytes(size, "big")


def _cbc_decrypt(dec: _CbcDecryptor, iv: bytes, ciphertext: bytes) -> bytes | None:
    """AES-CBC + PKCS#7 as ``openssl_decrypt``; ``None`` where it returns ``false``.

    Only called once the MAC matched, so the padding check need not be constant time
    (there is no padding oracle without a valid MAC).
    """
    if not ciphertext or len(ciphertext) % 16 or len(iv) != 16:
        return None
    padded = dec.decrypt(iv, ciphertext)
    # PKCS#7: the last byte n (1..16) repeated n times
    n = padded[-1]
    if not 1 <= n <= 16 or padded[-n:] != bytes((n,)) * n:
        return None
    return padded[:-n]


# --------------------------------------------------------------------------- cookies


def cookie_prefix(name: str, key: bytes) -> str:
    """``CookieValuePrefix::create($name, $key)``: 40 hex chars of HMAC-SHA1 and ``|``.

    ``key`` is the raw app key (``Encrypter.key``), e.g. for ``laravel_session``
    under the fixture key: ``10803562c52e30f6039a3e990507c65985168f06|``.
    """
    return hmac.new(key, name.encode("utf-8") + b"v2", hashlib.sha1).hexdigest() + "|"


_PREFIX_CACHE_SIZE: Final = 256


def _unquote_cookie(value: str) -> str:
    """``urllib.parse.unquote`` of a cookie value, fast for Symfony's encoding.

    A cookie Laravel set only has ``%3D``, ``%2B`` and ``%2F`` escapes; when those
    account for every ``%`` the result equals ``unquote(value)`` (each ``%`` starts a
    complete escape and a replacement never creates a new one). Otherwise, e.g.
    lower-case hex, other escapes or a stray ``%``, ``unquote`` itself is used.
    """
    fast = value.replace("%3D", "=").replace("%2B", "+").replace("%2F", "/")
    return fast if "%" not in fast else unquote(value)


def is_valid_session_id(session_id: object) -> bool:
    """``Store::isValidId()``: a string of exactly 40 ASCII letters and digits."""
    return isinstance(session_id, str) and _SESSION_ID.fullmatch(session_id) is not None


def parse_cookie_header(header: str) -> dict[str, str]:
    """Parse a ``Cookie:`` request header the way PHP fills ``$_COOKIE``.

    Pairs are split on ``;`` and leading whitespace of a name is dropped. Values are
    percent-decoded like ``rawurldecode`` (``%3D`` -> ``=``; ``+`` stays ``+``; bytes
    that are not UTF-8 become surrogates, ``errors="surrogateescape"``); names are
    not (PHP 8). As in ``php_register_variable``, ``.`` and space in a name
    become ``_`` (``my.app session`` -> ``my_app_session``: a cookie whose
    configured name has them is never found, as in Laravel) and the *first*
    occurrence of a name wins. Array cookies (``cart[items]``, ``list[]``) come out
    flat under the name Laravel checks their prefix with (``cart[items]``,
    ``list[0]``); inside an array the last occurrence wins.
    """
    cookies: dict[Any, Any] = {}
    nested = False
    for part in header.split(";"):
        # PHP: leading isspace() skipped; an empty name is ignored; "a" alone is a=""
        name, _, value = part.lstrip(" \t\n\v\f\r").partition("=")
        if not name:
            continue
        # rawurldecode() gives bytes: bytes that are not UTF-8 stay as surrogates
        if "[" in name or "." in name or " " in name:
            decoded = unquote(value, errors="surrogateescape")
            nested = _php_register_cookie(cookies, name, decoded) or nested
        elif name not in cookies:
            cookies[name] = unquote(value, errors="surrogateescape")
    if not nested:
        return cookies
    return dict(_flatten_cookies(cookies, None))


_PHP_INT_KEY = re.compile(r"(?:0|-?[1-9][0-9]*)\Z")


def _php_array_key(key: str) -> int | str:
    """A PHP array key: ``"7"`` is the int 7, ``"07"`` stays a string."""
    if _PHP_INT_KEY.match(key):
        n = int(key)
        if -(2**63) <= n < 2**63:
            return n
    return key


def _php_next_index(table: dict[Any, Any]) -> int:
    """``$table[] = …`` (PHP 8.2): one past the largest int key >= 0, else 0."""
    ints = [k for k in table if type(k) is int and k >= 0]
    return max(ints) + 1 if ints else 0


def _php_register_cookie(top: dict[Any, Any], name: str, value: str) -> bool:
    """``php_register_variable_ex()`` of one cookie into ``top`` (``$_COOKIE``).

    Returns whether an array was made. ``top`` keys stay strings (a canonical int
    string is one PHP key either way); array keys are PHP keys (``"7"`` -> 7).
    """
    name = name.lstrip(" ")
    bracket = name.find("[")
    base = name if bracket < 0 else name[:bracket]
    base = base.replace(" ", "_").replace(".", "_")
    if not base:
        return False
    table: dict[Any, Any] = top
    index: Any = base
    pos = bracket
    while pos >= 0:
        start = pos + 1
        # one space is skipped before a "]": "[ ]" appends like "[]"
        probe = start + 1 if name[start : start + 1] == " " else start
        sub: Any
        if name[probe : probe + 1] == "]":
            sub, end = None, probe  # "[]": append
        else:
            end = name.find("]", probe)
            if end < 0:
                # an unterminated "[" is no array: at the first level the "[" and,
                # after it, " ", "." and "[" become "_" ("e.f[x" -> "e_f__x")
                if table is top:
                    rest = name[start:]
                    for ch in " .[":
                        rest = rest.replace(ch, "_")
                    index = base + "_" + rest
                break
            sub = _php_array_key(name[start:end])
        if index is None:
            child: dict[Any, Any] = {}
            table[_php_next_index(table)] = child
        else:
            found = table.get(index)
            child = found if type(found) is dict else {}
            table[index] = child  # a string in the way becomes an array
        table, index = child, sub
        # after "]": another "[" goes on, anything else is ignored ("a[b]c")
        pos = end + 1 if name[end + 1 : end + 2] == "[" else -1
    if index is None:
        table[_php_next_index(table)] = value
    elif table is not top or index not in table:
        table[index] = value  # top level: the first occurrence wins
    return table is not top


def _flatten_cookies(
    table: dict[Any, Any], prefix: str | None
) -> Iterator[tuple[str, str]]:
    """Array cookies as ``name[key][key]`` (``EncryptCookies::validateArray``)."""
    for key, value in table.items():
        name = str(key) if prefix is None else f"{prefix}[{key}]"
        if type(value) is dict:
            yield from _flatten_cookies(value, name)
        else:
            yield name, value


class LaravelCookies:
    """Encrypt and decrypt cookies exactly like Laravel's ``EncryptCookies`` middleware.

    The plaintext is ``cookie_prefix(name, key) + value``, encrypted with
    ``serialize=false``. On read the value must carry the prefix of *its own name*
    for the current key or any previous key (Laravel 11+ ``APP_PREVIOUS_KEYS``),
    otherwise Laravel sees ``null``; here :meth:`decrypt` raises
    :class:`~ninja_redis.exceptions.DecryptError` and :meth:`decrypt_or_none`
    returns ``None``.

    .. versionadded:: 0.1
    """

    __slots__ = ("_encrypter", "_prefixes")

    def __init__(self, encrypter: Encrypter) -> None:
        self._encrypter = encrypter
        #: cookie name -> its prefix under each key (HMAC-SHA1 computed once per name)
        self._prefixes: dict[str, tuple[bytes, ...]] = {}

    def _key_prefixes(self, name: str) -> tuple[bytes, ...]:
        prefixes = self._prefixes.get(name)
        if prefixes is None:
            prefixes = tuple(
                cookie_prefix(name, key).encode("ascii")
                for key in self._encrypter.all_keys
            )
            if len(self._prefixes) >= _PREFIX_CACHE_SIZE:
                self._prefixes.clear()
            self._prefixes[name] = prefixes
        return prefixes

    @property
    def encrypter(self) -> Encrypter:
        """The :class:`Encrypter` used for the cookies."""
        return self._encrypter

    def prefix(self, name: str) -> str:
        """The 41-char prefix for cookie ``name`` under the current key."""
        return cookie_prefix(name, self._encrypter.key)

    def encrypt(self, name: str, value: str | bytes, *, url_encode: bool = True) -> str:
        """The cookie value Laravel would send for ``name=value``.

        By default percent-encoded like Symfony's ``Set-Cookie`` (``rawurlencode``:
        ``=`` -> ``%3D``, ``+`` -> ``%2B``, ``/`` -> ``%2F``); with
        ``url_encode=False`` the bare base64 payload (what PHP sees in ``$_COOKIE``).
        """
        plaintext = self.prefix(name).encode("ascii") + _plain_bytes(value)
        payload = self._encrypter._encrypt_bytes(plaintext)
        return quote(payload, safe="") if url_encode else payload

    def decrypt_bytes(self, name: str, value: str | bytes) -> bytes:
        """Decrypt cookie ``name`` and return the value bytes after the prefix."""
        if isinstance(value, str):
            payload: str | bytes = _unquote_cookie(value) if "%" in value else value
        elif isinstance(value, (bytes, bytearray, memoryview)):
            payload = unquote_to_bytes(bytes(value))
        else:
            raise DecryptError(
                f"cookie {name!r}: expected str or bytes, not {type(value).__name__}"
            )
        try:
            plaintext = self._encrypter.decrypt_bytes(payload)
        except DecryptError as exc:
            raise DecryptError(f"cookie {name!r}: {exc}", value) from None
        head = plaintext[:_COOKIE_PREFIX_LEN]
        for prefix in self._key_prefixes(name):
            if hmac.compare_digest(head, prefix):
                return plaintext[_COOKIE_PREFIX_LEN:]
        raise DecryptError(
            f"cookie {name!r}: the value was not encrypted for this cookie name "
            "(CookieValuePrefix mismatch)",
            value,
        )

    def decrypt(self, name: str, value: str | bytes) -> str:
        """Decrypt cookie ``name`` (percent-encoded or not) and return its value.

        Raises :class:`~ninja_redis.exceptions.DecryptError` if the payload is bad,
        tampered, for another key, or for another cookie name.
        """
        data = self.decrypt_bytes(name, value)
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            pass
        raise DecryptError(
            f"cookie {name!r}: the value is not UTF-8 text; use decrypt_bytes()", value
        )

    def decrypt_or_none(self, name: str, value: str | bytes | None) -> str | None:
        """Like :meth:`decrypt` but ``None`` on any failure, as the app sees it."""
        if value is None:
            return None
        try:
            return self.decrypt(name, value)
        except DecryptError:
            return None

    def from_header(self, header: str, name: str) -> str | None:
        """Decrypt cookie ``name`` of a ``Cookie:`` header; ``None`` if absent/bad."""
        return self.decrypt_or_none(name, parse_cookie_header(header).get(name))

    def session_id_from_cookie(self, value: str | bytes, cookie_name: str) -> str:
        """The session id in an encrypted session cookie (``session.cookie`` name).

        Also requires Laravel's ``isValidId`` (40 ASCII letters/digits); raises
        :class:`~ninja_redis.exceptions.DecryptError` otherwise. Never pass a
        hard-coded name: it is ``laravel_session`` or ``laravel-session`` depending
        on the skeleton version.
        """
        session_id = self.decrypt(cookie_name, value)
        if not is_valid_session_id(session_id):
            raise DecryptError(
                f"cookie {cookie_name!r}: not a valid session id (40 letters/digits)",
                value,
            )
        return session_id


# ----------------------------------------------------------------------- remember me


def recaller_cookie_name(guard: str = "web") -> str:
    """``SessionGuard::getRecallerName()``.

    ``remember_web_59ba36addc2b2f9401580f014c7f58ea4e30989d`` for guard ``web``.
    """
    return f"remember_{guard}_{SESSION_GUARD_HASH}"


_PHP_TRIM = " \t\n\r\0\x0b"


@dataclass(frozen=True)
class Recaller:
    """A decrypted remember-me cookie value ``id|token|hash`` (``Auth\\Recaller``).

    ``hash`` is the user's password hash (Laravel <= 12.44) or
    :func:`password_hash_mac` of it (12.45+). ``extra``: segments after the hash,
    which Laravel 9.12+ accepts (``Recaller::segments()``) and 8.x rejects.
    ``token``, ``hash`` and ``extra`` stay out of ``repr()``.
    """

    id: str
    token: str = field(repr=False)
    hash: str = field(repr=False)
    extra: tuple[str, ...] = field(default=(), repr=False)

    @classmethod
    def parse(
        cls,
        value: str,
        *,
        laravel_version: tuple[int, ...] | LaravelVersion | None = None,
    ) -> Recaller:
        """Split and check like ``Recaller::valid()``; :class:`DecryptError` if not.

        As ``new Recaller($value)``, a PHP-serialized string (``s:…:"…";``, old
        cookies) is unserialized first. Then the value must have non-blank id and
        token and at least three ``|``-separated segments (``laravel_version``
        below 9.12, i.e. 8.x: exactly three); the hash is the third segment
        (``explode('|', $value, 4)[2]``). Without ``laravel_version``, 9.12+ rules.
        """
        text = _recaller_string(value)
        parts = text.split("|") if text is not None else []
        exact = laravel_version is not None and laravel_version < (9, 12)
        if (
            len(parts) < 3
            or (exact and len(parts) != 3)
            or not parts[0].strip(_PHP_TRIM)
            or not parts[1].strip(_PHP_TRIM)
        ):
            raise DecryptError("not a valid remember-me cookie value (id|token|hash)")
        return cls(parts[0], parts[1], parts[2], tuple(parts[3:]))

    def __str__(self) -> str:
        return "|".join((self.id, self.token, self.hash, *self.extra))


def _recaller_string(value: str) -> str | None:
    """``@unserialize($value, ['allowed_classes' => false]) ?: $value``.

    ``None`` where the result is not a PHP string (Laravel: not a proper string).
    """
    try:
        data = _php_codec().loads(
            value.encode("utf-8", "surrogateescape"), allowed_classes=False
        )
    except (CodecError, ValueError):
        return value
    if _php_falsy(data):
        return value
    if isinstance(data, bytes):
        return data.decode("utf-8", "surrogateescape")
    return data if isinstance(data, str) else None


def _php_falsy(value: object) -> bool:
    """PHP's ``(bool)`` is false: null, false, 0, 0.0, "", "0", an empty array."""
    if value is None or value is False:
        return True
    if isinstance(value, (str, bytes)):
        return value in ("", "0", b"", b"0")
    if isinstance(value, (int, float)):
        return value == 0
    if isinstance(value, (list, dict)):
        return not value
    return False


def password_hash_mac(password_hash: str | bytes, app_key: str | bytes | None) -> str:
    """``SessionGuard::hashPasswordForCookie()`` of Laravel 12.45+.

    Hex HMAC-SHA256 of the password hash keyed with the *literal* ``app.key`` string
    (``"base64:…"`` as written in ``.env``, not the decoded key);
    ``None`` uses Laravel's fallback key ``base-key-for-password-hash-mac``.
    """
    key = _PASSWORD_HASH_FALLBACK_KEY if app_key is None else _text_bytes(app_key)
    return hmac.new(key, _text_bytes(password_hash), hashlib.sha256).hexdigest()


def password_hash_matches(
    stored: str | bytes, password_hash: str | bytes, app_key: str | bytes | None
) -> bool:
    """Does a stored ``password_hash_{guard}`` / recaller hash match ``password_hash``?

    Accepts both forms (12.45+ HMAC and the raw hash of older versions), compared
    in constant time.
    """
    given = _text_bytes(stored)
    mac = password_hash_mac(password_hash, app_key).encode("ascii")
    raw = _text_bytes(password_hash)
    # evaluate both comparisons: no short-circuit on the first
    return bool(hmac.compare_digest(given, mac) | hmac.compare_digest(given, raw))


def _text_bytes(value: str | bytes) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else bytes(value)
