"""The worker's per-request deadline: a ``queue_next`` reply that never comes in time
raises redis-py's ``TimeoutError`` after ``socket_timeout`` (counted from that request,
not from an earlier one) and drops the connection; the task is not left cancelled."""

from __future__ import annotations

import pytest
import redis.asyncio as redis
from redis.exceptions import TimeoutError as RedisTimeoutError

from ninja_redis._async import _backend


def packed(*args: bytes) -> bytes:
    return b"*%d\r\n" % len(args) + b"".join(
        b"$%d\r\n%b\r\n" % (len(a), a) for a in args
    )


async def test_read_deadline_is_per_request(redis_url: str, prefix: str) -> None:
    client = redis.Redis.from_url(redis_url, socket_timeout=0.3)
    conn = await client.connection_pool.get_connection()
    try:
        timer = _backend.create_timer()
        assert await _backend.roundtrip(conn, packed(b"PING"), timer) == b"PONG"
        await _backend.sleep(0.2)  # the first request's deadline would be 0.1 s away
        start = _backend.monotonic()
        with pytest.raises(RedisTimeoutError):
            # BLPOP answers after 2 s: longer than socket_timeout
            await _backend.roundtrip(
                conn, packed(b"BLPOP", f"{prefix}nothing".encode(), b"2"), timer
            )
        elapsed = _backend.monotonic() - start
        assert 0.28 <= elapsed < 1.5
        await _backend.sleep(0.01)  # no cancellation left pending on the task
    finally:
        await conn.disconnect()
        await client.connection_pool.release(conn)
        await client.aclose()
    # A fresh connection works after the timeout.
    client = redis.Redis.from_url(redis_url, socket_timeout=0.3)
    conn = await client.connection_pool.get_connection()
    try:
        timer = _backend.create_timer()
        reply = await _backend.roundtrip(conn, packed(b"ECHO", b"x"), timer)
        assert reply == b"x"
    finally:
        await client.connection_pool.release(conn)
        await client.aclose()


async def test_handler_deadline_counts_from_its_start(
    redis_url: str, prefix: str
) -> None:
    timer = _backend.create_timer()

    async def quick(n: int) -> int:
        return n + 1

    async def slow(n: int) -> int:
        await _backend.sleep(5)
        return n

    assert await _backend.run_handler(quick, 1, 0.2, timer) == 2
    start = _backend.monotonic()
    with pytest.raises(_backend.HandlerTimeout):
        await _backend.run_handler(slow, 1, 0.2, timer)
    assert 0.18 <= _backend.monotonic() - start < 1.5
    await _backend.sleep(0.01)  # the cancellation was consumed
