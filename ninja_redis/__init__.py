"""ninja_redis: read and write a Laravel application's Redis data from Python, byte for byte.

::

    from ninja_redis import Laravel

    app = Laravel.from_env(".env")
    app.cache.put("greeting", "hello", 600)      # PHP: Cache::get('greeting')

``AsyncLaravel`` is the asyncio twin with the same methods.

The pure parts (config, keys, PHP serialize, the encrypter, payloads, sessions) are
imported with the package; the Redis-backed classes (``Laravel``, ``Cache``, ``Queue``,
...) on first use, so ``import ninja_redis`` and ``ninja_redis.php`` work without
loading redis-py or asyncio.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .config import LaravelConfig, LaravelVersion, RedisConnectionConfig
from .crypto import Encrypter, LaravelCookies
from .exceptions import (
    CodecError,
    ConfigError,
    DecryptError,
    JobPayloadError,
    LockError,
    LockNotOwned,
    LockTimeout,
    MaxAttemptsExceeded,
    MissingExtraError,
    NinjaRedisError,
    PackError,
    QueueError,
    SerializeError,
    SessionConflict,
    TimeoutExceeded,
    UnknownJob,
    UnserializeError,
)
from .keys import KeySpace
from .payloads import PhpJob
from .php import PhpEnum, PhpObject
from .sessions import Session

if TYPE_CHECKING:
    from ._async.app import AsyncLaravel
    from ._async.cache import AsyncCache
    from ._async.lock import AsyncLock
    from ._async.queue import AsyncQueue
    from ._async.rate_limiter import AsyncRateLimiter
    from ._async.session import AsyncSessionStore
    from ._async.worker import AsyncWorker
    from ._sync.app import Laravel
    from ._sync.cache import Cache
    from ._sync.lock import Lock
    from ._sync.queue import Queue
    from ._sync.rate_limiter import RateLimiter
    from ._sync.session import SessionStore
    from ._sync.worker import Worker

__version__ = "0.1.0"

__all__ = [
    "AsyncCache",
    "AsyncLaravel",
    "AsyncLock",
    "AsyncQueue",
    "AsyncRateLimiter",
    "AsyncSessionStore",
    "AsyncWorker",
    "Cache",
    "CodecError",
    "ConfigError",
    "DecryptError",
    "Encrypter",
    "JobPayloadError",
    "KeySpace",
    "Laravel",
    "LaravelConfig",
    "LaravelCookies",
    "LaravelVersion",
    "Lock",
    "LockError",
    "LockNotOwned",
    "LockTimeout",
    "MaxAttemptsExceeded",
    "MissingExtraError",
    "NinjaRedisError",
    "PackError",
    "PhpEnum",
    "PhpJob",
    "PhpObject",
    "Queue",
    "QueueError",
    "RateLimiter",
    "RedisConnectionConfig",
    "SerializeError",
    "Session",
    "SessionConflict",
    "SessionStore",
    "TimeoutExceeded",
    "UnknownJob",
    "UnserializeError",
    "Worker",
    "__version__",
]

# The Redis-backed classes (they import redis-py and asyncio), imported on first
# attribute access (PEP 562); the TYPE_CHECKING imports above give type checkers the
# same names.
_LAZY: dict[str, str] = {
    "AsyncCache": "ninja_redis._async.cache",
    "AsyncLaravel": "ninja_redis._async.app",
    "AsyncLock": "ninja_redis._async.lock",
    "AsyncQueue": "ninja_redis._async.queue",
    "AsyncRateLimiter": "ninja_redis._async.rate_limiter",
    "AsyncSessionStore": "ninja_redis._async.session",
    "AsyncWorker": "ninja_redis._async.worker",
    "Cache": "ninja_redis._sync.cache",
    "Laravel": "ninja_redis._sync.app",
    "Lock": "ninja_redis._sync.lock",
    "Queue": "ninja_redis._sync.queue",
    "RateLimiter": "ninja_redis._sync.rate_limiter",
    "SessionStore": "ninja_redis._sync.session",
    "Worker": "ninja_redis._sync.worker",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'ninja_redis' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
