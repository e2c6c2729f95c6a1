"""``AsyncRateLimiter``: Laravel's ``RateLimiter`` (``RateLimiter::``, the ``throttle``
middleware) on the Redis cache store, so Python and PHP count the same attempts.

Keys (cache connection, ``⟨P⟩`` = connection prefix, ``⟨C⟩`` = cache prefix)::

    counter   ⟨P⟩⟨C⟩NAME          hits in the current window, a plain integer ("3")
    timer     ⟨P⟩⟨C⟩NAME:timer    Unix time the window ends ("1767225660")

``NAME`` is ``cleanRateLimiterKey(key)`` from 8.68.1 on (``htmlentities`` with each
letters-only entity reduced to its first letter: ``é`` → ``e``, ``&`` → ``a``). Both keys
get the decay as TTL when the window opens. ``hit`` is Laravel's ``add(KEY:timer,
availableAt, decay)``, ``add(KEY, 0, decay)``, ``INCRBY KEY amount`` and, if the counter
vanished in between, ``put(KEY, …)``, run as one Lua script (one round trip, atomic).

Version differences are in :class:`~ninja_redis._ratelimit.RateLimiterRules` and
``docs/rate-limiter.md``.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from contextlib import suppress
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, TypeVar

from .. import _scripts
from .._phpvalue import is_php_numeric
from .._ratelimit import (
    RateLimiterRules,
    clean_rate_limiter_key,
    named_limiter_key,
    php_falsy,
    request_signature,
)
from ..codec import LaravelCacheCodec
from ..exceptions import CodecError, UnserializeError
from ..keys import to_bytes
from ._backend import wall_time
from .cache import _call, _corrupt, ttl_seconds

if TYPE_CHECKING:
    from .app import AsyncLaravel

__all__ = ["AsyncRateLimiter", "Decay"]

T = TypeVar("T")
#: A decay: seconds (``int``/``float``), a ``timedelta`` (PHP ``DateInterval``) or a
#: ``datetime`` the window ends at (PHP ``DateTimeInterface``; naive = local time).
Decay = int | float | timedelta | datetime
Key = str | bytes

_HIT = _scripts.script("rate_limiter_hit")
_RELEASE = _scripts.script("rate_limiter_release")
_CACHE_ADD = _scripts.script("cache_add")
_TOO_MANY = -1  # rate_limiter_hit.lua: the check failed
_UNDECODED = -2  # rate_limiter_hit.lua: the counter is not a plain integer
#: phpredis serializers that read an integer written without serialization as that
#: integer (php/igbinary fail and return the raw digits, json parses them); msgpack
#: reads "5" as 53, and compression may (rarely) mis-decode digits
_PLAIN_INT_SERIALIZERS = ("none", "php", "igbinary", "json")


def _available_at(decay: Decay, now: float) -> int:
    """``InteractsWithTime::availableAt($decay)``: when the window ends (whole seconds)."""
    if isinstance(decay, datetime):
        when = (
            decay.timestamp()
            if decay.tzinfo
            else decay.astimezone(timezone.utc).timestamp()
        )
        return math.floor(when)
    if isinstance(decay, timedelta):  # Carbon::now()->add($interval)->getTimestamp()
        return math.floor(now + decay.total_seconds())
    # Carbon::now()->addRealSeconds($decay): the whole-second timestamp plus the decay,
    # truncated back to whole seconds
    return math.floor(int(now) + decay)


def _check_decay(decay: Decay) -> None:
    if isinstance(decay, bool) or not isinstance(
        decay, (int, float, timedelta, datetime)
    ):
        raise TypeError(
            "decay_seconds must be seconds, a timedelta or a datetime, "
            f"not {type(decay).__name__}"
        )
    if isinstance(decay, float) and not math.isfinite(decay):
        raise ValueError("decay_seconds must be finite")


class AsyncRateLimiter:
    """Laravel's ``RateLimiter`` (``Illuminate\\Cache\\RateLimiter``) on the app's Redis
    cache store, asyncio flavour. Get it as ``app.rate_limiter``.

    Every method leaves exactly the keys, values and TTLs the configured Laravel version
    leaves (``laravel_version``), in as many round trips as Laravel or fewer.
    :meth:`attempt` is atomic here (check and hit in one Lua call, the hit taken back if
    the callback raises), so Python callers never let more than ``max_attempts`` through
    in a window; on a Redis Cluster (the two keys live on different slots) it runs
    Laravel's own check-then-hit sequence.
    """

    def __init__(self, app: AsyncLaravel) -> None:
        cache = app.cache
        self._keys = cache._keys
        self._wire = cache._wire
        self._codec: LaravelCacheCodec = cache._codec
        self._version = cache._version
        self._cluster = cache._cluster
        self._rules = RateLimiterRules.for_version(self._version)
        # 11.41+ write and read the counter without phpredis serialization/compression
        self._counter_codec = (
            LaravelCacheCodec(laravel_version=self._version)
            if self._rules.plain_counter
            else self._codec
        )
        packer = self._counter_codec.packer
        #: attempt() checks and hits in one Lua call when Lua reads the counter the way
        #: phpredis does (not on a cluster: counter and timer are on different slots)
        self._atomic = (
            not self._cluster
            and packer.serializer in _PLAIN_INT_SERIALIZERS
            and packer.compression == "none"
        )
        self._zero = self._counter_codec.dumps_for_add(0)  # add(KEY, 0)
        self._null = self._codec.dumps(None)  # a timer Cache::has() calls missing

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._keys.cache(b'')!r}>"

    # ------------------------------------------------------------------ keys

    def clean_rate_limiter_key(self, key: Key) -> str:
        """``RateLimiter::cleanRateLimiterKey()``: the name the counter is stored under
        (``"café & co"`` → ``"cafe a co"``); the key unchanged before 8.68.1."""
        name = to_bytes(key)
        if self._rules.clean:
            name = clean_rate_limiter_key(name)
        return name.decode("utf-8", "surrogateescape")

    #: ``RateLimiter::for()`` / ``throttle`` keys (see :mod:`ninja_redis._ratelimit`)
    named_limiter_key = staticmethod(named_limiter_key)
    request_signature = staticmethod(request_signature)

    # --------------------------------------------------------------- helpers

    def _seconds(self, decay: Decay) -> int:
        seconds = ttl_seconds(decay, self._version)
        return 0 if seconds is None else seconds

    def _hit_argv(self, decay: Decay, amount: int) -> list[bytes | int]:
        """ARGV[3..8] of rate_limiter_hit.lua for one ``increment($key, $decay, $amount)``."""
        _check_decay(decay)
        if isinstance(amount, bool) or not isinstance(amount, int):
            raise TypeError(f"amount must be an int, not {type(amount).__name__}")
        available_at = _available_at(decay, wall_time())
        seconds = self._seconds(decay)
        # if (! $added && $hits == 1) put($key, 1)    12.57+: $hits == $amount, put $amount
        rewrite = amount if self._rules.rewrite_with_amount else 1
        return [
            self._codec.dumps_for_add(available_at),  # "1767225660" (11.39+: packed)
            seconds,
            self._zero,  # "0"
            amount,
            rewrite,
            self._counter_codec.dumps(rewrite),
        ]

    def _decode(self, codec: LaravelCacheCodec, full: bytes, raw: bytes) -> Any:
        try:
            return codec.loads(raw)
        except CodecError as exc:
            raise _corrupt(exc, raw, full) from None

    def _number(self, full: bytes, raw: bytes | None, value: Any) -> int | float:
        """A PHP number from a cached value, as ``>=`` / ``-`` use it (``"5"`` → 5)."""
        if value is None:
            return 0
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, (int, float)):
            return value
        if isinstance(value, (str, bytes)):
            text = value.encode() if isinstance(value, str) else value
            if is_php_numeric(text):
                try:
                    return int(text)  # "12" (what INCRBY leaves), exact at any size
                except ValueError:
                    return float(text)  # "1.5", "1e3"
        raise UnserializeError(
            f"the rate limiter value at {full!r} is not a number",
            bytes(raw or b""),
            key=full,
        )

    async def _counter(self, full: bytes) -> int | float:
        raw: bytes | None = await self._wire.execute("GET", full)
        if raw is None:
            return 0
        return self._number(full, raw, self._decode(self._counter_codec, full, raw))

    def _has(self, full: bytes, raw: bytes | None) -> bool:
        """``Cache::has()``: stored and not a cached ``null``."""
        return raw is not None and self._decode(self._codec, full, raw) is not None

    def _attempt_result(self, result: Any) -> Any:
        if self._rules.falsy_result_is_true:  # 8.x/9.x: $callback() ?: true
            return True if php_falsy(result) else result
        return True if result is None else result  # 10.0+: only null becomes true

    async def _increment(
        self, counter: bytes, timer: bytes, argv: list[bytes | int]
    ) -> tuple[int, bool]:
        """One ``increment()``: ``(hits, whether add(KEY, 0) stored)``."""
        if not self._cluster:
            hits, added = await self._wire.eval(
                _HIT, [counter, timer, counter], [b"", self._null, *argv]
            )
            return int(hits), bool(added)
        # Cluster: counter and timer hash to different slots, so no script may name
        # both. Laravel's commands (its add script inline, then INCRBY), pipelined.
        available_at, seconds, zero, amount, rewrite, rewrite_value = argv
        add = _CACHE_ADD.text
        commands: list[tuple[Any, ...]] = []
        if int(seconds) > 0:
            commands += [
                ("EVAL", add, 1, timer, available_at, seconds),
                ("EVAL", add, 1, counter, zero, seconds),
            ]
        commands.append(("INCRBY", counter, amount))
        replies = await self._wire.pipeline(commands)
        added = len(replies) == 3 and bool(replies[1])  # status OK, or nil
        hits = int(replies[-1])
        if not added and hits == int(rewrite):
            if int(seconds) > 0:
                await self._wire.execute("SETEX", counter, seconds, rewrite_value)
            else:  # put() with a TTL <= 0 is forget()
                await self._wire.execute("DEL", counter)
        return hits, added

    # ---------------------------------------------------------------- counting

    async def hit(self, key: Key, decay_seconds: Decay = 60) -> int:
        """Count one attempt (``RateLimiter::hit($key, $decaySeconds)``); returns the
        attempts in the window. The first hit opens the window: counter and timer get
        ``decay_seconds`` as TTL and the timer the Unix time the window ends."""
        return await self.increment(key, decay_seconds, 1)

    async def increment(
        self, key: Key, decay_seconds: Decay = 60, amount: int = 1
    ) -> int:
        """Count ``amount`` attempts (``RateLimiter::increment()``, Laravel 10.46+).

        One Lua call: ``add(KEY:timer)``, ``add(KEY, 0)``, ``INCRBY KEY amount`` and, if
        the counter had vanished in between, ``put(KEY)`` with the decay as TTL.
        """
        argv = self._hit_argv(decay_seconds, amount)
        hits, _ = await self._increment(
            self._keys.rate_limiter(key), self._keys.rate_limiter_timer(key), argv
        )
        return hits

    async def decrement(
        self, key: Key, decay_seconds: Decay = 60, amount: int = 1
    ) -> int:
        """``RateLimiter::decrement()`` (Laravel 11.5+): :meth:`increment` by ``-amount``."""
        return await self.increment(key, decay_seconds, -amount)

    async def attempt(
        self,
        key: Key,
        max_attempts: int,
        callback: Callable[[], Awaitable[T] | T],
        decay_seconds: Decay = 60,
    ) -> T | bool:
        """Run ``callback`` unless ``key`` has ``max_attempts`` in its window
        (``RateLimiter::attempt()``); returns ``False`` when limited, else the callback's
        result, with ``None`` (8.x/9.x: any PHP-falsy result) replaced by ``True``.

        The check and the hit are one atomic Lua call, done before the callback; if the
        callback raises, the hit is taken back (and a window it opened is removed), so
        the keys end as Laravel leaves them. On a cluster, or when the counter is not a
        plain integer, this is Laravel's sequence: check, callback, hit.
        """
        argv = self._hit_argv(decay_seconds, 1)
        counter = self._keys.rate_limiter(key)
        timer = self._keys.rate_limiter_timer(key)
        if self._atomic:
            check = self._keys.rate_limiter(key, self._rules.check_cleanings)
            hits, added = await self._wire.eval(
                _HIT, [check, timer, counter], [max_attempts, self._null, *argv]
            )
            if hits == _TOO_MANY:
                return False
            if hits != _UNDECODED:
                try:
                    result = await _call(callback)
                except BaseException:
                    # take the hit back; a failure here must not hide the callback's
                    # exception (the hit then stays counted, and expires with the window)
                    with suppress(Exception):
                        await self._wire.eval(
                            _RELEASE, [counter, timer], [1, 1 if added else 0]
                        )
                    raise
                return self._attempt_result(result)  # type: ignore[no-any-return]
        if await self.too_many_attempts(key, max_attempts):
            return False
        result = self._attempt_result(await _call(callback))
        await self._increment(counter, timer, self._hit_argv(decay_seconds, 1))
        return result  # type: ignore[no-any-return]

    # ----------------------------------------------------------------- reading

    async def too_many_attempts(self, key: Key, max_attempts: int) -> bool:
        """``RateLimiter::tooManyAttempts()``: ``attempts >= max_attempts`` while the
        window's timer exists. A counter whose timer is gone is reset (``DEL``), as in
        Laravel. One pipelined ``GET`` of both keys (Laravel: up to three round trips).
        """
        check = self._keys.rate_limiter(key, self._rules.check_cleanings)
        timer = self._keys.rate_limiter_timer(key)
        raw_count, raw_timer = await self._wire.pipeline(
            [("GET", check), ("GET", timer)]
        )
        attempts: int | float = 0
        if raw_count is not None:
            value = self._decode(self._counter_codec, check, raw_count)
            attempts = self._number(check, raw_count, value)
        if attempts >= max_attempts:
            if self._has(timer, raw_timer):
                return True
            await self._wire.execute("DEL", check)  # resetAttempts()
        return False

    async def attempts(self, key: Key) -> int | float:
        """Attempts counted in the window (``RateLimiter::attempts()``: ``GET``), 0 when
        none. Laravel returns the cached numeric string (``"3"``); this returns the
        number."""
        return await self._counter(self._keys.rate_limiter(key))

    async def remaining(self, key: Key, max_attempts: int) -> int | float:
        """``RateLimiter::remaining()`` (= ``retriesLeft()``): ``max_attempts`` minus the
        attempts, never below 0 from 12.40 on.

        Laravel reads the counter under the key cleaned *twice* here, so for keys with
        ``'`` (``&#039;``) or ``½ ¼ ¾ ¹ ² ³ ∴`` it sees no attempts; so does this.
        """
        left = max_attempts - await self._counter(self._keys.rate_limiter(key, 2))
        return max(0, left) if self._rules.remaining_clamped else left

    async def available_in(self, key: Key) -> int:
        """Seconds until the window ends (``RateLimiter::availableIn()``: ``GET`` of the
        timer), 0 when there is no window."""
        timer = self._keys.rate_limiter_timer(key)
        raw: bytes | None = await self._wire.execute("GET", timer)
        now = int(wall_time())
        if raw is None:
            return 0
        value = self._number(timer, raw, self._decode(self._codec, timer, raw))
        return max(0, math.floor(value - now))

    # --------------------------------------------------------------- clearing

    async def reset_attempts(self, key: Key) -> bool:
        """Delete the counter (``RateLimiter::resetAttempts()``: ``DEL``); ``True`` if it
        existed. The timer stays, as in Laravel."""
        return bool(await self._wire.execute("DEL", self._keys.rate_limiter(key)))

    async def clear(self, key: Key) -> None:
        """Delete counter and timer (``RateLimiter::clear()``: two ``DEL``, pipelined).

        Laravel deletes the counter under the key cleaned twice (it cleans, then
        ``resetAttempts()`` cleans again): for keys with ``'`` or ``½ ¼ ¾ ¹ ² ³ ∴`` the
        real counter survives until its TTL; so it does here.
        """
        await self._wire.pipeline(
            [
                ("DEL", self._keys.rate_limiter(key, 2)),
                ("DEL", self._keys.rate_limiter_timer(key)),
            ]
        )
