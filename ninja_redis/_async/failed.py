"""Failed-job stores: where Laravel's ``queue:failed`` / ``queue:retry`` find failed jobs.

Three layouts, each written exactly as the Laravel provider writes it:

* :class:`AsyncDatabaseFailedJobStore` -- the ``database-uuids`` provider: table
  ``failed_jobs`` (``id`` bigint auto, ``uuid`` unique, ``connection``, ``queue``,
  ``payload``, ``exception``, ``failed_at``) on PostgreSQL (``psycopg``), MySQL/MariaDB
  (``pymysql``) or SQLite (stdlib ``sqlite3``), chosen by a URL such as
  ``postgresql://user@127.0.0.1:5432/app``, ``mysql://root@127.0.0.1:3306/app`` or
  ``sqlite:///storage/database.sqlite``; with ``uuids=False`` the legacy ``database``
  provider (no ``uuid`` column, numeric ids);
* :class:`AsyncFileFailedJobStore` -- the ``file`` provider (10.x+): one JSON file, newest
  first, at most 100 entries, ``JSON_PRETTY_PRINT``, guarded by the cache lock
  ``laravel-failed-jobs``;
* :class:`AsyncRedisFailedJobStore` -- a Redis list ``⟨P⟩queues:failed`` (newest at the
  head) of JSON entries with the fields of the file provider.

Every store keeps the **original ready-list payload bytes** of the job (what Laravel's
``RedisJob::getRawBody()`` returns), the queue *name* and the exception's string form.
``retry()`` follows ``queue:retry``: ``attempts`` reset to 0, the payload re-encoded with
``json_encode()``, pushed with the queue's push script, then forgotten.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import threading
import uuid as uuidlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlsplit

from .._phpvalue import php_gcvt
from ..exceptions import ConfigError, MissingExtraError
from ..payloads import _is_php_list
from . import _backend

if TYPE_CHECKING:
    import redis.asyncio as redis

    from .app import AsyncLaravel

__all__ = [
    "AsyncDatabaseFailedJobStore",
    "AsyncFailedJobStore",
    "AsyncFileFailedJobStore",
    "AsyncNullFailedJobStore",
    "AsyncRedisFailedJobStore",
    "FailedJob",
    "failed_job_store",
    "php_json_encode",
]


@dataclass(frozen=True)
class FailedJob:
    """One failed job as ``queue:failed`` shows it.

    ``id`` is the job's uuid (what ``queue:retry``/``queue:forget`` take), or the row's
    ``id`` for the legacy ``database`` provider; ``payload`` the original ready-list
    bytes; ``failed_at`` UTC.
    """

    id: str
    connection: str
    queue: str
    payload: bytes = field(repr=False)
    exception: str = field(repr=False)
    failed_at: datetime

    def payload_json(self) -> Any:
        """The payload decoded as JSON (raises ``ValueError`` if it is not JSON)."""
        return json.loads(self.payload)


def _now(tz: tzinfo = timezone.utc) -> datetime:
    """``Date::now()`` to the second, in the app's timezone (``config('app.timezone')``,
    which Laravel makes PHP's default timezone)."""
    return datetime.fromtimestamp(int(_backend.wall_time()), tz=tz)


def _zone(value: str | tzinfo | None) -> tzinfo:
    """``app_timezone``: a tzinfo or an IANA name such as ``"Europe/Paris"`` (UTC if
    ``None``)."""
    if value is None:
        return timezone.utc
    if isinstance(value, tzinfo):
        return value
    if value.upper() == "UTC":
        return timezone.utc
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(
            f"unknown timezone {value!r}", variable="app_timezone"
        ) from exc


def _payload_uuid(payload: bytes) -> str:
    """The payload's ``uuid`` (a fresh one for payloads that have none, e.g. corrupt JSON)."""
    try:
        value = json.loads(payload).get("uuid")
    except (ValueError, AttributeError):
        value = None
    return value if isinstance(value, str) and value else str(uuidlib.uuid4())


def _text(payload: bytes) -> str:
    # Columns and JSON strings hold text: invalid UTF-8 (only in corrupt payloads) is replaced.
    return payload.decode("utf-8", "replace")


# --------------------------------------------------------------- json_encode


def php_json_encode(value: Any, *, pretty: bool = False, assoc: bool = True) -> str:
    """PHP's ``json_encode($value)`` (default flags; ``pretty``: ``JSON_PRETTY_PRINT``)
    for JSON-decoded data: ``/`` -> ``\\/``, non-ASCII -> ``\\uXXXX``.

    ``assoc`` (default): the data came from ``json_decode(…, true)``, so objects are PHP
    arrays: ``{}`` -> ``[]`` and ``{"0": …, "1": …}`` -> a list. ``assoc=False``: from
    ``json_decode(…)`` (``stdClass``), objects stay objects."""
    out: list[str] = []
    _encode(value, out, 0 if pretty else -1, assoc)
    return "".join(out)


def _encode(v: Any, out: list[str], level: int, assoc: bool = True) -> None:
    if isinstance(v, str):
        out.append(json.dumps(v, ensure_ascii=True).replace("/", "\\/"))
    elif v is None:
        out.append("null")
    elif v is True:
        out.append("true")
    elif v is False:
        out.append("false")
    elif isinstance(v, int):
        out.append(str(v))
    elif isinstance(v, float):
        # serialize_precision = -1 and no JSON_PRESERVE_ZERO_FRACTION: 1.0 -> 1,
        # -0.0 -> -0, 1e20 -> 1.0e+20
        out.append(php_gcvt(v, -1, "e"))
    elif isinstance(v, (list, dict)):
        items: list[tuple[Any, Any]] = (
            list(enumerate(v)) if isinstance(v, list) else list(v.items())
        )
        if not items:
            out.append("[]" if assoc or isinstance(v, list) else "{}")
            return
        # json_decode(…, true) made a PHP array: keys "0", "1", … became integers, so
        # an object with exactly those keys in that order is encoded as a list
        is_list = isinstance(v, list) or (assoc and _is_php_list(v))
        opening, closing = ("[", "]") if is_list else ("{", "}")
        out.append(opening)
        for i, (k, item) in enumerate(items):
            if i:
                out.append(",")
            if level >= 0:
                out.append("\n" + "    " * (level + 1))
            if not is_list:
                _encode(str(k), out, -1)
                out.append(": " if level >= 0 else ":")
            _encode(item, out, level + 1 if level >= 0 else -1, assoc)
        if level >= 0:
            out.append("\n" + "    " * level)
        out.append(closing)
    else:
        raise TypeError(f"cannot json_encode a {type(v).__name__}")


_KEEP: Any = object()


def retry_payload(payload: bytes, retry_until: Any = _KEEP) -> bytes:
    """The payload ``queue:retry`` pushes (``RetryCommand``, 8.x-13.x): ``attempts`` set
    to 0 when it is set (``isset``), re-encoded with ``json_encode()`` (default flags).

    ``retryUntil`` is refreshed by Laravel only for a command whose class has a
    ``retryUntil()`` method (it unserializes the command, decrypting an encrypted one,
    and calls it): PHP code that Python cannot run. Pass the value that method returns
    (Unix time, an aware ``datetime`` or ``None``) as ``retry_until`` to get the same
    bytes; the default leaves the field as it is. Non-JSON payloads are pushed back
    unchanged."""
    try:
        data = json.loads(payload)
    except ValueError:
        return payload
    if not isinstance(data, dict):
        return payload
    if data.get("attempts") is not None:  # resetAttempts(): isset($payload['attempts'])
        data["attempts"] = 0
    if retry_until is not _KEEP:
        command = data.get("data")
        if isinstance(command, dict) and command.get("command") is not None:
            if isinstance(retry_until, datetime):
                retry_until = int(retry_until.timestamp())
            data["retryUntil"] = retry_until  # refreshRetryUntil()
    return php_json_encode(data).encode("utf-8")


# ------------------------------------------------------------------- stores


class AsyncFailedJobStore:
    """Base class of the failed-job stores (Laravel's ``FailedJobProviderInterface``).

    ``app`` is needed by :meth:`retry` (to push the job back onto its queue).
    """

    def __init__(
        self,
        app: AsyncLaravel | None = None,
        *,
        app_timezone: str | tzinfo | None = None,
    ) -> None:
        self._app = app
        self._tz = _zone(app_timezone)

    async def log(
        self, connection: str, queue: str, payload: bytes, exception: str
    ) -> str:
        """Record a failed job; returns its id (the payload's uuid)."""
        raise NotImplementedError

    async def all(self) -> list[FailedJob]:
        """Every failed job, newest first."""
        raise NotImplementedError

    async def ids(self, queue: str | None = None) -> list[str]:
        """The ids of the failed jobs (of one queue), newest first."""
        return [j.id for j in await self.all() if queue is None or j.queue == queue]

    async def find(self, id: str) -> FailedJob | None:
        """One failed job by id, or ``None``."""
        for job in await self.all():
            if job.id == id:
                return job
        return None

    async def forget(self, id: str) -> bool:
        """Delete one failed job; ``True`` if it existed."""
        raise NotImplementedError

    async def flush(self, hours: int | None = None) -> int:
        """Delete every failed job (or those older than ``hours``); returns how many."""
        raise NotImplementedError

    async def retry(self, id: str, *, retry_until: Any = _KEEP) -> str | None:
        """``queue:retry ID``: push the job back onto its queue with ``attempts`` reset to
        0, then forget it. Returns the id of the pushed job, ``None`` if ``id`` is unknown.

        ``retry_until``: what the job class's ``retryUntil()`` method returns, for jobs
        that have one (see :func:`retry_payload`); by default ``retryUntil`` is kept."""
        job = await self.find(id)
        if job is None:
            return None
        if self._app is None:
            raise ConfigError(
                "retry() needs the store to be created with an app", variable="app"
            )
        payload = retry_payload(job.payload, retry_until)
        await self._app.queue.push_raw(payload, queue=job.queue, validate=False)
        await self.forget(id)
        try:
            job_id = json.loads(payload).get("id")
        except (ValueError, AttributeError):
            job_id = None
        return job_id if isinstance(job_id, str) else job.id


class AsyncNullFailedJobStore(AsyncFailedJobStore):
    """The ``null`` driver: failed jobs are discarded (as ``QUEUE_FAILED_DRIVER=null``)."""

    async def log(
        self, connection: str, queue: str, payload: bytes, exception: str
    ) -> str:
        """Discard the job; returns its uuid."""
        return _payload_uuid(payload)

    async def all(self) -> list[FailedJob]:
        """Always empty."""
        return []

    async def forget(self, id: str) -> bool:
        """Always ``False``."""
        return False

    async def flush(self, hours: int | None = None) -> int:
        """Always 0."""
        return 0


# ------------------------------------------------------------------ Redis list


def _entry_json(job: FailedJob) -> bytes:
    entry = {
        "id": job.id,
        "connection": job.connection,
        "queue": job.queue,
        "payload": _text(job.payload),
        "exception": job.exception,
        "failed_at": job.failed_at.strftime("%Y-%m-%d %H:%M:%S"),
        "failed_at_timestamp": int(job.failed_at.timestamp()),
    }
    return php_json_encode(entry).encode("utf-8")


def _entry_from(data: dict[str, Any]) -> FailedJob:
    ts = data.get("failed_at_timestamp")
    if isinstance(ts, (int, float)):
        failed_at = datetime.fromtimestamp(int(ts), tz=timezone.utc)
    else:
        failed_at = datetime.strptime(
            str(data.get("failed_at")), "%Y-%m-%d %H:%M:%S"
        ).replace(tzinfo=timezone.utc)
    return FailedJob(
        id=str(data.get("id")),
        connection=str(data.get("connection")),
        queue=str(data.get("queue")),
        payload=str(data.get("payload", "")).encode("utf-8"),
        exception=str(data.get("exception", "")),
        failed_at=failed_at,
    )


class AsyncRedisFailedJobStore(AsyncFailedJobStore):
    """Failed jobs in the Redis list ``⟨P⟩queues:failed`` (queue connection), newest first.

    Each item is the JSON object of the ``file`` provider: ``id`` (uuid), ``connection``,
    ``queue``, ``payload``, ``exception``, ``failed_at`` (``Y-m-d H:i:s``, UTC) and
    ``failed_at_timestamp``.
    """

    def __init__(self, app: AsyncLaravel) -> None:
        super().__init__(app)
        self._key = app.keys.failed_jobs_list()
        self._redis: redis.Redis = app.connection(app.config.queue_connection)

    async def log(
        self, connection: str, queue: str, payload: bytes, exception: str
    ) -> str:
        """``LPUSH`` the entry; returns its id."""
        job = FailedJob(
            _payload_uuid(payload), connection, queue, payload, exception, _now()
        )
        await self._redis.lpush(self._key, _entry_json(job))
        return job.id

    async def _items(self) -> list[tuple[bytes, FailedJob]]:
        out: list[tuple[bytes, FailedJob]] = []
        items: list[bytes] = await self._redis.lrange(self._key, 0, -1)  # type: ignore[assignment]
        for item in items:
            try:
                data = json.loads(item)
            except ValueError:
                continue
            if isinstance(data, dict):
                out.append((item, _entry_from(data)))
        return out

    async def all(self) -> list[FailedJob]:
        """Every entry of the list, newest first."""
        return [job for _, job in await self._items()]

    async def forget(self, id: str) -> bool:
        """``LREM`` the entry with this id."""
        removed = 0
        for raw, job in await self._items():
            if job.id == id:
                removed += int(await self._redis.lrem(self._key, 1, raw))  # type: ignore[arg-type]
        return removed > 0

    async def flush(self, hours: int | None = None) -> int:
        """Remove every entry (or those that failed more than ``hours`` ago)."""
        if not hours:
            count = int(await self._redis.llen(self._key))
            await self._redis.delete(self._key)
            return count
        cutoff = _now() - timedelta(hours=hours)
        removed = 0
        for raw, job in await self._items():
            if job.failed_at <= cutoff:
                removed += int(await self._redis.lrem(self._key, 1, raw))  # type: ignore[arg-type]
        return removed


# ------------------------------------------------------------------------ file


class AsyncFileFailedJobStore(AsyncFailedJobStore):
    """Laravel's ``file`` failed-job provider (10.x+): a JSON array in one file.

    ``path`` is ``queue.failed.path`` (Laravel's default is
    ``storage/framework/cache/failed-jobs.json``). New entries go first and the file keeps
    the newest ``limit`` (100). Writes hold the cache lock ``laravel-failed-jobs`` (5 s,
    waiting up to 10 s) that Laravel takes through the default cache store when ``app`` is
    given, plus an ``flock`` for processes on the same machine.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        app: AsyncLaravel | None = None,
        *,
        limit: int = 100,
        app_timezone: str | tzinfo | None = None,
    ) -> None:
        super().__init__(app, app_timezone=app_timezone)
        self.path = Path(path)
        self.limit = limit
        self._thread_lock = threading.Lock()

    def _read(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        content = self.path.read_text(encoding="utf-8")
        if not content.strip():
            return []
        try:
            data = json.loads(content)
        except ValueError:
            return []
        return (
            [d for d in data if isinstance(d, dict)] if isinstance(data, list) else []
        )

    def _write(self, jobs: list[dict[str, Any]]) -> None:
        # file_put_contents(path, json_encode($jobs, JSON_PRETTY_PRINT)); read() used
        # json_decode($content) without `true`: the entries are stdClass objects
        self.path.write_text(
            php_json_encode(jobs, pretty=True, assoc=False), encoding="utf-8"
        )

    @contextlib.contextmanager
    def _flock(self) -> Iterator[None]:
        import fcntl

        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._thread_lock, open(self.path, "a+b") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    async def _locked(self, fn: Callable[[], Any]) -> Any:
        if self._app is None:
            return await _backend.run_blocking(self._with_flock, fn)
        # Cache::store()->lock('laravel-failed-jobs', 5)->block(10, $callback): SET NX
        # EX 5 with a random owner, retried every 250 ms, released by compare-and-delete
        lock = self._app.cache.lock("laravel-failed-jobs", 5)
        return await lock.block(10, lambda: _backend.run_blocking(self._with_flock, fn))

    def _with_flock(self, fn: Callable[[], Any]) -> Any:
        with self._flock():
            return fn()

    async def log(
        self, connection: str, queue: str, payload: bytes, exception: str
    ) -> str:
        """Prepend an entry (``array_unshift``) and keep the newest ``limit``."""
        job = FailedJob(
            _payload_uuid(payload),
            connection,
            queue,
            payload,
            exception,
            _now(self._tz),  # failed_at in the app's timezone, failed_at_timestamp
        )

        def write() -> None:
            entry = json.loads(_entry_json(job))
            self._write([entry, *self._read()][: self.limit])

        await self._locked(write)
        return job.id

    async def all(self) -> list[FailedJob]:
        """Every entry, newest first."""
        return [_entry_from(d) for d in await _backend.run_blocking(self._read)]

    async def forget(self, id: str) -> bool:
        """Remove the entry with this id."""

        def drop() -> bool:
            jobs = self._read()
            kept = [j for j in jobs if j.get("id") != id]
            self._write(kept)
            return len(kept) != len(jobs)

        return bool(await self._locked(drop))

    async def flush(self, hours: int | None = None) -> int:
        """``prune(now - hours)``: drop entries with ``failed_at_timestamp`` <= the cutoff."""
        cutoff = int((_now() - timedelta(hours=hours or 0)).timestamp())

        def prune() -> int:
            jobs = self._read()
            kept = [
                j for j in jobs if not int(j.get("failed_at_timestamp", 0)) <= cutoff
            ]
            self._write(kept)
            return len(jobs) - len(kept)

        return int(await self._locked(prune))


# -------------------------------------------------------------------- database


class _Database:
    """A tiny DB-API 2 layer: one short-lived connection per operation."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        scheme = parts.scheme.split("+")[0].lower()
        self.url = url
        self.kind: str
        if scheme in ("postgresql", "postgres", "pgsql"):
            self.kind = "postgres"
        elif scheme in ("mysql", "mariadb"):
            self.kind = "mysql"
        elif scheme == "sqlite":
            self.kind = "sqlite"
        else:
            raise ConfigError(
                f"failed-job database URL scheme {parts.scheme!r} is not supported "
                "(postgresql://, mysql://, sqlite:///path)",
                variable="failed_database_url",
            )
        self._parts = parts

    @property
    def placeholder(self) -> str:
        return "?" if self.kind == "sqlite" else "%s"

    def connect(self) -> Any:
        p = self._parts
        if self.kind == "sqlite":
            import sqlite3

            path = unquote(p.path)
            if (
                path.startswith("/")
                and p.netloc == ""
                and self.url.startswith("sqlite:///")
            ):
                path = path[1:] if path[1:] == ":memory:" else path
            return sqlite3.connect(path or ":memory:", timeout=10)
        if self.kind == "postgres":
            try:
                import psycopg
            except ImportError as exc:
                raise MissingExtraError(
                    "the PostgreSQL failed-job store", "postgres", "psycopg"
                ) from exc
            url = self.url.replace(f"{p.scheme}://", "postgresql://", 1)
            return psycopg.connect(url)
        try:
            pymysql = importlib.import_module("pymysql")
        except ImportError as exc:
            raise MissingExtraError(
                "the MySQL failed-job store", "mysql", "pymysql"
            ) from exc
        query = dict(parse_qsl(p.query))
        kwargs: dict[str, Any] = {
            "host": p.hostname or "127.0.0.1",
            "port": p.port or 3306,
            "user": unquote(p.username or "root"),
            "password": unquote(p.password or ""),
            "database": unquote(p.path.lstrip("/")) or None,
            "charset": query.get("charset", "utf8mb4"),
            "autocommit": False,
        }
        if "unix_socket" in query:
            kwargs["unix_socket"] = query["unix_socket"]
        return pymysql.connect(**kwargs)

    @contextlib.contextmanager
    def cursor(self) -> Iterator[Any]:
        conn = self.connect()
        try:
            cur = conn.cursor()
            try:
                yield cur
                conn.commit()
            except BaseException:
                conn.rollback()
                raise
            finally:
                cur.close()
        finally:
            conn.close()

    def quote(self, name: str) -> str:
        if not name.replace("_", "").replace(".", "").isalnum():
            raise ConfigError(
                f"table name {name!r} is not a plain identifier",
                variable="failed_table",
            )
        q = "`" if self.kind == "mysql" else '"'
        return ".".join(q + part + q for part in name.split("."))


_SCHEMAS = {
    # Laravel's failed_jobs migration (database-uuids), per grammar.
    "postgres": (
        "create table if not exists {t} (id bigserial primary key not null, "
        "uuid varchar(255) not null, connection text not null, queue text not null, "
        "payload text not null, exception text not null, "
        "failed_at timestamp(0) without time zone not null default CURRENT_TIMESTAMP, "
        "constraint {u} unique (uuid))"
    ),
    "mysql": (
        "create table if not exists {t} (id bigint unsigned not null auto_increment "
        "primary key, uuid varchar(255) not null, connection text not null, "
        "queue text not null, payload longtext not null, exception longtext not null, "
        "failed_at timestamp not null default CURRENT_TIMESTAMP, unique key {u} (uuid)) "
        "default character set utf8mb4 collate 'utf8mb4_unicode_ci'"
    ),
    "sqlite": (
        "create table if not exists {t} (id integer primary key autoincrement not null, "
        "uuid varchar not null, connection text not null, queue text not null, "
        "payload text not null, exception text not null, "
        "failed_at datetime not null default CURRENT_TIMESTAMP, constraint {u} unique (uuid))"
    ),
}


# The legacy ``database`` provider's table: the same migration without ``uuid``.
_LEGACY = {
    kind: sql.replace("uuid varchar(255) not null, ", "")
    .replace("uuid varchar not null, ", "")
    .replace(", constraint {u} unique (uuid)", "")
    .replace(", unique key {u} (uuid)", "")
    for kind, sql in _SCHEMAS.items()
}


class AsyncDatabaseFailedJobStore(AsyncFailedJobStore):
    """Laravel's ``database-uuids`` provider: the ``failed_jobs`` table.

    ``url``: ``postgresql://user:pass@host:5432/db`` (``psycopg``, extra ``postgres``),
    ``mysql://user:pass@host:3306/db`` (``pymysql``, extra ``mysql``) or
    ``sqlite:///relative/path.sqlite`` / ``sqlite:////absolute/path.sqlite`` (stdlib).
    Ids are the job uuids, as ``queue:failed`` shows them for this provider.

    ``uuids=False`` is the legacy ``database`` provider (``DatabaseFailedJobProvider``):
    a table without the ``uuid`` column, rows found by their auto-increment ``id`` (the
    id ``queue:retry`` takes there). ``app_timezone``: Laravel's ``app.timezone``
    (default UTC); ``failed_at`` is written as ``Date::now()`` formats it there,
    ``Y-m-d H:i:s``, and read back as UTC.

    .. versionchanged:: 0.1 ``uuids`` and ``app_timezone``.
    """

    def __init__(
        self,
        url: str,
        table: str = "failed_jobs",
        app: AsyncLaravel | None = None,
        *,
        uuids: bool = True,
        app_timezone: str | tzinfo | None = None,
    ) -> None:
        super().__init__(app, app_timezone=app_timezone)
        self._db = _Database(url)
        self.table = table
        self.uuids = uuids
        self._t = self._db.quote(table)
        self._key = "uuid" if uuids else "id"

    def _create_table(self) -> None:
        sql = _SCHEMAS[self._db.kind]
        if not self.uuids:  # the migration without $table->string('uuid')->unique()
            sql = _LEGACY[self._db.kind]
        unique = self._db.quote(self.table.split(".")[-1] + "_uuid_unique")
        with self._db.cursor() as cur:
            cur.execute(sql.format(t=self._t, u=unique))

    async def create_table(self) -> None:
        """Create the table with Laravel's ``failed_jobs`` migration schema if missing."""
        await _backend.run_blocking(self._create_table)

    def _failed_at(self, hours: int = 0) -> str:
        # Date::now() (->subHours()) bound as a 'Y-m-d H:i:s' string in the app timezone
        when = _now(self._tz) - timedelta(hours=hours)
        return when.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S")

    def _log(self, connection: str, queue: str, payload: bytes, exception: str) -> str:
        ph = self._db.placeholder
        values: tuple[str, ...] = (
            connection,
            queue,
            _text(payload),
            exception,
            self._failed_at(),
        )
        columns = "connection, queue, payload, exception, failed_at"
        uuid = _payload_uuid(payload) if self.uuids else None
        if uuid is not None:
            columns = "uuid, " + columns
            values = (uuid, *values)
        sql = (
            f"insert into {self._t} ({columns}) "
            f"values ({', '.join([ph] * len(values))})"
        )
        if uuid is None and self._db.kind == "postgres":
            sql += " returning id"  # insertGetId() on PostgreSQL
        with self._db.cursor() as cur:
            cur.execute(sql, values)
            if uuid is not None:
                return uuid
            if self._db.kind == "postgres":
                return str(cur.fetchone()[0])
            return str(cur.lastrowid)

    async def log(
        self, connection: str, queue: str, payload: bytes, exception: str
    ) -> str:
        """``insert`` a row (``failed_at`` = now); returns the uuid (legacy: the new
        ``id``)."""
        return await _backend.run_blocking(
            self._log, connection, queue, payload, exception
        )

    def _select(self, where: str = "", args: tuple[Any, ...] = ()) -> list[FailedJob]:
        with self._db.cursor() as cur:
            cur.execute(
                f"select {self._key}, connection, queue, payload, exception, failed_at "
                f"from {self._t}{where} order by id desc",
                args,
            )
            rows = cur.fetchall()
        out = []
        for key, connection, queue, payload, exception, failed_at in rows:
            if isinstance(failed_at, str):
                failed_at = datetime.strptime(failed_at[:19], "%Y-%m-%d %H:%M:%S")
            if failed_at.tzinfo is None:
                failed_at = failed_at.replace(tzinfo=self._tz)
            out.append(
                FailedJob(
                    id=str(key),
                    connection=str(connection),
                    queue=str(queue),
                    payload=payload.encode("utf-8")
                    if isinstance(payload, str)
                    else bytes(payload),
                    exception=str(exception),
                    failed_at=failed_at.astimezone(timezone.utc),
                )
            )
        return out

    def _where_id(self, id: str) -> tuple[str, tuple[Any, ...]] | None:
        if self.uuids:
            return f" where uuid = {self._db.placeholder}", (id,)
        try:  # find($id) / where('id', $id) with a numeric id
            number = int(id)
        except (TypeError, ValueError):
            return None
        return f" where id = {self._db.placeholder}", (number,)

    async def all(self) -> list[FailedJob]:
        """Every row, newest (highest ``id``) first."""
        return await _backend.run_blocking(self._select)

    async def find(self, id: str) -> FailedJob | None:
        """The row whose ``uuid`` (legacy: ``id``) is ``id``."""
        where = self._where_id(id)
        if where is None:
            return None
        rows = await _backend.run_blocking(self._select, *where)
        return rows[0] if rows else None

    def _delete(self, where: str, args: tuple[Any, ...]) -> int:
        with self._db.cursor() as cur:
            cur.execute(f"delete from {self._t}{where}", args)
            return int(cur.rowcount or 0)

    async def forget(self, id: str) -> bool:
        """``delete ... where uuid = ?`` (legacy: ``where id = ?``)."""
        where = self._where_id(id)
        if where is None:
            return False
        return await _backend.run_blocking(self._delete, *where) > 0

    async def flush(self, hours: int | None = None) -> int:
        """Delete every row, or those with ``failed_at`` <= now - ``hours``."""
        if not hours:
            return await _backend.run_blocking(self._delete, "", ())
        ph = self._db.placeholder
        return await _backend.run_blocking(
            self._delete, f" where failed_at <= {ph}", (self._failed_at(hours),)
        )


def failed_job_store(app: AsyncLaravel) -> AsyncFailedJobStore:
    """The store the app's config names (``failed_driver``, ``failed_database_url``,
    ``failed_table``, ``failed_path``), like Laravel's ``queue.failer`` binding."""
    cfg = app.config
    driver = (cfg.failed_driver or "null").lower()
    if driver in ("database-uuids", "database"):
        if not cfg.failed_database_url:
            raise ConfigError(
                "the database failed-job store needs failed_database_url "
                "(e.g. postgresql://user@127.0.0.1:5432/app)",
                variable="failed_database_url",
            )
        return AsyncDatabaseFailedJobStore(
            cfg.failed_database_url,
            cfg.failed_table,
            app,
            uuids=driver == "database-uuids",
            app_timezone=cfg.app_timezone,
        )
    if driver == "file":
        path = cfg.failed_path or "storage/framework/cache/failed-jobs.json"
        return AsyncFileFailedJobStore(path, app, app_timezone=cfg.app_timezone)
    if driver == "redis":
        return AsyncRedisFailedJobStore(app)
    if driver == "null":
        return AsyncNullFailedJobStore(app)
    raise ConfigError(
        f"failed-job driver {cfg.failed_driver!r} is not supported",
        variable="failed_driver",
    )
