"""Every error ninja_redis raises.

::

    NinjaRedisError
    ├── ConfigError                  bad or missing .env / config values (also ValueError)
    ├── MissingExtraError            an optional dependency is needed (also ImportError); .extra
    ├── CodecError
    │   ├── SerializeError           a Python value has no PHP form; .value
    │   ├── UnserializeError         corrupt or hostile PHP serialize() data (also ValueError);
    │   │                            .data, .offset, .key
    │   └── PackError                phpredis serializer/compression framing; .data
    ├── DecryptError                 bad payload, MAC, key or cipher (also ValueError); .payload
    ├── LockError
    │   ├── LockTimeout              block() ran out of time
    │   └── LockNotOwned             release/refresh by a process that does not own the lock
    ├── SessionConflict              another writer changed the session first; .key
    └── QueueError
        ├── JobPayloadError          a queue payload is not valid Laravel job JSON; .payload
        ├── UnknownJob               no handler is registered for the job's class
        └── MaxAttemptsExceeded      Laravel's MaxAttemptsExceededException (job failed)
            └── TimeoutExceeded      Laravel's TimeoutExceededException

Errors raised by redis-py (``redis.exceptions.ConnectionError``, ...) propagate unwrapped.
Messages never contain ``APP_KEY``, passwords, cookie plaintext or session contents.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "CodecError",
    "ConfigError",
    "DecryptError",
    "JobPayloadError",
    "LockError",
    "LockNotOwned",
    "LockTimeout",
    "MaxAttemptsExceeded",
    "MissingExtraError",
    "NinjaRedisError",
    "PackError",
    "QueueError",
    "SerializeError",
    "SessionConflict",
    "TimeoutExceeded",
    "UnknownJob",
    "UnserializeError",
]


def _snippet(data: bytes | str | None, offset: int = 0, width: int = 24) -> str:
    """A short, printable piece of ``data`` around ``offset`` for error messages."""
    if data is None:
        return ""
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogateescape")
    start = max(0, offset - width // 2)
    piece = data[start : start + width]
    text = repr(piece)[2:-1]
    return ("…" if start else "") + text + ("…" if start + width < len(data) else "")


class NinjaRedisError(Exception):
    """Base class of every error raised by ninja_redis itself."""


class ConfigError(NinjaRedisError, ValueError):
    """A configuration value is missing, unknown or contradictory.

    The message names the variable (``REDIS_PORT``), never its secret value.
    """

    def __init__(self, message: str, *, variable: str | None = None) -> None:
        super().__init__(message)
        self.variable = variable


class MissingExtraError(NinjaRedisError, ImportError):
    """An optional dependency is needed: ``pip install 'ninja_redis[<extra>]'``."""

    def __init__(self, what: str, extra: str, module: str) -> None:
        super().__init__(
            f"{what} needs the optional module {module!r}: "
            f"pip install 'ninja_redis[{extra}]'"
        )
        self.extra = extra
        self.module = module


class CodecError(NinjaRedisError):
    """A value could not be encoded or decoded."""


class SerializeError(CodecError, TypeError):
    """A Python value has no PHP ``serialize()`` form (``.value`` holds it)."""

    def __init__(self, message: str, value: Any = None) -> None:
        super().__init__(message)
        self.value = value


class UnserializeError(CodecError, ValueError):
    """Bytes are not valid PHP ``serialize()`` output.

    ``.data`` is the input, ``.offset`` the byte offset where decoding failed, and
    ``.key`` the Redis key the bytes came from, when known.
    """

    def __init__(
        self,
        message: str,
        data: bytes | None = None,
        offset: int = 0,
        *,
        key: bytes | str | None = None,
    ) -> None:
        self.reason = message
        self.data = data
        self.offset = offset
        self.key = key
        super().__init__(self._format())

    def _format(self) -> str:
        where = f" under key {self.key!r}" if self.key is not None else ""
        near = f" near {_snippet(self.data, self.offset)!r}" if self.data else ""
        return f"{self.reason} at offset {self.offset}{where}{near}"

    def with_key(self, key: bytes | str) -> UnserializeError:
        """Return a copy of this error that names the Redis key."""
        err = type(self)(self.reason, self.data, self.offset, key=key)
        err.__cause__ = self.__cause__
        return err


class PackError(CodecError, ValueError):
    """phpredis serializer or compression framing could not be read or written."""

    def __init__(self, message: str, data: bytes | None = None) -> None:
        super().__init__(message + (f" (data {_snippet(data)!r})" if data else ""))
        self.data = data


class DecryptError(NinjaRedisError, ValueError):
    """An encrypted payload or cookie is invalid, tampered, or for another key/cipher.

    ``.payload`` holds the (still encrypted) input; the message never contains
    plaintext or key material.
    """

    def __init__(self, message: str, payload: bytes | str | None = None) -> None:
        super().__init__(message)
        self.payload = payload


class LockError(NinjaRedisError):
    """Base class of lock errors."""


class LockTimeout(LockError):
    """``lock.block(seconds)`` could not acquire the lock in time."""


class LockNotOwned(LockError):
    """The lock is not (or no longer) held by this owner."""


class SessionConflict(NinjaRedisError):
    """Another writer changed the session between our read and our write.

    Raised by ``save(session, if_unchanged=True)`` and by ``update()`` once its
    retries are used up. ``.key`` is the full Redis key.
    """

    def __init__(self, message: str, key: bytes) -> None:
        super().__init__(message)
        self.key = key


class QueueError(NinjaRedisError):
    """Base class of queue errors."""


class JobPayloadError(QueueError, ValueError):
    """A queue payload is not a valid Laravel job (``.payload`` holds the raw bytes)."""

    def __init__(self, message: str, payload: bytes | str | None = None) -> None:
        near = f" (payload {_snippet(payload)!r})" if payload else ""
        super().__init__(message + near)
        self.payload = payload


class UnknownJob(QueueError, LookupError):
    """No handler is registered for the job's PHP class or ``job`` string."""

    def __init__(self, name: str) -> None:
        super().__init__(f"no handler registered for job {name!r}")
        self.name = name


class MaxAttemptsExceeded(QueueError):
    """Laravel's ``Illuminate\\Queue\\MaxAttemptsExceededException``."""

    php_class = "Illuminate\\Queue\\MaxAttemptsExceededException"


class TimeoutExceeded(MaxAttemptsExceeded):
    """Laravel's ``Illuminate\\Queue\\TimeoutExceededException`` (10.x+)."""

    php_class = "Illuminate\\Queue\\TimeoutExceededException"
