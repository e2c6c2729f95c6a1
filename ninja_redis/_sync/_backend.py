"""Blocking twin of ``ninja_redis/_async/_backend.py`` (hand-written, not generated)."""

from __future__ import annotations

import queue
import select
import signal
import threading
import time
import weakref
from collections.abc import Callable
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
JobResult = Any
"""What a job handler returns (any value; a coroutine in the asyncio twin)."""


def sleep(seconds: float) -> None:
    """Sleep (blocking)."""
    time.sleep(seconds)


def monotonic() -> float:
    """A monotonic clock in seconds (for deadlines)."""
    return time.monotonic()


def wall_time() -> float:
    """Unix time in seconds (for TTL scores, ``availableAt``, ``createdAt``)."""
    return time.time()


# ------------------------------------------------------------------ worker primitives


class HandlerTimeout(Exception):
    """A job handler ran longer than its timeout (raised by :func:`run_with_timeout`)."""


def create_event() -> threading.Event:
    """An event a signal handler (or another thread) can set to wake :func:`wait_event`."""
    return threading.Event()


def wait_event(event: threading.Event, timeout: float) -> bool:
    """Wait up to ``timeout`` seconds for ``event``; ``True`` if it is set."""
    if event.is_set():
        return True
    if timeout <= 0:
        return False
    return event.wait(timeout)


def run_with_timeout(fn: Callable[[T], R], arg: T, timeout: float | None) -> R:
    """``fn(arg)`` with a time limit (``None``/0: no limit).

    Python cannot kill a thread. In the main thread the limit is a ``SIGALRM`` timer whose
    handler raises :class:`HandlerTimeout` inside ``fn`` (what Laravel's ``pcntl_alarm``
    does, minus killing the process). In other threads ``fn`` runs in a helper daemon thread
    and :class:`HandlerTimeout` is raised when the limit passes; that thread is abandoned
    and keeps running until ``fn`` returns on its own.
    """
    if not timeout or timeout <= 0:
        return fn(arg)
    if threading.current_thread() is threading.main_thread() and hasattr(
        signal, "setitimer"
    ):
        return _run_with_alarm(fn, arg, timeout)
    return _run_in_helper_thread(fn, arg, timeout)


class _AlarmState:
    timeout: float = 0.0
    installed: bool = False  # by prepare_timeouts() (signal.getsignal() is slow)


_alarm = _AlarmState()


def _on_alarm(signum: int, frame: object) -> None:
    raise HandlerTimeout(f"timed out after {_alarm.timeout:g}s")


def _run_with_alarm(fn: Callable[[T], R], arg: T, timeout: float) -> R:
    # Installing a handler costs more than a no-op job: prepare_timeouts() does it once
    # per worker run; otherwise it is installed for this call only.
    previous = None
    if not _alarm.installed:
        previous = signal.signal(signal.SIGALRM, _on_alarm)
    _alarm.timeout = timeout
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        return fn(arg)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        if previous is not None:
            signal.signal(signal.SIGALRM, previous)


def prepare_timeouts() -> Callable[[], None]:
    """Install :func:`run_with_timeout`'s ``SIGALRM`` handler for a whole worker run (main
    thread only); returns the function that puts the previous handler back."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(
        signal, "setitimer"
    ):
        return lambda: None
    if _alarm.installed:
        return lambda: None
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    _alarm.installed = True

    def restore() -> None:
        _alarm.installed = False
        signal.signal(signal.SIGALRM, previous)

    return restore


class _Helper:
    """A daemon thread that runs handler calls for one worker thread, one at a time (a
    thread per call costs more than a no-op job). After a timeout it is abandoned: it
    finishes the call, then exits; so does an idle one whose owner thread has ended."""

    def __init__(self) -> None:
        self.calls: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.results: queue.SimpleQueue[tuple[bool, Any]] = queue.SimpleQueue()
        thread = threading.Thread(
            target=_helper_main,
            args=(self.calls, self.results),
            name="ninja-redis-job",
            daemon=True,
        )
        thread.start()
        # The owner's threading.local drops this object when the owner thread ends.
        weakref.finalize(self, self.calls.put, None)

    def retire(self) -> None:
        self.calls.put(None)


def _helper_main(
    calls: queue.SimpleQueue[Any], results: queue.SimpleQueue[Any]
) -> None:
    while True:
        call = calls.get()
        if call is None:
            return
        fn, arg = call
        try:
            results.put((True, fn(arg)))
        except BaseException as exc:  # handed to the waiting thread
            results.put((False, exc))
        del call, fn, arg


_helpers = threading.local()


def _run_in_helper_thread(fn: Callable[[T], R], arg: T, timeout: float) -> R:
    helper: _Helper | None = getattr(_helpers, "helper", None)
    if helper is None:
        helper = _helpers.helper = _Helper()
    helper.calls.put((fn, arg))
    try:
        ok, value = helper.results.get(timeout=timeout)
    except queue.Empty:
        _helpers.helper = None  # still running fn: abandoned, exits when fn returns
        helper.retire()
        raise HandlerTimeout(f"timed out after {timeout:g}s") from None
    if ok:
        return value  # type: ignore[no-any-return]
    raise value


def run_blocking(fn: Callable[..., R], *args: Any) -> R:
    """Run a blocking call (the twin of the asyncio version, which uses a thread)."""
    return fn(*args)


def run_concurrently(runners: list[Callable[[], None]]) -> None:
    """Run the runners side by side (one in this thread, the others in threads)."""
    if len(runners) == 1:
        runners[0]()
        return
    errors: list[BaseException] = []

    def wrap(runner: Callable[[], None]) -> Callable[[], None]:
        def target() -> None:
            try:
                runner()
            except BaseException as exc:  # re-raised in the calling thread
                errors.append(exc)

        return target

    threads = [
        threading.Thread(target=wrap(r), name=f"ninja-redis-worker-{i}", daemon=True)
        for i, r in enumerate(runners)
    ]
    for t in threads:
        t.start()
    for t in threads:
        while t.is_alive():
            t.join(0.2)  # short joins keep the main thread responsive to signals
    if errors:
        raise errors[0]


def send_packed(conn: Any, data: bytes) -> None:
    """Send an already packed RESP request on a redis-py connection taken from a pool
    (the twin of the asyncio version, which writes to the stream directly)."""
    conn.send_packed_command([data], check_health=False)


def install_signal_handlers(callback: Callable[[int], None]) -> Callable[[], None]:
    """Call ``callback(signum)`` on SIGTERM/SIGINT; returns a function that undoes it.

    Signal handlers can only be installed from the main thread; elsewhere this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous: dict[int, Any] = {}
    for sig in (signal.SIGTERM, signal.SIGINT):
        previous[int(sig)] = signal.signal(sig, lambda signum, frame: callback(signum))

    def restore() -> None:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

    return restore


def spawn(fn: Callable[[], Any]) -> threading.Thread:
    """Run ``fn()`` in the background (a daemon thread; the twin of the asyncio task).

    Used by ``Cache.flexible`` for its deferred refresh. Returns the started thread.
    """
    thread = threading.Thread(target=fn, name="ninja-redis-background", daemon=True)
    thread.start()
    return thread


def wait_spawned(handles: list[threading.Thread]) -> None:
    """Wait until the given :func:`spawn` handles have finished."""
    for thread in handles:
        thread.join()


# ------------------------------------------------------------ lean worker round trips


class Timer:
    """The asyncio twin's re-armable task deadline; never created here (blocking reads
    use the socket timeout, handlers :func:`run_with_timeout`)."""


def create_timer() -> Timer | None:
    """``None``: the blocking twin needs no timer (see the asyncio version)."""
    return None


def task_timer() -> Timer | None:
    """``None``: blocking reads use the socket timeout (see the asyncio version)."""
    return None


_NOT_ENOUGH: Any = None
_HiredisParser: Any = None
try:  # redis-py's private hiredis parser: read its replies without its read path
    from redis._parsers import hiredis as _hiredis_mod

    _NOT_ENOUGH = _hiredis_mod.NOT_ENOUGH_DATA
    _HiredisParser = _hiredis_mod._HiredisParser
except (ImportError, AttributeError):  # pragma: no cover - redis-py's own reads then
    pass


_RESP2 = (2, "2", None)


def _lean_parser(conn: Any) -> Any:
    """The connection's hiredis parser when the socket can be used directly: connected,
    RESP2 (``None``: go through redis-py)."""
    parser = getattr(conn, "_parser", None)
    if (
        type(parser) is not _HiredisParser
        or _HiredisParser is None
        or getattr(parser, "_reader", None) is None
        or conn._sock is None
        or conn.protocol not in _RESP2
    ):
        return None
    return parser


def _lean_failure(conn: Any, exc: BaseException, phase: str) -> BaseException:
    """What a failed direct send/read raises, after dropping the socket (its state is
    unknown): redis-py's ``TimeoutError``/``ConnectionError``, as its own path raises;
    anything else (``KeyboardInterrupt``...) as it is."""
    conn.disconnect()
    if isinstance(exc, TimeoutError):
        return RedisTimeoutError(f"Timeout {phase} {conn._host_error()}")
    if isinstance(exc, OSError):
        return RedisConnectionError(
            f"Error while {phase} {conn._host_error()} : {exc.args}"
        )
    return exc


def _send_and_read(conn: Any, parser: Any, data: bytes) -> Any:
    """Send ``data`` on the connection's socket and read one raw reply into its hiredis
    reader (the socket timeout applies to each call)."""
    reader = parser._reader
    phase = "writing to"
    try:
        conn._sock.sendall(data)
        phase = "reading from"
        reply = reader.gets(False)
        if reply is _NOT_ENOUGH:
            reply = _read_more(conn._sock, parser._buffer, reader)
    except BaseException as exc:
        raise _lean_failure(conn, exc, phase) from None
    return reply


def _read_more(sock: Any, buf: bytearray, reader: Any) -> Any:
    while True:
        n = sock.recv_into(buf)
        if not n:
            raise OSError("Connection closed by server.")
        reader.feed(buf, 0, n)
        reply = reader.gets(False)
        if reply is not _NOT_ENOUGH:
            return reply


def _read_next(conn: Any, parser: Any) -> Any:
    """The next raw reply (pipelines: after :func:`_send_and_read` read the first)."""
    reader = parser._reader
    reply = reader.gets(False)
    if reply is _NOT_ENOUGH:
        try:
            reply = _read_more(conn._sock, parser._buffer, reader)
        except BaseException as exc:
            raise _lean_failure(conn, exc, "reading from") from None
    return reply


def roundtrip(conn: Any, data: bytes, timer: Timer | None = None) -> Any:
    """Send a packed request on a redis-py connection and read its raw reply
    (``disable_decoding``); error replies raise their ``ResponseError`` subclass.

    On a connected RESP2 hiredis connection the bytes go straight to its socket and the
    reply is read straight into its hiredis reader (redis-py's read path costs more than
    the round trip's own system calls); the socket timeout applies, and a timeout or a
    closed socket disconnects and raises redis-py's ``TimeoutError``/``ConnectionError``,
    as redis-py does. Otherwise (not yet connected, no hiredis, RESP3) redis-py's path.
    """
    parser = _lean_parser(conn)
    if parser is None:
        send_packed(conn, data)
        return conn.read_response(disable_decoding=True)
    reply = _send_and_read(conn, parser, data)
    if isinstance(reply, Exception):
        raise reply
    if type(reply) is list and reply and isinstance(reply[0], RedisConnectionError):
        raise reply[0]
    return reply


def roundtrip_many(conn: Any, data: bytes, count: int) -> list[Any]:
    """:func:`roundtrip` for ``count`` pipelined requests packed in ``data``: every
    raw reply, error replies in place (as exception objects)."""
    parser = _lean_parser(conn)
    replies: list[Any] = []
    if parser is None:
        send_packed(conn, data)
        for _ in range(count):
            try:
                replies.append(conn.read_response(disable_decoding=True))
            except RedisResponseError as exc:
                replies.append(exc)
        return replies
    reply = _send_and_read(conn, parser, data)
    for i in range(count):
        if i:
            reply = _read_next(conn, parser)
        if isinstance(reply, RedisConnectionError):
            raise reply
        replies.append(reply)
    return replies


def run_handler(
    fn: Callable[[T], R], arg: T, timeout: float | None, timer: Timer | None
) -> R:
    """:func:`run_with_timeout` (the asyncio twin starts the coroutine eagerly)."""
    return run_with_timeout(fn, arg, timeout)


# ------------------------------------------------- session cache (tracking) primitives


def receive(
    conn: Any, timeout: float, lock: Any, handler: Callable[[Any], None]
) -> bool:
    """Handle the next raw reply on ``conn`` with ``handler(reply)``; ``False`` if
    none came within ``timeout`` s.

    Bytes are taken off the socket and handled only while holding ``lock``, so a thread
    that checks :func:`input_pending` under ``lock`` never misses a reply that was read
    but not yet handled. The wait itself happens outside the lock.
    """
    with lock:
        if conn._sock is None:
            raise ConnectionError("the connection is closed")
        if conn.can_read(timeout=0):  # buffered, readable, or closed (then raises)
            handler(conn.read_response(disable_decoding=True))
            return True
        sock = conn._sock
    select.select([sock], [], [], timeout)
    return False


def input_pending(conn: Any) -> bool:
    """Has the server sent bytes on ``conn`` that nobody has handled yet? ``True``
    when unsure (closed connection). Call it holding the lock given to
    :func:`receive`. Never blocks."""
    if conn is None or conn._sock is None:
        return True
    try:
        return bool(conn.can_read(timeout=0))
    except Exception:
        return True


def input_probe(conn: Any) -> Callable[[], bool]:
    """:func:`input_pending` bound to one connection (call it holding the lock given
    to :func:`receive`)."""
    return lambda: input_pending(conn)


def read_reply_within(conn: Any, timeout: float) -> Any:
    """The next raw reply on ``conn``, or ``None`` if none arrives within ``timeout`` s.

    Polls the socket first (``can_read``); a partly arrived reply is then read to its
    end under the socket timeout; a closed socket raises ``ConnectionError``.
    """
    if not conn.can_read(timeout=timeout):
        return None
    return conn.read_response(disable_decoding=True)


def background_alive(handle: Any, *, here: bool = True) -> bool:
    """Is the :func:`spawn` handle (a thread) still running? (``here`` is for the
    asyncio twin: a thread serves every thread of the process.)"""
    return handle is not None and bool(handle.is_alive())


def stop_background(handle: Any, timeout: float) -> None:
    """Wait up to ``timeout`` s for a :func:`spawn` thread that was told to stop."""
    if handle is None or handle is threading.current_thread():
        return
    handle.join(timeout)
