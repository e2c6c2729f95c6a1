"""Options and helpers shared by the ASGI, WSGI and Django middleware."""

from __future__ import annotations

import asyncio
import inspect
import logging
import threading
from typing import TYPE_CHECKING, Any, Final, Literal

from redis.exceptions import RedisError

from .._async.tracking import NOT_CACHED
from ..crypto import parse_cookie_header
from ..exceptions import DecryptError, UnserializeError
from ..sessions import Session

if TYPE_CHECKING:
    from .._async.session import AsyncSessionStore
    from .._sync.session import SessionStore

Require = Literal["session", "user"] | None

#: Laravel's JSON answer for an unauthenticated request.
UNAUTHENTICATED_BODY: Final = b'{"message":"Unauthenticated."}'
REASONS: Final = {401: "Unauthorized", 403: "Forbidden", 419: "Page Expired"}

log = logging.getLogger("ninja_redis.middleware")


#: Session loads the ASGI middleware stopped waiting for (cancelled, still winding
#: down): kept referenced until done; :func:`wait_abandoned` waits for them.
_ABANDONED: set[asyncio.Future[Any]] = set()


def _consume(task: asyncio.Future[Any]) -> None:
    _ABANDONED.discard(task)
    if not task.cancelled():
        task.exception()  # retrieved: no "exception was never retrieved" noise


async def wait_abandoned(timeout: float) -> None:
    """Wait up to ``timeout`` s for the session loads the middleware gave up on (after
    a hung Redis) to finish cancelling, so that their connections are closed before
    the event loop is (a lifespan shutdown hook, tests)."""
    pending = [t for t in _ABANDONED if not t.done()]
    if pending:
        await asyncio.wait(pending, timeout=timeout)


def check_require(require: Any) -> Require:
    """Validate the ``require`` option."""
    if require not in (None, "session", "user"):
        raise ValueError("require must be None, 'session' or 'user'")
    return require  # type: ignore[no-any-return]


def check_sync_loader(user_loader: Any) -> None:
    """A blocking middleware cannot await an ``async def`` user_loader."""
    if user_loader is not None and inspect.iscoroutinefunction(user_loader):
        raise TypeError(
            "user_loader is an async function: this middleware is synchronous, "
            "pass a plain function"
        )


def rejected(require: Require, session: Session | None, user_id: Any) -> bool:
    """Should the request be refused under ``require``?"""
    if require == "session":
        return session is None
    if require == "user":
        return user_id is None
    return False


def redis_timeout(store: SessionStore | AsyncSessionStore) -> float | None:
    """The session connection's configured timeout (what redis-py uses per read)."""
    conn = store._app.config.connection(store.connection_name)
    return conn.read_timeout or conn.timeout


def _session_id(store: SessionStore | AsyncSessionStore, cookie: str) -> str | None:
    session_id = store.session_id_from_cookie(cookie)
    if session_id is None:
        # a tampered or foreign cookie, or this app's APP_KEY is not Laravel's
        log.info(
            "session cookie %r rejected (MAC, APP_KEY or cookie-name prefix)",
            store.cookie_name,
        )
    return session_id


def _failed(session_id: str, exc: BaseException) -> None:
    # never the whole id (it is the cookie's plaintext), nor the key naming it
    if isinstance(exc, (UnserializeError, DecryptError)):
        log.warning(
            "session %s... has unreadable data (%s): treated as no session",
            session_id[:6],
            type(exc).__name__,
        )
    else:
        log.warning(
            "session %s... not loaded, Redis unavailable (%s: %s): "
            "treated as no session",
            session_id[:6],
            type(exc).__name__,
            exc,
        )


def _missing(session_id: str) -> None:
    log.debug("session %s... not found (expired or destroyed)", session_id[:6])


def load_session(store: SessionStore, cookie: str) -> Session | None:
    """The cookie's session, or ``None`` (logged) for any failure, Redis errors too."""
    session_id = _session_id(store, cookie)
    if session_id is None:
        return None
    try:
        session = store.load(session_id)
    except (UnserializeError, DecryptError, RedisError, OSError) as exc:
        _failed(session_id, exc)
        return None
    if session is None:
        _missing(session_id)
    return session


async def aload_session(
    store: AsyncSessionStore, cookie: str, timeout: float | None
) -> Session | None:
    """:func:`load_session` for asyncio, the whole load bounded by ``timeout``.

    redis-py retries a timed-out or refused command under the client's ``Retry``
    policy (by default 3 times with backoff: ~10 s for a 0.5 s timeout); the
    request must not wait for that.
    """
    session_id = _session_id(store, cookie)
    if session_id is None:
        return None
    try:
        hit = store.cached(session_id)  # a session-cache hit needs no I/O
        if hit is not NOT_CACHED:
            session: Session | None = hit
        elif timeout is None:
            session = await store.fetch(session_id)
        else:
            # a task we stop waiting for at the deadline, even if cancelling it
            # takes longer (redis-py's retry loop may not stop at once)
            task = asyncio.ensure_future(store.fetch(session_id))
            done, _ = await asyncio.wait((task,), timeout=timeout)
            if not done:
                task.cancel()
                _ABANDONED.add(task)
                task.add_done_callback(_consume)
                raise asyncio.TimeoutError(f"no reply within {timeout} s")
            session = task.result()
    except (
        UnserializeError,
        DecryptError,
        RedisError,
        OSError,
        asyncio.TimeoutError,
    ) as exc:
        _failed(session_id, exc)
        return None
    if session is None:
        _missing(session_id)
    return session


class CookieReader:
    """One cookie's value out of ``Cookie:`` headers, remembering recent headers.

    A browser repeats the same header until a cookie changes, and parsing it
    (``parse_cookie_header``: split, percent-decoding) is a pure function, so the
    value found in each of the last ``size`` distinct headers is kept (FIFO).
    Safe to share between threads (lookups need no lock; inserts take one).

    A header in which the cookie is not found but that has a ``,`` is read again
    with ``,`` as a separator: WSGI servers (Werkzeug, gunicorn) join repeated
    ``Cookie:`` headers with ``,`` (cookie values themselves never contain one).
    """

    __slots__ = ("_lock", "_seen", "name", "size")

    def __init__(self, name: str, size: int = 256) -> None:
        self.name = name
        self.size = size
        self._seen: dict[str | bytes, str | None] = {}
        self._lock = threading.Lock()

    def __call__(self, header: str | bytes) -> str | None:
        """The cookie's value in ``header`` (``bytes`` are latin-1), or ``None``."""
        seen = self._seen
        try:
            return seen[header]
        except KeyError:
            pass
        text = header.decode("latin-1") if isinstance(header, bytes) else header
        value = parse_cookie_header(text).get(self.name)
        if value is None and "," in text:
            value = parse_cookie_header(text.replace(",", ";")).get(self.name)
        with self._lock:
            if len(seen) >= self.size and seen:
                del seen[next(iter(seen))]
            seen[header] = value
        return value
