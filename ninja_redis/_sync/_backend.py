"""Blocking twin of ``ninja_redis/_async/_backend.py`` (hand-written, not generated)."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = [
    "spawn",
    "wait_spawned",
    "HandlerTimeout",
    "JobResult",
    "create_event",
    "install_signal_handlers",
    "monotonic",
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


def _run_with_alarm(fn: Callable[[T], R], arg: T, timeout: float) -> R:
    def on_alarm(signum: int, frame: object) -> None:
        raise HandlerTimeout(f"timed out after {timeout:g}s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        return fn(arg)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _run_in_helper_thread(fn: Callable[[T], R], arg: T, timeout: float) -> R:
    box: list[Any] = []
    done = threading.Event()

    def target() -> None:
        try:
            box.append((True, fn(arg)))
        except BaseException as exc:  # handed to the waiting thread
            box.append((False, exc))
        finally:
            done.set()

    thread = threading.Thread(target=target, name="ninja-redis-job", daemon=True)
    thread.start()
    if not done.wait(timeout):
        raise HandlerTimeout(f"timed out after {timeout:g}s")
    ok, value = box[0]
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
