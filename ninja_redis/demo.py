"""``python -m ninja_redis demo``: write and read Laravel-format data, and show the bytes.

Runs against the Redis of ``--env`` / ``--url`` (default ``127.0.0.1:6379``). When nothing
answers there and ``redis-server`` is installed, a throwaway server is started on a free
port (no persistence) and stopped at the end. Without ``--env`` the demo uses its own app
name, ``ninja-redis-demo``, so its keys (``ninja-redis-demo-database-…``) cannot collide
with a real application's; every key it writes is deleted at the end unless ``keep``.

Each step prints the PHP call that reads the same data.
"""

from __future__ import annotations

import base64
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from .config import LaravelConfig

if TYPE_CHECKING:
    from ._sync.app import Laravel

__all__ = ["run"]

DEMO_APP = "ninja-redis-demo"
DEMO_QUEUE = "ninja-redis-demo"


def run(
    *,
    env: str | None = None,
    url: str | None = None,
    laravel_version: str | None = None,
    keep: bool = False,
    spawn: bool = True,
    out: Callable[[str], None] = print,
) -> int:
    """Run the demo; returns the exit status (0 when every step matched)."""
    import redis

    target = url or os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    if env is None and not _reachable(target):
        if not spawn:
            out(f"no Redis answers at {_safe(target)} (and --no-spawn was given)")
            return 1
        with _throwaway_server(out) as spawned:
            return _run(env, spawned, laravel_version, keep, out)
    try:
        return _run(env, url, laravel_version, keep, out)
    except redis.exceptions.ConnectionError as exc:
        out(f"cannot reach Redis: {exc}")
        return 1


def _run(
    env: str | None,
    url: str | None,
    laravel_version: str | None,
    keep: bool,
    out: Callable[[str], None],
) -> int:
    from ._sync.app import Laravel

    config = _config(env, url, laravel_version)
    app = Laravel(config)
    steps = [_step_cache, _step_tags, _step_lock, _step_session, _step_queue]
    written: list[tuple[str, bytes]] = []
    failures = 0
    try:
        conn = config.connection("default")
        out(
            f"ninja_redis demo: Laravel {config.laravel_version} dialect, Redis "
            f"{conn.url}, APP_NAME {config.app_name!r}"
        )
        for step in steps:
            out("")
            try:
                ok = step(app, out, written)
            except ModuleNotFoundError as exc:
                out(f"  skipped: {exc.name} is not part of this installation")
                continue
            if not ok:
                failures += 1
        out("")
        if keep:
            out(f"kept {len(written)} key(s); delete them with the DEL commands above")
        else:
            for connection, key in written:
                app.connection(connection).delete(key)
            out(f"cleaned up {len(written)} key(s)")
        out("demo OK" if not failures else f"demo: {failures} step(s) did not match")
        return 1 if failures else 0
    finally:
        app.close()


def _config(
    env: str | None, url: str | None, laravel_version: str | None
) -> LaravelConfig:
    environ = dict(os.environ)
    if url:
        parts = urlsplit(url)
        environ["REDIS_URL"] = parts._replace(path="").geturl()
        if parts.path.lstrip("/"):
            environ["REDIS_DB"] = unquote(parts.path.lstrip("/"))
    if env is None:
        # Our own app name (so our prefixes are our own) and a throwaway APP_KEY.
        environ["APP_NAME"] = DEMO_APP
        for var in ("REDIS_PREFIX", "CACHE_PREFIX", "SESSION_COOKIE"):
            environ.pop(var, None)
        environ["APP_KEY"] = "base64:" + base64.b64encode(os.urandom(32)).decode()
        environ["REDIS_QUEUE"] = DEMO_QUEUE
        return LaravelConfig.from_mapping(environ, laravel_version=laravel_version)
    return LaravelConfig.from_env(env, laravel_version=laravel_version, environ=environ)


def _show(out: Callable[[str], None], label: str, value: Any) -> None:
    out(f"  {label:<9} {value}")


def _check(out: Callable[[str], None], what: str, ok: bool) -> bool:
    out(f"  {'ok' if ok else 'MISMATCH'}: {what}")
    return ok


# --------------------------------------------------------------------- steps


def _step_cache(
    app: Laravel, out: Callable[[str], None], written: list[tuple[str, bytes]]
) -> bool:
    out("1. cache: Cache::put('ninja-demo:greeting', 'hello', 600)")
    cache = app.cache
    key = "ninja-demo:greeting"
    full = app.keys.cache(key)
    conn = app.config.cache_connection
    written.append((conn, full))
    cache.put(key, "hello", 600)
    raw = app.connection(conn).get(full)
    _show(out, "python", f'app.cache.put("{key}", "hello", 600)')
    _show(
        out,
        "redis",
        f"SETEX {full.decode()!r} 600 {raw!r}   "
        f"(db {app.config.connection(conn).database})",
    )
    _show(out, "php", f"Cache::get('{key}')  // 'hello'")
    ok = _check(out, "the value is PHP's serialize('hello')", raw == b's:5:"hello";')
    value = cache.get(key)
    ok &= _check(out, f"app.cache.get() returns {value!r}", value == "hello")
    cache.put("ninja-demo:visits", 41, 600)
    written.append((conn, app.keys.cache("ninja-demo:visits")))
    visits = cache.increment("ninja-demo:visits")
    raw = app.connection(conn).get(app.keys.cache("ninja-demo:visits"))
    _show(out, "numbers", f"stored raw like PHP: {raw!r} after increment()")
    return ok & _check(out, "increment() gives 42", visits == 42 and raw == b"42")


def _step_tags(
    app: Laravel, out: Callable[[str], None], written: list[tuple[str, bytes]]
) -> bool:
    out("2. tags: Cache::tags(['ninja-demo'])->remember('report', 600, fn () => [...])")
    tagged = app.cache.tags(["ninja-demo"])
    value = tagged.remember("report", 600, lambda: {"total": 42, "currency": "EUR"})
    conn = app.config.cache_connection
    client = app.connection(conn)
    if app.config.laravel_version >= (10, 0):
        item = app.keys.tagged(["ninja-demo"], "report")
        index = app.keys.tag_entries("ninja-demo")
        written += [(conn, item), (conn, index)]
        members = client.zrange(index, 0, -1, withscores=True)
        _show(out, "redis", f"{item.decode()!r} = {client.get(item)!r}")
        _show(out, "index", f"ZSET {index.decode()!r} {members!r}")
    else:
        tag_key = app.keys.legacy_tag_id_key("ninja-demo")
        tag_id = bytes(client.get(tag_key) or b"")  # type: ignore[arg-type]
        item = app.keys.legacy_tagged([tag_id], "report")
        written += [
            (conn, tag_key),
            (conn, item),
            (conn, app.keys.legacy_tag_ref(tag_id, "standard")),
        ]
        _show(out, "redis", f"{item.decode()!r} = {client.get(item)!r}")
    _show(
        out,
        "php",
        "Cache::tags(['ninja-demo'])->get('report')  // ['total' => 42, ...]",
    )
    again = tagged.get("report")
    return _check(out, f"tagged get() returns {again!r}", again == value)


def _step_lock(
    app: Laravel, out: Callable[[str], None], written: list[tuple[str, bytes]]
) -> bool:
    out("3. lock: Cache::lock('ninja-demo:invoices', 10)->get()")
    lock = app.cache.lock("ninja-demo:invoices", 10)
    written.append((app.config.lock_connection, lock.key))
    client = app.connection(app.config.lock_connection)
    with lock:
        holder = client.get(lock.key)
        _show(out, "redis", f"SET {lock.key.decode()!r} {holder!r} EX 10 NX")
        _show(
            out, "php", "Cache::lock('ninja-demo:invoices', 10)->get()  // false: held"
        )
        other = app.cache.lock("ninja-demo:invoices", 10)
        ok = _check(out, "a second owner cannot take it", not other.get())
    return ok & _check(
        out, "released at the end of the with block", client.get(lock.key) is None
    )


def _step_session(
    app: Laravel, out: Callable[[str], None], written: list[tuple[str, bytes]]
) -> bool:
    out("4. session + cookie: what StartSession and EncryptCookies write")
    store = app.sessions
    session = store.create({"cart": [17, 23]})
    session.login(42)
    store.save(session)
    key = store.key(session.id)
    written.append((store.connection_name, key))
    cookie = store.cookie_value(session)
    raw = store.redis.get(key) or b""
    _show(
        out, "redis", f"{key.decode()!r} = {raw[:90]!r}{'…' if len(raw) > 90 else ''}"
    )
    _show(out, "cookie", f"{store.cookie_name}={cookie[:40]}… (encrypted with APP_KEY)")
    _show(out, "php", "auth()->id()  // 42 for a browser sending that cookie")
    loaded = store.from_cookie(cookie)
    user = loaded.user_id() if loaded is not None else None
    return _check(out, f"the cookie leads back to user {user!r}", str(user) == "42")


def _step_queue(
    app: Laravel, out: Callable[[str], None], written: list[tuple[str, bytes]]
) -> bool:
    out("5. queue: SendInvoiceEmail::dispatch(42)->onQueue('ninja-redis-demo')")
    from .payloads import PhpJob, parse_payload

    keys = app.keys.queue(DEMO_QUEUE)
    written += [
        (app.config.queue_connection, k)
        for k in (keys.ready, keys.notify, keys.delayed, keys.reserved)
    ]
    job = PhpJob("App\\Jobs\\SendInvoiceEmail", {"invoiceId": 42})
    job_id = app.queue.push(job, queue=DEMO_QUEUE)
    client = app.connection(app.config.queue_connection)
    raw = bytes(client.lindex(keys.ready, 0) or b"")  # type: ignore[arg-type]
    payload = parse_payload(raw, require_attempts=False)
    _show(out, "redis", f"RPUSH {keys.ready.decode()!r} (+ {keys.notify.decode()!r})")
    _show(out, "payload", f"{raw[:110].decode('utf-8', 'replace')}…")
    _show(
        out, "php", "php artisan queue:work --queue=ninja-redis-demo  // runs the job"
    )
    return _check(
        out,
        f"job {job_id} is queued as {payload.display_name}",
        payload.display_name == "App\\Jobs\\SendInvoiceEmail"
        and client.llen(keys.ready) == 1,
    )


# ------------------------------------------------------------- redis-server


def _safe(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}:{parts.port or 6379}"


def _reachable(url: str) -> bool:
    """True when something accepts TCP connections at the URL's host and port."""
    parts = urlsplit(url)
    try:
        with socket.create_connection(
            (parts.hostname or "127.0.0.1", parts.port or 6379), timeout=1
        ):
            return True
    except OSError:
        return False


@contextmanager
def _throwaway_server(out: Callable[[str], None]) -> Iterator[str]:
    """Start ``redis-server`` on a free port in a temporary directory; yields its URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit(
            "no Redis is reachable and redis-server is not installed "
            "(Debian: apt-get install redis-server)"
        )
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    with tempfile.TemporaryDirectory(prefix="ninja-redis-demo-") as tmp:
        proc = subprocess.Popen(
            [
                binary,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                tmp,
                "--daemonize",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 10
            while not _reachable(f"redis://127.0.0.1:{port}"):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("the throwaway redis-server did not start")
                time.sleep(0.05)
            out(f"(no Redis answered; started a throwaway redis-server on port {port})")
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
