"""``AsyncQueue``: dispatch Laravel jobs onto Redis queues, and inspect the queues.

Pushes use Laravel's own Lua scripts (spec §9.3): ``push`` = ``RPUSH queues:Q payload``
+ ``RPUSH queues:Q:notify 1``; ``later`` = ``ZADD queues:Q:delayed <availableAt>
payload``. Payloads are built by :mod:`ninja_redis.payloads` exactly as the configured
Laravel version writes them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

import redis.asyncio as redis
from redis.crc import key_slot
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from .. import _scripts
from ..exceptions import JobPayloadError, QueueError
from ..keys import QueueKeys, to_bytes
from ..payloads import (
    JobPayload,
    PayloadBuilder,
    PhpJob,
    PhpJobs,
    _next_id,
    _next_uuid,
    _random_ids,
    _uuid4s,
    delay_times,
    parse_payload,
    random_id,
    to_php_job,
    unique_lock_name,
)
from ._backend import wall_time

if TYPE_CHECKING:
    from .app import AsyncLaravel

__all__ = ["AsyncQueue", "QueueSizes", "QueuedJob", "require_one_slot"]

Delay = int | float | timedelta | datetime
JobState = Literal["pending", "delayed", "reserved"]

# Jobs per EVALSHA of the bulk script (all of a bulk() call's batches go in one
# pipeline). The script RPUSHes them 1,000 at a time: unpack() stays far below Lua's
# C-stack limit (LUAI_MAXCSTACK 8000).
_BULK_BATCH = 1000

# (keys, payload, available_at or None, PhpJob or None, job id)
_Plan = tuple[QueueKeys, bytes, "int | None", "PhpJob | None", str]


async def _read_reply(conn: Any) -> Any:
    """One reply from a redis-py connection; an error reply is returned, not raised."""
    try:
        return await conn.read_response()
    except ResponseError as exc:
        return exc


@dataclass(frozen=True)
class QueueSizes:
    """Jobs in one queue: ``pending`` (ready list), ``delayed`` and ``reserved``."""

    pending: int
    delayed: int
    reserved: int

    @property
    def total(self) -> int:
        """``pending + delayed + reserved`` (what ``Queue::size()`` returns)."""
        return self.pending + self.delayed + self.reserved


@dataclass(frozen=True)
class QueuedJob:
    """One entry of a queue, read without consuming it.

    ``raw`` is the exact stored bytes; ``score`` the zset score (available-at time for
    ``delayed``, reservation expiry for ``reserved``; ``None`` for pending);
    ``payload`` the parsed payload, or ``None`` with ``error`` when it is invalid.
    """

    queue: str
    state: JobState
    raw: bytes
    score: float | None
    payload: JobPayload | None
    error: str | None = None

    @property
    def id(self) -> str | None:
        """The payload ``id`` (``None`` if the payload is invalid)."""
        return self.payload.id if self.payload is not None else None


def require_one_slot(keys: QueueKeys) -> None:
    """On a Redis Cluster, raise :class:`~ninja_redis.exceptions.QueueError` unless
    the four keys of the queue share one hash slot.

    Laravel's push, pop, size and clear scripts name several of them at once, which a
    cluster refuses (CROSSSLOT). 13.x braces the queue name itself
    (``queues:{default}``); before 13.x the app must name its queue with a hash tag
    (``REDIS_QUEUE={default}``), like a Laravel app on a cluster.
    """
    slots = {
        key_slot(k) for k in (keys.ready, keys.delayed, keys.reserved, keys.notify)
    }
    if len(slots) > 1:
        raise QueueError(
            f"the keys of queue {keys.name!r} ({keys.ready!r} and its :delayed, "
            ":reserved and :notify keys) are in different hash slots of the Redis "
            "Cluster, so Laravel's queue scripts cannot run on them; name the queue "
            f"with a hash tag, e.g. '{{{keys.name}}}' (Laravel 13 adds the braces "
            "itself)"
        )


_PUSH = _scripts.script("queue_push")
_LATER = _scripts.script("queue_later")
_SIZE = _scripts.script("queue_size")
_CLEAR = _scripts.script("queue_clear")


class AsyncQueue:
    """The Redis queue connection of a Laravel app (``Queue::`` / ``dispatch()``).

    ``app.queue`` uses ``config.queue_connection``, the default queue
    ``config.queue`` (``REDIS_QUEUE``), and 13.x cluster hash tags via
    :class:`~ninja_redis.keys.KeySpace`. Every dispatch returns the job id (the
    payload's ``id``) or ``None`` when a ``ShouldBeUnique`` job's lock is taken.

    .. versionadded:: 0.1
    """

    def __init__(self, app: AsyncLaravel) -> None:
        self._app = app
        self.config = app.config
        self._keys = app.keys
        self._builder = PayloadBuilder(
            self.config.laravel_version,
            encrypter=app.encrypter if self.config.app_key else None,
            horizon=self.config.horizon,
        )
        self._client: redis.Redis | None = None
        self._wire = app.wire(self.config.queue_connection)
        self._queue_keys: dict[str | None, QueueKeys] = {}
        #: ready keys whose queue was found to live in one hash slot (cluster only)
        self._one_slot: set[bytes] = set()
        self._cluster = self.config.cluster

    # ------------------------------------------------------------------ plumbing

    @property
    def redis(self) -> redis.Redis:
        """The redis-py client of the queue connection."""
        if self._client is None:
            self._client = self._app.connection(self.config.queue_connection)
        return self._client

    def keys(self, queue: str | None = None) -> QueueKeys:
        """The four Redis keys of ``queue`` (default: the configured queue)."""
        return self._keys.queue(queue)

    def _multi_key(self, keys: QueueKeys) -> QueueKeys:
        """``keys``, checked for one hash slot on a cluster (see :func:`require_one_slot`)."""
        if self._cluster and keys.ready not in self._one_slot:
            require_one_slot(keys)
            if len(self._one_slot) > 1024:
                self._one_slot.clear()
            self._one_slot.add(keys.ready)
        return keys

    def _keys_of(self, queue: str | None) -> QueueKeys:
        # KeySpace.queue() memoised: the config is frozen
        keys = self._queue_keys.get(queue)
        if keys is None:
            if len(self._queue_keys) > 1024:
                self._queue_keys.clear()
            keys = self._queue_keys[queue] = self._keys.queue(queue)
        return keys

    @property
    def builder(self) -> PayloadBuilder:
        """The :class:`~ninja_redis.payloads.PayloadBuilder` for this app's version."""
        return self._builder

    def payload(
        self,
        job: Any,
        *,
        data: Any = "",
        delay: int | None = None,
    ) -> bytes:
        """The payload bytes ``push`` would store for ``job`` (fresh uuid and id)."""
        if isinstance(job, str):
            return self._builder.build(job, data, delay=delay)
        return self._build(to_php_job(job), "", delay, None, None)

    def _build(
        self,
        job: PhpJob | str,
        data: Any,
        delay: int | None,
        uuid: str | None,
        job_id: str | None,
    ) -> bytes:
        if isinstance(job, PhpJob) and job.encrypted:
            if self._builder.encrypter is None:
                self._builder.encrypter = self._app.encrypter
        return self._builder.build(job, data, uuid=uuid, id=job_id, delay=delay)

    def _plan(
        self,
        job: Any,
        queue: str | None,
        delay: Delay | None,
        data: Any,
        uuid: str | None = None,
        job_id: str | None = None,
    ) -> _Plan:
        """(keys, payload, available_at or None, PhpJob, id) for one dispatch."""
        php_job: PhpJob | None = None
        if isinstance(job, str):
            target = queue
            built: PhpJob | str = job
        else:
            php_job = job if type(job) is PhpJob else to_php_job(job)
            built = php_job
            target = queue or php_job.queue
            if delay is None and php_job.delay is not None:
                delay = php_job.delay
        keys = self._keys_of(target)
        uuid = uuid or _next_uuid()
        if self._builder.horizon:
            job_id = uuid
        elif job_id is None:
            job_id = _next_id()
        if delay is None:
            payload = self._build(built, data, None, uuid, job_id)
            return keys, payload, None, php_job, job_id
        seconds, available_at = delay_times(delay, wall_time())
        payload = self._build(built, data, seconds, uuid, job_id)
        return keys, payload, available_at, php_job, job_id

    # ------------------------------------------------------------- unique jobs

    def unique_lock_key(self, job: PhpJob) -> bytes:
        """The ``ShouldBeUnique`` lock key of ``job`` for the configured version."""
        name, uid = unique_lock_name(job, self.config.laravel_version)
        return self._keys.unique_job_lock(name, uid)

    async def _acquire_unique(self, job: PhpJob) -> bool:
        # UniqueLock::acquire: Cache::lock(key, uniqueFor)->get() = SET NX [EX]
        client = self._app.connection(self.config.lock_connection)
        seconds = int(job.unique_for or 0)
        owner = random_id(16)
        key = self.unique_lock_key(job)
        if seconds > 0:
            ok = await client.set(key, owner, ex=seconds, nx=True)
        else:
            ok = await client.set(key, owner, nx=True)
        return bool(ok)

    # ---------------------------------------------------------------- dispatch

    async def push(
        self, job: Any, queue: str | None = None, *, data: Any = ""
    ) -> str | None:
        """Push a job; returns its id (``None`` if a unique job's lock is taken).

        ``job``: a :class:`~ninja_redis.payloads.PhpJob`, an instance of a
        :func:`~ninja_redis.payloads.php_job` class, or a string job
        ``"App\\Handlers\\Foo@bar"`` with ``data``. Like ``dispatch()``: the queue is
        ``queue`` ?? the job's ``queue`` ?? the default, and a job with a ``delay``
        goes to ``:delayed``.
        """
        keys, payload, available_at, php_job, job_id = self._plan(
            job, queue, None, data
        )
        if php_job is not None and php_job.unique:
            if not await self._acquire_unique(php_job):
                return None
        if available_at is None:
            await self._push_ready(keys, payload)
        else:
            await self._store(keys, payload, available_at)
        return job_id

    async def _push_ready(self, keys: QueueKeys, payload: bytes) -> None:
        """Laravel's push script for one payload (``EVALSHA``; ``EVAL`` after NOSCRIPT):
        ``RPUSH queues:Q payload`` and ``RPUSH queues:Q:notify 1``."""
        if self._cluster:
            self._multi_key(keys)
        await self._wire.eval(_PUSH, [keys.ready, keys.notify], [payload])

    async def later(
        self, delay: Delay, job: Any, queue: str | None = None, *, data: Any = ""
    ) -> str | None:
        """Push a job that becomes available after ``delay`` (seconds, ``timedelta``
        or an absolute ``datetime``): ``ZADD queues:Q:delayed <availableAt>``."""
        keys, payload, available_at, php_job, job_id = self._plan(
            job, queue, delay, data
        )
        if php_job is not None and php_job.unique:
            if not await self._acquire_unique(php_job):
                return None
        await self._store(keys, payload, available_at)
        return job_id

    async def _store(
        self, keys: QueueKeys, payload: bytes, available_at: int | None
    ) -> None:
        if available_at is None:
            await self._push_ready(keys, payload)
        else:
            await self._wire.eval(_LATER, [keys.delayed], [available_at, payload])

    async def push_raw(
        self,
        payload: bytes | str,
        queue: str | None = None,
        delay: Delay | None = None,
        *,
        validate: bool = True,
    ) -> str | None:
        """Store ``payload`` byte for byte (``Queue::pushRaw``); returns its ``id``.

        Laravel adds nothing to a raw payload, and a payload without ``job`` or
        ``attempts`` is lost by the pop script, so ``validate`` (default) rejects it
        with :class:`~ninja_redis.exceptions.JobPayloadError` before anything is sent.
        """
        raw = to_bytes(payload)
        parsed: JobPayload | None = None
        if validate:
            parsed = parse_payload(raw)
        keys = self._keys.queue(queue)
        available_at: int | None = None
        if delay is not None:
            available_at = delay_times(delay, wall_time())[1]
        await self._store(keys, raw, available_at)
        if parsed is not None:
            return parsed.id
        try:
            value = json.loads(raw).get("id")
        except (ValueError, AttributeError):
            return None
        return None if value is None else str(value)

    async def bulk(
        self, jobs: Iterable[Any], queue: str | None = None, *, data: Any = ""
    ) -> list[str | None]:
        """Push many jobs in one round trip; returns their ids in order.

        Same rules per job as :meth:`push`, and the same payload bytes. The jobs of
        each queue are sent 1,000 at a time (ready ones ``RPUSH``ed in order with
        one ``:notify`` entry each, delayed ones ``ZADD``ed), each batch atomic
        (``MULTI``/``EXEC``, or the ``queue_push_bulk`` script on a cluster), all
        in one pipeline. ``ShouldBeUnique`` jobs take their locks
        first (one more round trip) and are skipped (``None``) when a lock is taken.
        """
        if isinstance(jobs, PhpJobs):
            fast_ids = self._bulk_rows(jobs, queue)
            if fast_ids is not None:
                ready, job_ids = fast_ids
                keys = self._keys_of(queue or jobs.template.queue)
                await self._send_bulk({keys.ready: (keys, ready, [])})
                return list(job_ids)
        items = list(jobs)
        n = len(items)
        if not n:
            return []
        uuids = _uuid4s(n)
        job_ids = uuids if self._builder.horizon else _random_ids(n)
        builder = self._builder
        fast = builder._fast
        keys_of = self._keys_of
        created_at = int(wall_time()) if builder._created_at else None
        # parallel lists rather than a tuple per job: fewer objects for the GC to
        # walk while 100k jobs are alive
        plan_keys: list[QueueKeys] = []
        payloads: list[bytes] = []
        available: list[int | None] = []
        unique_jobs: list[tuple[int, PhpJob]] = []
        for i, (job, uuid, job_id) in enumerate(
            zip(items, uuids, job_ids, strict=True)
        ):
            # the usual job: the payload template straight away (ids need no escape)
            if (
                type(job) is PhpJob
                and job.delay is None
                and not job.unique
                and not builder.horizon
            ):
                payload = fast(job, uuid, '"' + job_id + '"', created_at, None, 0)
                if payload is not None:
                    plan_keys.append(keys_of(queue or job.queue))
                    payloads.append(payload)
                    available.append(None)
                    continue
            keys, payload, available_at, php_job, _id = self._plan(
                job, queue, None, data, uuid, job_id
            )
            plan_keys.append(keys)
            payloads.append(payload)
            available.append(available_at)
            if php_job is not None and php_job.unique:
                unique_jobs.append((i, php_job))
        skip: set[int] = set()
        if unique_jobs:
            client = self._app.connection(self.config.lock_connection)
            pipe = client.pipeline(transaction=False)
            for _i, php_job in unique_jobs:
                seconds = int(php_job.unique_for or 0)
                key = self.unique_lock_key(php_job)
                if seconds > 0:
                    pipe.set(key, random_id(16), ex=seconds, nx=True)
                else:
                    pipe.set(key, random_id(16), nx=True)
            for (i, _job), ok in zip(unique_jobs, await pipe.execute(), strict=True):
                if not ok:
                    skip.add(i)
        # per ready-list key: (keys, ready payloads, [availableAt, payload, ...])
        groups: dict[bytes, tuple[QueueKeys, list[bytes], list[Any]]] = {}
        ids: list[str | None] = list(job_ids)
        for i, keys in enumerate(plan_keys):
            if i in skip:
                ids[i] = None
                continue
            group = groups.get(keys.ready)
            if group is None:
                group = groups[keys.ready] = (keys, [], [])
            available_at = available[i]
            if available_at is None:
                group[1].append(payloads[i])
            else:
                group[2].append(available_at)
                group[2].append(payloads[i])
        await self._send_bulk(groups)
        return ids

    def _bulk_rows(
        self, jobs: PhpJobs, queue: str | None
    ) -> tuple[list[bytes], list[str]] | None:
        """Payloads and ids of a :class:`~ninja_redis.payloads.PhpJobs`, built
        without a ``PhpJob`` per row (``None``: it needs the per-job path)."""
        builder = self._builder
        template = jobs.template
        if builder.horizon or template.delay is not None or template.unique:
            return None
        n = len(jobs.rows)
        job_ids = _random_ids(n)
        created_at = int(wall_time()) if builder._created_at else None
        # 16 random bytes per version-4 uuid, formatted by the rows loop
        payloads = builder._fast_rows(
            template, jobs.rows, os.urandom(16 * n), job_ids, created_at
        )
        if payloads is None:
            return None
        return payloads, job_ids

    async def _send_bulk(
        self, groups: dict[bytes, tuple[QueueKeys, list[bytes], list[Any]]]
    ) -> None:
        """Send the grouped payloads: :meth:`_send_bulk_multi` on a standalone
        server, else one pipeline of ``EVALSHA queue_push_bulk``, 1,000 jobs each.

        Commands that fail with ``NOSCRIPT`` (a restarted or flushed server) are sent
        again with ``EVAL``: such a command failed before the script ran, so none of
        its jobs was pushed and re-sending exactly those cannot push a job twice.
        """
        if not groups:
            return
        wire = self._wire
        if isinstance(wire.client, redis.Redis):
            await self._send_bulk_multi(wire, groups)
            return
        # a cluster client (no MULTI across its pipeline): the bulk script
        for keys, _ready, _delayed in groups.values():
            self._multi_key(keys)  # before anything is sent
        script = _scripts.script("queue_push_bulk")
        sha = script.sha
        commands: list[tuple[Any, ...]] = []
        for keys, ready, delayed in groups.values():
            head = ("EVALSHA", sha, 3, keys.ready, keys.notify, keys.delayed)
            for start in range(0, len(ready), _BULK_BATCH):
                chunk = ready[start : start + _BULK_BATCH]
                commands.append((*head, len(chunk), *chunk))
            step = 2 * _BULK_BATCH
            for start in range(0, len(delayed), step):
                commands.append((*head, 0, *delayed[start : start + step]))
        replies = await wire.pipeline(commands, raise_on_error=False)
        retry = [
            ("EVAL", script.text, *cmd[2:])
            for cmd, reply in zip(commands, replies, strict=True)
            if isinstance(reply, NoScriptError)
        ]
        for reply in replies:
            if isinstance(reply, Exception) and not isinstance(reply, NoScriptError):
                raise reply
        if retry:
            await wire.pipeline(retry)

    async def _send_bulk_multi(
        self,
        wire: Any,
        groups: dict[bytes, tuple[QueueKeys, list[bytes], list[Any]]],
    ) -> None:
        """``MULTI``, ``RPUSH ready p1..p1000``, ``RPUSH notify 1×1000``, ``EXEC``
        per 1,000 ready jobs (and ``MULTI``, ``ZADD delayed s1 p1 …``, ``EXEC`` per
        1,000 delayed ones), all pipelined, on a standalone server.

        The same data, in the same order, as Laravel's push script run once per
        payload (and ``ZADD`` once per delayed one), and each batch is atomic like
        one script call; Redis spends several times less on it than on the bulk
        Lua script (which copies 1,000 payloads into Lua strings and back). Each
        batch is packed and written on its own (no 100 MB join), so Redis works on
        the first batches while the next ones are packed.
        """
        batches: list[list[tuple[Any, ...]]] = []
        ones = (b"1",) * _BULK_BATCH
        multi, exec_ = ("MULTI",), ("EXEC",)
        for keys, ready, delayed in groups.values():
            for start in range(0, len(ready), _BULK_BATCH):
                chunk = ready[start : start + _BULK_BATCH]
                batches.append(
                    [
                        multi,
                        ("RPUSH", keys.ready, *chunk),
                        ("RPUSH", keys.notify, *ones[: len(chunk)]),
                        exec_,
                    ]
                )
            step = 2 * _BULK_BATCH
            for start in range(0, len(delayed), step):
                batches.append(
                    [
                        multi,
                        ("ZADD", keys.delayed, *delayed[start : start + step]),
                        exec_,
                    ]
                )
        if not batches:
            return
        client: Any = self.redis
        pool = getattr(client, "connection_pool", None)
        if pool is None or getattr(client, "connection", None) is not None:
            # a single-connection client: one pipeline through the wire
            replies = await wire.pipeline(
                [cmd for batch in batches for cmd in batch], raise_on_error=True
            )
        else:
            replies = await self._stream_batches(pool, batches)
        for reply in replies:
            if isinstance(reply, Exception):
                raise reply
            # EXEC returns the replies of its commands, errors (WRONGTYPE…) included
            if isinstance(reply, list):
                for item in reply:
                    if isinstance(item, Exception):
                        raise item

    async def _stream_batches(
        self, pool: Any, batches: list[list[tuple[Any, ...]]]
    ) -> list[Any]:
        """Write ``batches`` (each ``MULTI`` … ``EXEC``) on one pooled connection,
        one batch at a time, and read every reply (error replies in place).

        The replies of the first batch are read before the next batches are
        written: when the connection fails before any reply came back (a stale
        pooled connection after a Redis restart), the first batch is sent again on
        a fresh connection, like redis-py's retry of a single command. A failure
        after that is raised, and nothing is re-sent, so no job is pushed twice by
        this method (the batches that got to ``EXEC`` may have been pushed)."""
        conn = await pool.get_connection()
        try:
            replies: list[Any] = []
            for attempt in range(2):
                try:
                    await conn.send_packed_command(conn.pack_commands(batches[0]))
                    for _ in batches[0]:
                        replies.append(await _read_reply(conn))
                    break
                except (RedisConnectionError, RedisTimeoutError):
                    await conn.disconnect()
                    if attempt or replies:
                        raise
            for batch in batches[1:]:
                await conn.send_packed_command(
                    conn.pack_commands(batch), check_health=False
                )
            for batch in batches[1:]:
                for _ in batch:
                    replies.append(await _read_reply(conn))
        except BaseException:
            await conn.disconnect()
            raise
        finally:
            await pool.release(conn)
        return replies

    # -------------------------------------------------------------- inspection

    async def size(self, queue: str | None = None) -> int:
        """``Queue::size()``: pending + delayed + reserved (Laravel's size script)."""
        keys = self._multi_key(self._keys.queue(queue))
        result = await self._wire.eval(_SIZE, [keys.ready, keys.delayed, keys.reserved])
        return int(result)

    async def pending_size(self, queue: str | None = None) -> int:
        """Jobs waiting in the ready list (``LLEN``)."""
        return int(await self.redis.llen(self._keys.queue(queue).ready))

    async def delayed_size(self, queue: str | None = None) -> int:
        """Jobs in ``:delayed`` (``ZCARD``)."""
        return int(await self.redis.zcard(self._keys.queue(queue).delayed))

    async def reserved_size(self, queue: str | None = None) -> int:
        """Jobs in ``:reserved`` (``ZCARD``): running, or lost by a dead worker."""
        return int(await self.redis.zcard(self._keys.queue(queue).reserved))

    async def queues(self) -> list[str]:
        """Names of the queues that have a ready list, a delayed or a reserved zset
        (found with ``SCAN``; a queue whose keys are all empty does not exist)."""
        names: set[str] = set()
        head = self._keys.queue_scan_pattern()
        async for key in self.redis.scan_iter(match=head, count=1000):
            full = to_bytes(key)
            for suffix in (b":delayed", b":reserved"):
                if full.endswith(suffix):
                    full = full[: -len(suffix)]
                    break
            name = self._keys.queue_name_from_key(full)
            if name is not None and name != "failed":
                names.add(name)
        return sorted(names)

    async def sizes(self, queues: Sequence[str] | None = None) -> dict[str, QueueSizes]:
        """:class:`QueueSizes` per queue, in one round trip (all queues found by
        :meth:`queues` when ``queues`` is ``None``)."""
        names = list(queues) if queues is not None else await self.queues()
        if not names:
            return {}
        pipe = self.redis.pipeline(transaction=False)
        for name in names:
            keys = self._keys.queue(name)
            pipe.llen(keys.ready)
            pipe.zcard(keys.delayed)
            pipe.zcard(keys.reserved)
        res = await pipe.execute()
        return {
            name: QueueSizes(int(res[3 * i]), int(res[3 * i + 1]), int(res[3 * i + 2]))
            for i, name in enumerate(names)
        }

    async def clear(self, queue: str | None = None) -> int:
        """``Queue::clear()``: delete the queue's four keys; returns the jobs removed."""
        keys = self._multi_key(self._keys.queue(queue))
        result = await self._wire.eval(
            _CLEAR, [keys.ready, keys.delayed, keys.reserved, keys.notify]
        )
        return int(result)

    async def creation_time_of_oldest_pending_job(
        self, queue: str | None = None
    ) -> int | None:
        """``createdAt`` of the job at the head of the ready list (12.x+ payloads)."""
        raw = await self.redis.lindex(self._keys.queue(queue).ready, 0)
        if raw is None:
            return None
        try:
            return parse_payload(raw, require_attempts=False).created_at
        except JobPayloadError:
            return None

    @staticmethod
    def _entry(
        name: str, state: JobState, raw: bytes, score: float | None
    ) -> QueuedJob:
        try:
            payload = parse_payload(raw, require_attempts=False)
        except JobPayloadError as exc:
            return QueuedJob(name, state, raw, score, None, str(exc))
        return QueuedJob(name, state, raw, score, payload)

    async def jobs(
        self,
        queue: str | None = None,
        state: JobState = "pending",
        *,
        offset: int = 0,
        limit: int = 100,
    ) -> list[QueuedJob]:
        """Read up to ``limit`` jobs of one state from ``offset``, without consuming
        them: ``LRANGE`` on the ready list (FIFO order), ``ZRANGE … WITHSCORES`` on
        ``:delayed``/``:reserved`` (earliest first). Invalid payloads are returned
        with ``payload=None`` and ``error``."""
        if offset < 0 or limit < 0:
            raise ValueError("offset and limit must not be negative")
        keys = self._keys.queue(queue)
        name = keys.name
        if limit == 0:
            return []
        stop = offset + limit - 1
        if state == "pending":
            items = await self.redis.lrange(keys.ready, offset, stop)
            return [self._entry(name, state, to_bytes(r), None) for r in items]
        if state not in ("delayed", "reserved"):
            raise ValueError("state must be 'pending', 'delayed' or 'reserved'")
        key = keys.delayed if state == "delayed" else keys.reserved
        rows: list[Any] = await self.redis.zrange(key, offset, stop, withscores=True)
        return [self._entry(name, state, to_bytes(r[0]), float(r[1])) for r in rows]

    async def find(
        self, job_id: str, queue: str | None = None, *, batch: int = 1000
    ) -> QueuedJob | None:
        """The job with payload ``id`` == ``job_id`` in any state of ``queue``, read
        in pages of ``batch`` (a linear scan: fine for inspection, not a hot path)."""
        needle = b'"id":' + json.dumps(job_id).encode()
        for state in ("pending", "delayed", "reserved"):
            offset = 0
            while True:
                page = await self.jobs(queue, state, offset=offset, limit=batch)
                for entry in page:
                    if needle in entry.raw and entry.id == job_id:
                        return entry
                if len(page) < batch:
                    break
                offset += batch
        return None
