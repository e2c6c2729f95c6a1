"""Worker and failed-job store audit against Laravel's ``Worker``/``Job``/``RedisJob``/
``RetryCommand`` and failed-job providers (10.x-12.x; 8.x/9.x where they differ), with
generated inputs, a real Redis and the real PostgreSQL/MariaDB/SQLite: attempts counting,
the exact bytes and score released to ``:delayed``, backoff selection, the
``job-exceptions:UUID`` counter, timeouts and ``failOnTimeout``, ``retryUntil``
boundaries, what ``failed_jobs`` and the file failer hold (timezone included), the
``queue:retry`` payload and the worker's stop conditions.

The clock is frozen where scores and boundaries are compared exactly: ``wall_time`` of
the backend module is replaced (the worker, the pop script's ``now`` and the failed-job
stores all read it), Redis and the databases are real."""

from __future__ import annotations

import itertools
import json
import sqlite3
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import pytest_asyncio
import redis as redis_sync

from ninja_redis._async import _backend
from ninja_redis._async.app import AsyncLaravel
from ninja_redis._async.failed import (
    AsyncDatabaseFailedJobStore,
    AsyncFailedJobStore,
    AsyncFileFailedJobStore,
    AsyncRedisFailedJobStore,
    failed_job_store,
    php_json_encode,
    retry_payload,
)
from ninja_redis._async.worker import AsyncJob, AsyncWorker

PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
MYSQL_URL = "mysql://root@127.0.0.1:3306/test"
JOB = "App\\Audit@run"  # a string job: displayName "App\\Audit"
T = 1_767_225_600  # 2026-01-01 00:00:00 UTC
Freeze = Any  # the `frozen` fixture: freeze(t) fixes the clock at t + 0.25


def body(n: int = 0, **fields: Any) -> bytes:
    """A ready-list payload as Laravel writes it (JSON_UNESCAPED_UNICODE: raw UTF-8,
    escaped slashes)."""
    data: dict[str, Any] = {
        "uuid": f"a0d1-{n}-{uuid.uuid4().hex[:8]}",
        "displayName": "App\\Audit",
        "job": JOB,
        "maxTries": None,
        "maxExceptions": None,
        "failOnTimeout": False,
        "backoff": None,
        "timeout": None,
        "data": {"n": n, "text": "a/b é", "empty": []},
        "id": f"id{n}",
        "attempts": 0,
    }
    data.update(fields)
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    return text.replace("/", "\\/").encode()


@pytest_asyncio.fixture
async def app(redis_url: str, prefix: str) -> AsyncIterator[AsyncLaravel]:
    async with AsyncLaravel.from_url(
        redis_url, laravel_version="12.67", redis_prefix=prefix, failed_driver="redis"
    ) as laravel:
        yield laravel


@pytest.fixture
def r(redis_url: str) -> redis_sync.Redis:
    return redis_sync.Redis.from_url(redis_url)


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch) -> Freeze:
    """Freeze the clock the worker, the pop script's ``now`` and the stores read."""

    def freeze(t: int) -> None:
        monkeypatch.setattr(_backend, "wall_time", lambda: t + 0.25)

    return freeze


def push(r: redis_sync.Redis, app: AsyncLaravel, raw: bytes, queue: str) -> None:
    keys = app.keys.queue(queue)
    r.rpush(keys.ready, raw)
    r.rpush(keys.notify, b"1")


def worker(app: AsyncLaravel, queue: str, **kw: Any) -> AsyncWorker:
    kw.setdefault("sleep", 0)
    kw.setdefault("handle_signals", False)
    kw.setdefault("failer", AsyncRedisFailedJobStore(app))
    return AsyncWorker(app, [queue], **kw)


def php_int(piece: str) -> int:
    """PHP ``(int)`` of a string: its leading number (``" 4"`` 4, ``"2.9"`` 2,
    ``"2e1"`` 20, ``"x"`` 0)."""
    import re

    m = re.match(r"[ \t\n\r\v\f]*([+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?)", piece)
    if not m:
        return 0
    return int(float(m.group(1))) if m.group(3) or m.group(4) else int(m.group(1))


def php_backoff(fields: dict[str, Any], worker_backoff: Any, attempts: int) -> int:
    """``Worker::calculateBackoff()`` transcribed: ``Job::backoff()`` (``backoff`` ??
    ``delay``) ?? ``--backoff``, ``explode(',')``, element ``attempts - 1`` ??
    ``last()``, ``(int)``."""
    value = fields.get("backoff")
    if value is None:
        value = fields.get("delay")
    if value is None:
        value = worker_backoff
    if isinstance(value, float):
        text = repr(value)
    else:
        text = str(value)
    parts = text.split(",")
    return php_int(parts[attempts - 1] if attempts - 1 < len(parts) else parts[-1])


# --------------------------------------------------------------- attempts


@pytest.mark.parametrize("stored", [0, 1, 4, 41])
async def test_attempts_are_the_original_payloads_plus_one(
    app: AsyncLaravel, r: redis_sync.Redis, stored: int
) -> None:
    keys = app.keys.queue("att")
    raw = body(stored, attempts=stored)
    push(r, app, raw, "att")
    w = worker(app, "att", tries=0)
    seen: list[tuple[int, bytes, bytes, list[bytes]]] = []

    @w.handler(JOB)
    async def run(job: AsyncJob) -> None:
        seen.append(
            (job.attempts, job.raw, job.reserved, r.zrange(keys.reserved, 0, -1))
        )

    await w.run(once=True)
    [(attempts, got_raw, reserved, members)] = seen
    assert attempts == stored + 1  # RedisJob::attempts(): decoded attempts + 1
    assert got_raw == raw  # getRawBody(): the ready-list bytes
    assert members == [reserved]  # the :reserved member is the pop script's copy
    assert json.loads(reserved)["attempts"] == stored + 1
    assert r.zcard(keys.reserved) == 0


# ------------------------------------------------------- release and backoff

BACKOFFS: list[Any] = [None, "", "0", "7", "3,7,11", " 4,x,2.9", "2e1", 12, 1.5]
DELAYS: list[Any] = [None, 0, 30]
WORKER_BACKOFFS: list[Any] = [0, "6", "4,8"]
ATTEMPTS = [0, 1, 2, 5]


async def test_release_bytes_and_backoff_selection(
    app: AsyncLaravel, r: redis_sync.Redis, frozen: Freeze
) -> None:
    frozen(T)
    cases = list(itertools.product(BACKOFFS, DELAYS, WORKER_BACKOFFS, ATTEMPTS))
    assert len(cases) == 324
    mismatches = []
    reserved: list[bytes] = []
    for i, (backoff, delay, worker_backoff, stored) in enumerate(cases):
        reserved.clear()
        queue = f"b{i}"
        keys = app.keys.queue(queue)
        fields: dict[str, Any] = {"backoff": backoff, "attempts": stored}
        if delay is not None:
            fields["delay"] = delay
        push(r, app, body(i, **fields), queue)
        w = worker(app, queue, tries=0, backoff=worker_backoff)

        @w.handler(JOB)
        async def run(job: AsyncJob) -> None:
            reserved.append(job.reserved)
            raise RuntimeError("boom")

        res = await w.run(once=True)
        assert res.released == 1, (i, res)
        [(member, score)] = r.zrange(keys.delayed, 0, -1, withscores=True)
        # the release script: ZREM the reserved bytes, ZADD them to :delayed as they are
        assert member == reserved[0] and r.zcard(keys.reserved) == 0
        assert json.loads(member)["attempts"] == stored + 1
        expected = T + php_backoff(fields, worker_backoff, stored + 1)
        if score != expected:
            mismatches.append((backoff, delay, worker_backoff, stored, score - T))
    assert mismatches == []


async def test_empty_backoff_is_zero_not_the_workers(
    app: AsyncLaravel, r: redis_sync.Redis, frozen: Freeze
) -> None:
    # public $backoff = [] is pushed as "backoff":"" (implode); explode(',', '') -> ['']
    frozen(T)
    push(r, app, body(1, backoff=""), "e")
    w = worker(app, "e", tries=0, backoff=9)
    w.handler(JOB)(_raise)
    await w.run(once=True)
    assert r.zrange(app.keys.queue("e").delayed, 0, -1, withscores=True)[0][1] == T


async def _raise(job: AsyncJob) -> None:
    raise RuntimeError("boom")


async def _ok(job: AsyncJob) -> None:
    return None


# ------------------------------------------------------------ maxExceptions


@pytest.mark.parametrize(
    ("version", "cache_key"),
    [
        ("10.50", "laravel_cache_:job-exceptions:"),
        ("12.67", "laravel_cache_job-exceptions:"),
    ],
)
async def test_max_exceptions_counter(
    redis_url: str, prefix: str, r: redis_sync.Redis, version: str, cache_key: str
) -> None:
    async with AsyncLaravel.from_url(
        redis_url,
        laravel_version=version,
        redis_prefix=prefix,
        cache_prefix="laravel_cache_",
    ) as app:
        store = AsyncRedisFailedJobStore(app)
        cache = redis_sync.Redis.from_url(redis_url.rsplit("/", 1)[0] + "/1")
        keys = app.keys.queue("mx")
        raw = body(1, maxExceptions=2, maxTries=10)
        uid = json.loads(raw)["uuid"]
        key = f"{prefix}{cache_key}{uid}".encode()
        assert app.keys.job_exceptions(uid) == key
        push(r, app, raw, "mx")
        w = worker(app, "mx", failer=store)
        w.handler(JOB)(_raise)
        await w.run(once=True)
        # put(key, 0, now()->addDay()) + increment: SETEX 86400 "0", INCRBY 1
        assert cache.get(key) == b"1" and 86390 < cache.ttl(key) <= 86400
        [(member, _)] = r.zrange(keys.delayed, 0, -1, withscores=True)
        r.zadd(keys.delayed, {member: 0})
        res = await w.run(once=True)
        assert res.failed == 1 and cache.exists(key) == 0  # forget() then fail
        [failed] = await store.all()
        assert failed.exception.startswith("builtins.RuntimeError: boom in ")

        # a falsy value ("0") is put again with the day TTL; a truthy one is only
        # incremented (its TTL kept)
        for preset, ttl_after, value_after in ((b"0", 86400, b"1"), (b"3", -1, b"4")):
            raw = body(2, maxExceptions=9, maxTries=10)
            key = app.keys.job_exceptions(json.loads(raw)["uuid"])
            cache.set(key, preset)
            push(r, app, raw, "mx")
            await w.run(once=True)
            assert cache.get(key) == value_after
            assert cache.ttl(key) == ttl_after or 86390 < cache.ttl(key) <= ttl_after


# ----------------------------------------------------------------- timeouts


@pytest.mark.slow
@pytest.mark.parametrize(
    ("version", "first_line"),
    [
        (
            "12.67",
            "Illuminate\\Queue\\TimeoutExceededException: App\\Audit has timed out.",
        ),
        (
            "10.9",
            "Illuminate\\Queue\\MaxAttemptsExceededException: App\\Audit has been "
            "attempted too many times or run too long. The job may have previously "
            "timed out.",
        ),
    ],
)
async def test_timeout_outcomes(
    redis_url: str,
    prefix: str,
    r: redis_sync.Redis,
    frozen: Freeze,
    version: str,
    first_line: str,
) -> None:
    frozen(T)
    async with AsyncLaravel.from_url(
        redis_url, laravel_version=version, redis_prefix=prefix
    ) as app:
        store = AsyncRedisFailedJobStore(app)
        cases: list[tuple[dict[str, Any], str]] = [
            ({"maxTries": 3}, "reserved"),  # the worker would be killed: job stays
            ({"maxTries": 3, "failOnTimeout": True}, "failed"),
            ({"maxTries": 3, "failOnTimeout": "0"}, "reserved"),  # PHP's "0" is false
            ({"maxTries": 1}, "failed"),  # attempts 1 >= maxTries 1
            ({"maxTries": 3, "maxExceptions": 1}, "failed"),  # the counter reaches 1
            ({"maxTries": 3, "timeout": 0}, "deleted"),  # payload 0 wins: no alarm
        ]
        for i, (fields, outcome) in enumerate(cases):
            queue = f"t{i}"
            keys = app.keys.queue(queue)
            raw = body(i, **fields)
            push(r, app, raw, queue)
            w = worker(app, queue, failer=store, timeout=0.3)

            @w.handler(JOB)
            async def run(job: AsyncJob) -> None:
                await _backend.sleep(0.6)

            res = await w.run(once=True)
            members = r.zrange(keys.reserved, 0, -1, withscores=True)
            got = (
                "failed"
                if res.failed
                else "deleted"
                if res.deleted
                else "reserved"
                if members
                else "?"
            )
            assert got == outcome, (fields, res)
            assert r.zcard(keys.delayed) == 0  # a timeout never releases
            if outcome == "reserved":  # back after retry_after, the attempt counted
                [(member, score)] = members
                assert score == T + 90 and json.loads(member)["attempts"] == 1
            if outcome == "failed":
                [failed] = [f for f in await store.all() if f.payload == raw]
                assert failed.exception.split("\n")[0] == first_line
                assert members == []


# --------------------------------------------------------------- retryUntil


@pytest.mark.parametrize(
    ("version", "fields", "raises", "outcome"),
    [
        ("12.67", {"retryUntil": T - 1}, False, "failed-before"),  # now > retryUntil
        ("12.67", {"retryUntil": T}, False, "deleted"),  # now <= retryUntil: runs
        ("12.67", {"retryUntil": T}, True, "failed"),  # retryUntil <= now: fails
        ("12.67", {"retryUntil": T + 1}, True, "released"),
        # with retryUntil, maxTries is not looked at
        (
            "12.67",
            {"retryUntil": T + 1, "maxTries": 1, "attempts": 5},
            True,
            "released",
        ),
        # retryUntil 0 is falsy: maxTries decides (attempts 2 > 1)
        (
            "12.67",
            {"retryUntil": 0, "maxTries": 1, "attempts": 1},
            False,
            "failed-before",
        ),
        # Job::retryUntil() falls back to the legacy timeoutAt only before 10.0
        ("8.83", {"timeoutAt": T - 1, "maxTries": 5}, False, "failed-before"),
        ("12.67", {"timeoutAt": T - 1, "maxTries": 5}, False, "deleted"),
    ],
)
async def test_retry_until_boundaries(
    redis_url: str,
    prefix: str,
    r: redis_sync.Redis,
    frozen: Freeze,
    version: str,
    fields: dict[str, Any],
    raises: bool,
    outcome: str,
) -> None:
    frozen(T)
    async with AsyncLaravel.from_url(
        redis_url, laravel_version=version, redis_prefix=prefix
    ) as app:
        store = AsyncRedisFailedJobStore(app)
        push(r, app, body(1, **fields), "ru")
        w = worker(app, "ru", failer=store)
        ran: list[int] = []

        @w.handler(JOB)
        async def run(job: AsyncJob) -> None:
            ran.append(job.attempts)
            if raises:
                raise RuntimeError("boom")

        res = await w.run(once=True)
        failed = await store.all()
        got = {
            (1, 0, 0, 0): "failed-before",
            (1, 0, 0, 1): "failed",
            (0, 1, 0, 1): "deleted",
            (0, 0, 1, 1): "released",
        }[(res.failed, res.deleted, res.released, len(ran))]
        assert got == outcome
        if outcome == "failed-before":
            assert failed[0].exception.startswith(
                "Illuminate\\Queue\\MaxAttemptsExceededException: App\\Audit has been "
                "attempted too many times"
            )
        if outcome == "released":
            [(_, score)] = r.zrange(
                app.keys.queue("ru").delayed, 0, -1, withscores=True
            )
            assert score == T  # worker backoff 0


# ---------------------------------------------------------------- failed_jobs


@pytest_asyncio.fixture(params=["postgres", "mysql", "sqlite"])
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    yield {
        "postgres": PG_URL,
        "mysql": MYSQL_URL,
        "sqlite": f"sqlite:///{tmp_path / 'failed.sqlite'}",
    }[request.param]


@pytest.mark.parametrize("tz", ["UTC", "Asia/Tokyo"])
@pytest.mark.parametrize("uuids", [True, False])
async def test_failed_jobs_row(
    app: AsyncLaravel,
    r: redis_sync.Redis,
    frozen: Freeze,
    db_url: str,
    tz: str,
    uuids: bool,
) -> None:
    frozen(T)
    table = f"fj_{uuid.uuid4().hex[:10]}"
    store = AsyncDatabaseFailedJobStore(
        db_url, table, app, uuids=uuids, app_timezone=tz
    )
    await store.create_table()
    try:
        raw = body(7, data={"x": "a/b é ☃", "big": 12345678901234567, "e": []})
        push(r, app, raw, "emails")
        w = worker(app, "emails", failer=store)
        w.handler(JOB)(_raise)
        res = await w.run(once=True)
        assert res.failed == 1
        with store._db.cursor() as cur:
            key = "uuid" if uuids else "id"
            cur.execute(
                f"select {key}, connection, queue, payload, exception, failed_at "
                f"from {store._t}"
            )
            [(ident, connection, queue, payload, exception, failed_at)] = cur.fetchall()
        assert connection == "redis" and queue == "emails"  # the name, not the key
        assert payload == raw.decode()  # RedisJob::getRawBody(): ready-list bytes
        head, trace = exception.split("\nStack trace:\n")
        assert head.startswith("builtins.RuntimeError: boom in ")
        assert trace.startswith("#0 ") and trace.endswith(" {main}")
        # Date::now() in app.timezone, 'Y-m-d H:i:s'
        local = datetime.fromtimestamp(T, ZoneInfo(tz)).replace(tzinfo=None)
        if isinstance(failed_at, str):
            assert failed_at == local.strftime("%Y-%m-%d %H:%M:%S")
        else:
            assert failed_at == local
        [job] = await store.all()
        assert job.failed_at == datetime.fromtimestamp(T, timezone.utc)
        if uuids:
            assert ident == json.loads(raw)["uuid"] == job.id
        else:
            assert isinstance(ident, int) and job.id == str(ident)
        assert (await store.find(job.id)) == job
        assert await store.retry(job.id) == "id7"
        [pushed] = r.lrange(app.keys.queue("emails").ready, 0, -1)
        assert json.loads(pushed)["attempts"] == 0 and await store.all() == []
        assert await store.find("not-a-number") is None
    finally:
        with store._db.cursor() as cur:
            cur.execute(f"drop table {store._t}")


async def test_legacy_store_from_config(
    redis_url: str, prefix: str, tmp_path: Path
) -> None:
    async with AsyncLaravel.from_url(
        redis_url,
        redis_prefix=prefix,
        failed_driver="database",
        failed_database_url=f"sqlite:///{tmp_path / 'l.sqlite'}",
    ) as a:
        s = failed_job_store(a)
        assert isinstance(s, AsyncDatabaseFailedJobStore) and s.uuids is False
        await s.create_table()
        first = await s.log("redis", "q", body(1), "E")
        second = await s.log("redis", "q", body(2), "E")
        assert (first, second) == ("1", "2")
        con = sqlite3.connect(tmp_path / "l.sqlite")
        columns = [row[1] for row in con.execute("pragma table_info(failed_jobs)")]
        assert columns == [
            "id",
            "connection",
            "queue",
            "payload",
            "exception",
            "failed_at",
        ]
        assert await s.ids() == ["2", "1"] and await s.forget("1")


# ------------------------------------------------------------- file failer


async def test_file_failer_entry_and_timezone(
    app: AsyncLaravel, tmp_path: Path, frozen: Freeze
) -> None:
    frozen(T)
    path = tmp_path / "failed-jobs.json"
    # an entry another writer left, with an empty object and "0"/"1" keys: read() uses
    # json_decode() without `true`, so they stay objects when the file is written back
    old = {
        "id": "old",
        "connection": "redis",
        "queue": "q",
        "payload": "{}",
        "exception": "E",
        "failed_at": "2025-01-01 00:00:00",
        "failed_at_timestamp": 1735689600,
        "extra": {},
        "keys": {"0": 1, "1": 2},
    }
    path.write_text(php_json_encode([old], pretty=True, assoc=False))
    store = AsyncFileFailedJobStore(path, app, app_timezone="Europe/Paris")
    raw = body(3)
    job_id = await store.log("redis", "default", raw, "E/é")
    text = path.read_text()
    data = json.loads(text)
    assert [d["id"] for d in data] == [job_id, "old"]
    assert data[0] == {
        "id": json.loads(raw)["uuid"],
        "connection": "redis",
        "queue": "default",
        "payload": raw.decode(),
        "exception": "E/é",
        "failed_at": "2026-01-01 01:00:00",  # Date::now() in Europe/Paris
        "failed_at_timestamp": T,
    }
    assert '"extra": {}' in text and '"keys": {\n' in text
    assert '"exception": "E\\/\\u00e9"' in text  # json_encode default flags
    # the cache lock laravel-failed-jobs was released (compare-and-delete)
    assert (
        await app.connection("default").exists(app.keys.lock("laravel-failed-jobs"))
        == 0
    )
    assert await store.flush() == 2 and json.loads(path.read_text()) == []


# -------------------------------------------------------------- queue:retry


def test_retry_payload_follows_retry_command() -> None:
    raw = (
        b'{"uuid":"u","job":"X@y","data":{"command":"O:1:\\"X\\":0:{}","list":{"0":"a",'
        b'"1":"b"},"map":{"1":"a"},"e":{},"s":"a\\/b \xc3\xa9"},"retryUntil":5,'
        b'"attempts":3}'
    )
    out = retry_payload(raw)
    assert out == (
        b'{"uuid":"u","job":"X@y","data":{"command":"O:1:\\"X\\":0:{}","list":["a","b"],'
        b'"map":{"1":"a"},"e":[],"s":"a\\/b \\u00e9"},"retryUntil":5,"attempts":0}'
    )
    # refreshRetryUntil(): only for payloads with data.command
    assert json.loads(retry_payload(raw, 99))["retryUntil"] == 99
    assert json.loads(retry_payload(raw, None))["retryUntil"] is None
    when = datetime.fromtimestamp(T, timezone.utc)
    assert json.loads(retry_payload(raw, when))["retryUntil"] == T
    plain = b'{"job":"X@y","data":{"a":1},"attempts":2}'
    assert b"retryUntil" not in retry_payload(plain, 99)
    # resetAttempts(): isset() is false for null, and a missing key stays missing
    assert (
        json.loads(retry_payload(b'{"job":"X@y","attempts":null}'))["attempts"] is None
    )
    assert "attempts" not in json.loads(retry_payload(b'{"job":"X@y"}'))


async def test_retry_pushes_onto_the_failed_queue(
    app: AsyncLaravel, r: redis_sync.Redis, tmp_path: Path
) -> None:
    stores: list[AsyncFailedJobStore] = [
        AsyncFileFailedJobStore(tmp_path / "f.json", app),
        AsyncRedisFailedJobStore(app),
    ]
    for store in stores:
        raw = body(5, attempts=4)
        job_id = await store.log("redis", "mail", raw, "E")
        assert await store.retry(job_id, retry_until=T) == "id5"
        [pushed] = r.lpop(app.keys.queue("mail").ready, 5) or []
        assert pushed == retry_payload(raw)  # no data.command: retryUntil untouched
        assert r.lpop(app.keys.queue("mail").notify) == b"1"


# ------------------------------------------------------------ stop conditions


async def test_stop_conditions(app: AsyncLaravel, r: redis_sync.Redis) -> None:
    for i in range(4):
        push(r, app, body(i), "s")
    w = worker(app, "s")
    w.handler(JOB)(_raise)  # failed jobs count towards --max-jobs too
    res = await w.run(max_jobs=3)
    assert (res.reason, res.jobs, res.failed) == ("max_jobs", 3, 3)
    res = await w.run(stop_when_empty=True)
    assert (res.reason, res.jobs) == ("empty", 1)
    res = await w.run(once=True)
    assert (res.reason, res.jobs) == ("once", 0)
    res = await worker(app, "s", sleep=0.05).run(max_time=0.2)
    assert res.reason == "max_time" and 0.2 <= res.elapsed < 2
    # --rest: a pause after every job
    for i in range(3):
        push(r, app, body(i), "s")
    w = worker(app, "s", rest=0.1)
    w.handler(JOB)(_ok)
    res = await w.run(stop_when_empty=True)
    assert res.deleted == 3 and res.elapsed >= 0.3
    # --memory: stops after the job that found the process over the limit
    for i in range(2):
        push(r, app, body(i), "s")
    w = worker(app, "s", memory=1)
    w.handler(JOB)(_ok)
    res = await w.run()
    assert (res.reason, res.jobs) == ("memory", 1)
    assert r.llen(app.keys.queue("s").ready) == 1


async def test_fail_with_a_message_and_exception_text(
    app: AsyncLaravel, r: redis_sync.Redis
) -> None:
    store = AsyncRedisFailedJobStore(app)
    push(r, app, body(1), "m")
    push(r, app, body(2), "m")
    w = worker(app, "m", failer=store, tries=1)

    def inner() -> None:
        raise ValueError("inner")

    @w.handler(JOB)
    async def run(job: AsyncJob) -> None:
        if json.loads(job.raw)["data"]["n"] == 1:
            await job.fail("given up")  # $this->fail('given up')
            return
        try:
            inner()
        except ValueError as exc:
            raise RuntimeError("outer") from exc

    await w.run(stop_when_empty=True)
    second, first = await store.all()
    assert first.exception == (
        "Illuminate\\Queue\\ManuallyFailedException: given up\nStack trace:\n#0 {main}"
    )
    # PHP's layout of a chain: the previous exception first, then "Next" this one
    inner_text, outer_text = second.exception.split("\n\nNext ")
    assert inner_text.startswith("builtins.ValueError: inner in ")
    assert "inner()" in inner_text  # "#0 file(line): …inner()": the raising function
    assert outer_text.startswith("builtins.RuntimeError: outer in ")
    for part in (inner_text, outer_text):
        head, trace = part.split("\nStack trace:\n")
        lines = trace.split("\n")
        assert lines[-1] == f"#{len(lines) - 1} {{main}}"
        assert all(line.startswith(f"#{i} ") for i, line in enumerate(lines))
