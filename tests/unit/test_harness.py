"""The test harness itself: private redis-servers with per-test config."""

from __future__ import annotations

import pytest
import redis

from tests.conftest import RedisServerFactory


def test_private_server_is_not_the_shared_one(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    assert client.ping()
    assert client.connection_pool.connection_kwargs["port"] != 6379
    client.close()


def test_factory_applies_acl_and_renamed_commands(
    redis_server_factory: RedisServerFactory,
) -> None:
    server = redis_server_factory(
        [
            'rename-command FLUSHALL ""',
            'rename-command KEYS ""',
            'rename-command CONFIG ""',
            "user default off",
            "user app on >s3cret ~* &* +@all",
        ],
        username="app",
        password="s3cret",
    )
    client = server.client()
    assert client.set("k", "v")
    with pytest.raises(redis.exceptions.ResponseError):
        client.keys("*")
    with pytest.raises(redis.exceptions.ResponseError):
        client.flushall()
    client.close()
    with pytest.raises(redis.exceptions.AuthenticationError):
        redis.Redis(port=server.port).ping()
