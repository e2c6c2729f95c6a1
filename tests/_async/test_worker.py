"""AsyncWorker life cycle against a real Redis: Laravel's attempts, maxTries, retryUntil,
backoff, maxExceptions, timeout, failOnTimeout, block_for, priority, limits and signals."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
import redis as redis_sync

from ninja_redis._async import _backend
from ninja_redis._async.app import AsyncLaravel
from ninja_redis._async.failed import AsyncRedisFailedJobStore
from ninja_redis._async.worker import AsyncJob, AsyncWorker

CLS = "App\\Jobs\\Thing"


def payload(n: int = 0, **fields: Any) -> bytes:
    body: dict[str, Any] = {
        "uuid": f"uuid-{n}",
        "displayName": CLS,
        "job": "Illuminate\\Queue\\CallQueuedHandler@call",
        "maxTries": None,
        "maxExceptions": None,
        "failOnTimeout": False,
        "backoff": None,
        "timeout": None,
        "retryUntil": None,
        "data": {
            "commandName": CLS,
            "command": f'O:14:"App\\Jobs\\Thing":1:{{s:1:"n";i:{n};}}',
        },
        "id": f"id-{n}",
        "attempts": 0,
    }
    body.update(fields)
    return json.dumps(body, separators=(",", ":")).encode()


@pytest_asyncio.fixture
async def app(redis_url: str, prefix: str) -> AsyncIterator[AsyncLaravel]:
    async with AsyncLaravel.from_url(
        redis_url, laravel_version="12.67", redis_prefix=prefix, failed_driver="redis"
    ) as laravel:
        yield laravel


@pytest.fixture
def r(redis_url: str) -> redis_sync.Redis:
    return redis_sync.Redis.from_url(redis_url)


def push(
    r: redis_sync.Redis, app: AsyncLaravel, body: bytes, queue: str = "default"
) -> None:
    keys = app.keys.queue(queue)
    r.rpush(keys.ready, body)
    r.rpush(keys.notify, b"1")


def make_worker(app: AsyncLaravel, **kw: Any) -> AsyncWorker:
    kw.setdefault("sleep", 0)
    kw.setdefault("handle_signals", False)
    return AsyncWorker(app, kw.pop("queues", None), **kw)


async def test_success_deletes_reserved(app: AsyncLaravel, r: redis_sync.Redis) -> None:
    push(r, app, payload(1))
    w = make_worker(app)
    got: list[tuple[int, Any]] = []

    @w.handler(CLS)
    async def handle(job: AsyncJob) -> None:
        got.append((job.attempts, job.properties["n"]))

    res = await w.run(once=True)
    assert got == [(1, 1)] and res.deleted == 1 and res.reason == "once"
    assert r.zcard(app.keys.queue().reserved) == 0


async def test_exception_releases_with_backoff_list_clamped(
    app: AsyncLaravel, r: redis_sync.Redis
) -> None:
    keys = app.keys.queue()
    push(r, app, payload(2, maxTries=5, backoff="10,60"))
    w = make_worker(app, tries=1)
    attempts: list[int] = []

    @w.handler(CLS)
    async def handle(job: AsyncJob) -> None:
        attempts.append(job.attempts)
        raise ValueError("nope")

    for expected_delay in (10, 60, 60):
        t0 = int(_backend.wall_time())
        await w.run(once=True)
        t1 = int(_backend.wall_time())
        [(member, score)] = r.zrange(keys.delayed, 0, -1, withscores=True)
        assert t0 + expected_delay <= score <= t1 + expected_delay
        r.zadd(keys.delayed, {member: 0})  # make it due now
    assert attempts == [1, 2, 3]
    assert json.loads(member)["attempts"] == 3


async def test_max_tries_fails_with_laravel_message(
    app: AsyncLaravel, r: redis_sync.Redis
) -> None:
    keys = app.keys.queue()
    body = payload(3, maxTries=2, attempts=2)  # third attempt > maxTries
    push(r, app, body)
    store = AsyncRedisFailedJobStore(app)
    w = make_worker(app, failer=store)
    ran: list[int] = []
    w.handler(CLS)(lambda job: ran.append(1))  # type: ignore[arg-type,return-value]
    res = await w.run(once=True)
    assert res.failed == 1 and ran == []
    [failed] = await store.all()
    assert failed.payload == body
    assert failed.exception.startswith(
        "Illuminate\\Queue\\MaxAttemptsExceededException: App\\Jobs\\Thing has been "
        "attempted too many times."
    )
    assert r.zcard(keys.reserved) == 0 and r.zcard(keys.delayed) == 0


async def test_exception_on_last_try_fails(
    app: AsyncLaravel, r: redis_sync.Redis
) -> None:
    push(r, app, payload(4))  # maxTries null -> worker tries=1
    store = AsyncRedisFailedJobStore(app)
    w = make_worker(app, failer=store)

    @w.handler(CLS)
    async def handle(job: AsyncJob) -> None:
        raise RuntimeError("kaput")

    res = await w.run(once=True)
    assert res.failed == 1 and res.released == 0
    [failed] = await store.all()
    assert "builtins.RuntimeError: kaput" in failed.exception


async def test_retry_until_passed_fails(app: AsyncLaravel, r: redis_sync.Redis) -> None:
    push(r, app, payload(5, retryUntil=int(_backend.wall_time()) - 5, maxTries=100))
    store = AsyncRedisFailedJobStore(app)
    w = make_worker(app, failer=store)
    w.handler(CLS)(lambda job: None)  # type: ignore[arg-type,return-value]
    res = await w.run(once=True)
    assert res.failed == 1


async def test_max_exceptions(app: AsyncLaravel, r: redis_sync.Redis) -> None:
    keys = app.keys.queue()
    push(r, app, payload(6, maxTries=10, maxExceptions=2))
    store = AsyncRedisFailedJobStore(app)
    w = make_worker(app, failer=store)

    @w.handler(CLS)
    async def handle(job: AsyncJob) -> None:
        raise RuntimeError("x")

    await w.run(once=True)
    [(member, _)] = r.zrange(keys.delayed, 0, -1, withscores=True)
    cache = app.connection("cache")
    assert await cache.get(app.keys.job_exceptions("uuid-6")) == b"1"
    r.zadd(keys.delayed, {member: 0})
    res = await w.run(once=True)
    assert res.failed == 1
    assert await cache.exists(app.keys.job_exceptions("uuid-6")) == 0


async def test_timeout_leaves_job_reserved_or_fails_on_timeout(
    app: AsyncLaravel, r: redis_sync.Redis
) -> None:
    keys = app.keys.queue()
    push(r, app, payload(7, timeout=1, maxTries=3))
    push(r, app, payload(8, timeout=1, maxTries=3, failOnTimeout=True))
    store = AsyncRedisFailedJobStore(app)
    w = make_worker(app, failer=store)

    @w.handler(CLS)
    async def handle(job: AsyncJob) -> None:
        await _backend.sleep(5)

    await w.run(once=True)
    assert r.zcard(keys.reserved) == 1  # comes back after retry_after, attempt counted
    assert await store.all() == []
    await w.run(once=True)
    [failed] = await store.all()
    assert failed.id == "uuid-8"
    assert (
        "TimeoutExceededException: App\\Jobs\\Thing has timed out." in failed.exception
    )


async def test_expired_reservation_migrates_back(
    app: AsyncLaravel, r: redis_sync.Redis
) -> None:
    keys = app.keys.queue()
    reserved = payload(9, attempts=1)
    r.zadd(keys.reserved, {reserved: int(_backend.wall_time()) - 1})
    w = make_worker(app, tries=0)
    seen: list[int] = []

    @w.handler(CLS)
    async def handle(job: AsyncJob) -> None:
        seen.append(job.attempts)

    await w.run(once=True)
    assert seen == [2]


async def test_priority_and_limits(app: AsyncLaravel, r: redis_sync.Redis) -> None:
    for i in range(3):
        push(r, app, payload(i), "low")
    for i in range(3, 5):
        push(r, app, payload(i), "high")
    w = make_worker(app, queues=["high", "low"])
    order: list[tuple[str, int]] = []

    @w.handler(CLS)
    async def handle(job: AsyncJob) -> None:
        order.append((job.queue, job.properties["n"]))

    res = await w.run(max_jobs=3)
    assert res.reason == "max_jobs" and res.jobs == 3
    assert order == [("high", 3), ("high", 4), ("low", 0)]
    res = await w.run(stop_when_empty=True)
    assert res.reason == "empty" and res.jobs == 2


async def test_concurrency_runs_jobs_side_by_side(
    app: AsyncLaravel, r: redis_sync.Redis
) -> None:
    for i in range(8):
        push(r, app, payload(i))
    w = make_worker(app, concurrency=4)
    running = 0
    peak = 0

    @w.handler(CLS)
    async def handle(job: AsyncJob) -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await _backend.sleep(0.2)
        running -= 1

    t0 = _backend.monotonic()
    res = await w.run(stop_when_empty=True)
    assert res.jobs == 8 and res.deleted == 8
    assert peak == 4 and _backend.monotonic() - t0 < 1.5


async def test_block_for_waits_on_notify(
    app: AsyncLaravel, r: redis_sync.Redis
) -> None:
    w = make_worker(app, block_for=1)
    w.handler(CLS)(lambda job: _backend.sleep(0))  # type: ignore[arg-type]
    t0 = _backend.monotonic()
    res = await w.run(once=True)
    assert res.jobs == 0 and _backend.monotonic() - t0 >= 0.9


async def test_max_time(app: AsyncLaravel) -> None:
    w = make_worker(app, sleep=0.1)
    res = await w.run(max_time=0.3)
    assert res.reason == "max_time" and 0.3 <= res.elapsed < 1.5


async def test_sigterm_finishes_current_job(
    app: AsyncLaravel, r: redis_sync.Redis
) -> None:
    for i in range(3):
        push(r, app, payload(i))
    w = make_worker(app, handle_signals=True)
    done: list[int] = []

    @w.handler(CLS)
    async def handle(job: AsyncJob) -> None:
        os.kill(os.getpid(), signal.SIGTERM)
        await _backend.sleep(0.05)
        done.append(job.properties["n"])

    res = await w.run()
    assert res.reason == "signal" and done == [0] and res.deleted == 1
    assert (
        r.llen(app.keys.queue().ready) == 2 and r.zcard(app.keys.queue().reserved) == 0
    )


async def test_manual_release_delete_fail(
    app: AsyncLaravel, r: redis_sync.Redis
) -> None:
    keys = app.keys.queue()
    for i in range(3):
        push(r, app, payload(i))
    store = AsyncRedisFailedJobStore(app)
    w = make_worker(app, failer=store)
    failed_hook: list[str] = []

    async def on_failed(job: AsyncJob, exc: BaseException) -> None:
        failed_hook.append(str(exc))

    @w.handler(CLS, failed=on_failed)
    async def handle(job: AsyncJob) -> None:
        n = job.properties["n"]
        if n == 0:
            await job.release(5)
        elif n == 1:
            await job.delete()
        else:
            await job.fail()
        assert job.is_released or job.is_deleted or job.has_failed

    res = await w.run(stop_when_empty=True)
    assert (res.released, res.deleted, res.failed) == (1, 1, 1)
    assert r.zcard(keys.delayed) == 1 and r.zcard(keys.reserved) == 0
    # Job::fail(null) records `new ManuallyFailedException` (no message)
    assert failed_hook == [""]
    [f] = await store.all()
    assert f.exception == (
        "Illuminate\\Queue\\ManuallyFailedException\nStack trace:\n#0 {main}"
    )


async def test_laravel8_migrate_sends_no_limit(
    redis_url: str, prefix: str, r: redis_sync.Redis
) -> None:
    async with AsyncLaravel.from_url(
        redis_url, laravel_version="8.83", redis_prefix=prefix
    ) as app8:
        keys = app8.keys.queue()
        r.zadd(keys.delayed, {payload(1): 1, payload(2): 2})
        w = make_worker(app8, tries=0)
        seen: list[int] = []

        @w.handler(CLS)
        async def handle(job: AsyncJob) -> None:
            seen.append(job.properties["n"])

        res = await w.run(stop_when_empty=True)
        assert seen == [1, 2] and res.jobs == 2


async def test_prefetch_keeps_order_and_limits(
    app: AsyncLaravel, r: redis_sync.Redis
) -> None:
    keys = app.keys.queue()
    for i in range(10):
        push(r, app, payload(i))
    w = make_worker(app, prefetch=4)
    seen: list[int] = []

    @w.handler(CLS)
    async def handle(job: AsyncJob) -> None:
        seen.append(job.properties["n"])
        assert r.zcard(keys.reserved) >= 1

    res = await w.run(max_jobs=3)
    assert res.jobs == 3 and seen == [0, 1, 2] and r.llen(keys.ready) == 7
    res = await w.run(stop_when_empty=True)
    assert res.jobs == 7 and seen == list(range(10))
    assert r.zcard(keys.reserved) == 0 and r.llen(keys.notify) == 0
