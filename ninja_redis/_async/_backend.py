"""The few primitives that differ between asyncio and blocking code.

``ninja_redis/_sync/_backend.py`` is the hand-written twin with the same names.
"""

from __future__ import annotations

import asyncio
import select
import signal
import time
import types
from collections.abc import Awaitable, Callable, Generator
from typing import Any, TypeVar

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError as RedisResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

__all__ = [
    "spawn",
    "wait_spawned",
    "HandlerTimeout",
    "JobResult",
    "Timer",
    "create_event",
    "create_timer",
    "task_timer",
    "install_signal_handlers",
    "monotonic",
    "prepare_timeouts",
    "run_blocking",
    "run_concurrently",
    "roundtrip",
    "roundtrip_many",
    "run_handler",
    "run_with_timeout",
    "send_packed",
    "sleep",
    "wait_event",
    "wall_time",
    "background_alive",
    "input_pending",
    "input_probe",
    "read_reply_within",
    "receive",
    "stop_background",
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


# ------------------------------------------------------------ lean worker round trips

_UNCANCEL = hasattr(asyncio.Task, "uncancel")  # 3.11+: timers that cancel the task


class Timer:
    """A re-armable deadline for the current task, with at most one loop timer pending.

    ``asyncio.timeout()`` (and redis-py's per-read timeout) creates a ``TimerHandle`` per
    use and leaves it cancelled in the loop's heap; at thousands of jobs a second that heap
    and its Python-level comparisons cost more than the work. Here :meth:`arm` only stores
    the deadline (deadlines move forward), and the one pending loop timer, when it fires
    early, re-schedules itself at the current deadline. At the deadline it cancels the task
    exactly like ``asyncio.timeout()``, and :meth:`expired_here` turns that cancellation
    into a timeout (3.11+; :func:`create_timer` returns ``None`` on 3.10).
    """

    __slots__ = (
        "_loop",
        "_task",
        "_deadline",
        "_armed",
        "_handle",
        "_when",
        "_base",
        "expired",
    )

    def __init__(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._task: Any = asyncio.current_task()
        self._deadline = 0.0
        self._armed = False
        self._handle: asyncio.TimerHandle | None = None
        self._when = 0.0
        self._base = 0
        self.expired = False

    def arm_at(self, deadline: float) -> None:
        """Cancel the task at ``deadline`` (loop time) unless :meth:`disarm` comes first."""
        self._deadline = deadline
        self._armed = True
        if self._handle is None or self._when > deadline:
            if self._handle is not None:
                self._handle.cancel()
            self._when = deadline
            self._handle = self._loop.call_at(deadline, self._fire)

    def disarm(self) -> None:
        """The guarded operation is over (its pending timer, if any, stays, harmless)."""
        self._armed = False

    def _fire(self) -> None:
        self._handle = None
        if not self._armed:
            return
        if self._deadline > self._when:  # re-armed since: wait for the current deadline
            self._when = self._deadline
            self._handle = self._loop.call_at(self._deadline, self._fire)
            return
        self._armed = False
        self.expired = True
        self._base = self._task.cancelling()
        self._task.cancel()

    def expired_here(self) -> bool:
        """After the guarded await: ``True`` if it was this timer that cancelled the task
        (the cancellation is then consumed, as ``asyncio.timeout()`` does)."""
        if not self.expired:
            return False
        self.expired = False
        return bool(self._task.uncancel() <= self._base)


def create_timer() -> Timer | None:
    """A :class:`Timer` for the current task (``None`` on Python 3.10: the callers then use
    ``asyncio.timeout``/``wait_for`` as before)."""
    return Timer() if _UNCANCEL else None


_TASK_TIMERS: dict[asyncio.Task[Any], Timer] = {}


def task_timer() -> Timer | None:
    """The current task's :class:`Timer` for :func:`roundtrip` reads, created on first
    use and forgotten when the task is done (``None`` outside a task or on 3.10)."""
    task = asyncio.current_task()
    if task is None or not _UNCANCEL:
        return None
    timer = _TASK_TIMERS.get(task)
    if timer is None:
        timer = _TASK_TIMERS[task] = Timer()
        task.add_done_callback(_forget_task_timer)
    return timer


def _forget_task_timer(task: asyncio.Task[Any]) -> None:
    _TASK_TIMERS.pop(task, None)


_NOT_ENOUGH: Any = None
_AsyncHiredisParser: Any = None
try:  # redis-py's private hiredis parser: read its replies without its read path
    from redis._parsers import hiredis as _hiredis_mod

    _NOT_ENOUGH = _hiredis_mod.NOT_ENOUGH_DATA
    _AsyncHiredisParser = _hiredis_mod._AsyncHiredisParser
except (ImportError, AttributeError):  # pragma: no cover - redis-py's own reads then
    pass


def _hiredis_reader(conn: Any) -> Any:
    """The connection's ``hiredis.Reader`` when its replies can be read directly."""
    parser = getattr(conn, "_parser", None)
    if (
        _AsyncHiredisParser is None
        or not isinstance(parser, _AsyncHiredisParser)
        or not getattr(parser, "_connected", False)
        or conn.protocol not in (2, "2", None)
    ):
        return None
    return parser._reader


async def roundtrip(conn: Any, data: bytes, timer: Timer | None = None) -> Any:
    """Send a packed request on a pool connection and read its raw reply
    (``disable_decoding``), with one deadline: the connection's ``socket_timeout``.

    Same results as ``send_packed`` + ``conn.read_response(disable_decoding=True)``
    (error replies raise their ``ResponseError`` subclass; a read past the timeout raises
    redis-py's ``TimeoutError`` and disconnects, a closed socket ``ConnectionError``), but
    the reply is read straight from the connection's stream into its hiredis reader and the
    timeout is ``timer``'s lazily re-armed deadline instead of an ``asyncio.timeout()`` per
    read. Falls back to redis-py's own read without hiredis, with RESP3 or on 3.10.
    """
    writer = getattr(conn, "_writer", None)
    reader = _hiredis_reader(conn) if timer is not None else None
    if reader is None or writer is None or writer.is_closing():
        await send_packed(conn, data)
        return await conn.read_response(disable_decoding=True)
    assert timer is not None
    writer.write(data)
    if writer.transport.get_write_buffer_size():  # not all sent at once: flow control
        await writer.drain()
    reply = reader.gets(False)
    if reply is _NOT_ENOUGH:
        stream = conn._reader
        timeout = conn.socket_timeout
        if timeout is not None:
            timer.arm_at(timer._loop.time() + timeout)
        try:
            while reply is _NOT_ENOUGH:
                chunk = await stream.read(65536)
                if not chunk:
                    raise OSError("Connection closed by server.")
                reader.feed(chunk)
                reply = reader.gets(False)
        except asyncio.CancelledError:
            timer.disarm()
            ours = timer.expired_here()  # consumed before any other await
            await conn.disconnect(nowait=True)
            if ours:
                raise RedisTimeoutError(
                    f"Timeout reading from {conn._host_error()}"
                ) from None
            raise
        except OSError as exc:
            timer.disarm()
            await conn.disconnect(nowait=True)
            raise RedisConnectionError(
                f"Error while reading from {conn._host_error()} : {exc.args}"
            ) from None
        except BaseException:  # a protocol error...: the reply is unknown
            timer.disarm()
            await conn.disconnect(nowait=True)
            raise
        timer.disarm()
        if timer.expired:  # expired as the reply came in: it did come in
            timer.expired_here()
    if isinstance(reply, Exception):
        raise reply
    if type(reply) is list and reply and isinstance(reply[0], RedisConnectionError):
        raise reply[0]
    return reply


async def roundtrip_many(conn: Any, data: bytes, count: int) -> list[Any]:
    """:func:`roundtrip` for ``count`` pipelined requests packed in ``data``: every
    raw reply, error replies in place (as exception objects)."""
    await send_packed(conn, data)
    replies: list[Any] = []
    for _ in range(count):
        try:
            replies.append(await conn.read_response(disable_decoding=True))
        except RedisResponseError as exc:
            replies.append(exc)
    return replies


@types.coroutine
def _resume(coro: Any, yielded: Any) -> Generator[Any, Any, Any]:
    # ``yield from coro`` for a coroutine already stepped once (it yielded ``yielded``).
    while True:
        try:
            value = yield yielded
        except GeneratorExit:
            coro.close()
            raise
        except BaseException as exc:  # thrown in by the task (CancelledError)
            try:
                yielded = coro.throw(exc)
            except StopIteration as stop:
                return stop.value
        else:
            try:
                yielded = coro.send(value)
            except StopIteration as stop:
                return stop.value


async def run_handler(
    fn: Callable[[T], Awaitable[R]], arg: T, timeout: float | None, timer: Timer | None
) -> R:
    """:func:`run_with_timeout` with a :class:`Timer`: the handler's coroutine is started
    at once, and a handler that finishes without waiting (a no-op, CPU-only work) needs no
    timer at all; one that waits is cancelled at ``timeout`` seconds after its start and
    :class:`HandlerTimeout` raised, exactly as with ``asyncio.timeout()``."""
    coro: Any = fn(arg)
    if (
        timer is None
        or not timeout
        or timeout <= 0
        or not isinstance(coro, types.CoroutineType)
    ):
        return await run_with_timeout(lambda _: coro, arg, timeout)
    start = timer._loop.time()
    try:
        yielded = coro.send(None)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]
    timer.arm_at(start + timeout)
    try:
        result = await _resume(coro, yielded)
    except asyncio.CancelledError as exc:
        timer.disarm()
        if timer.expired_here():
            raise HandlerTimeout(f"timed out after {timeout:g}s") from exc
        raise
    except BaseException as exc:
        timer.disarm()
        if timer.expired_here() and isinstance(exc, TimeoutError):
            # the handler turned the cancellation into its own TimeoutError
            raise HandlerTimeout(f"timed out after {timeout:g}s") from exc
        raise
    timer.disarm()
    if timer.expired:  # the handler swallowed the cancellation: it finished normally
        timer.expired_here()
    return result  # type: ignore[no-any-return]


# ------------------------------------------------- session cache (tracking) primitives


async def receive(
    conn: Any, timeout: float, lock: Any, handler: Callable[[Any], None]
) -> bool:
    """Wait up to ``timeout`` s for the next raw reply on ``conn`` and hand it to
    ``handler``; ``False`` if none came. (The blocking twin reads and handles under
    ``lock`` so that :func:`input_pending` under the same lock sees no gap; here the
    handler runs without an ``await`` in between, so no lock is needed.)"""
    reply = await read_reply_within(conn, timeout)
    if reply is None:
        return False
    handler(reply)
    return True


def input_pending(conn: Any) -> bool:
    """Has the server sent bytes on ``conn`` that nobody has handled yet (in the
    kernel's socket buffer, the stream buffer or the parser)? ``True`` when unsure
    (closed or unknown connection). Never blocks, never reads."""
    writer = getattr(conn, "_writer", None)
    stream = getattr(conn, "_reader", None)
    if writer is None or stream is None or writer.is_closing():
        return True
    if stream.at_eof() or len(getattr(stream, "_buffer", b"")) > 0:
        return True
    reader = getattr(getattr(conn, "_parser", None), "_reader", None)
    has_data = getattr(reader, "has_data", None)
    if has_data is not None and has_data():
        return True
    sock = writer.get_extra_info("socket")
    if sock is None:
        return True
    try:
        return bool(select.select([sock.fileno()], [], [], 0)[0])
    except (OSError, ValueError):
        return True


def input_probe(conn: Any) -> Callable[[], bool]:
    """:func:`input_pending` for one connected connection, with its stream, parser and
    socket looked up once (called on every cache hit)."""
    writer = getattr(conn, "_writer", None)
    stream = getattr(conn, "_reader", None)
    sock = writer.get_extra_info("socket") if writer is not None else None
    if writer is None or stream is None or sock is None:
        return lambda: True
    reader = getattr(getattr(conn, "_parser", None), "_reader", None)
    has_data: Callable[[], bool] = getattr(reader, "has_data", None) or (lambda: False)
    poller = select.poll()
    poller.register(sock.fileno(), select.POLLIN | select.POLLPRI)
    poll = poller.poll

    def probe() -> bool:
        return bool(
            writer.is_closing()
            or stream._eof
            or stream._buffer
            or has_data()
            or poll(0)
        )

    return probe


async def read_reply_within(conn: Any, timeout: float) -> Any:
    """The next raw reply on ``conn``, or ``None`` if none arrives within ``timeout`` s.

    A timeout leaves the connection usable (redis-py keeps a partly read reply in its
    parser and the next call continues it); a closed socket raises ``ConnectionError``.
    """
    return await conn.read_response(
        disable_decoding=True, timeout=timeout, disconnect_on_error=False
    )


def background_alive(handle: Any, *, here: bool = True) -> bool:
    """Is the :func:`spawn` handle still running (and, with ``here``, on this event
    loop, i.e. able to keep state used by the current task up to date)?"""
    if handle is None or handle.done():
        return False
    loop = handle.get_loop()
    if loop.is_closed():
        return False
    if not here:
        return True
    try:
        return bool(asyncio.get_running_loop() is loop)
    except RuntimeError:
        return False


async def stop_background(handle: Any, timeout: float) -> None:
    """Stop a :func:`spawn` handle (cancel the task) and wait up to ``timeout`` s."""
    if handle is None or handle.done():
        return
    if handle.get_loop() is not asyncio.get_running_loop():
        handle.get_loop().call_soon_threadsafe(handle.cancel)
        return
    handle.cancel()
    await asyncio.wait([handle], timeout=timeout)
