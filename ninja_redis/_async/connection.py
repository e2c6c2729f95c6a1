"""redis-py clients for the connections of a :class:`~ninja_redis.config.LaravelConfig`."""

from __future__ import annotations

from typing import Any

import redis.asyncio as redis

from ..config import RedisConnectionConfig

__all__ = ["create_client"]


def create_client(
    conn: RedisConnectionConfig, *, cluster: bool = False, **options: Any
) -> redis.Redis:
    """A redis-py client (hiredis parser, bytes replies) for one Laravel connection.

    Standalone, TLS (``rediss://``), ACL username + password, unix sockets; with
    ``cluster=True`` a ``RedisCluster`` seeded from the same host. ``options`` go to
    redis-py unchanged (``ssl_ca_certs=...``, ``max_connections=...``).
    """
    kwargs: dict[str, Any] = {
        "username": conn.username,
        "password": conn.password,
        "decode_responses": False,
        # RESP2, like phpredis: no HELLO handshake, the same reply shapes as Laravel sees
        "protocol": 2,
        "socket_timeout": conn.read_timeout or conn.timeout,
        "socket_connect_timeout": conn.timeout,
    }
    if conn.tls:
        kwargs["ssl"] = True
    kwargs.update(options)
    if cluster:
        from redis.asyncio.cluster import RedisCluster

        client: Any = RedisCluster(host=conn.host, port=conn.port, **kwargs)
        return client  # type: ignore[no-any-return]
    if conn.unix_socket:
        kwargs.pop("ssl", None)
        return redis.Redis(
            unix_socket_path=conn.unix_socket, db=conn.database, **kwargs
        )
    return redis.Redis(host=conn.host, port=conn.port, db=conn.database, **kwargs)
