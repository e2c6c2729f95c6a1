"""``AsyncWire``: a lean command path on a redis-py client's own connections.

redis-py's ``execute_command`` spends most of its time outside the socket: pool
bookkeeping, observability hooks and a retry wrapper around every command. On the hot
paths (a cache GET, a lock's SET NX, a queue pop) that overhead was ~3x the cost of
the round trip itself, and exactly what made Python slower than phpredis.

``AsyncWire`` keeps its own free list of connections of the client's connection class
(same host, auth, TLS, db, timeouts, hiredis parser), sends the packed command and
reads the raw reply. Nothing else changes:

* replies (standalone clients) are raw RESP2 replies (``bytes``, ``int``, flat lists,
  ``None``), whatever protocol the client itself uses, read straight from the socket
  into the connection's hiredis reader;
* a Redis error reply raises the usual ``redis.exceptions.ResponseError`` subclass
  (``NoScriptError`` ...) and the connection goes back to the free list;
* on a connection error or timeout the connection is dropped and the command is sent
  again on fresh connections under the client's own redis-py ``Retry`` policy, so
  failure behaviour is redis-py's;
* a cancelled or interrupted command drops its connection (its reply is unknown);
* cluster clients always use ``execute_command`` (slot routing), so their replies are
  redis-py's *parsed* replies (``HGETALL`` a dict, ``SET`` ``True``), and a pipeline
  with ``MULTI``/``EXEC`` is refused (``ValueError``): use
  ``client.pipeline(transaction=True)`` there;
* after ``fork()`` the child forgets the parent's connections (never shares a socket).
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Callable, Sequence
from typing import Any

import redis.asyncio as redis
from redis.exceptions import (
    ConnectionError,
    NoScriptError,
    RedisError,
    ResponseError,
    TimeoutError,
)

from .._scripts import Script
from . import _backend

__all__ = ["AsyncWire"]

_hiredis_pack: Any
try:
    from hiredis import pack_command as _hiredis_pack
except ImportError:  # pragma: no cover - hiredis is a dependency
    _hiredis_pack = None

_WIRES: weakref.WeakSet[AsyncWire] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for wire in list(_WIRES):
        wire._forget_after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)

EncodableArg = bytes | str | int | float


class AsyncWire:
    """Fast single commands and pipelines on one redis-py client (see module doc)."""

    def __init__(self, client: Any) -> None:
        self.client = client
        pool: Any = getattr(client, "connection_pool", None)
        standalone = isinstance(client, redis.Redis) and pool is not None
        # Same server, auth, TLS and timeouts as the client, but always RESP2 (what
        # phpredis speaks), so raw replies have one shape whatever the client uses.
        kwargs = dict(pool.connection_kwargs) if standalone else {}
        kwargs["protocol"] = 2
        self._factory: Any = (
            (lambda: pool.connection_class(**kwargs)) if standalone else None
        )
        self._free: list[Any] = []
        self._opened: list[Any] = []
        self._closed = False
        _WIRES.add(self)

    def _forget_after_fork(self) -> None:
        """In a forked child: drop (without closing) the parent's sockets."""
        self._free = []
        self._opened = []

    def _take(self) -> Any:
        try:
            return self._free.pop()
        except IndexError:
            if self._closed:
                raise _closed_error() from None
            conn = self._factory()
            self._opened.append(conn)
            return conn

    async def _drop(self, conn: Any) -> None:
        try:
            self._opened.remove(conn)
        except ValueError:
            pass
        try:
            await conn.disconnect()
        except Exception:  # pragma: no cover - best effort on a broken socket
            pass

    async def execute(self, *args: EncodableArg) -> Any:
        """Run one command and return its raw reply."""
        if self._factory is None:
            return await self.client.execute_command(*args)
        conn = self._take()
        try:
            reply = await conn_roundtrip(conn, args)
        except ResponseError:
            self._free.append(conn)
            raise
        except (ConnectionError, TimeoutError, OSError):
            await self._drop(conn)
            return await self._retry(lambda c: conn_roundtrip(c, args))
        except BaseException:
            await self._drop(conn)
            raise
        self._free.append(conn)
        return reply

    async def eval(
        self,
        script: Script,
        keys: Sequence[EncodableArg],
        args: Sequence[EncodableArg] = (),
    ) -> Any:
        """Run a bundled Lua script: ``EVALSHA``; on ``NOSCRIPT`` (a restarted or
        flushed server) ``EVAL`` with the text, which also caches it again."""
        try:
            return await self.execute("EVALSHA", script.sha, len(keys), *keys, *args)
        except NoScriptError:
            return await self.execute("EVAL", script.text, len(keys), *keys, *args)

    async def pipeline(
        self, commands: Sequence[Sequence[EncodableArg]], *, raise_on_error: bool = True
    ) -> list[Any]:
        """Send ``commands`` in one write and read every reply (one round trip).

        Not a transaction: wrap in ``MULTI``/``EXEC`` yourself for atomicity (the
        ``EXEC`` reply is then the list of results). With ``raise_on_error`` the first
        error reply is raised after every reply has been read; otherwise error replies
        are returned in place as exception objects.
        """
        if not commands:
            return []
        if self._factory is None:
            if any(_name(cmd) in (b"MULTI", b"EXEC") for cmd in commands):
                raise ValueError(
                    "MULTI/EXEC cannot go through a cluster client's pipeline: use "
                    "client.pipeline(transaction=True) with keys of one hash slot"
                )
            pipe = self.client.pipeline(transaction=False)
            for cmd in commands:
                pipe.execute_command(*cmd)
            return list(await pipe.execute(raise_on_error=raise_on_error))
        conn = self._take()
        try:
            replies = await conn_roundtrip_many(conn, commands)
        except (ConnectionError, TimeoutError, OSError):
            await self._drop(conn)
            replies = await self._retry(lambda c: conn_roundtrip_many(c, commands))
        except BaseException:
            await self._drop(conn)
            raise
        else:
            self._free.append(conn)
        if raise_on_error:
            for reply in replies:
                if isinstance(reply, ResponseError):
                    raise reply
        return replies

    async def _retry(self, attempt: Callable[[Any], Any]) -> Any:
        """Run ``attempt`` on fresh connections under the client's redis-py Retry policy."""
        current: list[Any] = []

        async def do() -> Any:
            if self._closed:  # not a ConnectionError: redis-py would retry that
                raise _closed_error()
            conn = self._factory()
            self._opened.append(conn)
            current.append(conn)
            return await attempt(conn)

        async def fail(_exc: BaseException) -> None:
            while current:
                await self._drop(current.pop())

        try:
            result = await self.client.get_retry().call_with_retry(do, fail)
        except BaseException:
            await fail(ConnectionError())
            raise
        self._free.extend(current)
        return result

    async def aclose(self) -> None:
        """Close every connection this wire opened; later commands raise ``RedisError``
        (a command still retrying, e.g. one its caller stopped waiting for, stops)."""
        self._closed = True
        opened, self._opened, self._free = self._opened, [], []
        for conn in opened:
            try:
                await conn.disconnect()
            except Exception:  # pragma: no cover - best effort
                pass


def _closed_error() -> RedisError:
    return RedisError("this wire is closed (the app was closed)")


def _name(cmd: Sequence[EncodableArg]) -> bytes:
    """A command's name, upper-cased (``b""`` for an empty command)."""
    if not cmd:
        return b""
    first = cmd[0]
    return first.upper() if isinstance(first, bytes) else str(first).upper().encode()


def _pack(conn: Any, args: Sequence[EncodableArg]) -> bytes:
    """RESP bytes of one command: hiredis packs bytes/str/int/float in C with the
    same output as redis-py's packer, which stays the fallback for other types."""
    if _hiredis_pack is not None:
        try:
            packed: bytes = _hiredis_pack(tuple(args))
            return packed
        except TypeError:
            pass
    return b"".join(conn.pack_command(*args))


async def conn_roundtrip(conn: Any, args: Sequence[EncodableArg]) -> Any:
    """One command on one redis-py connection: the raw reply (errors raise)."""
    return await _backend.roundtrip(conn, _pack(conn, args), _backend.task_timer())


async def conn_roundtrip_many(
    conn: Any, commands: Sequence[Sequence[EncodableArg]]
) -> list[Any]:
    """Pipelined commands on one connection; error replies are returned in place."""
    data = b"".join([_pack(conn, cmd) for cmd in commands])
    return await _backend.roundtrip_many(conn, data, len(commands))
