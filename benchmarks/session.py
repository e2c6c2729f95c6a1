"""Benchmark: from a session cookie to a loaded Session, and the ASGI middleware.

    python benchmarks/session.py [--url redis://127.0.0.1:6390/0] [-n 2000]
                                 [--repeat 7] [--size 1024] [--http-n 1000]

Without ``--url`` a private ``redis-server`` is started on a free port (never 6379).

1. ``from_cookie``: decrypt the cookie (MAC + AES), GET, unwrap ``s:N:"…";`` and
   unserialize a ~``--size`` byte session, against a raw redis-py ``GET`` of the same
   key in the same run; sync (``Laravel``) and async (``AsyncLaravel``); without the
   store's verified-cookie cache (every call decrypts: the honest figure) and with it
   (the default: a repeated cookie value is not decrypted again).
2. ASGI in-process: a minimal ASGI app called directly, with and without
   ``LaravelSessionMiddleware`` (the middleware does the work of 1. per request).
   ``+ middleware, default`` is the middleware as shipped: the verified-cookie cache
   and the server-assisted session cache (``CLIENT TRACKING``, docs/sessions.md), so a
   repeated session costs no Redis round trip; the other rows pass
   ``session_cache=False``.
3. ASGI served (if uvicorn is installed): the same apps, each in its own uvicorn
   process on loopback, hit with sequential keep-alive requests (bounded load: one
   request in flight) by a lean ``http.client`` client and by an ``httpx`` client.

The figures are medians over ``--repeat`` rounds of ``-n`` calls after a warm-up. In
each round the contenders run back to back in alternating order, and ``x`` is the
median of the per-round ratios, so slow drifts in machine load cancel out. ``cpu`` is
the process CPU time per call (``time.process_time``): the client-side cost of our
code path, which load from other processes inflates much less than wall time.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import http.client
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import redis
import redis.asyncio as aredis
from _common import add_common_args, busy_cpus, free_port, redis_server

from ninja_redis._async.app import AsyncLaravel
from ninja_redis._async.session import AsyncSessionStore
from ninja_redis._sync.app import Laravel
from ninja_redis._sync.session import SessionStore
from ninja_redis.crypto import Encrypter
from ninja_redis.middleware.asgi import LaravelSessionMiddleware
from ninja_redis.sessions import Session

VERSION = "12.67"


def attributes(size: int) -> dict[str, Any]:
    cart: list[dict[str, Any]] = []
    i = 0
    while len(repr(cart)) < size - 250:
        cart.append(
            {"sku": f"SKU-{i:05d}", "qty": i % 7, "price": 9.99 + i, "note": "ok"}
        )
        i += 1
    return {
        "theme": "dark",
        "locale": "en",
        "cart": cart,
        "_previous": {"url": "https://example.test/dashboard"},
    }


# ------------------------------------------------------------------------ timing


class Result:
    """Median wall and CPU seconds per call of one contender, and its ratio."""

    def __init__(self, walls: list[float], cpus: list[float], ratios: list[float]):
        self.wall = statistics.median(walls)
        self.cpu = statistics.median(cpus)
        self.ratio = statistics.median(ratios) if ratios else 1.0


def compare(
    fns: dict[str, Callable[[], Any]], n: int, repeat: int
) -> dict[str, Result]:
    """Run each function ``n`` times per round, rounds interleaved; first = base."""
    names = list(fns)
    for name in names:
        for _ in range(min(n, 200)):
            fns[name]()
    walls: dict[str, list[float]] = {k: [] for k in names}
    cpus: dict[str, list[float]] = {k: [] for k in names}
    for r in range(repeat):
        for name in names if r % 2 == 0 else names[::-1]:
            fn = fns[name]
            c0, t0 = time.process_time(), time.perf_counter()
            for _ in range(n):
                fn()
            walls[name].append((time.perf_counter() - t0) / n)
            cpus[name].append((time.process_time() - c0) / n)
    return _results(names, walls, cpus)


async def acompare(
    fns: dict[str, Callable[[], Awaitable[Any]]], n: int, repeat: int
) -> dict[str, Result]:
    """:func:`compare` for coroutine functions."""
    names = list(fns)
    for name in names:
        for _ in range(min(n, 200)):
            await fns[name]()
    walls: dict[str, list[float]] = {k: [] for k in names}
    cpus: dict[str, list[float]] = {k: [] for k in names}
    for r in range(repeat):
        for name in names if r % 2 == 0 else names[::-1]:
            fn = fns[name]
            c0, t0 = time.process_time(), time.perf_counter()
            for _ in range(n):
                await fn()
            walls[name].append((time.perf_counter() - t0) / n)
            cpus[name].append((time.process_time() - c0) / n)
    return _results(names, walls, cpus)


def get_after_busy(
    get: Callable[[], Any], busy: float, n: int, repeat: int
) -> tuple[float, float]:
    """Wall time of ``get()`` alone, back to back and after ``busy`` s of spinning.

    The baseline GET runs back to back; in ``from_cookie`` other CPU work (decrypt,
    unserialize) separates two GETs, and on loopback that alone makes the GET slower
    (the server and the client's wake-ups no longer overlap).
    """
    clock = time.perf_counter
    runs: dict[float, list[float]] = {0.0: [], busy: []}
    for r in range(repeat):
        for spin in (0.0, busy) if r % 2 == 0 else (busy, 0.0):
            total = 0.0
            for _ in range(n):
                t = clock()
                while clock() - t < spin:
                    pass
                t0 = clock()
                get()
                total += clock() - t0
            runs[spin].append(total / n)
    return statistics.median(runs[0.0]), statistics.median(runs[busy])


def _results(
    names: list[str], walls: dict[str, list[float]], cpus: dict[str, list[float]]
) -> dict[str, Result]:
    base = walls[names[0]]
    return {
        k: Result(
            walls[k], cpus[k], [w / b for w, b in zip(walls[k], base, strict=True)]
        )
        for k in names
    }


def table(title: str, results: dict[str, Result]) -> None:
    print(title)
    for label, res in results.items():
        print(
            f"  {label:<34} wall {res.wall * 1e6:8.1f} µs   cpu {res.cpu * 1e6:7.1f} µs"
            f"   x{res.ratio:.2f}"
        )


# ------------------------------------------------------------------ 1. from_cookie


def bench_sync(url: str, key: str, n: int, repeat: int, size: int) -> str:
    with Laravel.from_url(url, laravel_version=VERSION, app_key=key) as app:
        session = app.sessions.create(attributes(size))
        app.sessions.save(session)
        cookie = app.sessions.cookie_value(session)
        rkey = app.sessions.key(session.id)
        value = app.sessions.redis.get(rkey)
        assert value is not None
        print(f"session value: {len(value)} bytes (Redis), cookie {len(cookie)} chars")
        raw = redis.Redis.from_url(url)
        cold = SessionStore(app, cookie_cache_size=0)
        assert cold.from_cookie(cookie) is not None
        assert app.sessions.from_cookie(cookie) is not None
        sid = session.id

        tracked = Laravel.from_url(url, laravel_version=VERSION, app_key=key)
        cache = tracked.sessions.enable_client_cache()
        cache.usable()
        for _ in range(200):
            if cache.usable():
                break
            time.sleep(0.01)
        assert cache.usable(), "CLIENT TRACKING not available"

        def inline() -> Any:
            # the same CPU work around a raw GET, by hand: what from_cookie cannot
            # go below (CPU work between two GETs also makes the GET itself slower)
            assert cold.session_id_from_cookie(cookie) == sid
            return cold.decode(sid, raw.get(rkey))  # type: ignore[arg-type]

        results = compare(
            {
                "redis-py GET (base)": lambda: raw.get(rkey),
                "from_cookie, no cookie cache": lambda: cold.from_cookie(cookie),
                "from_cookie, cookie cache": lambda: app.sessions.from_cookie(cookie),
                "decrypt + raw GET + decode inline": inline,
                "from_cookie, cookie + session cache": lambda: (
                    tracked.sessions.from_cookie(cookie)
                ),
            },
            n,
            repeat,
        )
        table("sync (Laravel)", results)
        print(f"  session cache: {cache.hits} hits, {cache.misses} misses")
        decoded = cold.decode(session.id, value)  # type: ignore[arg-type]
        cpu = compare(
            {
                "cookie -> id (decrypt, no cache)": lambda: cold.session_id_from_cookie(
                    cookie
                ),
                "stored value -> Session (decode)": lambda: cold.decode(
                    session.id,
                    value,  # type: ignore[arg-type]
                ),
                "decoded attributes -> Session (deepcopy)": lambda: Session(
                    session.id,
                    copy.deepcopy(decoded.attributes),
                    exists=True,
                    original=value,
                ),
            },
            n,
            repeat,
        )
        print("  CPU of our code path, no I/O:")
        for label, res in cpu.items():
            print(f"    {label:<36} cpu {res.cpu * 1e6:7.1f} µs")
        work = sum(res.cpu for label, res in cpu.items() if "deepcopy" not in label)
        alone, after = get_after_busy(lambda: raw.get(rkey), work, n, repeat)
        print(
            f"  a raw GET alone: {alone * 1e6:.1f} µs back to back, {after * 1e6:.1f} µs "
            f"after {work * 1e6:.0f} µs of other CPU work (x{after / alone:.2f})"
        )
        tracked.close()
        raw.close()
        return cookie


async def bench_async(url: str, key: str, n: int, repeat: int, size: int) -> None:
    async with AsyncLaravel.from_url(url, laravel_version=VERSION, app_key=key) as app:
        session = app.sessions.create(attributes(size))
        await app.sessions.save(session)
        cookie = app.sessions.cookie_value(session)
        rkey = app.sessions.key(session.id)
        raw = aredis.Redis.from_url(url)
        cold = AsyncSessionStore(app, cookie_cache_size=0)
        assert await cold.from_cookie(cookie) is not None
        tracked = AsyncLaravel.from_url(url, laravel_version=VERSION, app_key=key)
        await live(tracked)
        results = await acompare(
            {
                "redis-py GET (base)": lambda: raw.get(rkey),
                "from_cookie, no cookie cache": lambda: cold.from_cookie(cookie),
                "from_cookie, cookie cache": lambda: app.sessions.from_cookie(cookie),
                "from_cookie, cookie + session cache": lambda: (
                    tracked.sessions.from_cookie(cookie)
                ),
            },
            n,
            repeat,
        )
        table("async (AsyncLaravel)", results)

        # ---------------------------------------------------- 2. ASGI in-process
        wrapped = LaravelSessionMiddleware(minimal_app, app, session_cache=False)
        # the same app with the verified-cookie cache off: every request decrypts
        cold_app = AsyncLaravel.from_url(url, laravel_version=VERSION, app_key=key)
        cold_app.sessions.cookie_cache_size = 0
        wrapped_cold = LaravelSessionMiddleware(
            minimal_app, cold_app, session_cache=False
        )
        # as shipped: cookie cache + server-assisted session cache
        wrapped_default = LaravelSessionMiddleware(minimal_app, tracked)
        await live(tracked)
        header = f"{app.config.session_cookie}={cookie}".encode()
        scope = {
            "type": "http",
            "method": "GET",
            "path": "/",
            "headers": [(b"host", b"t"), (b"cookie", header)],
        }

        async def receive() -> Any:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: Any) -> None:
            return None

        async def call_plain() -> None:
            await minimal_app(scope, receive, send)

        async def call_wrapped() -> None:
            await wrapped(scope, receive, send)

        async def call_wrapped_cold() -> None:
            await wrapped_cold(scope, receive, send)

        async def call_wrapped_default() -> None:
            await wrapped_default(scope, receive, send)

        async def call_get() -> None:
            await raw.get(rkey)

        asgi = await acompare(
            {
                "minimal app (base)": call_plain,
                "+ middleware, no cookie cache": call_wrapped_cold,
                "+ middleware, cookie cache": call_wrapped,
                "+ middleware, default": call_wrapped_default,
                "one raw async GET (reference)": call_get,
            },
            n,
            repeat,
        )
        table("ASGI in-process (no HTTP server)", asgi)
        base = asgi["minimal app (base)"].wall
        get_wall = asgi["one raw async GET (reference)"].wall
        for label in (
            "+ middleware, no cookie cache",
            "+ middleware, cookie cache",
            "+ middleware, default",
        ):
            added = asgi[label].wall - base
            print(
                f"  {label[2:]}: adds {added * 1e6:.1f} µs per request = "
                f"{added / get_wall:.2f}x one raw async GET"
            )
        tcache = tracked.sessions.client_cache
        assert tcache is not None
        print(f"  session cache: {tcache.hits} hits, {tcache.misses} misses")
        await tracked.aclose()
        await cold_app.aclose()
        await raw.aclose()


async def live(laravel: AsyncLaravel) -> None:
    """Enable the session cache and wait until its subscriber is live."""
    cache = laravel.sessions.enable_client_cache()
    for _ in range(200):
        if cache.usable():
            return
        await asyncio.sleep(0.01)
    raise RuntimeError("CLIENT TRACKING not available")


# ------------------------------------------------------------------- 3. served


async def minimal_app(scope: Any, receive: Any, send: Any) -> None:
    """An ASGI app that does nothing: 200 ``ok``."""
    if scope["type"] != "http":
        return
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/plain"), (b"content-length", b"2")],
        }
    )
    await send({"type": "http.response.body", "body": b"ok"})


def serve(mode: str, port: int, url: str, key: str) -> None:
    """Child process: uvicorn on 127.0.0.1:port with the plain or wrapped app."""
    import uvicorn

    target: Any = minimal_app
    if mode != "plain":
        laravel = AsyncLaravel.from_url(url, laravel_version=VERSION, app_key=key)
        if mode == "wrapped-nocache":
            laravel.sessions.cookie_cache_size = 0
        target = LaravelSessionMiddleware(
            minimal_app, laravel, session_cache=mode == "wrapped-default"
        )
    uvicorn.run(
        target,
        host="127.0.0.1",
        port=port,
        log_level="error",
        access_log=False,
        lifespan="off",
        timeout_keep_alive=300,
    )


def bench_served(
    url: str, key: str, cookie: str, n: int, repeat: int, python: str
) -> None:
    try:
        import httpx
        import uvicorn
    except ImportError:
        print("uvicorn/httpx not installed: served HTTP figures skipped")
        return
    with Laravel.from_url(url, laravel_version=VERSION, app_key=key) as app:
        name = app.config.session_cookie
    procs: dict[str, tuple[subprocess.Popen[bytes], int]] = {}
    try:
        for mode in ("plain", "wrapped-nocache", "wrapped", "wrapped-default"):
            port = free_port()
            argv = [python, __file__, "--serve", mode, "--port", str(port)]
            argv += ["--url", url, "--app-key", key]
            procs[mode] = (subprocess.Popen(argv), port)
        for _, port in procs.values():
            for _ in range(200):
                try:
                    socket.create_connection(("127.0.0.1", port), 0.1).close()
                    break
                except OSError:
                    time.sleep(0.05)
        headers = {"cookie": f"{name}={cookie}"}
        lean = {
            m: http.client.HTTPConnection("127.0.0.1", p) for m, (_, p) in procs.items()
        }

        def lean_get(mode: str) -> Callable[[], None]:
            conn = lean[mode]

            def get() -> None:
                try:
                    conn.request("GET", "/", headers=headers)
                    resp = conn.getresponse()
                except (http.client.RemoteDisconnected, ConnectionError):
                    conn.close()  # the server dropped an idle connection: reconnect
                    conn.request("GET", "/", headers=headers)
                    resp = conn.getresponse()
                resp.read()
                assert resp.status == 200

            return get

        results = compare(
            {
                "minimal app (base)": lean_get("plain"),
                "+ middleware, no cookie cache": lean_get("wrapped-nocache"),
                "+ middleware, cookie cache": lean_get("wrapped"),
                "+ middleware, default": lean_get("wrapped-default"),
            },
            n,
            repeat,
        )
        print(
            f"ASGI served: uvicorn {uvicorn.__version__} (h11, asyncio), one process "
            "per app, loopback, keep-alive, one request in flight"
        )
        table("  client: http.client (lean)", results)
        clients = {
            m: httpx.Client(base_url=f"http://127.0.0.1:{p}", headers=headers)
            for m, (_, p) in procs.items()
        }
        results = compare(
            {
                "minimal app (base)": lambda: clients["plain"].get("/"),
                "+ middleware, no cookie cache": lambda: clients["wrapped-nocache"].get(
                    "/"
                ),
                "+ middleware, cookie cache": lambda: clients["wrapped"].get("/"),
                "+ middleware, default": lambda: clients["wrapped-default"].get("/"),
            },
            n,
            repeat,
        )
        table(f"  client: httpx {httpx.__version__}", results)
        for c in clients.values():
            c.close()
        for conn in lean.values():
            conn.close()
    finally:
        for proc, _ in procs.values():
            proc.terminate()
            proc.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_args(parser)
    parser.add_argument("-n", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--http-n", type=int, default=1000)
    parser.add_argument(
        "--serve",
        choices=("plain", "wrapped", "wrapped-nocache", "wrapped-default"),
        help=argparse.SUPPRESS,
    )
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--app-key", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port, args.url, args.app_key)
        return
    key = Encrypter.generate_key()
    print(
        f"python {sys.version.split()[0]}, load average "
        f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}, {os.cpu_count()} CPUs"
    )
    with busy_cpus(args.busy), redis_server(args.url) as server:
        url = server.url
        cookie = bench_sync(url, key, args.n, args.repeat, args.size)
        asyncio.run(bench_async(url, key, args.n, args.repeat, args.size))
        bench_served(url, key, cookie, args.http_n, args.repeat, sys.executable)


if __name__ == "__main__":
    main()
