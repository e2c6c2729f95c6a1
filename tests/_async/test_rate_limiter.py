"""AsyncRateLimiter against a real Redis: the exact keys, values and TTLs each Laravel
version's ``RateLimiter`` leaves, its version quirks, atomic ``attempt()`` under
contention, the round trips, and a Redis Cluster."""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import pytest_asyncio
import redis as sync_redis
from redis.exceptions import ResponseError

from ninja_redis import _scripts
from ninja_redis._async._backend import run_concurrently, sleep
from ninja_redis._async.app import AsyncLaravel
from tests.conftest import RedisClusterServers

VERSIONS = ["8.83", "10.50", "11.38", "11.41", "12.67", "13.26"]
#: ⟨C⟩ of each version's defaults (8.x–10.x append ":"; the 12.1+ skeleton hyphenates)
CACHE_PREFIX = {
    "8.67": "laravel_cache:",
    "8.83": "laravel_cache:",
    "9.13": "laravel_cache_:",
    "9.14": "laravel_cache_:",
    "10.50": "laravel_cache_:",
    "11.38": "laravel_cache_",
    "11.41": "laravel_cache_",
    "12.39": "laravel-cache-",
    "12.40": "laravel-cache-",
    "12.56": "laravel-cache-",
    "12.57": "laravel-cache-",
    "12.67": "laravel-cache-",
    "13.7": "laravel-cache-",
    "13.8": "laravel-cache-",
    "13.26": "laravel-cache-",
}


def make_app(redis_url: str, prefix: str, version: str, **kw: Any) -> AsyncLaravel:
    return AsyncLaravel.from_url(
        redis_url, laravel_version=version, redis_prefix=prefix, **kw
    )


@pytest_asyncio.fixture(params=VERSIONS)
async def app(
    request: pytest.FixtureRequest, redis_url: str, prefix: str
) -> AsyncIterator[AsyncLaravel]:
    async with make_app(redis_url, prefix, request.param) as laravel:
        yield laravel


@pytest.fixture
def r(redis_port: int, request: pytest.FixtureRequest) -> sync_redis.Redis:
    """A plain client on the cache database (1): what Laravel finds."""
    client = sync_redis.Redis(port=redis_port, db=1)
    request.addfinalizer(client.close)
    return client


def full(app: AsyncLaravel, prefix: str, name: str | bytes) -> bytes:
    """``⟨P⟩⟨C⟩name`` spelled out from the table above (not through KeySpace)."""
    version = f"{app.config.laravel_version.major}.{app.config.laravel_version.minor}"
    raw = name.encode() if isinstance(name, str) else name
    return (prefix + CACHE_PREFIX[version]).encode() + raw


def version_of(app: AsyncLaravel) -> tuple[int, int]:
    v = app.config.laravel_version
    return (v.major, v.minor)


# ---------------------------------------------------------------- the bytes


async def test_hits_leave_laravels_keys_values_and_ttls(
    app: AsyncLaravel, prefix: str, r: sync_redis.Redis
) -> None:
    rl = app.rate_limiter
    before = int(time.time())
    assert [await rl.hit("login|café & co", 60) for _ in range(3)] == [1, 2, 3]
    after = int(time.time())
    counter = full(
        app, prefix, "login|cafe a co"
    )  # é -> &eacute; -> e, & -> &amp; -> a
    timer = counter + b":timer"
    assert sorted(r.keys(prefix.encode() + b"*")) == [counter, timer]
    assert r.get(counter) == b"3"
    assert r.ttl(counter) == 60 and r.ttl(timer) == 60
    assert before + 60 <= int(r.get(timer) or 0) <= after + 60
    assert await rl.attempts("login|café & co") == 3
    assert 59 <= await rl.available_in("login|café & co") <= 60
    assert await rl.too_many_attempts("login|café & co", 3) is True
    assert await rl.too_many_attempts("login|café & co", 4) is False
    assert await rl.remaining("login|café & co", 5) == 2
    # remaining() goes negative before 12.40 and stops at 0 from then on
    expected = 0 if version_of(app) >= (12, 40) else -1
    assert await rl.remaining("login|café & co", 2) == expected
    assert await rl.attempts("nobody") == 0
    assert await rl.available_in("nobody") == 0
    assert await rl.remaining("nobody", 5) == 5


async def test_key_cleaning_and_the_names(
    app: AsyncLaravel, prefix: str, r: sync_redis.Redis
) -> None:
    rl = app.rate_limiter
    cases = {
        'say "hi" <b>': "say qhiq lbg",
        "o'neil": "o&#039;neil",
        "½ × ü ©": "&frac12; t u c",
        "日本語": "日本語",
        "Ærø": "Aro",  # &AElig; -> A, &oslash; -> o
    }
    for key, name in cases.items():
        assert rl.clean_rate_limiter_key(key) == name
        await rl.hit(key, 30)
        assert r.get(full(app, prefix, name)) == b"1"
        assert app.keys.rate_limiter(key) == full(app, prefix, name)
        assert app.keys.rate_limiter_timer(key) == full(app, prefix, name) + b":timer"
    # invalid UTF-8 becomes U+FFFD, like PHP's ENT_SUBSTITUTE
    await rl.hit(b"bad\xff\xc3", 30)
    assert r.get(full(app, prefix, "bad\ufffd\ufffd")) == b"1"


@pytest.mark.parametrize(
    ("version", "blocked"),
    [("8.67", True), ("8.83", False), ("9.13", False), ("9.14", True)],
)
async def test_too_many_attempts_double_cleaning_8_68_to_9_13(
    redis_url: str, prefix: str, r: sync_redis.Redis, version: str, blocked: bool
) -> None:
    """8.68.1–9.13 ``tooManyAttempts()`` cleaned the key and ``attempts()`` cleaned it
    again, so a key with ``'`` was never limited (#42462, fixed in 9.14); before
    8.68.1 keys were not cleaned at all."""
    async with make_app(redis_url, prefix, version) as app:
        rl = app.rate_limiter
        await rl.hit("o'neil", 60)
        name = "o'neil" if version == "8.67" else "o&#039;neil"
        assert r.get(full(app, prefix, name)) == b"1"
        assert await rl.too_many_attempts("o'neil", 1) is blocked
        assert await rl.attempt("o'neil", 1, lambda: "ran") == (
            False if blocked else "ran"
        )
        # remaining() reads the twice-cleaned key in every version that cleans
        assert await rl.remaining("o'neil", 5) == (4 if version == "8.67" else 5)


async def test_clear_reset_and_the_twice_cleaned_counter(
    app: AsyncLaravel, prefix: str, r: sync_redis.Redis
) -> None:
    rl = app.rate_limiter
    for key in ("plain key", "o'neil"):
        await rl.hit(key, 60)
        await rl.hit(key, 60)
    assert await rl.reset_attempts("plain key") is True
    assert await rl.reset_attempts("plain key") is False
    assert r.exists(full(app, prefix, "plain key:timer")) == 1  # the timer stays
    await rl.clear("plain key")
    assert r.keys(full(app, prefix, "plain*")) == []
    await rl.clear("o'neil")
    # Laravel's clear() deletes the counter under the key cleaned twice: it survives
    assert r.get(full(app, prefix, "o&#039;neil")) == b"2"
    assert r.exists(full(app, prefix, "o&#039;neil:timer")) == 0


async def test_a_counter_without_its_timer_is_reset(
    app: AsyncLaravel, prefix: str, r: sync_redis.Redis
) -> None:
    rl = app.rate_limiter
    r.set(full(app, prefix, "k"), b"7")
    assert await rl.too_many_attempts("k", 7) is False  # no timer: resetAttempts()
    assert r.exists(full(app, prefix, "k")) == 0
    r.set(full(app, prefix, "k"), b"7")
    assert await rl.attempt("k", 7, lambda: "ran", 60) == "ran"
    assert r.get(full(app, prefix, "k")) == b"1"  # a fresh window
    assert r.ttl(full(app, prefix, "k")) == 60 == r.ttl(full(app, prefix, "k:timer"))


# ------------------------------------------------------------------ decays


async def test_decay_forms(app: AsyncLaravel, prefix: str, r: sync_redis.Redis) -> None:
    rl = app.rate_limiter
    now = time.time()
    await rl.hit("td", timedelta(seconds=90))
    assert r.ttl(full(app, prefix, "td")) == 90
    assert abs(int(r.get(full(app, prefix, "td:timer")) or 0) - (now + 90)) <= 2
    await rl.hit("float", 30.7)  # TTL truncated; the timer whole seconds
    assert r.ttl(full(app, prefix, "float")) == 30
    assert int(r.get(full(app, prefix, "float:timer")) or 0) - math.floor(now) in (
        30,
        31,
    )
    until = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(seconds=120)
    await rl.hit("dt", until)
    assert r.get(full(app, prefix, "dt:timer")) == str(int(until.timestamp())).encode()
    assert 118 <= r.ttl(full(app, prefix, "dt")) <= 120
    # a decay of 0: add() refuses, INCRBY creates the counter, put(KEY, 1, 0) deletes it
    assert await rl.hit("zero", 0) == 1
    assert r.keys(full(app, prefix, "zero*")) == []
    with pytest.raises(TypeError):
        await rl.hit("bad", "60")  # type: ignore[arg-type]


async def test_increment_decrement(
    app: AsyncLaravel, prefix: str, r: sync_redis.Redis
) -> None:
    rl = app.rate_limiter
    assert await rl.increment("bytes", 60, 250) == 250
    assert await rl.increment("bytes", 60, 50) == 300
    assert await rl.decrement("bytes", 60, 100) == 200
    assert await rl.decrement("bytes") == 199
    assert r.get(full(app, prefix, "bytes")) == b"199"
    assert r.ttl(full(app, prefix, "bytes")) == 60


@pytest.mark.parametrize(
    ("version", "rewrites"),
    [
        ("8.83", False),
        ("12.56", False),
        ("12.57", True),
        ("12.67", True),
        ("13.7", False),
        ("13.8", True),
        ("13.26", True),
    ],
)
async def test_counter_that_vanished_between_add_and_incrby(
    redis_url: str, prefix: str, r: sync_redis.Redis, version: str, rewrites: bool
) -> None:
    """``if (! $added && $hits == 1) put($key, 1, $decay)``: a counter that existed for
    ``add()`` but is new for ``INCRBY`` (it expired in between) gets its TTL back.
    12.57+ / 13.8+ compare with ``$amount`` (#59693); before, an ``increment()`` by 5 of
    such a counter leaves it without TTL. Simulated with a counter "0" without TTL."""
    async with make_app(redis_url, prefix, version) as app:
        rl = app.rate_limiter
        counter = full(app, prefix, "k")
        r.set(counter, b"0")
        assert await rl.hit("k", 60) == 1
        assert r.get(counter) == b"1" and r.ttl(counter) == 60  # every version
        r.set(counter, b"0")
        assert await rl.increment("k", 60, 5) == 5
        assert r.get(counter) == b"5"
        assert r.ttl(counter) == (60 if rewrites else -1)


@pytest.mark.parametrize("version", ["11.38", "11.41", "12.67"])
async def test_phpredis_serializer(
    redis_url: str, prefix: str, r: sync_redis.Redis, version: str
) -> None:
    """With a phpredis serializer, 11.39+ packs the timer like any ``add()`` and 11.41+
    keeps the counter plain (``withoutSerializationOrCompression``); 11.38 stored both
    plain (``add()`` arguments bypass phpredis) but its ``put()`` packs: a counter
    rewritten there is ``i:1;``, and the next ``INCRBY`` fails (in PHP too)."""
    async with make_app(redis_url, prefix, version, redis_serializer="php") as app:
        rl = app.rate_limiter
        before = int(time.time())
        assert [await rl.hit("k", 60) for _ in range(2)] == [1, 2]
        counter = full(app, prefix, "k")
        timer = r.get(counter + b":timer") or b""
        assert r.get(counter) == b"2"
        if version == "11.38":
            assert before + 60 <= int(timer) <= before + 62
        else:
            assert timer.startswith(b"i:") and timer.endswith(b";")
            assert before + 60 <= int(timer[2:-1]) <= before + 62
        assert await rl.attempts("k") == 2
        assert await rl.too_many_attempts("k", 2) is True
        assert 59 <= await rl.available_in("k") <= 60
        r.set(counter, b"0")  # the vanished-counter path: put(KEY, 1)
        assert await rl.hit("k", 60) == 1
        if version == "11.38":
            assert r.get(counter) == b"i:1;"
            assert await rl.attempts("k") == 1  # phpredis unpacks it
            with pytest.raises(ResponseError):
                await rl.hit("k", 60)
        else:
            assert r.get(counter) == b"1"
            assert await rl.hit("k", 60) == 2


# ----------------------------------------------------------------- attempt


async def test_attempt_results_per_version(app: AsyncLaravel) -> None:
    rl = app.rate_limiter
    old = version_of(app) < (10, 0)
    results = [
        await rl.attempt(f"r{i}", 5, lambda v=v: v)
        for i, v in enumerate([None, 0, "", "0", [], False, "x", 5])
    ]
    if old:  # 8.x/9.x: $callback() ?: true
        assert results == [True, True, True, True, True, True, "x", 5]
    else:  # 10.0+: only null becomes true
        assert results == [True, 0, "", "0", [], False, "x", 5]


async def test_attempt_limits_and_skips_the_callback(
    app: AsyncLaravel, prefix: str, r: sync_redis.Redis
) -> None:
    rl = app.rate_limiter
    calls: list[int] = []

    async def work() -> str:
        calls.append(1)
        await sleep(0)
        return "done"

    assert [await rl.attempt("send", 2, work, 30) for _ in range(3)] == [
        "done",
        "done",
        False,
    ]
    assert len(calls) == 2
    assert r.get(full(app, prefix, "send")) == b"2"
    assert r.ttl(full(app, prefix, "send")) == 30


async def test_a_failing_callback_counts_nothing(
    app: AsyncLaravel, prefix: str, r: sync_redis.Redis
) -> None:
    rl = app.rate_limiter

    def boom() -> None:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        await rl.attempt("fails", 3, boom, 60)
    # Laravel hits only after the callback returns: no window was opened
    assert r.keys(full(app, prefix, "fails*")) == []
    await rl.hit("fails", 60)
    with pytest.raises(RuntimeError):
        await rl.attempt("fails", 3, boom, 60)
    assert r.get(full(app, prefix, "fails")) == b"1"
    assert r.ttl(full(app, prefix, "fails:timer")) == 60


async def test_attempt_is_atomic_under_contention(app: AsyncLaravel) -> None:
    """20 tasks (threads in the blocking twin) race for 25 slots: exactly 25 run,
    although every callback yields before returning."""
    rl = app.rate_limiter
    ran: list[int] = []

    def runner(n: int):  # type: ignore[no-untyped-def]
        async def run() -> None:
            for _ in range(5):

                async def work() -> None:
                    await sleep(0.001)
                    ran.append(n)

                await rl.attempt("contended", 25, work, 60)

        return run

    await run_concurrently([runner(i) for i in range(20)])
    assert len(ran) == 25
    assert await rl.attempts("contended") == 25


# ----------------------------------------------------------------- throttle


async def test_throttle_middleware_keys(
    app: AsyncLaravel, prefix: str, r: sync_redis.Redis
) -> None:
    rl = app.rate_limiter
    # RateLimiter::for('uploads', fn ($r) => Limit::perMinute(10)->by($r->user()->id))
    key = rl.named_limiter_key("uploads", 7)
    assert key == hashlib.md5(b"uploads7").hexdigest()
    assert rl.named_limiter_key("global") == hashlib.md5(b"global").hexdigest()
    assert rl.named_limiter_key("uploads", 7, hashed=False) == "uploads:7"
    # throttle:60,1 — a signed-in user, then a guest on a route without a domain
    assert rl.request_signature(user_id=42) == hashlib.sha1(b"42").hexdigest()
    assert (
        rl.request_signature(ip="203.0.113.7", prefix="api")
        == "api" + hashlib.sha1(b"|203.0.113.7").hexdigest()
    )
    assert (
        rl.request_signature(domain="{account}.example.com", ip="::1", hashed=False)
        == "{account}.example.com|::1"
    )
    assert await rl.hit(key, 60) == 1  # what the middleware does per request
    assert r.get(full(app, prefix, key)) == b"1"


# -------------------------------------------------------------- round trips


def command_calls(client: sync_redis.Redis) -> dict[str, int]:
    stats: dict[str, Any] = client.info("commandstats")
    calls = {k.removeprefix("cmdstat_"): int(v["calls"]) for k, v in stats.items()}
    for setup in ("config|resetstat", "info", "client|setinfo", "select", "hello"):
        calls.pop(setup, None)
    return calls


async def test_round_trips(redis_server_factory: Any, prefix: str) -> None:
    """Laravel: hit = 3-4 commands (EVAL, EVAL, INCRBY, [SETEX]), tooManyAttempts up to
    3, attempt up to 7. Here: one EVALSHA per hit or attempt."""
    server = redis_server_factory()
    client = server.client()
    try:
        async with AsyncLaravel.from_url(
            server.url, laravel_version="12.67", redis_prefix=prefix
        ) as app:
            rl = app.rate_limiter
            client.script_load(_scripts.load("rate_limiter_hit"))
            client.config_resetstat()
            await rl.hit("k", 60)
            # one round trip; commandstats also counts the commands inside the script:
            # Laravel's add(timer), add(counter) and INCRBY
            assert command_calls(client) == {
                "evalsha": 1,
                "exists": 2,
                "setex": 2,
                "incrby": 1,
            }
            client.config_resetstat()
            await rl.attempt("k", 5, lambda: None, 60)
            # tooManyAttempts()' GET, then the hit on the open window
            assert command_calls(client) == {
                "evalsha": 1,
                "get": 1,
                "exists": 2,
                "incrby": 1,
            }
            client.config_resetstat()
            assert await rl.too_many_attempts("k", 2) is True
            assert command_calls(client) == {"get": 2}
            client.config_resetstat()
            await rl.clear("k")
            assert command_calls(client) == {"del": 2}
    finally:
        client.close()


# ------------------------------------------------------------------ cluster


@pytest.mark.cluster
@pytest.mark.parametrize("version", ["8.83", "12.67"])
async def test_cluster(
    redis_cluster: RedisClusterServers, prefix: str, version: str
) -> None:
    """Counter and timer hash to different slots: no script names both. Laravel's own
    commands, pipelined; attempt() is Laravel's check-then-hit."""
    rc = redis_cluster.client()
    try:
        async with AsyncLaravel.from_url(
            redis_cluster.url,
            laravel_version=version,
            redis_prefix=prefix,
            cluster=True,
        ) as app:
            rl = app.rate_limiter
            keys = [f"user {i} é" for i in range(6)]
            for key in keys:
                assert [await rl.hit(key, 60) for _ in range(2)] == [1, 2]
                counter = app.keys.rate_limiter(key)
                assert rc.get(counter) == b"2" and rc.ttl(counter) == 60
                assert rc.ttl(counter + b":timer") == 60
                assert await rl.too_many_attempts(key, 2) is True
                assert await rl.attempt(key, 3, lambda: "ran", 60) == "ran"
                assert await rl.attempt(key, 3, lambda: "ran", 60) is False
                assert 59 <= await rl.available_in(key) <= 60
                await rl.clear(key)
                assert rc.exists(counter, counter + b":timer") == 0
            slots = {rc.keyslot(app.keys.rate_limiter(k)) for k in keys}
            assert len(slots) > 1
            rc.set(app.keys.rate_limiter("k"), b"0")  # the vanished-counter path
            assert await rl.hit("k", 60) == 1
            assert rc.ttl(app.keys.rate_limiter("k")) == 60
            assert await rl.hit("zero", 0) == 1
            assert rc.exists(app.keys.rate_limiter("zero")) == 0
    finally:
        rc.close()
