"""Atomic locks against a real Redis: bytes, ownership, expiry, block(), contention.

The contention test runs 20 contenders side by side (asyncio tasks here, threads in the
generated blocking twin) over 2000 acquisitions and checks mutual exclusion with a shared
critical-section flag.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
import redis as sync_redis

from ninja_redis._async._backend import monotonic, run_concurrently, sleep
from ninja_redis._async.app import AsyncLaravel
from ninja_redis.exceptions import LockTimeout


@pytest_asyncio.fixture
async def app(redis_url: str, prefix: str) -> AsyncIterator[AsyncLaravel]:
    app = AsyncLaravel.from_url(redis_url, laravel_version="12.67", redis_prefix=prefix)
    try:
        yield app
    finally:
        await app.aclose()


def raw0(app: AsyncLaravel) -> sync_redis.Redis:
    conn = app.config.connection("default")
    return sync_redis.Redis(host=conn.host, port=conn.port, db=0)


async def test_lock_bytes_and_release(app: AsyncLaravel, prefix: str) -> None:
    r = raw0(app)
    cache = app.cache
    key = f"{prefix}laravel-cache-orders:process".encode()
    lock = cache.lock("orders:process", 10, "owner-abc")
    assert await lock.get() is True
    assert r.get(key) == b"owner-abc" and r.ttl(key) == 10
    assert await cache.lock("orders:process", 10).get() is False
    assert await lock.current_owner() == "owner-abc"
    assert await lock.is_owned_by_current_process() is True
    assert await cache.restore_lock("orders:process", "wrong").release() is False
    assert r.get(key) == b"owner-abc" and r.ttl(key) == 10  # non-owner never deletes
    assert await cache.restore_lock("orders:process", "owner-abc").release() is True
    assert r.exists(key) == 0
    forever = cache.lock("forever", 0)
    assert await forever.get()
    assert r.ttl(f"{prefix}laravel-cache-forever".encode()) == -1
    await cache.lock("forever").force_release()
    assert r.exists(f"{prefix}laravel-cache-forever".encode()) == 0
    r.close()


async def test_refresh(app: AsyncLaravel, prefix: str) -> None:
    r = raw0(app)
    key = f"{prefix}laravel-cache-job".encode()
    lock = app.cache.lock("job", 10)
    assert await lock.get()
    assert await lock.refresh(100) is True
    assert r.ttl(key) == 100
    assert await lock.refresh() is True
    assert r.ttl(key) == 10
    assert await lock.refresh(0) is True
    assert r.ttl(key) == -1
    assert await app.cache.lock("job", 10, "other").refresh() is False
    r.close()


async def test_get_callback_and_context_manager(app: AsyncLaravel) -> None:
    cache = app.cache
    assert await cache.lock("cb", 10).get(lambda: "ran") == "ran"
    assert await cache.lock("cb", 10).get() is True  # released after the callback
    other = cache.lock("cm", 10)
    async with cache.lock("cm", 10) as held:
        assert await held.is_owned_by_current_process()
        with pytest.raises(LockTimeout):
            async with other:
                pass  # pragma: no cover
    assert await other.get() is True
    await other.release()
    async with await cache.lock("cm", 10).block(1) as lk:
        assert await lk.is_owned_by_current_process()
    assert await cache.lock("cm", 10).block(1, lambda: 7) == 7


@pytest.mark.slow
async def test_block_deadline_and_crashed_holder(app: AsyncLaravel) -> None:
    cache = app.cache
    assert await cache.lock("held", 30, "holder").get()
    start = monotonic()
    with pytest.raises(LockTimeout):
        await cache.lock("held", 30).block(0.6)
    elapsed = monotonic() - start
    assert 0.2 <= elapsed <= 0.6 + 0.1  # never sleeps past the budget
    # a crashed holder (TTL 1, never released): the lock expires and can be taken
    assert await cache.lock("crash", 1, "dead").get()
    start = monotonic()
    waiter = cache.lock("crash", 5).between_blocked_attempts_sleep_for(50)
    assert await waiter.block(3) is waiter
    assert 0.3 <= monotonic() - start <= 2.0
    assert await waiter.release()


@pytest.mark.slow
async def test_mutual_exclusion_20_contenders(app: AsyncLaravel) -> None:
    cache = app.cache
    state = {"inside": 0, "entries": 0, "violations": 0}
    per_contender = 100

    def runner(n: int):  # type: ignore[no-untyped-def]
        async def run() -> None:
            done = 0
            while done < per_contender:
                lock = cache.lock("hot", 5).between_blocked_attempts_sleep_for(10)
                await lock.block(10)
                state["inside"] += 1
                if state["inside"] != 1:
                    state["violations"] += 1
                state["entries"] += 1
                await sleep(0)
                state["inside"] -= 1
                assert await lock.release()
                done += 1

        return run

    await run_concurrently([runner(i) for i in range(20)])
    assert state["entries"] == 20 * per_contender
    assert state["violations"] == 0
