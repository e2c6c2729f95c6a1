"""AsyncWire: the lean command path behaves like redis-py's execute_command."""

from __future__ import annotations

import time
import uuid

import pytest
import redis.asyncio as redis
from redis.backoff import NoBackoff
from redis.exceptions import NoScriptError, ResponseError

from ninja_redis._async.app import AsyncLaravel
from ninja_redis._async.wire import AsyncWire
from tests.conftest import RedisClusterServers, RedisServerFactory


async def test_commands_return_raw_replies(redis_url: str, prefix: str) -> None:
    async with AsyncLaravel.from_url(redis_url, redis_prefix=prefix) as app:
        wire = app.wire()
        key = app.keys.cache("w")
        assert await wire.execute("SET", key, b"v\x00\xff", "EX", 60) == b"OK"
        assert await wire.execute("GET", key) == b"v\x00\xff"
        assert await wire.execute("GET", key + b"missing") is None
        assert await wire.execute("INCRBY", key + b"n", 5) == 5
        assert await wire.execute("TTL", key) > 0
        # one wire per client: the cache connection (db 1) has its own
        assert app.wire("default") is wire
        assert app.wire("cache") is not wire


async def test_error_reply_raises_and_connection_is_reused(
    redis_url: str, prefix: str
) -> None:
    async with AsyncLaravel.from_url(redis_url, redis_prefix=prefix) as app:
        wire = app.wire()
        key = app.keys.cache("list")
        await wire.execute("RPUSH", key, b"a")
        with pytest.raises(ResponseError, match="WRONGTYPE"):
            await wire.execute("INCR", key)
        with pytest.raises(NoScriptError):
            await wire.execute("EVALSHA", "0" * 40, 0)
        assert len(wire._opened) == 1  # the same healthy connection served all three
        assert await wire.execute("LLEN", key) == 1


async def test_pipeline_is_one_write_with_every_reply(
    redis_url: str, prefix: str
) -> None:
    async with AsyncLaravel.from_url(redis_url, redis_prefix=prefix) as app:
        wire = app.wire()
        k = app.keys.cache("p")
        replies = await wire.pipeline(
            [("MULTI",), ("SET", k, 1), ("INCR", k), ("EXEC",), ("GET", k)]
        )
        assert replies == [b"OK", b"QUEUED", b"QUEUED", [b"OK", 2], b"2"]
        with pytest.raises(ResponseError):
            await wire.pipeline(
                [("RPUSH", k + b"l", 1), ("INCR", k + b"l"), ("GET", k)]
            )
        mixed = await wire.pipeline(
            [("INCR", k + b"l"), ("GET", k)], raise_on_error=False
        )
        assert isinstance(mixed[0], ResponseError)
        assert mixed[1] == b"2"
        assert await wire.pipeline([]) == []


async def test_restarted_server_falls_back_to_redis_py_retry(
    redis_server_factory: RedisServerFactory,
) -> None:
    server = redis_server_factory()
    async with AsyncLaravel.from_url(server.url) as app:
        wire = app.wire()
        assert await wire.execute("SET", "k", "v") == b"OK"
        server.restart()  # the pooled socket is now dead
        # redis-py's own retry path reconnects: the caller sees a normal reply
        assert await wire.execute("SET", "k", "v2") == b"OK"
        assert await wire.execute("GET", "k") == b"v2"
        assert await wire.pipeline([("GET", "k")]) == [b"v2"]


async def test_server_gone_raises_redis_connection_error(
    redis_server_factory: RedisServerFactory,
) -> None:
    server = redis_server_factory()
    async with AsyncLaravel.from_url(server.url, redis_timeout=1.0) as app:
        await app.wire().execute("PING")
        server.kill()
        with pytest.raises(redis.ConnectionError):
            await app.wire().execute("GET", "k")


async def test_aclose_closes_the_wire_connections(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    app = AsyncLaravel.from_client(client)
    await app.wire().execute("PING")
    conn = app.wire()._opened[0]
    assert conn.is_connected
    await app.aclose()
    assert not conn.is_connected
    assert await client.ping()  # the caller's client stays usable
    await client.aclose()


async def test_non_standalone_clients_use_execute_command(redis_url: str) -> None:
    class Proxy:  # anything that is not a plain Redis client, e.g. a cluster client
        def __init__(self, inner: redis.Redis) -> None:
            self.inner = inner

        async def execute_command(self, *args: object) -> object:
            return await self.inner.execute_command(*args)

    inner = redis.Redis.from_url(redis_url)
    wire = AsyncWire(Proxy(inner))
    assert await wire.execute("PING") is True  # redis-py's parsed reply
    await inner.aclose()


async def test_scripts_run_by_sha_and_survive_script_flush(
    redis_url: str, prefix: str
) -> None:
    from ninja_redis._scripts import script

    release = script("lock_release")
    async with AsyncLaravel.from_url(redis_url, redis_prefix=prefix) as app:
        wire = app.wire()
        key = app.keys.lock("w")
        await wire.execute("SET", key, b"me")
        await wire.execute("SCRIPT", "FLUSH")
        assert await wire.eval(release, [key], [b"other"]) == 0  # EVAL fallback
        assert await wire.execute("SCRIPT", "EXISTS", release.sha) == [1]
        assert await wire.eval(release, [key], [b"me"]) == 1  # now by sha
        assert await wire.execute("EXISTS", key) == 0


async def test_forked_child_never_uses_the_parent_sockets(redis_url: str) -> None:
    import os

    async with AsyncLaravel.from_url(redis_url) as app:
        wire = app.wire()
        await wire.execute("PING")
        parent_conn = wire._opened[0]
        pid = os.fork()
        if pid == 0:  # child: the wire starts empty, and works on its own socket
            code = 0 if (not wire._opened and not wire._free) else 3
            os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.WEXITSTATUS(status) == 0
        assert wire._opened == [parent_conn]  # the parent keeps its connection
        assert await wire.execute("PING") in (True, b"PONG")


async def test_replies_are_resp2_even_for_a_resp3_client(
    redis_url: str, prefix: str
) -> None:
    client = redis.Redis.from_url(redis_url, protocol=3)
    wire = AsyncWire(client)
    key = f"{prefix}h".encode()
    await wire.execute("HSET", key, "a", "1")
    assert await wire.execute("HGETALL", key) == [b"a", b"1"]  # RESP3 would be a map
    await wire.execute("DEL", key)
    await wire.aclose()
    await client.aclose()


async def test_read_timeout_raises_and_the_wire_recovers(redis_url: str) -> None:
    # a reply slower than the socket timeout (BLPOP blocks 2 s, the timeout is 0.2 s):
    # redis-py's TimeoutError after the client's own retry policy (here: one retry),
    # the half-read socket is dropped, and the next command gets its own reply
    client = redis.Redis.from_url(
        redis_url, socket_timeout=0.2, retry=redis.retry.Retry(NoBackoff(), 1)
    )
    app = AsyncLaravel.from_client(client)
    try:
        wire = app.wire()
        await wire.execute("PING")
        started = time.monotonic()
        with pytest.raises(redis.TimeoutError):
            await wire.execute("BLPOP", f"never:{uuid.uuid4().hex}", 2)
        assert 0.35 < time.monotonic() - started < 1.5  # two tries of 0.2 s
        assert await wire.execute("ECHO", b"after") == b"after"
        assert all(c.is_connected for c in wire._free)
    finally:
        await app.aclose()
        await client.aclose()


async def test_killed_connection_mid_use_is_retried(
    redis_url: str, prefix: str
) -> None:
    # the server drops the wire's socket between two commands (CLIENT KILL): the next
    # command sees a closed socket and is sent again on a fresh connection
    async with AsyncLaravel.from_url(redis_url, redis_prefix=prefix) as app:
        wire = app.wire()
        key = app.keys.cache("k")
        await wire.execute("CLIENT", "SETNAME", "ninja-wire-victim")
        client = redis.Redis.from_url(redis_url)
        try:
            assert await client.client_kill_filter(_type=None, skipme=True) >= 1
        finally:
            await client.aclose()
        assert await wire.execute("SET", key, b"v") == b"OK"
        assert await wire.pipeline([("GET", key), ("STRLEN", key)]) == [b"v", 1]


@pytest.mark.cluster
async def test_cluster_client_pipeline_refuses_multi_exec(
    redis_cluster: RedisClusterServers,
) -> None:
    client = redis.RedisCluster.from_url(redis_cluster.url)
    try:
        wire = AsyncWire(client)
        assert await wire.pipeline([("SET", "{t}a", 1), ("GET", "{t}a")]) == [
            True,
            b"1",
        ]  # redis-py's parsed replies on a cluster client
        with pytest.raises(ValueError, match="MULTI/EXEC"):
            await wire.pipeline([("MULTI",), ("SET", "{t}a", 2), ("EXEC",)])
        assert await wire.execute("GET", "{t}a") == b"1"
    finally:
        await client.aclose()


async def test_a_closed_wire_refuses_new_connections_without_retrying(
    redis_url: str,
) -> None:
    # a command still running when its app is closed (e.g. one its caller stopped
    # waiting for) must stop, not reconnect under redis-py's retry policy and leak
    app = AsyncLaravel.from_url(redis_url)
    wire = app.wire()
    await wire.execute("PING")
    await app.aclose()
    started = time.monotonic()
    with pytest.raises(redis.RedisError, match="closed") as info:
        await wire.execute("PING")
    assert not isinstance(info.value, (redis.ConnectionError, redis.TimeoutError))
    assert time.monotonic() - started < 0.5
    assert wire._opened == []
    # the app itself hands out a fresh wire afterwards
    async with app:
        assert await app.wire().execute("ECHO", b"again") == b"again"
