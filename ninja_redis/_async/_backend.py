"""The few primitives that differ between asyncio and blocking code.

``ninja_redis/_sync/_backend.py`` is the hand-written twin with the same names.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

__all__ = [
    "spawn",
    "wait_spawned",
    "HandlerTimeout",
    "JobResult",
    "create_event",
    "install_signal_handlers",
    "monotonic",
    "prepare_timeouts",
    "run_blocking",
    "run_concurrently",
    "run_with_timeout",
    "send_packed",
    "sleep",
    "wait_event",
    "wall_time",
]

T = TypeVar("T")
R = TypeVar("R")
JobResult = Awaitable[Any]
"""What a job handler returns (a coroutine here; any value in the blocking twin)."""


async def sleep(seconds: float) -> None:
    """Sleep without blocking the event loop."""
    await asyncio.sleep(seconds)


def monotonic() -> float:
    """A monotonic clock in seconds (for deadlines)."""
    return time.monotonic()


def wall_time() -> float:
    """Unix time in seconds (for TTL scores, ``availableAt``, ``createdAt``)."""
    return time.time()


# ------------------------------------------------------------------ worker primitives


class HandlerTimeout(Exception):
    """A job handler ran longer than its timeout (raised by :func:`run_with_timeout`)."""


def create_event() -> asyncio.Event:
    """An event a signal handler can set to wake :func:`wait_event`."""
    return asyncio.Event()


async def wait_event(event: asyncio.Event, timeout: float) -> bool:
    """Wait up to ``timeout`` seconds for ``event``; ``True`` if it is set."""
    if event.is_set():
        return True
    if timeout <= 0:
        return False
    try:
        await asyncio.wait_for(event.wait(), timeout)
    except (asyncio.TimeoutError, TimeoutError):
        return False
    return True


_timeout_cm: Any = getattr(asyncio, "timeout", None)


async def run_with_timeout(
    fn: Callable[[T], Awaitable[R]], arg: T, timeout: float | None
) -> R:
    """``await fn(arg)``, cancelled after ``timeout`` seconds (``None``/0: no limit).

    Raises :class:`HandlerTimeout` when the time ran out (the task is cancelled).
    """
    if not timeout or timeout <= 0:
        return await fn(arg)
    if _timeout_cm is None:  # Python 3.10: wait_for (one task per call)
        try:
            return await asyncio.wait_for(fn(arg), timeout)
        except (asyncio.TimeoutError, TimeoutError) as exc:
            raise HandlerTimeout(f"timed out after {timeout:g}s") from exc
    # 3.11+: asyncio.timeout() cancels the current task at the deadline; no extra task.
    deadline = _timeout_cm(timeout)
    try:
        async with deadline:
            return await fn(arg)
    except TimeoutError as exc:
        if not deadline.expired():
            raise  # the handler's own TimeoutError: a job exception, not a timeout
        raise HandlerTimeout(f"timed out after {timeout:g}s") from exc


def prepare_timeouts() -> Callable[[], None]:
    """Set up :func:`run_with_timeout` for a whole worker run; returns the undo function.
    Nothing to do with asyncio (the blocking twin installs its ``SIGALRM`` handler)."""
    return lambda: None


async def run_blocking(fn: Callable[..., R], *args: Any) -> R:
    """Run a blocking call (a database driver) without blocking the event loop."""
    return await asyncio.to_thread(fn, *args)


async def run_concurrently(runners: list[Callable[[], Awaitable[None]]]) -> None:
    """Run the runner coroutines side by side until all of them return."""
    if len(runners) == 1:
        await runners[0]()
        return
    await asyncio.gather(*(r() for r in runners))


async def send_packed(conn: Any, data: bytes) -> None:
    """Send an already packed RESP request on a redis-py connection taken from a pool.

    Writes to the connection's stream directly when it is open: redis-py's
    ``send_packed_command`` wraps each write in ``asyncio.wait_for`` (a task per request)
    when ``socket_timeout`` is set. The reply is read with ``conn.read_response()``, which
    keeps the read timeout.
    """
    writer = getattr(conn, "_writer", None)
    if writer is None or writer.is_closing():
        await conn.send_packed_command(data, check_health=False)
        return
    writer.write(data)
    await writer.drain()  # at once unless the transport is over its high-water mark


def install_signal_handlers(callback: Callable[[int], None]) -> Callable[[], None]:
    """Call ``callback(signum)`` on SIGTERM/SIGINT; returns a function that undoes it.

    Uses ``loop.add_signal_handler`` (main thread, Unix); elsewhere it does nothing.
    """
    loop = asyncio.get_running_loop()
    installed: list[int] = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, callback, int(sig))
        except (NotImplementedError, RuntimeError, ValueError):
            continue
        installed.append(sig)

    def restore() -> None:
        for sig in installed:
            loop.remove_signal_handler(sig)

    return restore


_BACKGROUND: set[asyncio.Task[Any]] = set()


def spawn(fn: Callable[[], Awaitable[Any]]) -> asyncio.Task[Any]:
    """Run ``fn()`` in the background (an asyncio task, kept referenced until done).

    Used by ``Cache.flexible`` for its deferred refresh. Returns the task.
    """
    task: asyncio.Task[Any] = asyncio.ensure_future(fn())
    _BACKGROUND.add(task)
    task.add_done_callback(_BACKGROUND.discard)
    return task


async def wait_spawned(handles: list[asyncio.Task[Any]]) -> None:
    """Wait until the given :func:`spawn` handles have finished (errors propagate)."""
    if handles:
        await asyncio.gather(*handles)
