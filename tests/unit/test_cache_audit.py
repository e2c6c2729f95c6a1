"""Pure parts of the cache/tags/locks conformance audit (no Redis): TTL arithmetic per
Laravel version (8.x-10.x checked against the real ``Repository::getSeconds()`` and
Carbon 2 of Debian's Laravel 8.83), the value codec for Python types PHP sees as plain
numbers and strings, 8.x/9.x tag ids as ``TagSet::tagId()`` reads them, the Lua script
texts against Laravel's, lock owners and tag ids.

Every input is generated (``random.Random`` with a fixed seed); PHP computes the
expected values where it can.
"""

from __future__ import annotations

import base64
import json
import math
import random
import re
import struct
import subprocess
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from ninja_redis import _scripts, php
from ninja_redis._async import cache as cache_module
from ninja_redis._async.cache import _php_id_string, _uniqid, ttl_seconds
from ninja_redis._async.lock import random_owner
from ninja_redis.codec import LaravelCacheCodec
from ninja_redis.exceptions import UnserializeError
from ninja_redis.php import PhpObject

# ------------------------------------------------------------------ PHP helpers

_GET_SECONDS = r"""
require_once 'Illuminate/Cache/autoload.php';
require_once 'Illuminate/Support/autoload.php';
use Illuminate\Support\Carbon;
class AuditRepo extends Illuminate\Cache\Repository {
    public function secs($ttl) { return $this->getSeconds($ttl); }
}
$repo = new AuditRepo(new Illuminate\Cache\ArrayStore);
$out = [];
foreach (json_decode(stream_get_contents(STDIN), true) as [$now, $kind, $arg]) {
    Carbon::setTestNow(Carbon::createFromFormat('U.u', $now));
    if ($kind === 'dt') {
        $ttl = DateTime::createFromFormat('U.u', $arg);
    } elseif ($kind === 'di') {
        $ttl = new DateInterval($arg);
    } else {
        $ttl = (float) $arg;
    }
    $out[] = $repo->secs($ttl);
}
echo json_encode($out);
"""


def php_json(code: str, payload: Any) -> Any:
    proc = subprocess.run(
        ["php", "-r", code],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr or proc.stdout
    return json.loads(proc.stdout)


def pin(monkeypatch: pytest.MonkeyPatch, now: float) -> None:
    """Freeze the wall clock ttl_seconds() reads (the module's ``wall_time``)."""
    monkeypatch.setattr(cache_module, "wall_time", lambda: now)


# ================================================================ TTL arithmetic


@pytest.mark.php
@pytest.mark.laravel
def test_ttl_before_11_matches_laravel_8_get_seconds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """8.x-10.x: Carbon 2 ``diffInRealSeconds`` subtracts whole Unix timestamps, so a
    DateTime 299.2 s away at now=…0.9 gives 300; floats are truncated; DateInterval
    whole seconds. Compared with the real Repository::getSeconds() on a frozen
    Carbon::now()."""
    rng = random.Random("unit-ttl-8")
    cases: list[tuple[str, str, str]] = []
    expect_py: list[tuple[float, Any]] = []
    for _ in range(300):
        now = rng.randint(10**9, 2 * 10**9) + rng.randint(0, 999_999) / 1e6
        kind = rng.choice(["dt", "dt", "di", "f"])
        if kind == "dt":
            delta = rng.choice([rng.uniform(-50, 5000), rng.randint(-5, 5000) + 0.0])
            when = round(now + delta, 6)
            cases.append((f"{now:.6f}", "dt", f"{when:.6f}"))
            expect_py.append((now, datetime.fromtimestamp(when, timezone.utc)))
        elif kind == "di":
            secs = rng.randint(0, 10**6)
            cases.append((f"{now:.6f}", "di", f"PT{secs}S"))
            expect_py.append((now, timedelta(seconds=secs)))
        else:
            f = rng.choice([rng.uniform(-10, 10**6), rng.randint(-5, 100) + 0.999])
            cases.append((f"{now:.6f}", "f", repr(f)))
            expect_py.append((now, f))
    expected = php_json(_GET_SECONDS, cases)
    for version in ("8.83", "9.52", "10.50"):
        ver = tuple(map(int, version.split(".")))
        for (now, ttl), exp, case in zip(expect_py, expected, cases, strict=True):
            pin(monkeypatch, now)
            assert ttl_seconds(ttl, ver) == exp, (version, case)  # type: ignore[arg-type]


def test_ttl_from_11_rounds_microseconds_up(monkeypatch: pytest.MonkeyPatch) -> None:
    """11.0+: ``ceil(diffInMilliseconds / 1000)`` with Carbon 3's microsecond
    difference: anything past a whole second counts as one more second, a past or
    present time is 0; naive datetimes are local time."""
    rng = random.Random("unit-ttl-11")
    for _ in range(500):
        now_us = rng.randint(10**15, 2 * 10**15)
        delta_us = rng.choice(
            [
                rng.randint(-(10**7), 10**10),
                rng.randint(1, 5) * 10**6,
                rng.randint(1, 5) * 10**6 + 1,
                rng.randint(1, 5) * 10**6 - 1,
                1,
                0,
                -1,
            ]
        )
        pin(monkeypatch, now_us / 1e6)
        when = datetime.fromtimestamp((now_us + delta_us) / 1e6, timezone.utc)
        want = max(0, -(-delta_us // 10**6))
        for version in ((11, 0), (12, 67), (13, 26)):
            assert ttl_seconds(when, version) == want, (now_us, delta_us)
            assert ttl_seconds(when.astimezone().replace(tzinfo=None), version) == want
            assert ttl_seconds(timedelta(microseconds=delta_us), version) == want
        # before 11.0 the same values: whole timestamps subtracted / whole seconds
        old = (now_us + delta_us) // 10**6 - now_us // 10**6
        assert ttl_seconds(when, (10, 50)) == max(0, old)
        td_old = int(delta_us / 10**6)
        assert ttl_seconds(timedelta(microseconds=delta_us), (10, 50)) == max(0, td_old)


def test_ttl_numbers_and_bad_types() -> None:
    rng = random.Random("unit-ttl-num")
    for _ in range(200):
        n = rng.randint(-(10**6), 10**9)
        f = rng.uniform(-1000, 10**6)
        for version in ((8, 83), (11, 0), (12, 67)):
            assert ttl_seconds(n, version) == max(0, n)
            assert ttl_seconds(f, version) == max(0, int(f))  # PHP (int) truncates
    assert ttl_seconds(None) is None
    for bad in (math.nan, math.inf, -math.inf):
        with pytest.raises(ValueError):
            ttl_seconds(bad)
    for wrong in (True, "60", b"60", [60]):
        with pytest.raises(TypeError):
            ttl_seconds(wrong)  # type: ignore[arg-type]


# ======================================================================= values

_STORE = r"""
$out = [];
foreach (json_decode(stream_get_contents(STDIN), true) as [$kind, $b]) {
    $s = base64_decode($b);
    $v = $kind === 'i' ? (int) $s : ($kind === 'f' ? unpack('E', $s)[1] : $s);
    $raw = is_numeric($v) && is_finite($v);
    $out[] = base64_encode($raw ? (string) $v : serialize($v));
}
echo json_encode($out);
"""


class _Float(float):
    pass


class _Int(int):
    pass


class _Str(str):
    pass


@pytest.mark.php
def test_subclasses_and_buffers_store_like_the_plain_php_value() -> None:
    """A float/int/str subclass (``numpy.float64`` is one) or a bytearray/memoryview is
    the plain PHP value to RedisStore: numbers and numeric strings raw, the rest
    serialize()-d, before and after 11.39 and under a phpredis serializer."""
    rng = random.Random("unit-subclass")
    cases: list[tuple[Any, str, bytes]] = []
    for _ in range(150):
        pick = rng.randint(0, 4)
        if pick == 0:
            f = rng.choice([rng.uniform(-1e20, 1e20), math.inf, -0.0, 0.1 + 0.2])
            cases.append((_Float(f), "f", struct.pack(">d", f)))
        elif pick == 1:
            i = rng.randint(-(2**63), 2**63 - 1)
            cases.append((_Int(i), "i", str(i).encode()))
        else:
            s = rng.choice(
                [str(rng.randint(-999, 999)), f" {rng.random()}", "1e5", "abc", ""]
            )
            wrap = [_Str, bytearray, memoryview][pick - 2]
            value: Any = wrap(s) if wrap is _Str else wrap(s.encode())
            cases.append((value, "s", s.encode()))
    expected = php_json(
        _STORE, [[k, base64.b64encode(b).decode()] for _, k, b in cases]
    )
    for version in ((10, 50), (11, 39), (12, 67)):
        codec = LaravelCacheCodec(version)
        for (value, _, _), exp in zip(cases, expected, strict=True):
            assert codec.dumps(value) == base64.b64decode(exp), (version, value)
            assert codec.dumps_for_add(value) == base64.b64decode(exp)
    # a phpredis serializer packs the plain value, as for the base type
    for version in ((11, 38), (11, 39)):
        codec = LaravelCacheCodec(version, serializer="php")
        for value, kind, data in cases:
            plain: Any = data
            if kind == "f":
                plain = float(value)
            elif kind == "i":
                plain = int(value)
            assert codec.dumps(value) == codec.dumps(plain), (version, value)


def test_empty_stored_value_reads_as_false() -> None:
    """``unserialize('')`` is ``false`` without a notice, so Laravel's get() of an empty
    value is ``false``; non-empty garbage still raises (never a silent miss)."""
    for version in ((8, 83), (11, 38), (12, 67)):
        assert LaravelCacheCodec(version).loads(b"") is False
        assert LaravelCacheCodec(version, compression="lzf").loads(b"") is False
        with pytest.raises(UnserializeError):
            LaravelCacheCodec(version).loads(b"x")
    # <= 11.38 under a phpredis serializer: phpredis gives "", Laravel unserializes it
    assert LaravelCacheCodec((11, 38), serializer="php").loads(b's:0:"";') is False
    assert LaravelCacheCodec((11, 39), serializer="php").loads(b's:0:"";') == ""


# ================================================================ 8.x/9.x tag ids

_TAG_ID = r"""
$out = [];
foreach (json_decode(stream_get_contents(STDIN), true) as $b) {
    $v = unserialize(base64_decode($b));
    $out[] = $v ? base64_encode(implode('|', [$v])) : null;
}
echo json_encode($out);
"""


@pytest.mark.php
def test_legacy_tag_id_strings_match_tagset() -> None:
    """``TagSet::tagId()``: ``get() ?: resetTag()`` -- PHP-falsy ids are replaced,
    the rest joined with ``implode('|')`` (floats with precision 14, true as 1)."""
    rng = random.Random("unit-tag-ids")
    values: list[Any] = [
        None,
        False,
        True,
        0,
        0.0,
        -0.0,
        "",
        "0",
        "00",
        "0.0",
        " ",
        [],
        [0],
        {"a": 1},
        1.5,
        0.1 + 0.2,
        1e20,
        -7,
        "6b073abe81056017996618",
    ]
    values += [rng.randint(-(10**12), 10**12) for _ in range(20)]
    values += [rng.uniform(-1e6, 1e6) for _ in range(20)]
    values += [str(rng.randint(0, 99)) for _ in range(20)]
    forms = [php.dumps(v) for v in values]
    expected = php_json(_TAG_ID, [base64.b64encode(f).decode() for f in forms])
    for value, form, exp in zip(values, forms, expected, strict=True):
        got = _php_id_string(php.loads(form), b"k")
        assert got == (None if exp is None else base64.b64decode(exp)), (value, got)
    with pytest.raises(UnserializeError):
        _php_id_string(PhpObject("stdClass", {"a": 1}), b"k")


def test_uniqid_and_lock_owner_shapes() -> None:
    """Tag ids: ``str_replace('.', '', uniqid('', true))`` = 13 hex (seconds and
    microseconds) + 9 digits; lock owners: ``Str::random()`` = 16 ``[A-Za-z0-9]``."""
    seen = set()
    for _ in range(300):
        tag_id = _uniqid().decode()
        assert re.fullmatch(r"[0-9a-f]{13}[0-9]{9}", tag_id), tag_id
        assert abs(int(tag_id[:8], 16) - cache_module.wall_time()) < 5
        owner = random_owner()
        assert re.fullmatch(r"[A-Za-z0-9]{16}", owner)
        seen.add(owner)
    assert len(seen) == 300
    assert re.fullmatch(r"[A-Za-z0-9]{40}", random_owner(40))


# ==================================================================== Lua scripts


def _code(name: str) -> str:
    """A bundled script without its contract comment."""
    lines = _scripts.load(name).splitlines()
    return "\n".join(line for line in lines if not line.startswith("--")).strip()


def test_scripts_are_laravels() -> None:
    """``cache_add`` and ``lock_release`` are Laravel's scripts (LuaScripts::add,
    ::releaseLock) verbatim; ``lock_refresh`` returns what 12.63+'s refreshLock
    returns (EXPIRE's 1 for a held key, PERSIST then 1 for seconds <= 0, else 0)."""
    assert _code("cache_add") == (
        "return redis.call('exists',KEYS[1])<1 and "
        "redis.call('setex',KEYS[1],ARGV[2],ARGV[1])"
    )
    assert _code("lock_release") == (
        'if redis.call("get",KEYS[1]) == ARGV[1] then\n'
        '    return redis.call("del",KEYS[1])\n'
        "else\n"
        "    return 0\n"
        "end"
    )
    refresh = _code("lock_refresh")
    assert 'redis.call("expire",KEYS[1],ARGV[2])' in refresh
    assert 'redis.call("persist",KEYS[1])' in refresh
    assert "tonumber(ARGV[2]) > 0" in refresh
    legacy_get = _code("tag_legacy_get")
    assert "ids[i] == '' or ids[i] == '0'" in legacy_get
