"""ninja_redis: read and write a Laravel application's Redis data from Python, byte for byte.

::

    from ninja_redis import Laravel

    app = Laravel.from_env(".env")
    app.cache.put("greeting", "hello", 600)      # PHP: Cache::get('greeting')

``AsyncLaravel`` is the asyncio twin with the same methods.

The pure parts (config, keys, PHP serialize, the encrypter) are imported with the
package; the Redis-backed classes (``Laravel``, ``Cache``, ``Queue``, ...) on first use,
so ``import ninja_redis.php`` works without redis-py or asyncio.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .config import LaravelConfig, LaravelVersion, RedisConnectionConfig
from .exceptions import (
    CodecError,
    ConfigError,
    DecryptError,
    JobPayloadError,
    LockError,
    LockNotOwned,
    LockTimeout,
    MissingExtraError,
    NinjaRedisError,
    PackError,
    QueueError,
    SerializeError,
    UnknownJob,
    UnserializeError,
)
from .keys import KeySpace
from .php import PhpEnum, PhpObject

if TYPE_CHECKING:
    from ._async.app import AsyncLaravel
    from ._sync.app import Laravel

__version__ = "0.1.0"

__all__ = [
    "AsyncLaravel",
    "CodecError",
    "ConfigError",
    "DecryptError",
    "JobPayloadError",
    "KeySpace",
    "Laravel",
    "LaravelConfig",
    "LaravelVersion",
    "LockError",
    "LockNotOwned",
    "LockTimeout",
    "MissingExtraError",
    "NinjaRedisError",
    "PackError",
    "PhpEnum",
    "PhpObject",
    "QueueError",
    "RedisConnectionConfig",
    "SerializeError",
    "UnknownJob",
    "UnserializeError",
    "__version__",
]

# Public name -> module, imported on first attribute access (PEP 562).
_LAZY: dict[str, str] = {
    "AsyncLaravel": "ninja_redis._async.app",
    "Laravel": "ninja_redis._sync.app",
}

# TEMPORARY while these modules are being written: a name is exported once its module
# exists. Replaced by plain entries above before the first release.
_PENDING: dict[str, str] = {
    "AsyncCache": "ninja_redis._async.cache",
    "AsyncLock": "ninja_redis._async.lock",
    "AsyncQueue": "ninja_redis._async.queue",
    "AsyncSessionStore": "ninja_redis._async.session",
    "AsyncWorker": "ninja_redis._async.worker",
    "Cache": "ninja_redis._sync.cache",
    "Encrypter": "ninja_redis.crypto",
    "LaravelCookies": "ninja_redis.crypto",
    "Lock": "ninja_redis._sync.lock",
    "PhpJob": "ninja_redis.payloads",
    "Queue": "ninja_redis._sync.queue",
    "Session": "ninja_redis._sync.session",
    "SessionStore": "ninja_redis._sync.session",
    "Worker": "ninja_redis._sync.worker",
}


def _exists(module: str) -> bool:
    from importlib.util import find_spec

    try:
        return find_spec(module) is not None
    except ModuleNotFoundError:
        return False


for _name, _module in _PENDING.items():
    if _exists(_module):
        _LAZY[_name] = _module
        __all__.append(_name)
__all__.sort()


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'ninja_redis' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
