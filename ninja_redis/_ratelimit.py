"""Pure rules of Laravel's ``RateLimiter``: key cleaning, version differences, throttle keys.

* :func:`htmlentities` is PHP's ``htmlentities($s)`` with PHP 8.1+'s default flags
  (``ENT_QUOTES | ENT_SUBSTITUTE | ENT_HTML401``, UTF-8, ``double_encode``): the 252 HTML
  4.01 named entities (``é`` → ``&eacute;``, ``&`` → ``&amp;``), ``'`` → ``&#039;``, and
  every invalid UTF-8 sequence replaced by U+FFFD exactly as PHP's decoder splits it.
* :func:`clean_rate_limiter_key` is ``RateLimiter::cleanRateLimiterKey()`` (8.68.1+):
  ``preg_replace('/&([a-z])[a-z]+;/i', '$1', htmlentities($key))``, so ``é`` → ``e``,
  ``&`` → ``a``, ``"`` → ``q`` and ``'`` stays ``&#039;`` (no letter-only name).
* :class:`RateLimiterRules` says what a Laravel version does differently.
* :func:`named_limiter_key` / :func:`request_signature` are the keys the ``throttle``
  middleware (``ThrottleRequests``) hands to the limiter.

No ``redis`` / ``asyncio`` imports.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from html.entities import codepoint2name
from typing import Any

from ._phpvalue import php_string_cast

__all__ = [
    "RateLimiterRules",
    "clean_rate_limiter_key",
    "htmlentities",
    "named_limiter_key",
    "php_falsy",
    "request_signature",
]

#: code point -> entity, PHP's ENT_HTML401 table (identical to HTML 4.01's 252 names)
#: plus ENT_QUOTES' ``&#039;`` (HTML 4.01 has no ``&apos;``)
_ENTITIES: dict[int, bytes] = {
    cp: b"&" + name.encode("ascii") + b";" for cp, name in codepoint2name.items()
}
_ENTITIES[0x27] = b"&#039;"
_ASCII_SPECIAL = re.compile(rb"[&\"'<>]")
_REPLACEMENT = "\ufffd".encode()
_ENTITY_TO_LETTER = re.compile(rb"&([a-z])[a-z]+;", re.IGNORECASE)


def _trail(b: int) -> bool:
    return 0x80 <= b <= 0xBF


def _lead(b: int) -> bool:
    return b < 0x80 or 0xC2 <= b <= 0xF4


def _next_char(data: bytes, pos: int) -> tuple[int, int]:
    """PHP ``get_next_char()`` (ext/standard/html.c, UTF-8) at ``pos`` (a byte >= 0x80):
    ``(code point or -1 for an invalid sequence, bytes consumed)``. PHP follows UTR #36
    strategy 2: a failure never swallows a byte that may start a valid sequence."""
    c = data[pos]
    avail = len(data) - pos
    if c < 0xC2:
        return -1, 1
    if c < 0xE0:
        if avail < 2:
            return -1, 1
        b1 = data[pos + 1]
        if not _trail(b1):
            return -1, 1 if _lead(b1) else 2
        return ((c & 0x1F) << 6) | (b1 & 0x3F), 2  # C2..DF: never non-shortest
    if c < 0xF0:
        if avail < 3 or not _trail(data[pos + 1]) or not _trail(data[pos + 2]):
            if avail < 2 or _lead(data[pos + 1]):
                return -1, 1
            if avail < 3 or _lead(data[pos + 2]):
                return -1, 2
            return -1, 3
        cp = ((c & 0x0F) << 12) | ((data[pos + 1] & 0x3F) << 6) | (data[pos + 2] & 0x3F)
        if cp < 0x800 or 0xD800 <= cp <= 0xDFFF:  # non-shortest form, surrogate
            return -1, 3
        return cp, 3
    if c < 0xF5:
        if (
            avail < 4
            or not _trail(data[pos + 1])
            or not _trail(data[pos + 2])
            or not _trail(data[pos + 3])
        ):
            if avail < 2 or _lead(data[pos + 1]):
                return -1, 1
            if avail < 3 or _lead(data[pos + 2]):
                return -1, 2
            if avail < 4 or _lead(data[pos + 3]):
                return -1, 3
            return -1, 4
        cp = (
            ((c & 0x07) << 18)
            | ((data[pos + 1] & 0x3F) << 12)
            | ((data[pos + 2] & 0x3F) << 6)
            | (data[pos + 3] & 0x3F)
        )
        if cp < 0x10000 or cp > 0x10FFFF:
            return -1, 4
        return cp, 4
    return -1, 1


def htmlentities(data: bytes) -> bytes:
    """PHP 8.1+ ``htmlentities($data)`` (``ENT_QUOTES | ENT_SUBSTITUTE | ENT_HTML401``,
    UTF-8), byte for byte: ``b"caf\\xc3\\xa9 & 'x'"`` → ``b"caf&eacute; &amp; &#039;x&#039;"``.
    """
    if data.isascii() and not _ASCII_SPECIAL.search(data):
        return data  # hot path: nothing to encode
    out = bytearray()
    pos = 0
    n = len(data)
    entities = _ENTITIES
    while pos < n:
        c = data[pos]
        if c < 0x80:
            ent = entities.get(c)
            if ent is None:
                out.append(c)
            else:
                out += ent
            pos += 1
            continue
        cp, size = _next_char(data, pos)
        if cp < 0:
            out += _REPLACEMENT
        else:
            ent = entities.get(cp)
            out += data[pos : pos + size] if ent is None else ent
        pos += size
    return bytes(out)


def clean_rate_limiter_key(key: bytes) -> bytes:
    """``RateLimiter::cleanRateLimiterKey()``: ``htmlentities()``, then every entity with a
    letters-only name reduced to its first letter (``&eacute;`` → ``e``, ``&amp;`` → ``a``).
    ``&#039;`` and the names with digits (``&frac12;``, ``&sup2;``, ``&there4;``) stay.
    """
    encoded = htmlentities(key)
    if b"&" not in encoded:
        return encoded
    return _ENTITY_TO_LETTER.sub(rb"\1", encoded)


@dataclass(frozen=True)
class RateLimiterRules:
    """What one Laravel version's ``RateLimiter`` does (see docs/rate-limiter.md)."""

    #: ``cleanRateLimiterKey()`` exists (8.68.1+; before, keys are used as given)
    clean: bool
    #: how often ``tooManyAttempts()`` cleans the key it reads and resets: twice in
    #: 8.68.1–9.13 (it cleans, then ``attempts()``/``resetAttempts()`` clean again)
    check_cleanings: int
    #: ``attempt()`` returns ``$callback() ?: true`` (8.x, 9.x): any PHP-falsy result
    #: becomes ``true``; 10.0+ only replaces ``null``
    falsy_result_is_true: bool
    #: ``increment()`` rewrites the counter when ``$hits == $amount`` and puts
    #: ``$amount`` (12.57+, 13.8+); before: ``$hits == 1`` and puts ``1``
    rewrite_with_amount: bool
    #: the counter is written and read without phpredis serialization/compression
    #: (``withoutSerializationOrCompression``, 11.41+)
    plain_counter: bool
    #: ``remaining()`` is clamped with ``max(0, ...)`` (12.40+)
    remaining_clamped: bool

    @classmethod
    def for_version(cls, version: tuple[int, int]) -> RateLimiterRules:
        """The rules of Laravel ``version`` (``(major, minor)``)."""
        v = (version[0], version[1])
        clean = v >= (8, 68)
        return cls(
            clean=clean,
            check_cleanings=(2 if v < (9, 14) else 1) if clean else 0,
            falsy_result_is_true=v < (10, 0),
            rewrite_with_amount=(12, 57) <= v < (13, 0) or v >= (13, 8),
            plain_counter=v >= (11, 41),
            remaining_clamped=v >= (12, 40),
        )


def named_limiter_key(limiter_name: str, by: Any = "", *, hashed: bool = True) -> str:
    """The key ``throttle:NAME`` uses for a ``Limit`` of ``RateLimiter::for(NAME, ...)``:
    ``md5(NAME . $limit->key)`` (``Limit::perMinute(5)->by($id)``; no ``by()`` → ``""``),
    or ``NAME:KEY`` with ``ThrottleRequests::shouldHashKeys(false)`` (10.x+).
    """
    if not hashed:
        return f"{limiter_name}:{php_string_cast(by)}"
    text = (limiter_name + php_string_cast(by)).encode("utf-8", "surrogateescape")
    return hashlib.md5(text).hexdigest()


def request_signature(
    *,
    user_id: Any = None,
    domain: str | None = None,
    ip: str | None = None,
    prefix: str = "",
    hashed: bool = True,
) -> str:
    """The key of ``throttle:MAX,MINUTES[,PREFIX]`` (no named limiter): ``PREFIX`` +
    ``sha1($user->getAuthIdentifier())`` for a signed-in user, else ``PREFIX`` +
    ``sha1(route domain . '|' . ip)`` (the domain is ``""`` for routes without one).
    ``hashed=False`` mirrors ``ThrottleRequests::shouldHashKeys(false)`` (10.x+).
    """
    if user_id is not None:
        value = php_string_cast(user_id)
    else:
        value = php_string_cast(domain) + "|" + php_string_cast(ip)
    if not hashed:
        return prefix + value
    return prefix + hashlib.sha1(value.encode("utf-8", "surrogateescape")).hexdigest()


def php_falsy(value: Any) -> bool:
    """PHP's ``! $value``: ``null``, ``false``, ``0``, ``0.0``, ``""``, ``"0"``, ``[]``."""
    if value is None or value is False:
        return True
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return value == 0
    if isinstance(value, (str, bytes)):
        return value in ("", "0", b"", b"0")
    if isinstance(value, (list, tuple, dict)):
        return len(value) == 0
    return False
