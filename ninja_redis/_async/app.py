"""``AsyncLaravel``: one object per Laravel app, holding its config, keys and clients."""

from __future__ import annotations

import os
from functools import cached_property
from typing import TYPE_CHECKING, Any

import redis.asyncio as redis

from ..config import LaravelConfig, LaravelVersion
from ..exceptions import ConfigError
from ..keys import KeySpace
from .connection import create_client
from .wire import AsyncWire

if TYPE_CHECKING:
    from types import TracebackType

    from ..codec import LaravelCacheCodec
    from ..crypto import Encrypter, LaravelCookies
    from .cache import AsyncCache
    from .queue import AsyncQueue
    from .rate_limiter import AsyncRateLimiter
    from .session import AsyncSessionStore
    from .worker import AsyncWorker

__all__ = ["AsyncLaravel"]

VersionLike = str | int | tuple[int, ...] | LaravelVersion | None


class AsyncLaravel:
    """A Laravel application's Redis data (the asyncio and the blocking class have the
    same API; with asyncio every call is awaited).

    ``app = AsyncLaravel.from_env(".env")``, then ``app.cache``, ``app.sessions``,
    ``app.queue``, ``app.encrypter``, ``app.cookies``, ``app.rate_limiter``,
    ``app.worker(...)``. Clients are created lazily, one per Laravel Redis connection
    (``default``, ``cache``) unless you pass your own with :meth:`from_client`. Use
    ``async with`` or :meth:`aclose`.
    """

    def __init__(
        self,
        config: LaravelConfig,
        *,
        clients: dict[str, redis.Redis] | None = None,
        client_options: dict[str, Any] | None = None,
    ) -> None:
        self.config = config
        self.keys = KeySpace(config)
        self._clients: dict[str, redis.Redis] = dict(clients or {})
        self._owned: set[str] = set()
        self._client_options = dict(client_options or {})
        self._codecs: dict[str, LaravelCacheCodec] = {}
        self._wires: dict[str, AsyncWire] = {}

    # ------------------------------------------------------------ constructors

    @classmethod
    def from_env(
        cls,
        path: str | os.PathLike[str] | None = None,
        *,
        laravel_version: VersionLike = None,
        **overrides: Any,
    ) -> AsyncLaravel:
        """Configure from a Laravel ``.env`` file and the environment (see
        :meth:`LaravelConfig.from_env`)."""
        return cls(
            LaravelConfig.from_env(path, laravel_version=laravel_version, **overrides)
        )

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        laravel_version: VersionLike = None,
        client_options: dict[str, Any] | None = None,
        **overrides: Any,
    ) -> AsyncLaravel:
        """Configure for the Redis server at ``url`` with the version's defaults."""
        config = LaravelConfig.from_url(
            url, laravel_version=laravel_version, **overrides
        )
        return cls(config, client_options=client_options)

    @classmethod
    def from_mapping(
        cls,
        env: dict[str, Any],
        *,
        laravel_version: VersionLike = None,
        **overrides: Any,
    ) -> AsyncLaravel:
        """Configure from a mapping of Laravel env variables."""
        return cls(
            LaravelConfig.from_mapping(
                env, laravel_version=laravel_version, **overrides
            )
        )

    @classmethod
    def from_client(
        cls,
        client: redis.Redis,
        config: LaravelConfig | None = None,
        *,
        cache_client: redis.Redis | None = None,
    ) -> AsyncLaravel:
        """Use an existing redis-py client for every connection (or ``cache_client``
        for the cache connection). The caller keeps ownership of the clients.

        A ``RedisCluster`` client sets ``config.cluster`` (Laravel decides by the
        connection type too), so keys and commands are the cluster ones.
        """
        config = config or LaravelConfig()
        if not config.cluster and any(
            _is_cluster_client(c) for c in (client, cache_client) if c is not None
        ):
            config = config.replace(cluster=True)
        clients = {name: client for name in config.connections}
        if cache_client is not None:
            clients[config.cache_connection] = cache_client
        return cls(config, clients=clients)

    # ---------------------------------------------------------------- clients

    def connection(self, name: str | None = None) -> redis.Redis:
        """The redis-py client of a Laravel Redis connection (``None`` → ``default``)."""
        key = name or "default"
        client = self._clients.get(key)
        if client is None:
            conn = self.config.connection(key)
            # Connections that differ only in name share one client.
            for other, existing in self._clients.items():
                if other in self.config.connections and _same_server(
                    self.config.connection(other), conn, cluster=self.config.cluster
                ):
                    client = existing
                    break
            else:
                client = create_client(
                    conn, cluster=self.config.cluster, **self._client_options
                )
                self._owned.add(key)
            self._clients[key] = client
        return client

    def wire(self, name: str | None = None) -> AsyncWire:
        """The lean command path (:class:`AsyncWire`) of a Laravel Redis connection."""
        key = name or "default"
        wire = self._wires.get(key)
        if wire is None:
            client = self.connection(key)
            for other in self._wires.values():
                if other.client is client:
                    wire = other
                    break
            else:
                wire = AsyncWire(client)
            self._wires[key] = wire
        return wire

    def codec(self, connection: str | None = None) -> LaravelCacheCodec:
        """The cache-value codec for a connection's phpredis serializer/compression."""
        key = connection or "default"
        codec = self._codecs.get(key)
        if codec is None:
            from ..codec import LaravelCacheCodec

            conn = self.config.connection(key)
            codec = LaravelCacheCodec(
                laravel_version=(
                    self.config.laravel_version.major,
                    self.config.laravel_version.minor,
                ),
                serializer=conn.serializer,
                compression=conn.compression,
                compression_level=conn.compression_level,
                allowed_classes=self.config.serializable_classes,
            )
            self._codecs[key] = codec
        return codec

    async def aclose(self) -> None:
        """Close the clients this object created (not those passed in) and the
        connections of its wires."""
        sessions = self.__dict__.get("sessions")
        if sessions is not None:  # its client-side cache's subscriber, if any
            await sessions.aclose()
        wires = {id(w): w for w in self._wires.values()}
        self._wires.clear()
        for wire in wires.values():
            await wire.aclose()
        seen: set[int] = set()
        for name in list(self._owned):
            client = self._clients.pop(name, None)
            if client is not None and id(client) not in seen:
                seen.add(id(client))
                await client.aclose()
        self._owned.clear()

    async def __aenter__(self) -> AsyncLaravel:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # ------------------------------------------------------------------ parts

    @cached_property
    def encrypter(self) -> Encrypter:
        """The app's Encrypter (``APP_KEY``, cipher, ``APP_PREVIOUS_KEYS``)."""
        from ..crypto import Encrypter

        if not self.config.app_key:
            raise ConfigError("APP_KEY is not set", variable="APP_KEY")
        return Encrypter.from_app_key(
            self.config.app_key, self.config.cipher, self.config.previous_keys
        )

    @cached_property
    def cookies(self) -> LaravelCookies:
        """Cookies as ``EncryptCookies`` encrypts them."""
        from ..crypto import LaravelCookies

        return LaravelCookies(self.encrypter)

    @cached_property
    def cache(self) -> AsyncCache:
        """The ``redis`` cache store (``Cache::`` in PHP)."""
        from .cache import AsyncCache

        return AsyncCache(self)

    @cached_property
    def rate_limiter(self) -> AsyncRateLimiter:
        """Laravel's ``RateLimiter`` on the ``redis`` cache store (``RateLimiter::``)."""
        from .rate_limiter import AsyncRateLimiter

        return AsyncRateLimiter(self)

    @cached_property
    def sessions(self) -> AsyncSessionStore:
        """The Redis session store."""
        from .session import AsyncSessionStore

        return AsyncSessionStore(self)

    @cached_property
    def queue(self) -> AsyncQueue:
        """The Redis queue connection (``Queue::`` in PHP)."""
        from .queue import AsyncQueue

        return AsyncQueue(self)

    def worker(self, queues: list[str] | None = None, **options: Any) -> AsyncWorker:
        """A worker that runs jobs from Laravel queues with Laravel's semantics."""
        from .worker import AsyncWorker

        return AsyncWorker(self, queues=queues, **options)

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} laravel {self.config.laravel_version} "
            f"{self.config.connection('default').url}>"
        )


def _same_server(a: Any, b: Any, *, cluster: bool = False) -> bool:
    # a cluster has database 0 only: REDIS_DB / REDIS_CACHE_DB make no difference
    db_a, db_b = (0, 0) if cluster else (a.database, b.database)
    return bool(
        (a.host, a.port, db_a, a.username, a.password, a.tls, a.unix_socket)
        == (b.host, b.port, db_b, b.username, b.password, b.tls, b.unix_socket)
    )


def _is_cluster_client(client: Any) -> bool:
    from redis.asyncio.cluster import RedisCluster

    return isinstance(client, RedisCluster)
