"""``AsyncWorker``: run Laravel queue jobs in Python with Laravel's worker semantics.

One iteration for each queue, in priority order (the first queue that yields a job wins),
is what ``RedisQueue::pop()`` does (spec §9.3, §9.6)::

    EVAL migrate  queues:Q:delayed  -> queues:Q          (due delayed jobs)
    EVAL migrate  queues:Q:reserved -> queues:Q          (expired reservations; unless
                                                          retry_after is None)
    EVAL pop      queues:Q -> queues:Q:reserved (score now + retry_after), attempts + 1
    [BLPOP queues:Q:notify block_for, then pop once more]  (when block_for is set)

Here the three scripts run as one script, ``queue_next.lua`` (Laravel's bodies, in the same
order, preceded by the ``ZREM`` of the job that just finished): one ``EVALSHA`` round trip
per job on a connection each runner keeps for the whole run. Then, like
``Worker::process()``:

* ``retryUntil`` passed, or ``maxTries`` (payload ?? worker ``tries``) > 0 and attempts >
  maxTries → failed with ``MaxAttemptsExceededException``;
* the handler runs (``timeout``: payload ?? worker); success → ``ZREM :reserved`` with the
  exact reserved bytes the pop script returned (sent with the next pop, same order);
* exception → failed if ``retryUntil`` passed or attempts >= maxTries, or when the
  ``job-exceptions:UUID`` counter in the cache store reaches ``maxExceptions``; otherwise
  released to ``:delayed`` (score now + backoff[attempts-1], ``backoff`` ?? ``delay`` ??
  worker ``backoff``, clamped to the last element) with the reserved bytes;
* timeout → failed if attempts >= maxTries, maxExceptions is reached or ``failOnTimeout``;
  otherwise the job is left in ``:reserved`` and comes back after ``retry_after``, exactly
  as when Laravel's worker kills itself on ``SIGALRM``.

A payload that cannot be decoded, or whose class has no handler, is failed with the reason
(written to the failed-job store with its original bytes) and removed from ``:reserved``:
never dropped. Failed jobs are written to the store *before* they leave ``:reserved``, so a
crash in between repeats the failure instead of losing the job.

Around the handler, like ``CallQueuedHandler::call()`` / ``failed()``:

* ``ShouldBeUnique`` (declared with ``handler(..., unique=True)``): the lock
  ``laravel_unique_job:…`` is force-released (``DEL``) after the handler unless the job was
  released, and when the job fails; ``unique="until_processing"`` releases it just before
  the handler and not on failure;
* a command with a non-empty ``chained`` list: after success (not failed, not released)
  the first element is unserialized, given the rest of the chain and the chain settings,
  and pushed like ``dispatch()`` (``Queueable::dispatchNextJobInChain()``).

Between jobs the worker polls the cache store like ``Worker::daemon()``:
``illuminate:queue:restart`` (``queue:restart``: stop after the running jobs) and, from
12.40, ``illuminate:queue:paused:CONN:QUEUE`` (``queue:pause``: the queue is skipped;
13.25+ also ``illuminate:queues:paused``, ``queue:pause --all``).
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import redis.asyncio as redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from .. import _chains, _scripts
from ..exceptions import (
    CodecError,
    ConfigError,
    JobPayloadError,
    MaxAttemptsExceeded,
    QueueError,
    TimeoutExceeded,
    UnknownJob,
)
from ..keys import QueueKeys
from ..payloads import (
    CALL_QUEUED_HANDLER,
    JobPayload,
    PhpJob,
    parse_payload,
    unique_lock_name,
)
from ..php import PhpObject
from . import _backend
from .queue import require_one_slot

if TYPE_CHECKING:
    from .app import AsyncLaravel
    from .failed import AsyncFailedJobStore

__all__ = [
    "AsyncJob",
    "AsyncWorker",
    "MaxAttemptsExceeded",
    "TimeoutExceeded",
    "WorkerResult",
]

log = logging.getLogger("ninja_redis.worker")
_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096

_CONFIG: Any = object()
Handler = Callable[["AsyncJob"], _backend.JobResult]
FailedCallback = Callable[["AsyncJob", BaseException], _backend.JobResult]
_UNREAD: Any = object()


@dataclass
class WorkerResult:
    """What :meth:`AsyncWorker.run` returns.

    ``reason``: ``"once"``, ``"empty"`` (stop_when_empty), ``"max_jobs"``, ``"max_time"``,
    ``"memory"`` (``memory``), ``"signal"`` (SIGTERM/SIGINT), ``"restart"``
    (``php artisan queue:restart``) or ``"stopped"`` (:meth:`AsyncWorker.stop`).
    """

    reason: str
    jobs: int = 0
    deleted: int = 0
    released: int = 0
    failed: int = 0
    elapsed: float = 0.0


class _Script:
    """A Lua script run with EVALSHA; loaded again after NOSCRIPT (e.g. a Redis restart)."""

    def __init__(self, name: str) -> None:
        import hashlib

        self.text = _scripts.load(name)
        self.sha = hashlib.sha1(self.text.encode("utf-8")).hexdigest()

    async def __call__(
        self, client: redis.Redis, keys: list[bytes], args: list[Any]
    ) -> Any:
        try:
            return await client.evalsha(self.sha, len(keys), *keys, *args)
        except NoScriptError:
            await client.script_load(self.text)
            return await client.evalsha(self.sha, len(keys), *keys, *args)


_POP = _Script("queue_pop")
_RELEASE = _Script("queue_release")
# ZREM finished jobs + migrate :delayed + migrate :reserved + pop, in one EVALSHA.
_NEXT = _Script("queue_next")


def _memory_mb() -> float:
    """This process's resident memory in MiB (the role of PHP's
    ``memory_get_usage(true)`` in ``Worker::memoryExceeded()``); the peak where
    ``/proc`` is missing."""
    try:
        with open("/proc/self/statm", "rb") as fh:
            pages = int(fh.read().split()[1])
        return pages * _PAGE_SIZE / 1048576
    except (OSError, ValueError, IndexError):
        try:
            import resource
        except ImportError:  # Windows: no limit can be checked
            return 0.0
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak / (1048576 if sys.platform == "darwin" else 1024)


def _bulk(value: bytes) -> bytes:
    """A RESP bulk string: ``$7\\r\\nEVALSHA\\r\\n``."""
    return b"$%d\r\n%b\r\n" % (len(value), value)


def _exception_text(exc: BaseException) -> str:
    """The exception as the failed-job store keeps it, laid out like PHP's
    ``(string) $e`` (``Exception::__toString()``)::

        Illuminate\\Queue\\MaxAttemptsExceededException: <message> in /app/w.py:12
        Stack trace:
        #0 /app/handlers.py(30): handle()
        #1 {main}

    The frames are innermost first, like PHP's; an exception that was never raised has
    no ``in file:line``. A cause/context comes first, followed by ``Next`` and this one,
    as PHP prints ``getPrevious()``. No message: ``Class in file:line`` (PHP's form)."""
    chain: list[BaseException] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen and len(chain) < 16:
        seen.add(id(current))
        chain.append(current)
        current = current.__cause__ or (
            None if current.__suppress_context__ else current.__context__
        )
    text = ""
    for item in chain:  # this exception first, then its previous ones (PHP's loop)
        one = _one_exception_text(item)
        text = one + ("\n\nNext " + text if text else "")
    return text


def _one_exception_text(exc: BaseException) -> str:
    php_class = getattr(exc, "php_class", None)
    name = php_class or f"{type(exc).__module__}.{type(exc).__qualname__}"
    message = str(exc)
    # innermost first: (file, line, function) of each frame of the traceback
    frames = [
        (
            frame.f_code.co_filename,
            lineno,
            getattr(frame.f_code, "co_qualname", frame.f_code.co_name),
        )
        for frame, lineno in traceback.walk_tb(exc.__traceback__)
    ][::-1]
    where = f" in {frames[0][0]}:{frames[0][1]}" if frames else ""
    head = f"{name}: {message}{where}" if message else f"{name}{where}"
    # PHP's "#i file(line): function()": the line that called the function
    lines = [
        f"#{i} {caller[0]}({caller[1]}): {callee[2]}()"
        for i, (callee, caller) in enumerate(zip(frames, frames[1:], strict=False))
    ]
    lines.append(f"#{len(lines)} {{main}}")
    return head + "\nStack trace:\n" + "\n".join(lines)


class AsyncJob:
    """One reserved job, as a handler receives it (Laravel's ``RedisJob``).

    ``raw`` is the original ready-list payload, ``reserved`` the exact bytes of the
    ``:reserved`` member (cjson re-encoding, attempts + 1): release/delete use them as is.
    """

    def __init__(
        self,
        worker: AsyncWorker,
        queue: str,
        keys: QueueKeys,
        raw: bytes,
        reserved: bytes,
        runner: _Runner,
    ) -> None:
        self._worker = worker
        self._runner = runner
        self.queue = queue
        self.keys = keys
        self.raw = raw
        self.reserved = reserved
        self.payload_error: JobPayloadError | None = None
        self._payload: JobPayload | None = None
        try:
            self._payload = parse_payload(raw)
        except JobPayloadError as exc:
            self.payload_error = exc
        self._command: Any = None
        self._command_loaded = False
        self.is_deleted = False
        self.is_released = False
        self.has_failed = False

    # ---------------------------------------------------------------- payload

    @property
    def payload(self) -> JobPayload:
        """The decoded payload (raises :class:`JobPayloadError` for a corrupt one)."""
        if self._payload is None:
            assert self.payload_error is not None
            raise self.payload_error
        return self._payload

    @property
    def attempts(self) -> int:
        """``RedisJob::attempts()``: the original payload's ``attempts`` + 1."""
        return (self._payload.attempts if self._payload is not None else 0) + 1

    @property
    def id(self) -> str | None:
        """The payload ``id`` (``Str::random(32)``)."""
        return self._payload.id if self._payload is not None else None

    @property
    def uuid(self) -> str | None:
        """The payload ``uuid``."""
        return self._payload.uuid if self._payload is not None else None

    @property
    def name(self) -> str:
        """``Job::resolveName()``: ``displayName``, else the ``job`` string."""
        if self._payload is None:
            return "unknown job"
        try:
            return self._payload.display_name
        except KeyError:
            return "unknown job"

    @property
    def command(self) -> Any:
        """``data.command`` unserialized (decrypted first for ``ShouldBeEncrypted`` jobs):
        usually a :class:`~ninja_redis.php.PhpObject` of the job class."""
        if not self._command_loaded:
            payload = self.payload
            encrypter = None
            if payload.is_encrypted:
                encrypter = self._worker.app.encrypter
            self._command = payload.command_object(encrypter)
            self._command_loaded = True
        return self._command

    @property
    def properties(self) -> dict[Any, Any]:
        """The command's properties by plain name (``{"invoiceId": 1001, "email": ...}``)."""
        cmd = self.command
        to_dict = getattr(cmd, "to_dict", None)
        return dict(to_dict()) if callable(to_dict) else {}

    @property
    def data(self) -> Any:
        """``data`` of the payload (a string job's argument)."""
        return self.payload.data

    @property
    def batch_id(self) -> str | None:
        """The batch of a ``Batchable`` job: ``data.batchId`` (12.51+), else the
        command's ``batchId`` property (the command is unserialized for that). The worker
        runs batched jobs but records nothing in ``job_batches`` (docs/worker.md)."""
        payload = self._payload
        if payload is None:
            return None
        value = payload.batch_id
        if isinstance(value, str) and value:
            return value
        try:
            if not payload.is_object_job:
                return None
        except KeyError:
            return None
        command = self.command
        value = command.get("batchId") if isinstance(command, PhpObject) else None
        return value if isinstance(value, str) and value else None

    @property
    def is_deleted_or_released(self) -> bool:
        """``isDeletedOrReleased()``."""
        return self.is_deleted or self.is_released

    # ---------------------------------------------------------------- actions

    async def delete(self) -> None:
        """Remove the job from ``:reserved`` (``ZREM`` with the reserved bytes)."""
        self.is_deleted = True
        await self._worker._client.zrem(self.keys.reserved, self.reserved)
        self._runner.result.deleted += 1

    def _delete_later(self) -> None:
        # Success path: the ZREM goes out in front of the runner's next pop pipeline.
        self.is_deleted = True
        self._runner.pending.append(self)
        self._runner.result.deleted += 1

    async def release(self, delay: int = 0) -> None:
        """Put the job back on ``:delayed`` with score now + ``delay`` (the release script
        with the reserved bytes, so it keeps its incremented attempts)."""
        self.is_released = True
        available_at = int(_backend.wall_time()) + int(delay)
        await _RELEASE(
            self._worker._client,
            [self.keys.delayed, self.keys.reserved],
            [self.reserved, available_at],
        )
        self._runner.result.released += 1

    async def fail(self, exc: BaseException | str | None = None) -> None:
        """``Job::fail()``: mark failed, log to the failed-job store with the original
        payload bytes, remove from ``:reserved`` and call the handler's ``failed`` hook.

        No exception: Laravel's ``ManuallyFailedException`` without a message (what
        ``$this->fail()`` records); a string: one with that message (``fail('…')``)."""
        if exc is None or isinstance(exc, str):
            exc = QueueError(exc or "")
            exc.php_class = "Illuminate\\Queue\\ManuallyFailedException"  # type: ignore[attr-defined]
        already = self.has_failed
        self.has_failed = True
        if self.is_deleted or already:
            return
        await self._worker._log_failed(self, exc)
        await self.delete()
        self._runner.result.deleted -= 1
        self._runner.result.failed += 1
        # CallQueuedHandler::failed(): the unique lock first, then the job's failed()
        await self._worker._release_unique_after_failure(self)
        hook = self._worker._failed_hooks.get(self._worker._handler_name(self) or "")
        if hook is not None:
            try:
                await hook(self, exc)
            except Exception:
                log.exception("failed() hook of %s raised", self.name)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} id={self.id!r} attempts={self.attempts}>"


@dataclass
class _Runner:
    """Per-runner state (one per unit of concurrency, like one Laravel worker process)."""

    result: WorkerResult
    pending: list[AsyncJob] = field(default_factory=list)
    secondary_queue_had_job: bool = False
    buffer: list[AsyncJob] = field(default_factory=list)
    # The runner's own connection (taken from the client's pool for the run) for the
    # queue_next round trips; None until the first pop, or with a cluster client.
    conn: Any = None
    # Lazily re-armed deadlines of the runner's task (asyncio, 3.11+; None otherwise):
    # one for queue_next replies (socket_timeout), one for handlers (timeout).
    read_timer: Any = None
    job_timer: Any = None


class AsyncWorker:
    """Consume Laravel Redis queues with Laravel's worker semantics.

    ``queues``: names in priority order (default: the configured queue). Options mirror
    ``php artisan queue:work``: ``sleep`` (3), ``tries`` (1; the payload's ``maxTries``
    wins; 0 = unlimited), ``backoff`` (0; int or ``"10,60"``), ``timeout`` (60; the
    payload's wins; 0 = none), ``max_jobs``, ``max_time``, ``stop_when_empty``, ``once``,
    ``rest``, ``memory`` (MiB; default ``None`` = no limit, unlike artisan's 128: stop
    after the current job once the process's resident memory reaches it, reason
    ``"memory"``). ``retry_after`` / ``block_for`` default to the queue config.
    ``concurrency``: jobs processed at the same time (tasks here, threads in
    :class:`Worker`), each runner behaving like one Laravel worker process.
    ``failer``: the failed-job store (default: the one the config names).
    ``connection_name``: the queue connection name recorded with failed jobs (``redis``).
    ``prefetch``: jobs each runner reserves per round trip (default 1 = Laravel's exact
    behaviour). With ``prefetch=k`` the pop script runs k times in the same round trip and
    the jobs are run one after the other: each is reserved (``now + retry_after``) when
    popped, as if k Laravel workers had popped it, so keep ``k * job time`` well below
    ``retry_after``; jobs already reserved are still run after a stop request.

    Each runner keeps one connection of the client's pool while :meth:`run` runs (besides
    the short-lived ones for release/fail/delete), so a pool with a connection limit needs
    more than ``concurrency`` connections.

    ``restartable`` (default true): stop after the running jobs when the cache key
    ``illuminate:queue:restart`` (``php artisan queue:restart``) changes, like Laravel's
    worker. ``pausable`` (default true; 12.40+): skip the queues that ``queue:pause``
    marked in the cache. Both are read from the cache store at start and then at most
    every ``interruption_poll_interval`` seconds (default 1.0; 0 = before every pop, as
    Laravel does); Laravel's ``Queue::withoutInterruptionPolling()`` is
    ``restartable=False, pausable=False``.

    Register handlers with :meth:`handler`, then :meth:`run`.
    """

    def __init__(
        self,
        app: AsyncLaravel,
        queues: list[str] | None = None,
        *,
        concurrency: int = 1,
        sleep: float = 3,
        block_for: int | None = _CONFIG,
        retry_after: int | None = _CONFIG,
        tries: int = 1,
        backoff: int | str = 0,
        timeout: float = 60,
        max_jobs: int | None = None,
        max_time: float | None = None,
        stop_when_empty: bool = False,
        once: bool = False,
        rest: float = 0,
        memory: float | None = None,
        failer: AsyncFailedJobStore | None = None,
        connection_name: str = "redis",
        prefetch: int = 1,
        handle_signals: bool = True,
        restartable: bool = True,
        pausable: bool = True,
        interruption_poll_interval: float = 1.0,
    ) -> None:
        if concurrency < 1 or prefetch < 1:
            raise ValueError("concurrency and prefetch must be at least 1")
        if interruption_poll_interval < 0:
            raise ValueError("interruption_poll_interval must not be negative")
        self.prefetch = prefetch
        self.app = app
        self.queues = list(queues or [app.config.queue])
        self.concurrency = concurrency
        self.sleep = sleep
        self.block_for = (
            app.config.queue_block_for if block_for is _CONFIG else block_for
        )
        self.retry_after = (
            app.config.queue_retry_after if retry_after is _CONFIG else retry_after
        )
        self.tries = tries
        self.backoff = backoff
        self.timeout = timeout
        self.max_jobs = max_jobs
        self.max_time = max_time
        self.stop_when_empty = stop_when_empty
        self.once = once
        self.rest = rest
        self.memory = memory
        self.connection_name = connection_name
        self.handle_signals = handle_signals
        self._failer = failer
        self._client: redis.Redis = app.connection(app.config.queue_connection)
        self._keys = {name: app.keys.queue(name) for name in self.queues}
        if app.config.cluster:  # the pop script names four keys of each queue
            for keys in self._keys.values():
                require_one_slot(keys)
        self._handlers: dict[str, Handler] = {}
        self._resolved: dict[tuple[str, str | None], str | None] = {}
        # Runners send queue_next on their own pool connection; a cluster client (no
        # connection_pool) runs it through the client instead.
        self._pool: Any = getattr(self._client, "connection_pool", None)
        self._failed_hooks: dict[str, FailedCallback] = {}
        self._unique: dict[str, _chains.Unique] = {}
        self._stop_reason: str | None = None
        self._stop_event: Any = None
        self._lock = threading.Lock()
        self._claimed = 0
        v = app.config.laravel_version
        self._v11 = v >= (11, 0)
        # 10.10+ (laravel/framework#46968): TimeoutExceededException for timeouts and the
        # short MaxAttemptsExceededException message
        self._timeout_exception = v >= (10, 10)
        # Job::retryUntil() reads the legacy "timeoutAt" field only before 10.0
        self._timeout_at = v < (10, 0)
        # 8.x sends only "now" to the migrate script (no LIMIT); 9.x+ also the batch
        # size (-1 = all); queue_next takes "" for the former.
        batch = app.config.queue_migration_batch_size
        self._next_batch: bytes = b"" if v < (9, 0) else b"%d" % batch
        self._next_heads: dict[bytes, bytes] = {}
        self._next_tail: tuple[tuple[int, int, int], bytes] = ((0, 0, 0), b"")
        self._version: tuple[int, int] = (v.major, v.minor)
        self._can_decrypt = bool(app.config.app_key)
        # queue:restart / queue:pause, read from the cache store (Worker::daemon())
        self.restartable = restartable
        self.pausable = pausable
        self.interruption_poll_interval = interruption_poll_interval
        space = app.keys
        self._pause_all_key: bytes | None = (
            space.queues_paused() if pausable and v >= (13, 25) else None
        )
        self._pause_keys: list[bytes] = (
            [space.queue_paused(connection_name, q) for q in self.queues]
            if pausable and v >= (12, 40)
            else []
        )
        self._polls = restartable or bool(self._pause_keys)
        self._poll_at = 0.0
        self._last_restart: Any = _UNREAD
        self._paused: frozenset[str] = frozenset()

    # ---------------------------------------------------------------- handlers

    def handler(
        self,
        name: str,
        *,
        failed: FailedCallback | None = None,
        unique: bool | Literal["until_processing"] = False,
        unique_id: _chains.UniqueId | None = None,
    ) -> Callable[[Handler], Handler]:
        """Register the handler of a PHP job class (``data.commandName``), or of a string
        job (``"App\\Jobs\\Legacy@handle"``, or just its class). ``failed`` is called after
        the job failed (Laravel's ``failed()`` method).

        ``unique``: the PHP class implements ``ShouldBeUnique`` (``True``) or
        ``ShouldBeUniqueUntilProcessing`` (``"until_processing"``); the payload does not
        say so. The worker then releases the lock ``laravel_unique_job:…`` as
        ``CallQueuedHandler`` does (``forceRelease()``: ``DEL``), and takes it when it
        dispatches this class as the next job of a chain. The unique id is
        ``unique_id(command)`` (for a ``uniqueId()`` method), else the command's public
        ``uniqueId`` property, else ``""``.

        .. versionchanged:: 0.1 ``unique`` and ``unique_id``.
        """
        if unique not in (False, True, "until_processing"):
            raise ValueError("unique must be True, False or 'until_processing'")
        if unique_id is not None and not unique:
            raise ValueError("unique_id needs unique=True or unique='until_processing'")

        def register(fn: Handler) -> Handler:
            self._handlers[name] = fn
            self._resolved.clear()
            if failed is not None:
                self._failed_hooks[name] = failed
            if unique:
                self._unique[name] = _chains.Unique(
                    unique == "until_processing", unique_id
                )
            else:
                self._unique.pop(name, None)
            return fn

        return register

    def _handler_name(self, job: AsyncJob) -> str | None:
        payload = job._payload
        if payload is None:
            return None
        try:
            job_name = payload.job
        except KeyError:
            return None
        command_name = payload.command_name if job_name == CALL_QUEUED_HANDLER else None
        cache_key = (job_name, command_name)
        try:
            return self._resolved[cache_key]
        except KeyError:
            pass
        candidates: list[str] = []
        if job_name == CALL_QUEUED_HANDLER:
            if command_name:
                candidates.append(command_name)
        else:
            candidates += [job_name, job_name.split("@", 1)[0]]
        found = next((c for c in candidates if c in self._handlers), None)
        if len(self._resolved) < 4096:
            self._resolved[cache_key] = found
        return found

    @property
    def failer(self) -> AsyncFailedJobStore:
        """The failed-job store."""
        if self._failer is None:
            from .failed import failed_job_store

            self._failer = failed_job_store(self.app)
        return self._failer

    # --------------------------------------------------------------- running

    def stop(self, reason: str = "stopped") -> None:
        """Ask the worker to stop after the jobs it is running (like SIGTERM)."""
        if self._stop_reason is None:
            self._stop_reason = reason
        if self._stop_event is not None:
            self._stop_event.set()

    async def run(
        self,
        *,
        once: bool | None = None,
        stop_when_empty: bool | None = None,
        max_jobs: int | None = None,
        max_time: float | None = None,
    ) -> WorkerResult:
        """Process jobs until a stop condition (the arguments override the constructor's);
        returns why it stopped and counters. SIGTERM/SIGINT stop it gracefully: the running
        jobs finish, then it returns."""
        if self._failer is None:
            try:  # say now, not at the first failing job, that failures cannot be kept
                self.failer  # noqa: B018
            except ConfigError as exc:
                log.warning(
                    "no failed-job store (%s): the worker stops with this error at the "
                    "first job that fails; that job stays reserved and comes back after "
                    "retry_after",
                    exc,
                )
        once = self.once if once is None else once
        stop_when_empty = (
            self.stop_when_empty if stop_when_empty is None else stop_when_empty
        )
        max_jobs = self.max_jobs if max_jobs is None else max_jobs
        max_time = self.max_time if max_time is None else max_time
        self._stop_reason = None
        self._stop_event = _backend.create_event()
        self._claimed = 0
        self._last_restart = _UNREAD
        self._paused = frozenset()
        if (self.restartable and not once) or self._pause_keys:
            # Worker::daemon(): $lastRestart before the first job (not for --once)
            await self._poll_interruptions(check_restart=not once)
            self._poll_at = _backend.monotonic() + self.interruption_poll_interval
        start = _backend.monotonic()
        total = WorkerResult(reason="stopped")
        runners = [
            _Runner(WorkerResult(reason=""))
            for _ in range(1 if once else self.concurrency)
        ]
        restore = (
            _backend.install_signal_handlers(lambda signum: self.stop("signal"))
            if self.handle_signals
            else (lambda: None)
        )
        undo_timeouts = _backend.prepare_timeouts()
        try:
            if once:
                await self._run_once(runners[0])
                self.stop("once")
            else:
                await _backend.run_concurrently(
                    [
                        self._loop_fn(r, start, stop_when_empty, max_jobs, max_time)
                        for r in runners
                    ]
                )
        finally:
            restore()
            undo_timeouts()
            for r in runners:
                try:
                    await self._flush(r)
                finally:
                    await self._release_connection(r)
        for r in runners:
            for name in ("jobs", "deleted", "released", "failed"):
                setattr(total, name, getattr(total, name) + getattr(r.result, name))
        total.reason = self._stop_reason or "stopped"
        total.elapsed = _backend.monotonic() - start
        return total

    def _loop_fn(
        self,
        runner: _Runner,
        start: float,
        stop_when_empty: bool,
        max_jobs: int | None,
        max_time: float | None,
    ) -> Callable[[], Any]:
        async def loop() -> None:
            await self._loop(runner, start, stop_when_empty, max_jobs, max_time)

        return loop

    async def _run_once(self, runner: _Runner) -> None:
        runner.read_timer = _backend.create_timer()
        runner.job_timer = _backend.create_timer()
        jobs = await self._next_jobs(runner, 1)  # paused queues read by run()
        if jobs:
            runner.result.jobs += 1
            await self._process(jobs[0])
        else:
            await _backend.wait_event(self._stop_event, self.sleep)

    def _claim(self, max_jobs: int | None, want: int) -> int:
        with self._lock:
            if max_jobs:
                want = max(0, min(want, max_jobs - self._claimed))
            self._claimed += want
            return want

    def _unclaim(self, count: int) -> None:
        with self._lock:
            self._claimed -= count

    # ------------------------------------------------- queue:restart, queue:pause

    def _poll_due(self) -> bool:
        """True for the one runner that reads the interruption keys next."""
        now = _backend.monotonic()
        if now < self._poll_at:
            return False
        with self._lock:
            if now < self._poll_at:
                return False
            self._poll_at = now + self.interruption_poll_interval
            return True

    async def _poll_interruptions(self, *, check_restart: bool = True) -> None:
        """Read ``illuminate:queue:restart`` and the paused flags from the cache store
        (one pipeline of ``GET``s) like ``Worker::stopIfNecessary()`` and
        ``getNextJob()``: a changed restart value stops the worker (``"restart"``); a
        truthy ``illuminate:queue:paused:CONN:QUEUE`` (or 13.25+
        ``illuminate:queues:paused``) makes the pops skip that queue (all queues)."""
        keys = self.app.keys
        wanted: list[bytes] = []
        if self.restartable:
            wanted.append(keys.queue_restart())
        if self._pause_all_key is not None:
            wanted.append(self._pause_all_key)
        wanted += self._pause_keys
        if not wanted:
            return
        cache = self.app.config.cache_connection
        pipe = self.app.connection(cache).pipeline(transaction=False)
        for key in wanted:
            pipe.get(key)
        try:
            raws = await pipe.execute()
        except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
            log.warning("could not read queue:restart / queue:pause: %s", exc)
            return
        codec = self.app.codec(cache)
        values: list[Any] = []
        for raw in raws:
            try:
                values.append(None if raw is None else codec.loads(raw))
            except CodecError:
                values.append(raw)  # compared (restart) / truthy (paused) as bytes
        if self.restartable:
            value = values.pop(0)
            if check_restart:
                if self._last_restart is _UNREAD:
                    self._last_restart = value
                elif value != self._last_restart:  # PHP: != $lastRestart
                    log.info("queue:restart signal: stopping after the running jobs")
                    self.stop("restart")
        if self._pause_all_key is not None and _chains.php_truthy(values.pop(0)):
            self._paused = frozenset(self.queues)
        else:
            self._paused = frozenset(
                q
                for q, v in zip(self.queues, values, strict=False)
                if _chains.php_truthy(v)
            )

    async def _loop(
        self,
        runner: _Runner,
        start: float,
        stop_when_empty: bool,
        max_jobs: int | None,
        max_time: float | None,
    ) -> None:
        runner.read_timer = _backend.create_timer()  # bound to this runner's task
        runner.job_timer = _backend.create_timer()
        single = self.queues[0] if len(self.queues) == 1 else None
        # Prefetched jobs are already reserved: they are run even after a stop request.
        while self._stop_reason is None or runner.buffer:
            job: AsyncJob | None = None
            if runner.buffer:
                job = runner.buffer.pop(0)
            else:
                if self._polls and self._poll_due():
                    await self._poll_interruptions()
                    if self._stop_reason is not None:
                        break
                want = self._claim(max_jobs, self.prefetch)
                if want == 0:
                    self.stop("max_jobs")
                    break
                try:
                    if single is not None:  # one queue: no getNextJob() loop
                        if single in self._paused:
                            jobs = []
                        else:
                            jobs = await self._pop(runner, single, 0, want)
                    else:
                        jobs = await self._next_jobs(runner, want)
                except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
                    # Worker::getNextJob(): report, sleep(1), keep going.
                    self._unclaim(want)
                    log.warning("could not pop a job: %s", exc)
                    await _backend.wait_event(self._stop_event, 1)
                    continue
                self._unclaim(want - len(jobs))
                if jobs:
                    job = jobs[0]
                    runner.buffer.extend(jobs[1:])
            if job is not None:
                runner.result.jobs += 1
                try:
                    await self._process(job)
                    if self.rest > 0:
                        await self._flush(runner)  # deleted before the rest, as Laravel
                except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
                    log.warning("lost the connection while processing %r: %s", job, exc)
                    runner.pending.clear()
                if self.rest > 0:
                    await _backend.wait_event(self._stop_event, self.rest)
            else:
                await self._flush(runner)
                if stop_when_empty:
                    self.stop("empty")
                    break
                await _backend.wait_event(self._stop_event, self.sleep)
            if max_time and _backend.monotonic() - start >= max_time:
                self.stop("max_time")
            if self.memory and _memory_mb() >= self.memory:  # --memory
                self.stop("memory")

    async def _flush(self, runner: _Runner) -> None:
        if not runner.pending:
            return
        pending, runner.pending = runner.pending, []
        pipe = self._client.pipeline(transaction=False)
        for job in pending:
            pipe.zrem(job.keys.reserved, job.reserved)
        await pipe.execute()

    # -------------------------------------------------------------------- pop

    async def _next_jobs(self, runner: _Runner, count: int) -> list[AsyncJob]:
        """``Worker::getNextJob()``: the first queue (in order, paused ones skipped) that
        yields a job; with ``prefetch`` up to ``count`` jobs of that queue."""
        paused = self._paused
        for index, name in enumerate(self.queues):
            if name in paused:  # queue:pause (12.40+)
                continue
            jobs = await self._pop(runner, name, index, count)
            if jobs:
                return jobs
        return []

    async def _pop(
        self, runner: _Runner, name: str, index: int, count: int
    ) -> list[AsyncJob]:
        """``ZREM`` the jobs that just finished, migrate ``:delayed`` and (unless
        ``retry_after`` is None) ``:reserved``, pop ``count`` times: one ``queue_next``
        round trip with the effects of Laravel's four commands in that order; then
        ``BLPOP`` + pop when ``block_for`` is set and the queue was empty."""
        keys = self._keys[name]
        members: list[bytes] = []
        pending = runner.pending
        if pending:
            if all(job.keys.reserved == keys.reserved for job in pending):
                members = [job.reserved for job in pending]
            else:  # a job of another queue finished: its own ZREM first
                await self._flush(runner)
        now = int(_backend.wall_time())
        expiry = now + (self.retry_after or 0)
        conn = runner.conn
        if conn is not None:  # the hot path: the runner's connection is open
            request = self._pack_next(keys, now, expiry, count, members)
            try:
                reply = await _backend.roundtrip(conn, request, runner.read_timer)
            except NoScriptError:  # e.g. after a Redis restart: load it, send again
                reply = await self._eval_next(runner, keys, now, expiry, count, members)
            except ResponseError:
                raise  # the reply was read in full: the connection is still usable
            except BaseException:
                # Lost, timed out or cancelled between request and reply: never reuse.
                await self._release_connection(runner, broken=True)
                raise
        else:
            reply = await self._eval_next(runner, keys, now, expiry, count, members)
        if members:
            runner.pending = []
        popped = [(reply[i], reply[i + 1]) for i in range(0, len(reply) - 1, 2)]
        if not popped and self.block_for is not None:
            block = (
                (not runner.secondary_queue_had_job and index == 0)
                if self._v11
                else True
            )
            if block:
                got = await self._client.blpop([keys.notify], timeout=self.block_for)
                if got:
                    now = int(_backend.wall_time())
                    expiry = now + (self.retry_after or 0)
                    result = await _POP(
                        self._client, [keys.ready, keys.reserved, keys.notify], [expiry]
                    )
                    if result[0] and result[1]:
                        popped = [(result[0], result[1])]
        if self._v11 and index == 0:
            runner.secondary_queue_had_job = False
        if not popped:
            return []
        if self._v11 and index > 0:
            runner.secondary_queue_had_job = True
        return [
            AsyncJob(self, name, keys, raw, reserved, runner)
            for raw, reserved in popped
        ]

    async def _eval_next(
        self,
        runner: _Runner,
        keys: QueueKeys,
        now: int,
        expiry: int,
        count: int,
        members: list[bytes],
    ) -> Any:
        """``EVALSHA queue_next`` on the runner's own connection (``SCRIPT LOAD`` after
        ``NOSCRIPT``, e.g. after a Redis restart)::

            EVALSHA <sha> 4 queues:Q queues:Q:reserved queues:Q:notify queues:Q:delayed
                    <now> <now+retry_after> 1 -1 1 [<reserved bytes of finished jobs>...]
        """
        pool = self._pool
        if pool is None:  # cluster client: through the client (NOSCRIPT handled there)
            return await _NEXT(
                self._client,
                [keys.ready, keys.reserved, keys.notify, keys.delayed],
                [
                    now,
                    expiry,
                    b"0" if self.retry_after is None else b"1",
                    self._next_batch,
                    count,
                    *members,
                ],
            )
        request = self._pack_next(keys, now, expiry, count, members)
        conn = runner.conn
        if conn is None:
            conn = runner.conn = await pool.get_connection()
        try:
            try:
                return await _backend.roundtrip(conn, request, runner.read_timer)
            except NoScriptError:
                await conn.send_command("SCRIPT", "LOAD", _NEXT.text)
                await conn.read_response()
                return await _backend.roundtrip(conn, request, runner.read_timer)
        except ResponseError:
            raise  # the reply was read in full: the connection is still usable
        except BaseException:
            # Lost, timed out or cancelled between request and reply: never reuse it.
            await self._release_connection(runner, broken=True)
            raise

    def _pack_next(
        self, keys: QueueKeys, now: int, expiry: int, count: int, members: list[bytes]
    ) -> bytes:
        """The RESP request of :meth:`_eval_next` (the fixed parts packed once)."""
        head = self._next_heads.get(keys.ready)
        if head is None:
            head = self._next_heads[keys.ready] = b"".join(
                _bulk(x)
                for x in (
                    b"EVALSHA",
                    _NEXT.sha.encode("ascii"),
                    b"4",
                    keys.ready,
                    keys.reserved,
                    keys.notify,
                    keys.delayed,
                )
            )
        # *12\r\n $7\r\nEVALSHA\r\n $40\r\n<sha>\r\n ... $10\r\n1700000000\r\n ...
        # The ARGV part changes once a second: packed again only then.
        tail_key = (now, expiry, count)
        if self._next_tail[0] != tail_key:
            tail = b"".join(
                (
                    _bulk(b"%d" % now),
                    _bulk(b"%d" % expiry),
                    b"$1\r\n0\r\n" if self.retry_after is None else b"$1\r\n1\r\n",
                    _bulk(self._next_batch),
                    _bulk(b"%d" % count),
                )
            )
            self._next_tail = (tail_key, tail)
        if not members:
            return b"*12\r\n" + head + self._next_tail[1]
        return b"".join(
            [b"*%d\r\n" % (12 + len(members)), head, self._next_tail[1]]
            + [_bulk(m) for m in members]
        )

    async def _release_connection(self, runner: _Runner, broken: bool = False) -> None:
        conn, runner.conn = runner.conn, None
        if conn is None:
            return
        if broken:
            await conn.disconnect()
        await self._pool.release(conn)

    # ---------------------------------------------------------------- process

    def _max_tries(self, job: AsyncJob) -> int:
        mt = job.payload.max_tries
        return mt if mt is not None else int(self.tries)

    async def _process(self, job: AsyncJob) -> None:
        """``Worker::process()`` for one reserved job."""
        if job.payload_error is not None:
            await job.fail(job.payload_error)
            return
        name = self._handler_name(job)
        if name is None:
            try:
                what = job.payload.command_name or job.payload.job
            except (KeyError, JobPayloadError):
                what = "?"
            await job.fail(
                UnknownJob(
                    f"no handler is registered for job {what!r} (queue {job.queue!r}, "
                    f"key {job.keys.ready.decode('utf-8', 'replace')!r})"
                )
            )
            return
        now = int(_backend.wall_time())
        max_tries = self._max_tries(job)
        retry_until = self._retry_until(job)
        # markJobAsFailedIfAlreadyExceedsMaxAttempts(): runs while now <= retryUntil
        if (retry_until and now > retry_until) or (
            not retry_until and not (max_tries == 0 or job.attempts <= max_tries)
        ):
            await job.fail(self._max_attempts_exception(job))
            return
        unique = self._unique.get(name) if self._unique else None
        if unique is not None and unique.until_processing:
            try:  # ShouldBeUniqueUntilProcessing: released before the handler runs
                if job.payload.is_object_job:
                    await self._release_unique_lock(job, unique)
            except Exception as exc:
                await self._handle_job_exception(job, exc)
                return
        timeout = (
            job.payload.timeout if job.payload.timeout is not None else self.timeout
        )
        try:
            await _backend.run_handler(
                self._handlers[name], job, timeout, job._runner.job_timer
            )
        except _backend.HandlerTimeout:
            await self._handle_timeout(job)
            return
        except Exception as exc:
            await self._handle_job_exception(job, exc)
            return
        if unique is not None or _chains.may_chain(job.payload, self._can_decrypt):
            try:
                await self._after_handler(job, unique)
            except Exception as exc:  # thrown out of CallQueuedHandler::call()
                await self._handle_job_exception(job, exc)
                return
        if not job.is_deleted_or_released and not job.has_failed:
            job._delete_later()  # CallQueuedHandler deletes a job that finished normally

    async def _after_handler(
        self, job: AsyncJob, unique: _chains.Unique | None
    ) -> None:
        """The rest of ``CallQueuedHandler::call()`` after the handler returned: release
        the unique lock (unless the job was released), then, unless it failed or was
        released, dispatch the next job of its chain."""
        if not job.payload.is_object_job:
            return
        if unique is not None and not unique.until_processing and not job.is_released:
            await self._release_unique_lock(job, unique)
        if not job.has_failed and not job.is_released:
            await self._dispatch_next_in_chain(job)

    # ------------------------------------------------------- unique jobs, chains

    def _unique_lock_key(self, job: AsyncJob, unique: _chains.Unique) -> bytes:
        """``UniqueLock`` key of the job's command: ``laravel_unique_job:`` + class (or
        12.54+ the xxh128 of ``displayName()`` when the payload shows one) + [``:``
        11.x+] + unique id, on the lock connection."""
        command = job.command
        if not isinstance(command, PhpObject):
            raise QueueError(f"{job.name}: the command is not an object")
        shown = job.payload.get("displayName")
        probe = PhpJob(
            command.class_name,
            unique_id=_chains.unique_id_of(command, unique),
            display_name=shown
            if isinstance(shown, str) and shown != command.class_name
            else None,
        )
        name, uid = unique_lock_name(probe, self._version)
        return self.app.keys.unique_job_lock(name, uid)

    async def _release_unique_lock(self, job: AsyncJob, unique: _chains.Unique) -> None:
        """``UniqueLock::release()``: ``Cache::lock($key)->forceRelease()`` = ``DEL``."""
        key = self._unique_lock_key(job, unique)
        await self.app.connection(self.app.config.lock_connection).delete(key)

    async def _release_unique_after_failure(self, job: AsyncJob) -> None:
        """``CallQueuedHandler::failed()``: release a ``ShouldBeUnique`` job's lock (not
        an ``…UntilProcessing`` one's, which was released before the handler)."""
        if not self._unique:
            return
        unique = self._unique.get(self._handler_name(job) or "")
        if unique is None or unique.until_processing:
            return
        try:
            if job.payload.is_object_job:
                await self._release_unique_lock(job, unique)
        except Exception:
            log.exception("could not release the unique lock of %r", job)

    async def _dispatch_next_in_chain(self, job: AsyncJob) -> None:
        """``Queueable::dispatchNextJobInChain()``: push the next job of a non-empty
        ``chained`` list like ``dispatch()`` does: on its ``queue`` (else the
        ``chainQueue``, else the connection's default queue), later if it has a
        ``delay``, with the payload this Laravel version builds, and not at all when the
        class is registered as unique and its lock is taken (``PendingDispatch``)."""
        command = job.command
        if not isinstance(command, PhpObject):
            return
        if not _chains.php_truthy(command.properties.get("chained")):
            return
        nxt = _chains.next_in_chain(command, self._version)
        connection = nxt.properties.get("connection")
        if _chains.php_truthy(connection) and str(connection) != self.connection_name:
            raise QueueError(
                f"{job.name}: the next job of the chain ({nxt.class_name}) goes to queue "
                f"connection {connection!r}; this worker dispatches only to "
                f"{self.connection_name!r}"
            )
        queue = nxt.properties.get("queue")
        php_job = _chains.chain_job(nxt, self._unique.get(nxt.class_name))
        pushed = await self.app.queue.push(
            php_job, str(queue) if _chains.php_truthy(queue) else None
        )
        if pushed is None:
            log.info(
                "%s: the next job of the chain (%s) was not dispatched: its unique "
                "lock is taken",
                job.name,
                nxt.class_name,
            )

    def _max_attempts_exception(self, job: AsyncJob) -> MaxAttemptsExceeded:
        """``Worker::maxAttemptsExceededException()``: 10.10+ (``forJob()`` later)
        ``"X has been attempted too many times."``; before, the longer message."""
        if self._timeout_exception:
            return MaxAttemptsExceeded(f"{job.name} has been attempted too many times.")
        return MaxAttemptsExceeded(
            f"{job.name} has been attempted too many times or run too long. "
            "The job may have previously timed out."
        )

    def _retry_until(self, job: AsyncJob) -> int | None:
        """``Job::retryUntil()``: ``retryUntil`` (8.x/9.x: else the legacy
        ``timeoutAt``)."""
        payload = job.payload
        if self._timeout_at:
            return payload.retry_until
        value = payload.get("retryUntil")
        return None if value is None else payload.retry_until

    async def _handle_timeout(self, job: AsyncJob) -> None:
        """The ``SIGALRM`` handler of ``Worker::registerTimeoutHandler()``: 10.10+
        ``TimeoutExceededException`` (``"X has timed out."``), before it the
        ``MaxAttemptsExceededException``; then the worker process is killed, which
        leaves the job in ``:reserved`` unless one of the three checks failed it."""
        exc: MaxAttemptsExceeded = (
            TimeoutExceeded(f"{job.name} has timed out.")
            if self._timeout_exception
            else self._max_attempts_exception(job)
        )
        log.warning("%r timed out", job)
        await self._fail_if_will_exceed_max_attempts(job, exc)
        await self._fail_if_will_exceed_max_exceptions(job, exc)
        # markJobAsFailedIfItShouldFailOnTimeout(): if ($job->shouldFailOnTimeout())
        if job.payload.fail_on_timeout:
            await job.fail(exc)
        # Otherwise the reservation stays: the job comes back after retry_after, with the
        # attempt counted, as after Laravel's worker killed itself.

    async def _handle_job_exception(self, job: AsyncJob, exc: Exception) -> None:
        """``Worker::handleJobException()``."""
        log.info("%r raised %s: %s", job, type(exc).__name__, exc)
        try:
            if not job.has_failed:
                await self._fail_if_will_exceed_max_attempts(job, exc)
                await self._fail_if_will_exceed_max_exceptions(job, exc)
        finally:
            if not job.is_deleted and not job.is_released and not job.has_failed:
                await job.release(job.payload.backoff_for(job.attempts, self.backoff))

    async def _fail_if_will_exceed_max_attempts(
        self, job: AsyncJob, exc: BaseException
    ) -> None:
        max_tries = self._max_tries(job)
        retry_until = self._retry_until(job)
        now = int(_backend.wall_time())
        if retry_until and retry_until <= now:
            await job.fail(exc)
        if not retry_until and max_tries > 0 and job.attempts >= max_tries:
            await job.fail(exc)

    async def _fail_if_will_exceed_max_exceptions(
        self, job: AsyncJob, exc: BaseException
    ) -> None:
        uuid = job.uuid
        max_exceptions = job.payload.max_exceptions
        if uuid is None or max_exceptions is None:
            return
        name = self.app.config.cache_connection
        cache = self.app.connection(name)
        codec = self.app.codec(name)
        key = self.app.keys.job_exceptions(uuid)
        # if (! $cache->get(key)) $cache->put(key, 0, now()->addDay());
        # -> GET, SETEX key 86400 0 (a number is stored raw), then INCRBY key 1;
        # the increment reaching maxExceptions -> DEL and fail.
        raw: bytes | None = await cache.get(key)  # type: ignore[assignment]
        try:
            current = None if raw is None else codec.loads(raw)
        except CodecError:
            current = raw
        if not _chains.php_truthy(current):
            await cache.set(key, codec.dumps(0), ex=86400)
        if max_exceptions <= int(await cache.incrby(key, 1)):
            await cache.delete(key)
            await job.fail(exc)

    async def _log_failed(self, job: AsyncJob, exc: BaseException) -> None:
        text = _exception_text(exc)
        log.error("job %r failed: %s", job, str(exc))
        try:
            await self.failer.log(self.connection_name, job.queue, job.raw, text)
        except Exception as err:
            if any(c.__name__ == "IntegrityError" for c in type(err).__mro__):
                return  # logged before a crash; the job is being failed again
            raise
