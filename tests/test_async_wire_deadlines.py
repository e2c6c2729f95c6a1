"""asyncio-only behaviour of the wire's lean read path (``_backend.roundtrip`` with the
current task's ``Timer``): socket timeouts, the caller's own timeouts and cancellation
behave exactly as with redis-py's reads, and nothing is left behind."""

from __future__ import annotations

import asyncio
import uuid

import pytest
import redis.asyncio as redis
from redis.backoff import NoBackoff

from ninja_redis._async import _backend
from ninja_redis._async.app import AsyncLaravel

pytestmark = pytest.mark.skipif(
    not hasattr(asyncio, "timeout"), reason="the task timer needs Python 3.11+"
)


def client(redis_url: str, timeout: float) -> redis.Redis:
    return redis.Redis.from_url(
        redis_url, socket_timeout=timeout, retry=redis.retry.Retry(NoBackoff(), 0)
    )


async def test_socket_timeout_is_a_redis_timeout_and_leaves_the_task_clean(
    redis_url: str,
) -> None:
    c = client(redis_url, 0.2)
    app = AsyncLaravel.from_client(c)
    try:
        wire = app.wire()
        await wire.execute("PING")
        with pytest.raises(redis.TimeoutError):
            await wire.execute("BLPOP", f"never:{uuid.uuid4().hex}", 3)
        task = asyncio.current_task()
        assert task is not None and task.cancelling() == 0  # the cancel was consumed
        await asyncio.sleep(0.3)  # a stale timer must not cancel us later
        assert await wire.execute("ECHO", b"x") == b"x"
        assert len(wire._opened) == 1  # the timed-out socket was dropped and replaced
    finally:
        await app.aclose()
        await c.aclose()


async def test_callers_own_timeout_wins_and_is_not_a_redis_timeout(
    redis_url: str,
) -> None:
    c = client(redis_url, 10)
    app = AsyncLaravel.from_client(c)
    try:
        wire = app.wire()
        await wire.execute("PING")
        with pytest.raises(TimeoutError) as info:
            async with asyncio.timeout(0.2):
                await wire.execute("BLPOP", f"never:{uuid.uuid4().hex}", 3)
        assert not isinstance(info.value, redis.TimeoutError)
        assert await wire.execute("ECHO", b"y") == b"y"
    finally:
        await app.aclose()
        await c.aclose()


async def test_cancelled_command_drops_its_socket(redis_url: str) -> None:
    c = client(redis_url, 10)
    app = AsyncLaravel.from_client(c)
    try:
        wire = app.wire()
        await wire.execute("PING")
        key = f"never:{uuid.uuid4().hex}"
        blocked = asyncio.ensure_future(wire.execute("BLPOP", key, 5))
        await asyncio.sleep(0.1)
        blocked.cancel()
        with pytest.raises(asyncio.CancelledError):
            await blocked
        # the half-read connection is gone: a value pushed now is not eaten by it
        await wire.execute("RPUSH", key, b"v")
        assert await wire.execute("LPOP", key) == b"v"
        assert all(conn.is_connected for conn in wire._free)
    finally:
        await app.aclose()
        await c.aclose()


async def test_task_timers_are_forgotten_when_tasks_end(redis_url: str) -> None:
    async with AsyncLaravel.from_url(redis_url) as app:
        wire = app.wire()

        async def some_commands() -> int:
            for _ in range(50):
                await wire.execute("PING")
            return len(_backend._TASK_TIMERS)

        before = len(_backend._TASK_TIMERS)
        counts = await asyncio.gather(*(some_commands() for _ in range(20)))
        assert max(counts) >= before + 1  # each task had its one timer
        await asyncio.sleep(0)  # done callbacks run
        assert len(_backend._TASK_TIMERS) == before
