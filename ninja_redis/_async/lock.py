"""``AsyncLock``: Laravel's Redis atomic lock (``Cache::lock()``), byte for byte.

Key ``⟨P⟩⟨C⟩name`` on the store's *lock connection* (``default``, DB 0, unless
``REDIS_CACHE_LOCK_CONNECTION`` says otherwise); value = the owner string, packed
like phpredis would when the lock connection has a serializer/compression::

    SET laravel-database-laravel-cache-reports:daily Yq3bT0mLk2P9sZx1 EX 120 NX
    EVALSHA <lock_release> 1 laravel-database-laravel-cache-reports:daily Yq3bT0mLk2P9sZx1
"""

from __future__ import annotations

from base64 import b64encode
from collections.abc import Awaitable, Callable
from os import urandom
from typing import TYPE_CHECKING, Any, TypeVar, overload

from .. import _scripts
from ..exceptions import LockTimeout
from ._backend import monotonic, sleep, wall_time

if TYPE_CHECKING:
    from types import TracebackType

    from ..codec import LaravelCacheCodec
    from .wire import AsyncWire

__all__ = ["AsyncLock", "random_owner"]

T = TypeVar("T")


def random_owner(length: int = 16) -> str:
    """A lock owner like Laravel's ``Str::random()`` (16 chars ``[A-Za-z0-9]``).

    Same algorithm as ``Str::random()``: CSPRNG bytes (``os.urandom`` /
    ``random_bytes``), base64-encoded, ``+/=`` removed, repeated until long enough.
    """
    out = b""
    while len(out) < length:
        size = length - len(out)
        raw = b64encode(urandom(-(-size // 3) * 3)).translate(None, b"+/=")
        out += raw[:size]
    return out.decode("ascii")


_RELEASE = _scripts.script("lock_release")
_REFRESH = _scripts.script("lock_refresh")


class AsyncLock:
    """A Laravel cache lock (``Cache::lock($name, $seconds, $owner)``).

    Build it with ``cache.lock(name, seconds, owner)`` or ``cache.restore_lock(name,
    owner)``. ``seconds`` > 0 gives the lock a TTL (``SET NX EX``); 0 means no expiry
    (``SETNX``), like Laravel.

    Context manager: ``async with cache.lock("x", 10):`` acquires once or raises
    :class:`~ninja_redis.exceptions.LockTimeout`, and releases at the end;
    ``async with await cache.lock("x", 10).block(5):`` waits up to 5 s first.
    """

    __slots__ = (
        "_client",
        "_codec",
        "_held",
        "_key",
        "_old_block",
        "_packed_owner",
        "name",
        "owner",
        "seconds",
        "sleep_milliseconds",
    )

    def __init__(
        self,
        client: AsyncWire,
        codec: LaravelCacheCodec,
        key: bytes,
        name: str,
        seconds: int,
        owner: str | None,
        *,
        laravel_version: tuple[int, int] = (12, 67),
    ) -> None:
        self._client = client
        self._codec = codec
        self._key = key
        self.name = name
        self.seconds = int(seconds)
        #: The owner token (Laravel's ``$lock->owner()``).
        self.owner: str = owner if owner is not None else random_owner()
        self._packed_owner = codec.pack_member(self.owner)
        #: Pause between attempts of :meth:`block` (Laravel: 250 ms).
        self.sleep_milliseconds = 250
        #: before 11.20 block() sleeps first, then checks whole Unix seconds
        self._old_block = tuple(laravel_version[:2]) < (11, 20)
        self._held = False

    @property
    def key(self) -> bytes:
        """The full Redis key of the lock (⟨P⟩⟨C⟩name)."""
        return self._key

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._key!r} seconds={self.seconds}>"

    # ------------------------------------------------------------------ acquire

    async def acquire(self) -> bool:
        """Try once to take the lock; ``True`` on success (``SET NX EX`` / ``SETNX``)."""
        if self.seconds > 0:
            # SET key owner EX seconds NX  (what Client::set($k, $o, 'EX', $s, 'NX') sends)
            ok = await self._client.execute(
                "SET", self._key, self._packed_owner, "EX", self.seconds, "NX"
            )
        else:
            ok = await self._client.execute("SETNX", self._key, self._packed_owner)
        self._held = bool(ok)
        return self._held

    @overload
    async def get(self) -> bool: ...

    @overload
    async def get(self, callback: Callable[[], Awaitable[T] | T]) -> T | bool: ...

    async def get(self, callback: Callable[[], Any] | None = None) -> Any:
        """Try once to take the lock (Laravel's ``$lock->get()``).

        Without ``callback``: ``True``/``False``. With it: if acquired, run it
        (sync or async), release the lock afterwards and return its result;
        otherwise return ``False`` without calling it.
        """
        acquired = await self.acquire()
        if not acquired or callback is None:
            return acquired
        try:
            return await _call(callback)
        finally:
            await self.release()

    @overload
    async def block(self, seconds: float) -> AsyncLock: ...

    @overload
    async def block(
        self, seconds: float, callback: Callable[[], Awaitable[T] | T]
    ) -> T: ...

    async def block(
        self, seconds: float, callback: Callable[[], Any] | None = None
    ) -> Any:
        """Wait up to ``seconds`` for the lock (Laravel's ``$lock->block()``).

        Retries every :attr:`sleep_milliseconds` (250 ms). 11.20+: raises
        :class:`~ninja_redis.exceptions.LockTimeout` as soon as the next pause would
        end past the budget. Before 11.20: after each failed attempt it sleeps, then
        raises once ``time() - seconds >= start`` in whole Unix seconds (so
        ``block(1)`` can give up after a single pause). With ``callback``: run it
        while holding the lock, release, return its result. Without: return this
        lock (truthy), so ``async with await lock.block(5):`` releases it at the end.
        """
        pause = self.sleep_milliseconds / 1000
        if self._old_block:
            # Lock::block() <= 11.19: usleep, then currentTime() - $seconds >= $starting
            began = int(wall_time())
            while not await self.acquire():
                await sleep(pause)
                if int(wall_time()) - seconds >= began:
                    raise LockTimeout(
                        f"could not acquire lock {self._key!r} within {seconds:g} s"
                    )
            return await self._blocked(callback)
        start = monotonic()
        while not await self.acquire():
            if monotonic() + pause - seconds >= start:
                raise LockTimeout(
                    f"could not acquire lock {self._key!r} within {seconds:g} s"
                )
            await sleep(pause)
        return await self._blocked(callback)

    async def _blocked(self, callback: Callable[[], Any] | None) -> Any:
        if callback is None:
            return self
        try:
            return await _call(callback)
        finally:
            await self.release()

    def between_blocked_attempts_sleep_for(self, milliseconds: int) -> AsyncLock:
        """Set the pause between :meth:`block` attempts (Laravel's method of that name)."""
        self.sleep_milliseconds = int(milliseconds)
        return self

    # ------------------------------------------------------------------ release

    async def release(self) -> bool:
        """Release the lock if this owner holds it; ``True`` if it was deleted.

        Atomic (Lua compare-and-delete), so a lock taken over by another owner after
        expiry is never deleted.
        """
        result = await self._client.eval(_RELEASE, [self._key], [self._packed_owner])
        self._held = False
        return bool(result)

    async def force_release(self) -> None:
        """Delete the lock whoever owns it (``forceRelease()``: ``DEL``)."""
        await self._client.execute("DEL", self._key)
        self._held = False

    async def refresh(self, seconds: int | None = None) -> bool:
        """Reset the TTL if this owner still holds the lock (Laravel 12.63+).

        ``seconds`` defaults to the lock's own; 0 or less removes the expiry
        (``PERSIST``). Returns ``False`` when the lock is not owned.
        """
        secs = self.seconds if seconds is None else int(seconds)
        result = await self._client.eval(
            _REFRESH, [self._key], [self._packed_owner, secs]
        )
        return bool(result)

    # ------------------------------------------------------------------- owner

    async def current_owner(self) -> str | bytes | None:
        """The owner stored in Redis now (``GET``, unpacked), or ``None``."""
        raw = await self._client.execute("GET", self._key)
        if raw is None:
            return None
        return self._codec.unpack_member(raw)

    async def is_owned_by_current_process(self) -> bool:
        """Whether Redis holds this lock's owner (``isOwnedByCurrentProcess()``)."""
        raw = await self._client.execute("GET", self._key)
        return raw is not None and raw == self._packed_owner

    async def is_owned_by(self, owner: str | bytes) -> bool:
        """Whether Redis holds ``owner`` for this lock (``isOwnedBy()``)."""
        raw = await self._client.execute("GET", self._key)
        return raw is not None and raw == self._codec.pack_member(owner)

    # --------------------------------------------------------- context manager

    async def __aenter__(self) -> AsyncLock:
        if not self._held and not await self.acquire():
            raise LockTimeout(f"lock {self._key!r} is held by another owner")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.release()


async def _call(callback: Callable[[], Any]) -> Any:
    result = callback()
    if hasattr(result, "__await__"):
        result = await result
    return result
