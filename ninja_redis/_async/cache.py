"""``AsyncCache``: Laravel's ``redis`` cache store (``Cache::``), byte for byte.

Keys (``⟨P⟩`` = connection prefix, ``⟨C⟩`` = cache prefix with the ``:`` of 8.x–10.x)::

    item            ⟨P⟩⟨C⟩key                                   cache connection (DB 1)
    tagged (10+)    ⟨P⟩⟨C⟩sha1("tag:a:entries|tag:b:entries"):key + zsets tag:NAME:entries
    tagged (8/9)    ⟨P⟩⟨C⟩sha1("ID_a|ID_b"):key + tag:NAME:key + ID:standard_ref/forever_ref
    lock            ⟨P⟩⟨C⟩name                                  lock connection (DB 0)

Values: PHP numbers raw (``42``, ``0.3``), everything else PHP ``serialize()``; with a
phpredis serializer/compression the codec (:class:`~ninja_redis.codec.LaravelCacheCodec`)
does what the configured Laravel version does. ``get`` returns what Laravel returns:
a cached number comes back as a numeric *string* (``"42"``).
"""

from __future__ import annotations

import math
import random
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from redis.crc import key_slot

from .. import _scripts
from .._phpvalue import format_php_number, php_string_cast
from ..exceptions import CodecError, LockError, UnserializeError
from ..keys import glob_escape, to_bytes
from ._backend import spawn, wait_spawned, wall_time
from .lock import AsyncLock

if TYPE_CHECKING:
    import redis.asyncio as redis

    from ..codec import LaravelCacheCodec
    from .app import AsyncLaravel

__all__ = [
    "AsyncCache",
    "AsyncRepository",
    "AsyncTaggedCache",
    "Seconds",
    "ttl_seconds",
]

T = TypeVar("T")
Key = str | bytes
#: Keys with values (``put_many``) or defaults (``many``): a ``dict[str, …]`` or
#: ``dict[bytes, …]`` as well as a mixed one (``Mapping`` is invariant in its key).
KeyMapping = Mapping[str, Any] | Mapping[bytes, Any] | Mapping[Key, Any]
#: A TTL: seconds (``int``/``float``), a ``timedelta``, a ``datetime`` (until then) or
#: ``None`` (forever).
Seconds = int | float | timedelta | datetime | None
OnCorrupt = Literal["raise", "default"]
ProgressCallback = Callable[[int], Any]

_MISSING: Any = object()
_FLEXIBLE_CREATED = b"illuminate:cache:flexible:created:"
_FLEXIBLE_LOCK = b"illuminate:cache:flexible:lock:"
_CHUNK = 1000
_CACHE_ADD = _scripts.script("cache_add")
_CACHE_TAGGED_ADD = _scripts.script("cache_tagged_add")
_TAG_LEGACY_IDS = _scripts.script("tag_legacy_ids")
_TAG_LEGACY_GET = _scripts.script("tag_legacy_get")
_TAG_FLUSH = _scripts.script("tag_flush")
_TAG_PLANS = 1024  # tag lists whose keys are kept (cleared when full)
_MICROSECOND = timedelta(microseconds=1)


def ttl_seconds(
    ttl: Seconds, laravel_version: tuple[int, int] = (12, 67)
) -> int | None:
    """Laravel's ``Repository::getSeconds()``: ``None`` for forever, else seconds >= 0.

    ``float`` is truncated like PHP's ``(int)``. A ``timedelta`` or ``datetime`` (naive
    = local time) is the time until then:

    * before 11.0 (``diffInRealSeconds``: whole Unix timestamps subtracted): a
      ``datetime`` gives ``floor(when) - floor(now)`` (``now + 300 s`` is 300, not 299),
      a ``timedelta`` its whole seconds;
    * from 11.0 (``ceil(diffInMilliseconds / 1000)``, Carbon 3: microseconds): rounded up
      to the next second.

    Negative results become 0.
    """
    if ttl is None:
        return None
    t = type(ttl)
    if t is int:
        return ttl if ttl > 0 else 0  # type: ignore[return-value,operator]
    if t is bool:
        raise TypeError("a TTL must be a number of seconds, a timedelta or a datetime")
    if isinstance(ttl, float):
        if not math.isfinite(ttl):
            raise ValueError("a TTL must be finite")
        seconds = int(ttl)
    elif isinstance(ttl, int):
        seconds = int(ttl)
    elif isinstance(ttl, timedelta):
        micros = ttl // _MICROSECOND
        if laravel_version >= (11, 0):
            seconds = -(-micros // 1_000_000)  # ceil
        else:
            seconds = int(micros / 1_000_000)  # toward zero
    elif isinstance(ttl, datetime):
        when = (
            ttl.timestamp() if ttl.tzinfo else ttl.astimezone(timezone.utc).timestamp()
        )
        now = wall_time()
        if laravel_version >= (11, 0):
            micros = round(when * 1_000_000) - round(now * 1_000_000)
            seconds = -(-micros // 1_000_000)  # ceil
        else:
            # Carbon 2 diffInRealSeconds: getTimestamp() of both, subtracted
            seconds = math.floor(when) - math.floor(now)
    else:
        raise TypeError(
            f"a TTL must be seconds, a timedelta or a datetime, not {t.__name__}"
        )
    return seconds if seconds > 0 else 0


def _corrupt(exc: CodecError, raw: bytes, key: bytes) -> UnserializeError:
    """A codec failure as an :class:`UnserializeError` naming the full Redis key."""
    if isinstance(exc, UnserializeError):
        return exc.with_key(key)
    err = UnserializeError(str(exc), bytes(raw), key=key)
    err.__cause__ = exc
    return err


def _uniqid() -> bytes:
    """PHP ``str_replace('.', '', uniqid('', true))``: 13 hex + 9 digits (22 chars)."""
    now = wall_time()
    sec = int(now)
    usec = int((now - sec) * 1_000_000) % 1_000_000
    lcg = min(random.random() * 10, 9.99999999)
    return f"{sec:08x}{usec:05x}{lcg:.8f}".replace(".", "").encode()


def _php_id_string(value: Any, key: bytes) -> bytes | None:
    """A decoded 8.x/9.x tag id as ``implode('|', ...)`` sees it; ``None`` for a
    PHP-falsy one (``null``, ``false``, ``0``, ``""``, ``"0"``, ``[]``)."""
    if value is None or value is False or value in ("", "0", b"", b"0"):
        return None
    if isinstance(value, (str, bytes)):
        return to_bytes(value)
    if value is True:
        return b"1"
    if isinstance(value, (int, float)):
        return None if value == 0 else format_php_number(value).encode()
    if isinstance(value, (list, dict)):
        return b"Array" if value else None
    raise UnserializeError(
        f"tag id at {key!r} is a {type(value).__name__}, which PHP cannot implode()",
        b"",
        key=key,
    )


async def _call(callback: Callable[[], Any]) -> Any:
    result = callback()
    if hasattr(result, "__await__"):
        result = await result
    return result


class AsyncRepository:
    """Methods shared by :class:`AsyncCache` and :class:`AsyncTaggedCache` (built on
    their ``get``/``many``/``put``/``put_many``/``forever``)."""

    _cache: AsyncCache

    async def get(
        self, key: Key, default: Any = None, *, on_corrupt: OnCorrupt | None = None
    ) -> Any:  # pragma: no cover - overridden
        """Return the cached value or ``default``."""
        raise NotImplementedError

    async def many(
        self,
        keys: Iterable[Key] | KeyMapping,
        *,
        on_corrupt: OnCorrupt | None = None,
    ) -> dict[Key, Any]:  # pragma: no cover - overridden
        """Return several values at once."""
        raise NotImplementedError

    async def put(
        self, key: Key, value: Any, ttl: Seconds = None
    ) -> bool:  # pragma: no cover - overridden
        """Store a value."""
        raise NotImplementedError

    async def put_many(
        self, values: KeyMapping, ttl: Seconds = None
    ) -> bool:  # pragma: no cover - overridden
        """Store several values."""
        raise NotImplementedError

    async def forever(self, key: Key, value: Any) -> bool:  # pragma: no cover
        """Store a value without expiry."""
        raise NotImplementedError

    async def has(self, key: Key) -> bool:
        """``True`` if the key holds a non-null value (``Cache::has()``).

        A cached ``null`` (``N;``) counts as missing, as in Laravel.
        """
        return (await self.get(key, _MISSING)) is not _MISSING

    async def missing(self, key: Key) -> bool:
        """The opposite of :meth:`has` (``Cache::missing()``)."""
        return not await self.has(key)

    async def remember(
        self,
        key: Key,
        ttl: Seconds | Callable[[Any], Seconds],
        callback: Callable[[], Awaitable[T] | T],
    ) -> T:
        """Return the cached value, or store and return ``callback()`` (sync or async).

        Mirrors ``Cache::remember()``: ``GET``, and on a miss ``SETEX``. ``ttl`` may
        be a callable that gets the computed value and returns the TTL (Laravel's
        ``value($ttl, $value)``).
        """
        value = await self.get(key, _MISSING)
        if value is not _MISSING:
            return value  # type: ignore[no-any-return]
        value = await _call(callback)
        await self.put(key, value, ttl(value) if callable(ttl) else ttl)
        return value  # type: ignore[no-any-return]

    async def remember_forever(
        self, key: Key, callback: Callable[[], Awaitable[T] | T]
    ) -> T:
        """Like :meth:`remember` without expiry (``Cache::rememberForever()``)."""
        value = await self.get(key, _MISSING)
        if value is not _MISSING:
            return value  # type: ignore[no-any-return]
        value = await _call(callback)
        await self.forever(key, value)
        return value  # type: ignore[no-any-return]

    async def flexible(
        self,
        key: Key,
        ttl: tuple[Seconds, Seconds],
        callback: Callable[[], Awaitable[T] | T],
        *,
        lock_seconds: int = 0,
        lock_owner: str | None = None,
    ) -> T:
        """Stale-while-revalidate like ``Cache::flexible($key, [$fresh, $stale], $fn)``.

        Reads ``key`` and ``illuminate:cache:flexible:created:KEY`` in one ``MGET``.
        On a miss: compute, store both with TTL ``stale``, return. Fresh
        (``created + fresh > now``): return. Stale: return the stale value and refresh
        in the background under the lock ``illuminate:cache:flexible:lock:KEY``
        (PHP defers the refresh until after the response; here it runs as an asyncio
        task, or a daemon thread in the blocking API — see :meth:`wait_background`).
        """
        fresh, stale = ttl
        created_key = _FLEXIBLE_CREATED + to_bytes(key)
        values = await self.many([key, created_key])
        value, created = values[key], values[created_key]
        if value is None or created is None:
            value = await _call(callback)
            await self.put_many({key: value, created_key: int(wall_time())}, stale)
            return value  # type: ignore[no-any-return]
        fresh_seconds = ttl_seconds(fresh, self._cache._version) or 0
        if _number(created) + fresh_seconds > int(wall_time()):
            return value  # type: ignore[no-any-return]

        async def body() -> None:
            if created != await self.get(created_key):
                return
            new = await _call(callback)
            await self.put_many({key: new, created_key: int(wall_time())}, stale)

        async def refresh() -> None:
            lock = self._cache.lock(
                _FLEXIBLE_LOCK + to_bytes(key), lock_seconds, lock_owner
            )
            await lock.get(body)  # type: ignore[arg-type,unused-ignore]

        cache = self._cache
        handle = spawn(refresh)
        cache._pending.append(handle)
        return value  # type: ignore[no-any-return]

    async def wait_background(self) -> None:
        """Wait for the background :meth:`flexible` refreshes started so far."""
        cache = self._cache
        handles, cache._pending = cache._pending, []
        await wait_spawned(handles)


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


class AsyncCache(AsyncRepository):
    """The Laravel ``redis`` cache store (``Cache::store('redis')``), asyncio flavour.

    Get it as ``app.cache``. Every method sends the same commands Laravel sends (or
    fewer round trips leaving the same bytes). ``on_corrupt``: ``"raise"`` (default)
    raises :class:`~ninja_redis.exceptions.UnserializeError` naming the full key when
    stored bytes cannot be decoded; ``"default"`` returns the caller's default instead.
    """

    def __init__(self, app: AsyncLaravel, *, on_corrupt: OnCorrupt = "raise") -> None:
        cfg = app.config
        self._cache = self
        self._app = app
        self._config = cfg
        self._keys = app.keys
        self._redis: redis.Redis = app.connection(cfg.cache_connection)
        self._lock_redis: redis.Redis = app.connection(cfg.lock_connection)
        self._wire = app.wire(cfg.cache_connection)
        self._lock_wire = app.wire(cfg.lock_connection)
        self._codec: LaravelCacheCodec = app.codec(cfg.cache_connection)
        self._lock_codec: LaravelCacheCodec = app.codec(cfg.lock_connection)
        self._dumps = self._codec.dumps
        self._loads = self._codec.loads
        v = cfg.laravel_version
        self._version: tuple[int, int] = (v.major, v.minor)
        self._legacy_tags = v < (10, 0)
        #: Redis Cluster: a multi-key command (MGET, DEL) or script names keys of one
        #: hash slot only, and SCAN sees one master at a time
        self._cluster = cfg.cluster
        self._atomic_tag_flush = v >= (12, 30) and not cfg.cluster
        self._transaction = not cfg.cluster
        #: key material per tag list (sha1 namespaces etc.), see AsyncTaggedCache
        self._tag_plans: dict[
            tuple[str, ...], tuple[list[bytes], bytes, bytes, list[bytes]]
        ] = {}
        self._p_len = len(self._keys.legacy_ref_member_key(b""))
        self._pending: list[Any] = []
        self.on_corrupt: OnCorrupt = on_corrupt

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._keys.cache(b'')!r}>"

    # ----------------------------------------------------------------- helpers

    def _seconds(self, ttl: Seconds) -> int | None:
        if type(ttl) is int:
            return ttl if ttl > 0 else 0  # type: ignore[operator,unused-ignore]
        return ttl_seconds(ttl, self._version)

    def _decode(
        self, full: bytes, raw: bytes, default: Any, on_corrupt: OnCorrupt | None
    ) -> Any:
        try:
            value = self._loads(raw)
        except CodecError as exc:
            if (on_corrupt or self.on_corrupt) == "default":
                return default
            raise _corrupt(exc, raw, full) from None
        return default if value is None else value

    async def _read(
        self, full: bytes, default: Any, on_corrupt: OnCorrupt | None
    ) -> Any:
        raw: bytes | None = await self._wire.execute("GET", full)
        if raw is None:
            return default
        return self._decode(full, raw, default, on_corrupt)

    async def _read_many(
        self,
        names: list[Key],
        fulls: list[bytes],
        defaults: Mapping[Any, Any] | None,
        on_corrupt: OnCorrupt | None,
    ) -> dict[Key, Any]:
        if not fulls:
            return {}
        raws: list[bytes | None]
        if self._cluster:
            raws = await self._mget_by_slot(fulls)
        else:
            raws = await self._wire.execute("MGET", *fulls)
        if defaults is None:
            # hot path: no per-key defaults, so a miss and a cached null are both None
            loads = self._loads
            try:
                return dict(
                    zip(
                        names,
                        [None if r is None else loads(r) for r in raws],
                        strict=True,
                    )
                )
            except CodecError:
                pass  # redo it key by key to name the bad key / honour on_corrupt
        out: dict[Key, Any] = {}
        for name, full, raw in zip(names, fulls, raws, strict=True):
            d = None if defaults is None else defaults[name]
            out[name] = d if raw is None else self._decode(full, raw, d, on_corrupt)
        return out

    async def _mget_by_slot(self, fulls: list[bytes]) -> list[bytes | None]:
        """Cluster ``MGET``: one per hash slot (what phpredis' ``RedisCluster::mget``
        sends), pipelined, the values back in the order of ``fulls``."""
        groups = _by_slot(fulls)
        if len(groups) == 1:
            return list(await self._wire.execute("MGET", *fulls))
        replies = await self._wire.pipeline([("MGET", *ks) for ks in groups.values()])
        found: dict[bytes, bytes | None] = {}
        for ks, values in zip(groups.values(), replies, strict=True):
            found.update(zip(ks, values, strict=True))
        return [found[k] for k in fulls]

    async def _delete(self, fulls: list[bytes]) -> int:
        """``DEL`` of several keys (on a cluster one ``DEL`` per hash slot, pipelined);
        returns how many existed."""
        if not self._cluster:
            return int(await self._wire.execute("DEL", *fulls))
        replies = await self._wire.pipeline(_del_commands(fulls, cluster=True))
        return sum(int(r) for r in replies)

    async def _pull(
        self, full: bytes, default: Any, on_corrupt: OnCorrupt | None
    ) -> Any:
        raw, _ = await self._wire.pipeline([("GET", full), ("DEL", full)])
        if raw is None:
            return default
        return self._decode(full, raw, default, on_corrupt)

    async def _touch(self, full: bytes, ttl: Seconds) -> bool:
        seconds = self._seconds(ttl)
        if seconds is None:
            _, exists = await self._wire.pipeline([("PERSIST", full), ("EXISTS", full)])
            return bool(exists)
        if seconds <= 0:
            return bool(await self._wire.execute("DEL", full))
        return bool(await self._wire.execute("EXPIRE", full, seconds))

    # --------------------------------------------------------------- reading

    async def get(
        self, key: Key, default: Any = None, *, on_corrupt: OnCorrupt | None = None
    ) -> Any:
        """Return the cached value, or ``default`` on a miss (``Cache::get()``: ``GET``).

        A cached number comes back as a numeric ``str`` and a cached ``null`` as
        ``default``, like in Laravel. Undecodable bytes raise
        :class:`~ninja_redis.exceptions.UnserializeError` naming the full key (or give
        ``default`` with ``on_corrupt="default"``).
        """
        return await self._read(self._keys.cache(key), default, on_corrupt)

    async def many(
        self,
        keys: Iterable[Key] | KeyMapping,
        *,
        on_corrupt: OnCorrupt | None = None,
    ) -> dict[Key, Any]:
        """Several values in one ``MGET`` (``Cache::many()``): ``{key: value or None}``.

        Pass a mapping ``{key: default}`` for per-key defaults.
        """
        defaults = keys if isinstance(keys, Mapping) else None
        names = list(keys)
        cache_key = self._keys.cache
        return await self._read_many(
            names, [cache_key(k) for k in names], defaults, on_corrupt
        )

    async def pull(
        self, key: Key, default: Any = None, *, on_corrupt: OnCorrupt | None = None
    ) -> Any:
        """Return the value and delete the key (``Cache::pull()``; one pipelined
        ``GET`` + ``DEL``)."""
        return await self._pull(self._keys.cache(key), default, on_corrupt)

    # --------------------------------------------------------------- writing

    async def put(self, key: Key, value: Any, ttl: Seconds = None) -> bool:
        """Store ``value`` for ``ttl`` (``Cache::put()``: ``SETEX key ttl E(v)``).

        ``ttl=None`` stores forever (``SET``); a TTL of 0 or less deletes the key and
        returns whether it existed, like Laravel.
        """
        seconds = ttl if type(ttl) is int else self._seconds(ttl)
        full = self._keys.cache(key)
        if seconds is None:
            return bool(await self._wire.execute("SET", full, self._dumps(value)))
        if seconds <= 0:
            return bool(await self._wire.execute("DEL", full))
        return bool(
            await self._wire.execute("SETEX", full, seconds, self._dumps(value))
        )

    async def put_many(self, values: KeyMapping, ttl: Seconds = None) -> bool:
        """Store several values (``Cache::putMany()``) in one round trip.

        With a TTL: ``MULTI``, one ``SETEX`` per key, ``EXEC`` — what Laravel sends.
        Without: one plain ``SET`` per key (pipelined). TTL <= 0: the keys are deleted;
        returns whether all of them existed (Laravel's ``deleteMultiple``). Nothing to
        store with a TTL > 0 returns ``False``, like ``RedisStore::putMany([])``.
        """
        seconds = self._seconds(ttl)
        if not values:
            return seconds is None or seconds <= 0
        cache_key = self._keys.cache
        dumps = self._dumps
        if seconds is not None and seconds <= 0:
            fulls = list(dict.fromkeys(cache_key(k) for k in values))
            return await self._delete(fulls) == len(fulls)
        commands: list[tuple[Any, ...]]
        if seconds is None:
            commands = [("SET", cache_key(k), dumps(v)) for k, v in values.items()]
            return all(await self._wire.pipeline(commands))
        commands = [
            ("SETEX", cache_key(k), seconds, dumps(v)) for k, v in values.items()
        ]
        if not self._transaction:  # cluster: keys may live on different nodes
            return all(await self._wire.pipeline(commands))
        # MULTI, SETEX per key, EXEC: what Laravel sends, in one round trip
        replies = await self._wire.pipeline([("MULTI",), *commands, ("EXEC",)])
        return replies[-1] is not None and all(replies[-1])

    async def add(self, key: Key, value: Any, ttl: Seconds = None) -> bool:
        """Store only if the key is missing (``Cache::add()``); ``True`` if stored.

        With a TTL: Laravel's atomic Lua ``add`` (``EXISTS`` then ``SETEX``); before
        11.39 the value is stored without phpredis packing, as Laravel did. TTL <= 0:
        ``False``, nothing sent. No TTL: ``GET`` then ``SET`` (not atomic, like
        Laravel).
        """
        full = self._keys.cache(key)
        if ttl is None:
            if await self._read(full, None, None) is not None:
                return False
            return bool(await self._wire.execute("SET", full, self._dumps(value)))
        seconds = self._seconds(ttl)
        if not seconds:
            return False
        result = await self._wire.eval(
            _CACHE_ADD, [full], [self._codec.dumps_for_add(value), seconds]
        )
        return bool(result)

    async def increment(self, key: Key, by: int = 1) -> int:
        """``INCRBY`` (``Cache::increment()``); keeps the TTL, creates a key without one."""
        return int(await self._wire.execute("INCRBY", self._keys.cache(key), by))

    async def decrement(self, key: Key, by: int = 1) -> int:
        """``DECRBY`` (``Cache::decrement()``)."""
        return int(await self._wire.execute("DECRBY", self._keys.cache(key), by))

    async def forever(self, key: Key, value: Any) -> bool:
        """Store without expiry (``Cache::forever()``: ``SET``)."""
        return bool(
            await self._wire.execute("SET", self._keys.cache(key), self._dumps(value))
        )

    async def forget(self, key: Key) -> bool:
        """Delete the key (``Cache::forget()``: ``DEL``); ``True`` if it existed."""
        return bool(await self._wire.execute("DEL", self._keys.cache(key)))

    async def touch(self, key: Key, ttl: Seconds) -> bool:
        """Set a new TTL on an existing key (Laravel 13 ``Cache::touch()``: ``EXPIRE``).

        ``False`` for a missing key. A TTL of 0 or less deletes the key (what 13.x
        leaves behind); ``None`` removes the expiry (``PERSIST``).
        """
        return await self._touch(self._keys.cache(key), ttl)

    # ----------------------------------------------------------------- flush

    async def flush(
        self,
        *,
        mode: Literal["prefix", "flushdb"] = "prefix",
        batch: int = _CHUNK,
        progress: ProgressCallback | None = None,
    ) -> int:
        """Delete every key of this cache store; returns how many were deleted.

        ``mode="prefix"`` (default) scans ``⟨P⟩⟨C⟩*`` (``SCAN MATCH … COUNT batch``) and
        ``UNLINK``s each batch, calling ``progress(deleted_so_far)`` after each; it
        needs neither ``FLUSHDB`` nor ``KEYS`` and leaves other prefixes alone.
        ``mode="flushdb"`` is what Laravel's ``Cache::flush()`` does: ``FLUSHDB`` of
        the whole cache database, every prefix included (returns -1: count unknown).
        """
        if mode == "flushdb":
            await self._redis.flushdb()
            return -1
        if mode != "prefix":
            raise ValueError("mode must be 'prefix' or 'flushdb'")
        return await _scan_unlink(
            self._redis,
            self._keys.cache_scan_pattern(),
            batch,
            progress,
            cluster=self._cluster,
        )

    async def flush_locks(
        self,
        *,
        mode: Literal["prefix", "flushdb"] = "prefix",
        batch: int = _CHUNK,
        progress: ProgressCallback | None = None,
    ) -> int:
        """Delete the locks (Laravel 13 ``Cache::flushLocks()``).

        Refused (:class:`~ninja_redis.exceptions.LockError`) when the lock connection
        is the cache connection, like Laravel. ``mode="prefix"`` unlinks
        ``⟨P⟩⟨C⟩*`` on the lock connection — which, with Laravel's defaults, is also
        where the *sessions* live. ``mode="flushdb"`` is Laravel's ``FLUSHDB`` of the
        lock database (sessions and queues included).
        """
        if self._config.lock_connection == self._config.cache_connection:
            raise LockError(
                "Flushing locks is only supported when the lock store is separate "
                "from the cache store."
            )
        if mode == "flushdb":
            await self._lock_redis.flushdb()
            return -1
        if mode != "prefix":
            raise ValueError("mode must be 'prefix' or 'flushdb'")
        pattern = glob_escape(self._keys.lock(b"")) + b"*"
        return await _scan_unlink(
            self._lock_redis, pattern, batch, progress, cluster=self._cluster
        )

    # ------------------------------------------------------------------ locks

    def lock(self, name: Key, seconds: int = 0, owner: str | None = None) -> AsyncLock:
        """A lock named ``name`` (``Cache::lock()``) on the store's lock connection.

        ``seconds`` = 0 means no expiry. ``owner`` defaults to 16 random characters.
        """
        return AsyncLock(
            self._lock_wire,
            self._lock_codec,
            self._keys.lock(name),
            name.decode("utf-8", "surrogateescape")
            if isinstance(name, bytes)
            else name,
            seconds,
            owner,
            laravel_version=self._version,
        )

    def restore_lock(self, name: Key, owner: str) -> AsyncLock:
        """The lock ``name`` held by ``owner`` (``Cache::restoreLock()``), e.g. to
        release it from another process."""
        return self.lock(name, 0, owner)

    # ------------------------------------------------------------------- tags

    def tags(self, *names: str | Iterable[str]) -> AsyncTaggedCache:
        """A tagged view (``Cache::tags([...])``): ``tags("a", "b")`` or
        ``tags(["a", "b"])``. The order of the names matters, as in Laravel."""
        flat: list[str] = []
        for n in names:
            if isinstance(n, (str, bytes, int, float)) or n is None:
                flat.append(php_string_cast(n))
            else:
                flat.extend(php_string_cast(x) for x in n)
        return AsyncTaggedCache(self, flat)

    async def flush_stale_tags(self) -> int:
        """Remove expired entries from every tag index (``cache:prune-stale-tags``).

        Laravel 10+: ``SCAN MATCH ⟨P⟩⟨C⟩tag:*:entries COUNT 1000``, then
        ``ZREMRANGEBYSCORE key 0 now`` per tag (pipelined). Returns how many entries
        were removed. Laravel 8/9 have no tag index: returns 0. On a Redis Cluster
        every master is scanned (Laravel before 13.x scans a single node there).
        """
        if self._legacy_tags:
            return 0
        pattern = self._keys.tag_scan_pattern()
        now = int(wall_time())
        removed = 0
        if self._cluster:
            zkeys: list[bytes] = []
            async for zkey in self._redis.scan_iter(match=pattern, count=_CHUNK):
                zkeys.append(to_bytes(zkey))
            for i in range(0, len(zkeys), _CHUNK):
                replies = await self._wire.pipeline(
                    [("ZREMRANGEBYSCORE", z, 0, now) for z in zkeys[i : i + _CHUNK]]
                )
                removed += sum(int(r) for r in replies)
            return removed
        cursor = 0
        while True:
            cursor, found = await self._redis.scan(cursor, match=pattern, count=_CHUNK)
            if found:
                async with self._redis.pipeline(transaction=False) as pipe:
                    for zkey in found:
                        pipe.zremrangebyscore(zkey, 0, now)
                    removed += sum(await pipe.execute())
            if not cursor:
                return removed


def _by_slot(keys: Iterable[bytes]) -> dict[int, list[bytes]]:
    """Keys grouped by Redis Cluster hash slot, each group in the given order."""
    groups: dict[int, list[bytes]] = {}
    for key in keys:
        groups.setdefault(key_slot(key), []).append(key)
    return groups


def _del_commands(
    keys: list[bytes], *, cluster: bool, chunk: int = _CHUNK
) -> list[tuple[Any, ...]]:
    """``DEL`` commands for ``keys``, at most ``chunk`` keys each (on a cluster: each
    for keys of one hash slot, since a cross-slot ``DEL`` fails with CROSSSLOT)."""
    groups = _by_slot(keys).values() if cluster else [keys]
    return [
        ("DEL", *group[i : i + chunk])
        for group in groups
        for i in range(0, len(group), chunk)
    ]


async def _scan_unlink(
    client: redis.Redis,
    pattern: bytes,
    batch: int,
    progress: ProgressCallback | None,
    *,
    cluster: bool = False,
) -> int:
    total = 0
    if cluster:
        # SCAN walks one master at a time (redis-py's scan_iter visits them all);
        # UNLINK per hash slot
        keys: list[bytes] = []
        async for key in client.scan_iter(match=pattern, count=batch):
            keys.append(to_bytes(key))
            if len(keys) >= batch:
                total += await _unlink_by_slot(client, keys)
                keys = []
                if progress is not None:
                    progress(total)
        if keys:
            total += await _unlink_by_slot(client, keys)
            if progress is not None:
                progress(total)
        return total
    cursor = 0
    while True:
        cursor, found = await client.scan(cursor, match=pattern, count=batch)
        if found:
            total += int(await client.unlink(*found))
            if progress is not None:
                progress(total)
        if not cursor:
            return total


async def _unlink_by_slot(client: redis.Redis, keys: list[bytes]) -> int:
    # execute_command: a cluster pipeline's unlink() takes one key only
    pipe: Any = client.pipeline(transaction=False)
    for group in _by_slot(keys).values():
        pipe.execute_command("UNLINK", *group)
    return sum(int(n) for n in await pipe.execute())


class AsyncTaggedCache(AsyncRepository):
    """``Cache::tags([...])``: the cache methods plus :meth:`flush` for these tags.

    Laravel 10+ (``laravel_version >= 10``): items live at
    ``⟨P⟩⟨C⟩sha1("tag:a:entries|tag:b:entries"):key`` and each tag's sorted set
    ``tag:NAME:entries`` records ``sha1:key`` with its expiry time as score (``-1``
    forever). Laravel 8/9: each tag has a random id at ``tag:NAME:key`` and items
    are recorded in ``ID:standard_ref`` / ``ID:forever_ref`` sets.
    """

    def __init__(self, cache: AsyncCache, names: list[str]) -> None:
        if not names:
            raise ValueError("tags() needs at least one tag name")
        self._cache = cache
        self.names = list(names)
        self._redis = cache._redis
        self._wire = cache._wire
        self._keys = keys = cache._keys
        self._codec = cache._codec
        self._legacy = cache._legacy_tags
        plans = cache._tag_plans
        plan = plans.get(tuple(self.names))
        if plan is None:
            if len(plans) >= _TAG_PLANS:
                plans.clear()
            # 10+: the tag zsets, the zset member head sha1: and ⟨P⟩⟨C⟩sha1:
            member_head = keys.tag_member(list(names), b"")
            plan = plans[tuple(self.names)] = (
                [keys.tag_entries(n) for n in names],
                member_head,
                keys.tag_member_key(member_head),
                # 8/9: ⟨P⟩⟨C⟩tag:NAME:key of each tag
                [keys.legacy_tag_id_key(n) for n in names],
            )
        # shared per tag list (cached by the store): never mutated
        self._tag_zsets, self._member_head, self._item_head, self._id_keys = plan
        # 8/9 ref member = the item key without ⟨P⟩
        self._p_len = cache._p_len
        self._ids: list[bytes] = []

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.names!r}>"

    # ----------------------------------------------------------------- keys

    async def _legacy_ids(self) -> list[bytes]:
        """8/9: every tag's id, created (``SET``, forever) where missing."""
        keys = self._id_keys
        dumps = self._codec.dumps
        # ARGV: a fresh E(uniqid) per tag, stored only where the tag has no id yet
        argv = [dumps(_uniqid().decode()) for _ in keys]
        raws: list[bytes]
        if self._cache._cluster and len(keys) > 1:
            # the tag:NAME:key keys live on different slots: one call per tag
            raws = [
                (await self._wire.eval(_TAG_LEGACY_IDS, [key], [arg]))[0]
                for key, arg in zip(keys, argv, strict=True)
            ]
        else:
            raws = await self._wire.eval(_TAG_LEGACY_IDS, keys, argv)
        ids: list[bytes] = []
        loads = self._codec.loads
        resets: list[tuple[Any, ...]] = []
        for key, raw in zip(keys, raws, strict=True):
            try:
                value = loads(raw)
            except CodecError as exc:
                raise _corrupt(exc, raw, key) from None
            tag_id = _php_id_string(value, key)
            if tag_id is None:
                # TagSet::tagId(): get() ?: resetTag(), a falsy id is replaced
                tag_id = _uniqid()
                resets.append(("SET", key, dumps(tag_id.decode())))
            ids.append(tag_id)
        if resets:
            await self._wire.pipeline(resets)
        return ids

    async def _full_keys(self, keys: list[Key]) -> tuple[list[bytes], list[bytes]]:
        """Full item keys and their index members (10+) or ref members (8/9)."""
        if not self._legacy:
            members = [self._member_head + to_bytes(k) for k in keys]
            return [self._item_head + to_bytes(k) for k in keys], members
        ids = await self._legacy_ids()
        self._ids = ids
        fulls = [self._keys.legacy_tagged(ids, k) for k in keys]
        # the ref member is the item key without ⟨P⟩: ⟨C⟩sha1:key
        p = self._p_len
        return fulls, [f[p:] for f in fulls]

    async def item_key(self, key: Key) -> bytes:
        """The full Redis key of ``key`` under these tags."""
        fulls, _ = await self._full_keys([key])
        return fulls[0]

    def _index(
        self,
        commands: list[tuple[Any, ...]],
        member: bytes,
        score: int,
        *,
        nx: bool = False,
    ) -> None:
        """Append the index writes of one item (zset entries or ref-set members)."""
        packed = self._codec.pack_member(member)
        if not self._legacy:
            if nx:
                commands.extend(
                    ("ZADD", z, "NX", score, packed) for z in self._tag_zsets
                )
            else:
                commands.extend(("ZADD", z, score, packed) for z in self._tag_zsets)
            return
        kind = "forever" if score == -1 else "standard"
        for tag_id in self._ids:
            commands.append(("SADD", self._keys.legacy_tag_ref(tag_id, kind), packed))

    # -------------------------------------------------------------- reading

    async def get(
        self, key: Key, default: Any = None, *, on_corrupt: OnCorrupt | None = None
    ) -> Any:
        """Return the tagged value or ``default`` (only the item key is read)."""
        if not self._legacy:
            return await self._cache._read(
                self._item_head + to_bytes(key), default, on_corrupt
            )
        if self._codec._plain and not self._cache._cluster:
            # one round trip (Laravel: one GET per tag, then the item): tag ids read
            # and the item key built in Lua; the value decoded here
            name = to_bytes(key)
            reply = await self._wire.eval(
                _TAG_LEGACY_GET, self._id_keys, [self._keys.cache_head, name]
            )
            if reply:  # else a tag without id yet, or an id the codec must decode
                raw, ids = reply[0], reply[1:]
                self._ids = ids
                if raw is None:
                    return default
                full = self._keys.legacy_tagged(ids, name)
                return self._cache._decode(full, raw, default, on_corrupt)
        ids = await self._legacy_ids()
        full = self._keys.legacy_tagged(ids, key)
        return await self._cache._read(full, default, on_corrupt)

    async def many(
        self,
        keys: Iterable[Key] | KeyMapping,
        *,
        on_corrupt: OnCorrupt | None = None,
    ) -> dict[Key, Any]:
        """Several tagged values in one ``MGET``."""
        defaults = keys if isinstance(keys, Mapping) else None
        names = list(keys)
        fulls, _ = await self._full_keys(names)
        return await self._cache._read_many(names, fulls, defaults, on_corrupt)

    async def pull(
        self, key: Key, default: Any = None, *, on_corrupt: OnCorrupt | None = None
    ) -> Any:
        """Return the tagged value and delete it."""
        fulls, _ = await self._full_keys([key])
        return await self._cache._pull(fulls[0], default, on_corrupt)

    # -------------------------------------------------------------- writing

    async def put(self, key: Key, value: Any, ttl: Seconds = None) -> bool:
        """Store a tagged value: index entries, then ``SETEX``, in one round trip.

        10+: ``ZADD tag:NAME:entries now+ttl sha1:key`` per tag (in the given order)
        then ``SETEX``; 8/9: ``SADD ID:standard_ref ⟨C⟩sha1:key`` per tag then
        ``SETEX``. ``ttl=None`` → :meth:`forever`; TTL <= 0 deletes the item.
        """
        return await self.put_many({key: value}, ttl)

    async def put_many(self, values: KeyMapping, ttl: Seconds = None) -> bool:
        """Store several tagged values (Laravel: one ``put`` each) in one pipeline.

        Returns ``True`` when every ``put`` did (a TTL <= 0: when every key existed);
        with no values, ``False`` unless ``ttl`` is ``None`` (Laravel's
        ``RetrievesMultipleKeys::putMany``).
        """
        if not values:
            return ttl is None
        by_name: Mapping[Any, Any] = values
        seconds = self._cache._seconds(ttl)
        names = list(values)
        fulls, members = await self._full_keys(names)
        dumps = self._codec.dumps
        commands: list[tuple[Any, ...]] = []
        if seconds is None:
            for full, member, name in zip(fulls, members, names, strict=True):
                self._index(commands, member, -1)
                commands.append(("SET", full, dumps(by_name[name])))
        elif seconds <= 0:
            for full, member in zip(fulls, members, strict=True):
                if self._legacy:  # 8/9 record the reference before the check
                    self._index(commands, member, 0)
                commands.append(("DEL", full))
        else:
            score = int(wall_time()) + seconds
            for full, member, name in zip(fulls, members, names, strict=True):
                self._index(commands, member, score)
                commands.append(("SETEX", full, seconds, dumps(by_name[name])))
        results = await self._wire.pipeline(commands)
        if seconds is not None and seconds <= 0:
            # each put() was a forget(): true only if every DEL removed a key
            return all(
                r for c, r in zip(commands, results, strict=True) if c[0] == "DEL"
            )
        return True

    async def add(self, key: Key, value: Any, ttl: Seconds = None) -> bool:
        """Store only if missing. 10+ with a TTL: the index entries and Laravel's
        ``add`` script in one Lua call; 8/9 do not index ``add``."""
        if ttl is None:
            if await self.get(key) is not None:
                return False
            return await self.forever(key, value)
        seconds = self._cache._seconds(ttl)
        if not seconds:
            return False
        fulls, members = await self._full_keys([key])
        if self._legacy:
            result = await self._wire.eval(
                _CACHE_ADD, [fulls[0]], [self._codec.dumps_for_add(value), seconds]
            )
            return bool(result)
        value_bytes = self._codec.dumps_for_add(value)
        score = int(wall_time()) + seconds
        member = self._codec.pack_member(members[0])
        if self._cache._cluster:
            # the item and the tag zsets are on different slots: Laravel's ZADD per
            # tag, then its add script on the item alone
            await self._wire.pipeline(
                [("ZADD", z, score, member) for z in self._tag_zsets]
            )
            result = await self._wire.eval(
                _CACHE_ADD, [fulls[0]], [value_bytes, seconds]
            )
            return bool(result)
        result = await self._wire.eval(
            _CACHE_TAGGED_ADD,
            [fulls[0], *self._tag_zsets],
            [value_bytes, seconds, score, member],
        )
        return bool(result)

    async def _incr(self, key: Key, by: int, command: str = "INCRBY") -> int:
        fulls, members = await self._full_keys([key])
        commands: list[tuple[Any, ...]] = []
        self._index(commands, members[0], -1 if not self._legacy else 0, nx=True)
        commands.append((command, fulls[0], by))
        results = await self._wire.pipeline(commands)
        return int(results[-1])

    async def increment(self, key: Key, by: int = 1) -> int:
        """``INCRBY`` after indexing (10+: ``ZADD … NX -1``; 8/9: ``standard_ref``)."""
        return await self._incr(key, by)

    async def decrement(self, key: Key, by: int = 1) -> int:
        """``DECRBY`` after indexing, like :meth:`increment`."""
        return await self._incr(key, by, "DECRBY")

    async def forever(self, key: Key, value: Any) -> bool:
        """Store without expiry (10+: score ``-1``; 8/9: ``forever_ref``), then ``SET``."""
        return await self.put_many({key: value}, None)

    async def forget(self, key: Key) -> bool:
        """Delete the tagged item (the index is left as Laravel leaves it)."""
        fulls, _ = await self._full_keys([key])
        return bool(await self._wire.execute("DEL", fulls[0]))

    async def touch(self, key: Key, ttl: Seconds) -> bool:
        """``EXPIRE`` the tagged item (13.x ``touch``; the index is not updated)."""
        fulls, _ = await self._full_keys([key])
        return await self._cache._touch(fulls[0], ttl)

    # ---------------------------------------------------------------- flush

    async def _members(self, key: bytes, zset: bool) -> list[bytes]:
        out: list[bytes] = []
        cursor = 0
        unpack = self._codec.unpack_member
        while True:
            if zset:
                cursor, pairs = await self._redis.zscan(
                    key, cursor, match=b"*", count=_CHUNK
                )
                raws = [m for m, _ in pairs]
            else:
                cursor, found = await self._redis.sscan(
                    key, cursor, match=b"*", count=_CHUNK
                )
                raws = list(found)
            out.extend(to_bytes(unpack(m)) for m in raws)  # type: ignore[arg-type]
            if not cursor:
                return out

    async def flush(self) -> bool:
        """Delete every item of these tags (``Cache::tags([...])->flush()``).

        10.0–12.29: ``ZSCAN`` each tag, ``DEL`` the items in chunks of 1000, ``DEL``
        the tag zsets. 12.30+: the same ``ZSCAN``, then Laravel's atomic Lua flush
        per chunk (``DEL`` + ``ZREM``). 8/9: ``SSCAN`` the ``forever_ref`` and
        ``standard_ref`` sets of each tag id, ``DEL`` members and sets, then the
        tag ids. Other tags keep their (now stale) entries, as in Laravel.
        """
        keys = self._keys
        if self._legacy:
            ids = await self._legacy_ids()
            doomed: list[bytes] = []
            for tag_id in ids:
                for kind in ("forever", "standard"):
                    ref = keys.legacy_tag_ref(tag_id, kind)
                    members = await self._members(ref, zset=False)
                    doomed.extend(keys.legacy_ref_member_key(m) for m in members)
                    doomed.append(ref)
            doomed.extend(keys.legacy_tag_id_key(n) for n in self.names)
            await self._delete_chunks(doomed)
            return True
        entries: dict[bytes, None] = {}
        for zkey in self._tag_zsets:
            for member in await self._members(zkey, zset=True):
                entries[keys.tag_member_key(member)] = None
        items = list(entries)
        if self._cache._atomic_tag_flush:
            argv = [keys.tag_flush_prefix_pattern(), *self._tag_zsets]
            for i in range(0, len(items), _CHUNK):
                await self._wire.eval(_TAG_FLUSH, items[i : i + _CHUNK], argv)
            return True
        await self._delete_chunks(items, tail=self._tag_zsets)
        return True

    async def _delete_chunks(
        self, keys: list[bytes], tail: list[bytes] | None = None
    ) -> None:
        # chunks of 1000 (per hash slot on a cluster), then each tag key on its own
        commands = _del_commands(keys, cluster=self._cache._cluster)
        commands.extend(("DEL", key) for key in tail or [])
        if commands:
            await self._wire.pipeline(commands)

    async def flush_stale(self) -> bool:
        """Remove expired entries from these tags' indexes (10+; ``flushStale()``)."""
        if self._legacy:
            return True
        now = int(wall_time())
        async with self._redis.pipeline(transaction=False) as pipe:
            for zkey in self._tag_zsets:
                pipe.zremrangebyscore(zkey, 0, now)
            await pipe.execute()
        return True

    def lock(self, name: Key, seconds: int = 0, owner: str | None = None) -> AsyncLock:
        """The store's lock ``name`` (locks are not tag-aware in Laravel)."""
        return self._cache.lock(name, seconds, owner)
