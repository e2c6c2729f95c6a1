"""The pure RateLimiter rules: PHP ``htmlentities()`` / ``cleanRateLimiterKey()`` (golden
output recorded from PHP 8.2; tests/interop/test_rate_limiter_live.py compares against a
live PHP), the per-version rules and the throttle middleware keys."""

from __future__ import annotations

import hashlib

import pytest

from ninja_redis._ratelimit import (
    RateLimiterRules,
    clean_rate_limiter_key,
    htmlentities,
    named_limiter_key,
    php_falsy,
    request_signature,
)

# input -> (htmlentities, cleanRateLimiterKey), from php -r on PHP 8.2
GOLDEN = {
    b"plain-key_1.2.3.4": (b"plain-key_1.2.3.4", b"plain-key_1.2.3.4"),
    "café & co".encode(): (b"caf&eacute; &amp; co", b"cafe a co"),
    b'o\'neil "q" <a>': (
        b"o&#039;neil &quot;q&quot; &lt;a&gt;",
        b"o&#039;neil qqq lag",
    ),
    "½ ² ∴ €".encode(): (
        b"&frac12; &sup2; &there4; &euro;",
        b"&frac12; &sup2; &there4; e",
    ),
    "ÆΩß".encode(): (b"&AElig;&Omega;&szlig;", b"AOs"),
    "日本 😀".encode(): ("日本 😀".encode(), "日本 😀".encode()),
    b"&amp;": (b"&amp;amp;", b"aamp;"),
    b"bad \xff \xc3( \xe0\x80\x80 \xed\xa0\x80 \xf4\x90\x80\x80 \xe2\x82": (
        b"bad \xef\xbf\xbd \xef\xbf\xbd( \xef\xbf\xbd \xef\xbf\xbd "
        b"\xef\xbf\xbd \xef\xbf\xbd",
        b"bad \xef\xbf\xbd \xef\xbf\xbd( \xef\xbf\xbd \xef\xbf\xbd "
        b"\xef\xbf\xbd \xef\xbf\xbd",
    ),
    b"\xc0\x80\xf5": (b"\xef\xbf\xbd" * 3, b"\xef\xbf\xbd" * 3),
    b"\xc2\xc0": (b"\xef\xbf\xbd", b"\xef\xbf\xbd"),  # C0 is neither lead nor trail
    b"": (b"", b""),
}


@pytest.mark.parametrize("data", list(GOLDEN), ids=repr)
def test_htmlentities_and_clean_golden(data: bytes) -> None:
    encoded, cleaned = GOLDEN[data]
    assert htmlentities(data) == encoded
    assert clean_rate_limiter_key(data) == cleaned


def test_cleaning_twice_changes_only_unreduced_entities() -> None:
    for data in GOLDEN:
        once = clean_rate_limiter_key(data)
        if b"&" in once:
            assert clean_rate_limiter_key(once) != once
        else:
            assert clean_rate_limiter_key(once) == once
    assert clean_rate_limiter_key(b"o&#039;neil") == b"oa#039;neil"


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ((8, 67), (False, 0, True, False, False, False)),
        ((8, 83), (True, 2, True, False, False, False)),
        ((9, 13), (True, 2, True, False, False, False)),
        ((9, 14), (True, 1, True, False, False, False)),
        ((10, 0), (True, 1, False, False, False, False)),
        ((11, 40), (True, 1, False, False, False, False)),
        ((11, 41), (True, 1, False, False, True, False)),
        ((12, 40), (True, 1, False, False, True, True)),
        ((12, 57), (True, 1, False, True, True, True)),
        ((13, 7), (True, 1, False, False, True, True)),
        ((13, 8), (True, 1, False, True, True, True)),
    ],
)
def test_rules_per_version(
    version: tuple[int, int], expected: tuple[bool, int, bool, bool, bool, bool]
) -> None:
    r = RateLimiterRules.for_version(version)
    assert (
        r.clean,
        r.check_cleanings,
        r.falsy_result_is_true,
        r.rewrite_with_amount,
        r.plain_counter,
        r.remaining_clamped,
    ) == expected


def test_throttle_keys() -> None:
    assert named_limiter_key("api", 42) == hashlib.md5(b"api42").hexdigest()
    assert named_limiter_key("api", None) == hashlib.md5(b"api").hexdigest()
    assert named_limiter_key("api", "x", hashed=False) == "api:x"
    assert request_signature(user_id=7) == hashlib.sha1(b"7").hexdigest()
    assert request_signature(ip="1.2.3.4") == hashlib.sha1(b"|1.2.3.4").hexdigest()
    assert request_signature(domain="a.test", ip="::1", prefix="p", hashed=False) == (
        "pa.test|::1"
    )


def test_php_falsy() -> None:
    for value in (None, False, 0, 0.0, "", "0", b"", b"0", [], {}, ()):
        assert php_falsy(value), value
    for value in (True, 1, -1, 0.5, "a", "00", "0.0", " ", [0], {"a": 1}, object()):
        assert not php_falsy(value), value
