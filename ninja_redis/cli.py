"""``ninja-redis``: look at a Laravel application's Redis data from a shell.

::

    ninja-redis [--env .env] [--url redis://...] [--laravel-version 12] [--json] COMMAND

    health                      PING, server, DBSIZE per database, memory policy, AOF, latency
    keys [--cache K] [--session ID] [--queue Q] [--lock NAME] [--tag T]
                                the full Redis keys Laravel uses for them (no server needed)
    get KEY                     decode a cache value: PHP type, Python repr, TTL
    queue stats [QUEUE ...]     pending / delayed / reserved per queue
    queue peek QUEUE [-n N]     the next jobs, without taking them
    queue restart               php artisan queue:restart: workers (Laravel's and
                                ninja_redis's) stop after their current job
    failed list|show ID|retry ID...|forget ID...|flush [--hours H]
    session show ID | --cookie VALUE
                                a session's user ids and attributes (secrets redacted)
    demo                        write and read Laravel-format data (see ninja_redis.demo)

Built on the blocking API (``Laravel``). Every key comes from ``app.keys``; nothing here
formats a key itself. ``--json`` prints one JSON document per command. Exit status: 0 ok,
1 failure or unhealthy, 2 usage error.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import unquote, urlsplit

from . import __version__
from .config import LaravelConfig
from .exceptions import NinjaRedisError

if TYPE_CHECKING:
    from ._sync.app import Laravel

__all__ = ["main"]

#: Session attributes whose values are never printed.
SECRET_ATTRIBUTES = ("_token", "password_hash_")
SECRET_WORDS = ("password", "token", "secret", "api_key")


class CliError(Exception):
    """A failure to report in one line (exit status 1)."""


# ------------------------------------------------------------------- context


@dataclass
class Context:
    """What every command gets: the parsed options, the app (built lazily), the output."""

    args: argparse.Namespace
    out: Callable[[str], None] = field(default=print)
    _app: Laravel | None = None

    @property
    def json(self) -> bool:
        return bool(self.args.json)

    def config(self) -> LaravelConfig:
        """The Laravel config from ``--env`` / ``./.env``, the environment and ``--url``."""
        environ = dict(os.environ)
        if self.args.url:
            parts = urlsplit(self.args.url)
            environ["REDIS_URL"] = parts._replace(path="").geturl()
            db = parts.path.lstrip("/")
            if db:
                environ["REDIS_DB"] = unquote(db)
        return LaravelConfig.from_env(
            self.args.env, laravel_version=self.args.laravel_version, environ=environ
        )

    @property
    def app(self) -> Laravel:
        if self._app is None:
            from ._sync.app import Laravel

            self._app = Laravel(self.config())
        return self._app

    def emit(self, data: Any, text: Sequence[str] | str) -> None:
        """Print ``data`` as JSON with ``--json``, else the human-readable ``text``."""
        if self.json:
            self.out(
                json.dumps(data, indent=2, default=_json_default, ensure_ascii=False)
            )
        else:
            self.out(text if isinstance(text, str) else "\n".join(text))

    def close(self) -> None:
        if self._app is not None:
            self._app.close()


def _json_default(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8", "backslashreplace")
    if isinstance(value, datetime):
        return value.isoformat()
    return repr(value)


def _text(value: bytes | str) -> str:
    return (
        value.decode("utf-8", "backslashreplace") if isinstance(value, bytes) else value
    )


def _need(module: str, what: str) -> Any:
    """Import an optional part of ninja_redis, or fail with a clear message."""
    import importlib

    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name and module.startswith(exc.name):
            raise CliError(
                f"{what} needs {module}, which this installation lacks"
            ) from None
        raise


# -------------------------------------------------------------------- health


def cmd_health(ctx: Context) -> int:
    """PING, server version, DBSIZE per database, maxmemory policy, persistence, latency."""
    import redis

    app = ctx.app
    cfg = app.config
    problems: list[str] = []
    warnings: list[str] = []
    servers: dict[str, dict[str, Any]] = {}
    databases: list[dict[str, Any]] = []
    uses = _connection_uses(cfg)

    for name in sorted(cfg.connections):
        conn = cfg.connection(name)
        where = f"{conn.host}:{conn.port}" if not conn.unix_socket else conn.unix_socket
        client = app.connection(name)
        try:
            latencies = []
            for _ in range(5):
                t0 = time.perf_counter()
                client.ping()
                latencies.append((time.perf_counter() - t0) * 1000)
            dbsize = int(client.dbsize())
        except redis.exceptions.RedisError as exc:
            problems.append(
                f"connection {name!r} ({conn.url}): {type(exc).__name__}: {exc}"
            )
            continue
        databases.append(
            {
                "connection": name,
                "server": where,
                "db": conn.database,
                "keys": dbsize,
                "used_for": uses.get(name, []),
            }
        )
        if where in servers:
            continue
        server: dict[str, Any] = {
            "address": where,
            "ping_ms": round(statistics.median(latencies), 3),
        }
        servers[where] = server
        if server["ping_ms"] > 10:
            warnings.append(f"{where}: median PING {server['ping_ms']} ms")
        try:
            info = client.info("server")
            info.update(client.info("memory"))
            info.update(client.info("persistence"))
            info.update(client.info("replication"))
        except redis.exceptions.ResponseError as exc:
            warnings.append(
                f"{where}: INFO not allowed ({exc}); memory and persistence unknown"
            )
            continue
        _judge_server(where, info, server, problems, warnings)

    healthy = not problems
    data = {
        "healthy": healthy,
        "laravel_version": str(cfg.laravel_version),
        "servers": list(servers.values()),
        "databases": databases,
        "problems": problems,
        "warnings": warnings,
    }
    lines = []
    for s in servers.values():
        lines.append(
            f"server    {s['address']}  Redis {s.get('redis_version', '?')} "
            f"({s.get('role', '?')})  PING {s['ping_ms']} ms (median of 5)"
        )
        if "maxmemory_policy" in s:
            limit = _size(s["maxmemory"]) if s["maxmemory"] else "no limit"
            lines.append(
                f"memory    {_size(s['used_memory'])} used, maxmemory {limit}, "
                f"policy {s['maxmemory_policy']}"
            )
            lines.append(
                f"persist   AOF {'on' if s['aof_enabled'] else 'off'}"
                f" (last write {s['aof_last_write_status']}), "
                f"RDB last save {s['rdb_last_bgsave_status']}"
            )
    for d in databases:
        used = ", ".join(d["used_for"]) or "-"
        lines.append(
            f"db{d['db']:<7} {d['keys']:>8} keys  connection {d['connection']!r} "
            f"({used})"
        )
    lines += [f"problem: {p}" for p in problems] + [f"warning: {w}" for w in warnings]
    lines.append("healthy" if healthy else "UNHEALTHY")
    ctx.emit(data, lines)
    return 0 if healthy else 1


def _connection_uses(cfg: LaravelConfig) -> dict[str, list[str]]:
    uses: dict[str, list[str]] = {}
    for what, name in (
        ("cache", cfg.cache_connection),
        ("locks", cfg.lock_connection),
        ("sessions", cfg.session_connection_name),
        ("queues", cfg.queue_connection),
    ):
        uses.setdefault(name, []).append(what)
    return uses


def _judge_server(
    where: str,
    info: dict[str, Any],
    server: dict[str, Any],
    problems: list[str],
    warnings: list[str],
) -> None:
    for k in (
        "redis_version",
        "role",
        "uptime_in_seconds",
        "used_memory",
        "maxmemory",
        "maxmemory_policy",
        "aof_enabled",
        "aof_last_write_status",
        "aof_last_bgrewrite_status",
        "rdb_last_bgsave_status",
        "loading",
        "master_link_status",
    ):
        if k in info:
            v = info[k]
            server[k] = v.decode() if isinstance(v, bytes) else v
    if server.get("loading"):
        problems.append(f"{where}: still loading its dataset")
    if server.get("aof_enabled") and server.get("aof_last_write_status") != "ok":
        problems.append(
            f"{where}: AOF write status {server.get('aof_last_write_status')}"
        )
    if server.get("rdb_last_bgsave_status") not in (None, "ok"):
        problems.append(f"{where}: last RDB save failed (writes may be refused)")
    if server.get("master_link_status") not in (None, "up"):
        warnings.append(
            f"{where}: replica link to master is {server['master_link_status']}"
        )
    maxmemory = int(server.get("maxmemory") or 0)
    policy = str(server.get("maxmemory_policy", "noeviction"))
    if maxmemory:
        used = int(server.get("used_memory") or 0) / maxmemory
        if policy == "noeviction" and used >= 0.95:
            problems.append(
                f"{where}: {used:.0%} of maxmemory with noeviction: writes "
                "will fail with OOM"
            )
        elif used >= 0.8:
            warnings.append(f"{where}: {used:.0%} of maxmemory used")
        if policy != "noeviction":
            warnings.append(
                f"{where}: maxmemory-policy {policy} may evict queued jobs, "
                "sessions or locks (see docs/operations.md)"
            )


def _size(n: Any) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return str(n)  # pragma: no cover


# ---------------------------------------------------------------------- keys


def cmd_keys(ctx: Context) -> int:
    """The full Redis keys (and databases) Laravel uses for the given names."""
    cfg = ctx.config()
    from .keys import KeySpace

    ks = KeySpace(cfg)
    a = ctx.args
    rows: list[dict[str, Any]] = []

    def add(kind: str, name: str, connection: str, keys: dict[str, bytes]) -> None:
        db = cfg.connection(connection).database
        for role, key in keys.items():
            rows.append(
                {
                    "kind": kind,
                    "name": name,
                    "role": role,
                    "db": db,
                    "connection": connection,
                    "key": _text(key),
                }
            )

    for k in a.cache or []:
        add("cache", k, cfg.cache_connection, {"value": ks.cache(k)})
    if a.tag:
        names: list[str | bytes] = list(a.tag)
        for k in a.cache or []:
            if cfg.laravel_version >= (10, 0):
                add("tagged", k, cfg.cache_connection, {"value": ks.tagged(names, k)})
        if cfg.laravel_version >= (10, 0):
            for t in a.tag:
                add("tag", t, cfg.cache_connection, {"entries": ks.tag_entries(t)})
        else:
            for t in a.tag:
                add("tag", t, cfg.cache_connection, {"id": ks.legacy_tag_id_key(t)})
    for name in a.lock or []:
        add("lock", name, cfg.lock_connection, {"owner": ks.lock(name)})
    for sid in a.session or []:
        key = ks.session_hash(sid) if cfg.session_layout == "hash" else ks.session(sid)
        add("session", sid, cfg.session_connection_name, {"value": key})
    for q in a.queue or []:
        qk = ks.queue(q)
        add(
            "queue",
            q,
            cfg.queue_connection,
            {
                "ready": qk.ready,
                "delayed": qk.delayed,
                "reserved": qk.reserved,
                "notify": qk.notify,
            },
        )
    if not rows:
        q = ks.queue(None)
        add("queue", q.name, cfg.queue_connection, {"ready": q.ready})
        add("prefix", "cache", cfg.cache_connection, {"scan": ks.cache_scan_pattern()})
    width = max(len(f"{r['kind']} {r['role']}") for r in rows)
    lines = [
        f"{(r['kind'] + ' ' + r['role']).ljust(width)}  db{r['db']}  {r['key']}"
        for r in rows
    ]
    ctx.emit({"laravel_version": str(cfg.laravel_version), "keys": rows}, lines)
    return 0


# ----------------------------------------------------------------------- get


def php_type(value: Any) -> str:
    """The PHP type name of a decoded value (``string``, ``int``, ``array``, ``App\\X``)."""
    from .php import PhpEnum, PhpObject

    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str | bytes):
        return "string"
    if isinstance(value, list | dict):
        return "array"
    if isinstance(value, PhpEnum):
        return f"enum {value.class_name}"
    if isinstance(value, PhpObject):
        return f"object {value.class_name}"
    return type(value).__name__


def cmd_get(ctx: Context) -> int:
    """Decode one cache value: PHP type, Python repr, TTL and the raw bytes."""
    app = ctx.app
    name = app.config.cache_connection
    key = app.keys.cache(ctx.args.key)
    client = app.connection(name)
    pipe = client.pipeline(transaction=False)
    pipe.get(key)
    pipe.pttl(key)
    raw, pttl = pipe.execute()
    shown = _text(key)
    if raw is None:
        ctx.emit({"key": shown, "exists": False}, f"{shown}: no such key")
        return 1
    codec = app.codec(name)
    value = codec.loads(raw)
    kind = php_type(value)
    if isinstance(value, str) and codec.is_php_numeric(raw):
        # RedisStore stores numbers raw; Cache::get() returns them as numeric strings.
        kind = "string (stored raw as a number, like Cache::put of an int/float)"
    ttl = None if pttl < 0 else round(pttl / 1000, 3)
    limit = ctx.args.max_bytes
    data = {
        "key": shown,
        "exists": True,
        "db": app.config.connection(name).database,
        "ttl": ttl,
        "php_type": kind,
        "python": repr(value),
        "bytes": len(raw),
        "raw": _text(raw[:limit]),
    }
    lines = [
        f"key      {shown}  (db{data['db']})",
        f"ttl      {'forever' if ttl is None else f'{ttl} s'}",
        f"php      {data['php_type']}",
        f"python   {data['python']}",
        f"raw      {len(raw)} bytes: {raw[:limit]!r}{' …' if len(raw) > limit else ''}",
    ]
    ctx.emit(data, lines)
    return 0


# --------------------------------------------------------------------- queue


def cmd_queue_stats(ctx: Context) -> int:
    """Pending (ready list), delayed and reserved jobs per queue."""
    queue = ctx.app.queue
    names = list(ctx.args.queues or [])
    if ctx.args.all:
        names += [q for q in queue.queues() if q not in names]
    if not names:
        names = [ctx.app.config.queue]
    sizes = queue.sizes(names)
    rows: list[dict[str, Any]] = [
        {"queue": q, "pending": s.pending, "delayed": s.delayed, "reserved": s.reserved}
        for q, s in sizes.items()
    ]
    width = max(len(q) for q in sizes)
    lines = [f"{'queue'.ljust(width)}  {'pending':>8} {'delayed':>8} {'reserved':>8}"]
    lines += [
        f"{r['queue'].ljust(width)}  {r['pending']:>8} {r['delayed']:>8} "
        f"{r['reserved']:>8}"
        for r in rows
    ]
    ctx.emit({"queues": rows}, lines)
    return 0


def cmd_queue_peek(ctx: Context) -> int:
    """The next ``-n`` jobs of a queue (or its delayed/reserved set), not consumed."""
    app = ctx.app
    state: Literal["pending", "delayed", "reserved"] = "pending"
    if ctx.args.delayed or ctx.args.reserved:
        state = "delayed" if ctx.args.delayed else "reserved"
    keys = app.keys.queue(ctx.args.queue)
    key = {"pending": keys.ready, "delayed": keys.delayed, "reserved": keys.reserved}
    jobs: list[dict[str, Any]] = []
    for entry in app.queue.jobs(ctx.args.queue, state, limit=ctx.args.n):
        job: dict[str, Any] = {"bytes": len(entry.raw)}
        if entry.score is not None:
            at = datetime.fromtimestamp(entry.score, timezone.utc)
            job["available_at"] = at.isoformat()
        p = entry.payload
        if p is None:
            job["error"] = entry.error
        else:
            job.update(
                {
                    "uuid": p.uuid,
                    "id": p.id,
                    "display_name": p.display_name,
                    "attempts": p.get("attempts"),
                    "max_tries": p.max_tries,
                    "timeout": p.get("timeout"),
                    "created_at": p.get("createdAt"),
                }
            )
            if ctx.args.payload:
                job["payload"] = p.payload
        jobs.append(job)
    lines = [f"{_text(key[state])} ({state}): showing {len(jobs)}"]
    for i, j in enumerate(jobs):
        if "error" in j:
            lines.append(
                f"{i:>3}  unreadable payload ({j['bytes']} bytes): {j['error']}"
            )
            continue
        when = f"  available {j['available_at']}" if "available_at" in j else ""
        lines.append(
            f"{i:>3}  {j['display_name']}  uuid {j['uuid']}  attempts "
            f"{j['attempts']}  tries {j['max_tries']}{when}"
        )
        if ctx.args.payload:
            lines.append(json.dumps(j["payload"], indent=2, ensure_ascii=False))
    ctx.emit({"key": _text(key[state]), "state": state, "jobs": jobs}, lines)
    return 0


def cmd_queue_restart(ctx: Context) -> int:
    """``php artisan queue:restart``: ``Cache::forever('illuminate:queue:restart',
    time())`` on the cache store (the number is stored raw, e.g. ``1767225600``)."""
    app = ctx.app
    cache = app.config.cache_connection
    key = app.keys.queue_restart()
    now = int(time.time())
    app.connection(cache).set(key, app.codec(cache).dumps(now))
    ctx.emit({"key": _text(key), "value": now}, "Broadcasting queue restart signal.")
    return 0


# -------------------------------------------------------------------- failed


def _failed_store(ctx: Context) -> Any:
    failed = _need("ninja_redis._sync.failed", "the failed command")
    app = ctx.app
    changes: dict[str, Any] = {}
    if ctx.args.driver:
        changes["failed_driver"] = ctx.args.driver
    if ctx.args.database_url:
        changes["failed_database_url"] = ctx.args.database_url
    if ctx.args.path:
        changes["failed_path"] = ctx.args.path
    if changes:
        from ._sync.app import Laravel

        app = ctx._app = Laravel(app.config.replace(**changes))
    return failed.failed_job_store(app)


def cmd_failed(ctx: Context) -> int:
    """``queue:failed``, ``queue:retry``, ``queue:forget`` and ``queue:flush``."""
    store = _failed_store(ctx)
    action = ctx.args.action
    ids: list[str] = list(ctx.args.ids or [])
    if action in ("show", "retry", "forget") and not ids:
        raise CliError(f"failed {action} needs at least one job id")
    if action == "list":
        jobs = store.all()
        rows = [
            {
                "id": j.id,
                "connection": j.connection,
                "queue": j.queue,
                "failed_at": j.failed_at,
                "job": _display_name(j.payload),
                "exception": j.exception.splitlines()[0] if j.exception else "",
            }
            for j in jobs
        ]
        lines = [
            f"{r['failed_at']:%Y-%m-%d %H:%M:%S}  {r['id']}  {r['connection']}/"
            f"{r['queue']}  {r['job']}"
            for r in rows
        ] or ["no failed jobs"]
        ctx.emit({"failed": rows}, lines)
        return 0
    if action == "show":
        out, missing = [], []
        for i in ids:
            j = store.find(i)
            if j is None:
                missing.append(i)
                continue
            out.append(
                {
                    "id": j.id,
                    "connection": j.connection,
                    "queue": j.queue,
                    "failed_at": j.failed_at,
                    "job": _display_name(j.payload),
                    "payload": _text(j.payload),
                    "exception": j.exception,
                }
            )
        lines = []
        for r in out:
            lines += [
                f"id         {r['id']}",
                f"queue      {r['connection']}/{r['queue']}",
                f"failed at  {r['failed_at']}",
                f"job        {r['job']}",
                f"payload    {r['payload']}",
                "exception",
                r["exception"],
                "",
            ]
        lines += [f"no failed job {i!r}" for i in missing]
        ctx.emit({"failed": out, "missing": missing}, lines)
        return 1 if missing else 0
    if action == "retry":
        results = {i: store.retry(i) for i in ids}
        lines = [
            f"{i}: pushed again as {r}" if r else f"{i}: no such failed job"
            for i, r in results.items()
        ]
        ctx.emit({"retried": results}, lines)
        return 0 if all(results.values()) else 1
    if action == "forget":
        done = {i: bool(store.forget(i)) for i in ids}
        lines = [
            f"{i}: {'forgotten' if ok else 'no such failed job'}"
            for i, ok in done.items()
        ]
        ctx.emit({"forgotten": done}, lines)
        return 0 if all(done.values()) else 1
    # flush
    count = int(store.flush(ctx.args.hours))
    ctx.emit({"flushed": count}, f"{count} failed job(s) deleted")
    return 0


def _display_name(payload: bytes) -> str:
    try:
        data = json.loads(payload)
        return str(data.get("displayName") or data.get("job") or "?")
    except (ValueError, AttributeError):
        return "(unreadable payload)"


# ------------------------------------------------------------------- session


def _is_secret(name: str) -> bool:
    low = name.lower()
    return name.startswith(SECRET_ATTRIBUTES) or any(w in low for w in SECRET_WORDS)


def _mask(session_id: str) -> str:
    return session_id[:6] + "…" if len(session_id) > 6 else "…"


def cmd_session_show(ctx: Context) -> int:
    """A session's user ids, TTL and attributes; ids, tokens and hashes are redacted."""
    app = ctx.app
    store = app.sessions
    if ctx.args.cookie:
        session_id = store.session_id_from_cookie(ctx.args.cookie)
        if session_id is None:
            ctx.emit(
                {"found": False, "reason": "cookie is invalid for this APP_KEY"},
                "cookie is invalid for this APP_KEY (bad MAC, prefix or format)",
            )
            return 1
    elif ctx.args.id:
        session_id = ctx.args.id
    else:
        raise CliError("session show needs a session id or --cookie VALUE")
    session = store.load(session_id)
    masked = _mask(session_id)
    if session is None:
        ctx.emit({"found": False, "session": masked}, f"session {masked}: not found")
        return 1
    client = store.redis
    key = store.key(session_id)
    ttl = int(client.ttl(key))
    attrs = session.attributes
    users = {}
    shown: dict[str, str] = {}
    for name, value in attrs.items():
        sname = _text(name) if isinstance(name, bytes | str) else repr(name)
        if sname.startswith("login_") and sname.count("_") >= 2:
            users[sname.split("_")[1]] = value
        shown[sname] = "<redacted>" if _is_secret(sname) else _short(repr(value))
    data = {
        "found": True,
        "session": masked,
        "ttl": ttl,
        "user_ids": users,
        "attributes": shown,
    }
    lines = [
        f"session   {masked}  (key {_text(store.key(''))}{masked}, "
        f"db{app.config.connection(app.config.session_connection_name).database})",
        f"ttl       {ttl} s",
        "users     " + (", ".join(f"{g}: {u!r}" for g, u in users.items()) or "guest"),
    ]
    lines += [f"  {k} = {v}" for k, v in shown.items()]
    ctx.emit(data, lines)
    return 0


def _short(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


# ---------------------------------------------------------------------- demo


def cmd_demo(ctx: Context) -> int:
    """Write and read Laravel-format data (see :mod:`ninja_redis.demo`)."""
    from . import demo

    return demo.run(
        env=ctx.args.env,
        url=ctx.args.url,
        laravel_version=ctx.args.laravel_version,
        keep=ctx.args.keep,
        spawn=ctx.args.spawn,
        out=ctx.out,
    )


# ---------------------------------------------------------------------- main


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``ninja-redis``."""
    p = argparse.ArgumentParser(
        prog="ninja-redis",
        description="Look at a Laravel application's Redis data (cache, sessions, queues).",
    )
    p.add_argument("--version", action="version", version=f"ninja_redis {__version__}")
    p.add_argument(
        "--env",
        metavar="PATH",
        help="the Laravel app's .env file (default: ./.env if present)",
    )
    p.add_argument(
        "--url", help="Redis URL, overrides REDIS_URL/REDIS_HOST (redis://h:6379/0)"
    )
    p.add_argument(
        "--laravel-version",
        metavar="X.Y",
        help="Laravel version whose key and payload formats to use "
        "(default: LARAVEL_VERSION or the newest)",
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)

    s = sub.add_parser(
        "health", help="PING, server, DBSIZE, memory policy, persistence"
    )
    s.set_defaults(func=cmd_health)

    s = sub.add_parser("keys", help="the Redis keys Laravel uses for names")
    s.add_argument("--cache", action="append", metavar="KEY", help="a cache key")
    s.add_argument("--tag", action="append", metavar="TAG", help="a cache tag")
    s.add_argument("--lock", action="append", metavar="NAME", help="a lock name")
    s.add_argument("--session", action="append", metavar="ID", help="a session id")
    s.add_argument("--queue", action="append", metavar="NAME", help="a queue name")
    s.set_defaults(func=cmd_keys)

    s = sub.add_parser("get", help="decode a cache value")
    s.add_argument("key", help="the cache key as PHP passes it to Cache::get()")
    s.add_argument("--max-bytes", type=int, default=200, help="raw bytes to show")
    s.set_defaults(func=cmd_get)

    q = sub.add_parser(
        "queue", help="queue sizes and jobs, restart signal"
    ).add_subparsers(dest="queue_command", metavar="stats|peek|restart", required=True)
    s = q.add_parser("stats", help="pending, delayed and reserved jobs per queue")
    s.add_argument(
        "queues", nargs="*", metavar="QUEUE", help="queue names (default: REDIS_QUEUE)"
    )
    s.add_argument("--all", action="store_true", help="also every queue found by SCAN")
    s.set_defaults(func=cmd_queue_stats)
    s = q.add_parser("peek", help="the next jobs of a queue, not consumed")
    s.add_argument("queue")
    s.add_argument("-n", type=int, default=10, help="how many (default 10)")
    g = s.add_mutually_exclusive_group()
    g.add_argument("--delayed", action="store_true", help="the delayed set instead")
    g.add_argument("--reserved", action="store_true", help="the reserved set instead")
    s.add_argument(
        "--payload", action="store_true", help="print the whole payload JSON"
    )
    s.set_defaults(func=cmd_queue_peek)
    s = q.add_parser(
        "restart",
        help="signal queue workers to stop after their current job "
        "(php artisan queue:restart)",
    )
    s.set_defaults(func=cmd_queue_restart)

    s = sub.add_parser(
        "failed", help="failed jobs (queue:failed, retry, forget, flush)"
    )
    s.add_argument("action", choices=["list", "show", "retry", "forget", "flush"])
    s.add_argument("ids", nargs="*", metavar="ID", help="failed job ids (uuids)")
    s.add_argument("--hours", type=int, help="flush only jobs older than this")
    s.add_argument(
        "--driver",
        help="override QUEUE_FAILED_DRIVER (database-uuids, file, redis, null)",
    )
    s.add_argument(
        "--database-url",
        help="the failed_jobs database (postgresql://, mysql://, sqlite:///)",
    )
    s.add_argument("--path", help="the file driver's JSON file")
    s.set_defaults(func=cmd_failed)

    ss = sub.add_parser("session", help="look at a session").add_subparsers(
        dest="session_command", metavar="show", required=True
    )
    s = ss.add_parser("show", help="user ids and attributes (secrets redacted)")
    s.add_argument("id", nargs="?", help="the 40-character session id")
    s.add_argument(
        "--cookie", metavar="VALUE", help="the encrypted session cookie instead"
    )
    s.set_defaults(func=cmd_session_show)

    s = sub.add_parser(
        "demo", help="write and read Laravel-format data in a local Redis"
    )
    s.add_argument("--keep", action="store_true", help="leave the demo's keys in Redis")
    s.add_argument(
        "--no-spawn",
        dest="spawn",
        action="store_false",
        help="fail instead of starting a throwaway redis-server",
    )
    s.set_defaults(func=cmd_demo)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``ninja-redis``; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    ctx = Context(args)
    try:
        return int(args.func(ctx))
    except (CliError, NinjaRedisError) as exc:
        return _fail(exc)
    except ImportError as exc:
        return _fail(exc)
    except Exception as exc:
        import redis

        if isinstance(exc, redis.exceptions.RedisError):
            return _fail(exc)
        raise
    finally:
        ctx.close()


def _fail(exc: BaseException) -> int:
    name = "" if isinstance(exc, CliError) else f"{type(exc).__name__}: "
    print(f"ninja-redis: error: {name}{exc}", file=sys.stderr)
    return 1
