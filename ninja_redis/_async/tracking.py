"""``AsyncSessionCache``: a server-assisted client-side cache of session reads.

Redis 6+ client-side caching in broadcasting mode. One dedicated RESP2 connection runs::

    CLIENT ID                                              -> <id>
    CLIENT TRACKING ON REDIRECT <id> BCAST PREFIX <⟨P⟩⟨C⟩>  (the session keys' prefix)
    SUBSCRIBE __redis__:invalidate

From then on the server publishes on that connection the name of every key under the
prefix that any client (PHP included) changes, deletes, expires or that is evicted
(``["message", "__redis__:invalidate", [key, ...]]``), and ``null`` instead of the list
on ``FLUSHDB``/``FLUSHALL``. Tracking lives and dies with that one connection (it
redirects to itself), so "the connection is up" means "invalidations are flowing".

Guarantee (see docs/sessions.md): a value is served from memory only while the
subscriber is live (subscribed, and a ``PING`` on it answered within the last
``health_interval + timeout`` seconds), for at most ``max_age`` seconds and never past the
key's own TTL. Redis queues the invalidation for a write before it replies to the writer,
so once a writer has its acknowledgement, a read here returns the new value as soon as
the subscriber has read the invalidation off its socket (the delivery delay: normally
well under a millisecond on an idle process). A read that races with an invalidation
cannot put a stale value back: the key is marked *in flight* before its ``GET`` and the
reply is cached only if no invalidation for it (and no flush) arrived in between.

Generated into ``ninja_redis/_sync/tracking.py`` (``SessionCache``, a daemon thread
instead of an asyncio task) by scripts/unasync.py.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Final

from redis.exceptions import ConnectionError, ResponseError, TimeoutError

from . import _backend

__all__ = ["NOT_CACHED", "AsyncSessionCache", "CacheEntry"]

log = logging.getLogger("ninja_redis.sessions")

CHANNEL: Final = b"__redis__:invalidate"


class _NotCached:
    __slots__ = ()

    def __repr__(self) -> str:
        return "NOT_CACHED"


#: :meth:`AsyncSessionCache.get` found nothing usable (``None`` is a cached "no such key").
NOT_CACHED: Final[Any] = _NotCached()


class AsyncSessionCache:
    """A bounded LRU of raw session replies kept fresh by Redis invalidation messages.

    ``client``: the redis-py client of the session connection (its host, auth, TLS
    and db are reused for the subscriber connection). ``prefix``: the key prefix to
    track (``⟨P⟩⟨C⟩``). ``max_entries``: LRU bound. ``max_age``: seconds an entry may
    be served at most (a second safety net behind invalidations). ``health_interval``:
    seconds between ``PING``\\ s on the subscriber connection; ``timeout``: seconds to
    connect, set up and answer a ``PING`` before the connection counts as broken.

    Not a public class: enabled by
    :meth:`~ninja_redis.AsyncSessionStore.enable_client_cache`.
    """

    def __init__(
        self,
        client: Any,
        prefix: bytes,
        *,
        max_entries: int = 10_000,
        max_age: float = 5.0,
        health_interval: float = 1.0,
        timeout: float = 1.0,
    ) -> None:
        if max_entries < 1 or max_age <= 0 or health_interval <= 0 or timeout <= 0:
            raise ValueError(
                "max_entries, max_age, health_interval, timeout must be > 0"
            )
        self.prefix = prefix
        self.max_entries = max_entries
        self.max_age = max_age
        self.health_interval = health_interval
        self.timeout = timeout
        self._factory = _connection_factory(client, timeout)
        self._lock = threading.RLock()
        #: unread bytes on the subscriber connection? (``True`` while there is none)
        self._pending: Callable[[], bool] = _always
        #: key -> entry (monotonic deadline, raw reply, derived data); oldest first
        self._entries: OrderedDict[bytes, CacheEntry] = OrderedDict()
        #: key -> token of the read in flight for it (dropped by an invalidation)
        self._inflight: dict[bytes, _Token] = {}
        self._live = False
        self._last_pong = 0.0
        self._handle: Any = None
        self._closed = False
        #: set when the server refused CLIENT TRACKING / SUBSCRIBE (ACL, renamed
        #: command, Redis < 6) or the client is a cluster client: no cache, for good
        self.disabled = self._factory is None
        self.hits = 0
        self.misses = 0
        self.invalidations = 0
        self.flushes = 0

    # ---------------------------------------------------------------- reading

    def usable(self) -> bool:
        """May entries be served right now? (Starts the subscriber if needed.)"""
        if self.disabled or self._closed:
            return False
        if not _backend.background_alive(self._handle):
            self._start()
            return False
        return (
            self._live
            and _backend.monotonic() - self._last_pong
            <= self.health_interval + self.timeout
        )

    def get(self, key: bytes) -> Any:
        """The cached raw reply for ``key`` (``None``: cached as missing), or
        :data:`NOT_CACHED`."""
        entry = self.lookup(key)
        return entry if entry is NOT_CACHED else entry.reply

    def lookup(self, key: bytes) -> Any:
        """The live :class:`CacheEntry` for ``key``, or :data:`NOT_CACHED`.

        Same rules as :meth:`get`; the entry's ``meta`` is what its user derived from
        the reply once (it goes away with the reply)."""
        if not self.usable():
            return NOT_CACHED
        now = _backend.monotonic()
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and self._pending():
                # an invalidation (or the connection's end) may be waiting unread
                self.misses += 1
                return NOT_CACHED
            if entry is None:
                self.misses += 1
                return NOT_CACHED
            if entry.deadline <= now:
                del self._entries[key]
                self.misses += 1
                return NOT_CACHED
            self._entries.move_to_end(key)
            self.hits += 1
            return entry

    def begin(self, key: bytes) -> _Token | None:
        """Mark ``key`` as being read; returns the token for :meth:`finish` (``None``
        when the cache is not live: do not cache the reply)."""
        if not self.usable():
            return None
        token = _Token(_backend.monotonic())
        with self._lock:
            self._inflight[key] = token
        return token

    def finish(
        self, key: bytes, token: _Token | None, reply: Any, pttl: Any
    ) -> CacheEntry | None:
        """Cache ``reply`` for ``key`` if no invalidation or flush came since
        :meth:`begin`. ``pttl``: the key's ``PTTL`` read in the same round trip.
        Returns the new entry (``None`` when nothing was cached)."""
        if token is None:
            return None
        with self._lock:
            if self._inflight.get(key) is not token:
                return None  # invalidated (or flushed) while the GET was in flight
            del self._inflight[key]
            if not self._live:
                return None
            ttl = self.max_age
            if isinstance(pttl, int) and pttl >= 0:
                ttl = min(ttl, pttl / 1000.0)
            if ttl <= 0:
                return None
            # from the time *before* the GET was sent: never past the real expiry
            entry = CacheEntry(token.started + ttl, reply)
            self._entries[key] = entry
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
            return entry

    def abandon(self, key: bytes, token: _Token | None) -> None:
        """The read for ``key`` failed: forget its in-flight mark."""
        if token is None:
            return
        with self._lock:
            if self._inflight.get(key) is token:
                del self._inflight[key]

    # ----------------------------------------------------------- invalidation

    def invalidate(self, key: bytes) -> None:
        """Drop ``key`` (and any read of it in flight)."""
        with self._lock:
            self._entries.pop(key, None)
            self._inflight.pop(key, None)
        self.invalidations += 1

    def clear(self) -> None:
        """Drop every entry and every read in flight."""
        with self._lock:
            self._entries.clear()
            self._inflight.clear()
        self.flushes += 1

    def __len__(self) -> int:
        return len(self._entries)

    def _set_live(self, live: bool) -> None:
        with self._lock:
            self._live = live
            self._entries.clear()
            self._inflight.clear()
        self.flushes += 1

    def _on_message(self, reply: Any) -> None:
        if not isinstance(reply, list) or not reply:
            return
        kind = reply[0]
        if kind == b"pong":  # ["pong", ""] in subscribed RESP2
            self._last_pong = _backend.monotonic()
            return
        if kind != b"message" or len(reply) < 3 or reply[1] != CHANNEL:
            return
        keys = reply[2]
        if keys is None:  # FLUSHDB / FLUSHALL: everything is invalid
            self.clear()
            return
        if isinstance(keys, bytes):
            keys = [keys]
        with self._lock:
            for key in keys:
                self._entries.pop(key, None)
                self._inflight.pop(key, None)
        self.invalidations += len(keys)

    # ------------------------------------------------------------- subscriber

    def _start(self) -> None:
        if self.disabled or self._closed:
            return
        self._set_live(False)
        self._handle = _backend.spawn(self._run)

    async def _run(self) -> None:
        backoff = 0.05
        while not self._closed and not self.disabled:
            conn = self._factory() if self._factory is not None else None
            if conn is None:
                return
            try:
                await self._subscribe(conn)
                backoff = 0.05
                await self._listen(conn)
            except ResponseError as exc:
                # NOPERM (ACL), unknown/renamed command, Redis < 6: no cache, silently
                log.debug(
                    "session cache disabled: the server refused tracking: %s", exc
                )
                self.disabled = True
            except (ConnectionError, TimeoutError, OSError) as exc:
                log.debug("session cache: invalidation connection lost: %s", exc)
            finally:
                self._set_live(False)
                with self._lock:
                    self._pending = _always
                try:
                    await conn.disconnect()
                except Exception:  # pragma: no cover - best effort
                    pass
            if self._closed or self.disabled:
                return
            await _backend.sleep(backoff)
            backoff = min(backoff * 2, 2.0)

    async def _subscribe(self, conn: Any) -> None:
        await conn.connect()
        client_id = await _call(conn, "CLIENT", "ID", timeout=self.timeout)
        await _call(
            conn,
            "CLIENT",
            "TRACKING",
            "ON",
            "REDIRECT",
            client_id,
            "BCAST",
            "PREFIX",
            self.prefix,
            timeout=self.timeout,
        )
        reply = await _call(conn, "SUBSCRIBE", CHANNEL, timeout=self.timeout)
        if not (isinstance(reply, list) and reply and reply[0] == b"subscribe"):
            raise ConnectionError(f"unexpected SUBSCRIBE reply {reply!r}")
        await _backend.send_packed(conn, b"".join(conn.pack_command("PING")))
        # entries are served only after this PONG: every invalidation sent before it
        # has been read (one connection, in order)
        deadline = _backend.monotonic() + self.timeout
        while True:
            left = deadline - _backend.monotonic()
            if left <= 0:
                raise TimeoutError("no PONG on the invalidation connection")
            reply = await _backend.read_reply_within(conn, min(left, 0.2))
            if reply is None:
                if self._closed:
                    return
                continue
            self._on_message(reply)
            if isinstance(reply, list) and reply and reply[0] == b"pong":
                break
        with self._lock:
            self._pending = _backend.input_probe(conn)
        self._set_live(True)
        self._last_pong = _backend.monotonic()
        log.debug("session cache: tracking prefix %r", self.prefix)

    async def _listen(self, conn: Any) -> None:
        interval, timeout = self.health_interval, self.timeout
        ping_sent: float | None = None
        next_ping = _backend.monotonic() + interval
        while not self._closed:
            now = _backend.monotonic()
            if ping_sent is not None and self._last_pong >= ping_sent:
                ping_sent = None
                next_ping = self._last_pong + interval
            if ping_sent is None and now >= next_ping:
                await _backend.send_packed(conn, b"".join(conn.pack_command("PING")))
                ping_sent = now
            if ping_sent is not None:
                if now - ping_sent > timeout:
                    raise TimeoutError("no PONG on the invalidation connection")
                wait = ping_sent + timeout - now
            else:
                wait = next_ping - now
            # short polls: the blocking twin checks ``_closed`` between them
            await _backend.receive(
                conn, max(0.001, min(wait, 0.2)), self._lock, self._on_message
            )

    async def aclose(self) -> None:
        """Stop the subscriber, close its connection and drop every entry."""
        self._closed = True
        handle, self._handle = self._handle, None
        await _backend.stop_background(handle, self.timeout + 0.5)
        self._set_live(False)


class CacheEntry:
    """One cached reply: served until ``deadline`` (monotonic) unless invalidated.

    ``meta`` starts as ``None``; the session store puts there what it derived from
    ``reply`` once (so it is dropped, and recomputed, together with the bytes)."""

    __slots__ = ("deadline", "meta", "reply")

    def __init__(self, deadline: float, reply: Any) -> None:
        self.deadline = deadline
        self.reply = reply
        self.meta: Any = None


def _always() -> bool:
    return True


class _Token:
    """One read in flight: identity marks it, ``started`` is when its GET was sent."""

    __slots__ = ("started",)

    def __init__(self, started: float) -> None:
        self.started = started


async def _call(conn: Any, *args: Any, timeout: float) -> Any:
    await _backend.send_packed(conn, b"".join(conn.pack_command(*args)))
    reply = await _backend.read_reply_within(conn, timeout)
    if reply is None:
        raise TimeoutError(f"no reply to {args[0]} {args[1] if len(args) > 1 else ''}")
    if isinstance(reply, ResponseError):
        raise reply
    return reply


def _connection_factory(client: Any, timeout: float) -> Any:
    """A factory of RESP2 connections like the client's own, or ``None`` (cluster)."""
    pool: Any = getattr(client, "connection_pool", None)
    if pool is None or not hasattr(pool, "connection_kwargs"):
        return None
    kwargs = dict(pool.connection_kwargs)
    kwargs["protocol"] = 2
    kwargs["decode_responses"] = False
    kwargs["socket_timeout"] = timeout
    kwargs["socket_connect_timeout"] = timeout
    kwargs.pop("health_check_interval", None)
    kwargs.pop("retry", None)
    return lambda: pool.connection_class(**kwargs)
