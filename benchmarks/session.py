"""Benchmark: from a session cookie to a loaded Session, and the ASGI middleware.

    python benchmarks/session.py [--url redis://127.0.0.1:6390/0] [-n 2000] [--size 1024]

Without ``--url`` a private ``redis-server`` is started on a free port (never 6379).

1. ``from_cookie``: decrypt the cookie (MAC + AES), GET, unwrap ``s:N:"…";`` and
   unserialize a ~``--size`` byte session, against a raw redis-py ``GET`` of the same
   key in the same run; sync (``Laravel``) and async (``AsyncLaravel``); once with
   the store's verified-cookie cache (the default: a repeated cookie value is not
   decrypted again) and once without it (every call decrypts).
2. ASGI: a minimal ASGI app called directly in-process, with and without
   ``LaravelSessionMiddleware`` (the middleware does the work of 1. per request), and
   over HTTP with uvicorn on loopback (bounded: ``-n`` sequential keep-alive requests
   from an httpx client), if uvicorn is installed.

Each figure is the median of ``--repeat`` runs of ``-n`` operations, after a warm-up.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

import redis
import redis.asyncio as aredis

from ninja_redis._async.app import AsyncLaravel
from ninja_redis._async.session import AsyncSessionStore
from ninja_redis._sync.app import Laravel
from ninja_redis._sync.session import SessionStore
from ninja_redis.crypto import Encrypter
from ninja_redis.middleware.asgi import LaravelSessionMiddleware

KEY = Encrypter.generate_key()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    workdir = tempfile.mkdtemp()
    proc = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            workdir,
        ],
        stdout=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    for _ in range(100):
        try:
            client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    client.close()
    return proc, url


def attributes(size: int) -> dict[str, Any]:
    cart = []
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


def timed(fn: Callable[[], Any], n: int, repeat: int) -> float:
    """Median seconds per call."""
    for _ in range(min(n, 200)):
        fn()
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        runs.append((time.perf_counter() - t0) / n)
    return statistics.median(runs)


async def atimed(fn: Callable[[], Awaitable[Any]], n: int, repeat: int) -> float:
    for _ in range(min(n, 200)):
        await fn()
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(n):
            await fn()
        runs.append((time.perf_counter() - t0) / n)
    return statistics.median(runs)


def line(label: str, base_label: str, base: float, ours: float) -> None:
    print(
        f"{label:<34} {base_label} {base * 1e6:8.1f} µs   ninja_redis "
        f"{ours * 1e6:8.1f} µs   x{ours / base:.2f}"
    )


def bench_sync(url: str, n: int, repeat: int, size: int) -> None:
    with Laravel.from_url(url, laravel_version="12.67", app_key=KEY) as app:
        session = app.sessions.create(attributes(size))
        app.sessions.save(session)
        cookie = app.sessions.cookie_value(session)
        key = app.sessions.key(session.id)
        value = app.sessions.redis.get(key)
        assert value is not None
        print(f"session value: {len(value)} bytes (Redis), cookie {len(cookie)} chars")
        raw = redis.Redis.from_url(url)
        assert app.sessions.from_cookie(cookie) is not None
        cold = SessionStore(app, cookie_cache_size=0)
        base = timed(lambda: raw.get(key), n, repeat)
        ours = timed(lambda: app.sessions.from_cookie(cookie), n, repeat)
        line("sync  from_cookie vs GET", "redis-py GET", base, ours)
        ours = timed(lambda: cold.from_cookie(cookie), n, repeat)
        line("sync  from_cookie (no id cache)", "redis-py GET", base, ours)
        raw.close()


async def bench_async(url: str, n: int, repeat: int, size: int) -> None:
    async with AsyncLaravel.from_url(url, laravel_version="12.67", app_key=KEY) as app:
        session = app.sessions.create(attributes(size))
        await app.sessions.save(session)
        cookie = app.sessions.cookie_value(session)
        key = app.sessions.key(session.id)
        raw = aredis.Redis.from_url(url)
        assert await app.sessions.from_cookie(cookie) is not None
        cold = AsyncSessionStore(app, cookie_cache_size=0)
        base = await atimed(lambda: raw.get(key), n, repeat)
        ours = await atimed(lambda: app.sessions.from_cookie(cookie), n, repeat)
        line("async from_cookie vs GET", "redis-py GET", base, ours)
        ours = await atimed(lambda: cold.from_cookie(cookie), n, repeat)
        line("async from_cookie (no id cache)", "redis-py GET", base, ours)
        await raw.aclose()

        # ASGI in-process
        async def minimal(scope: Any, receive: Any, send: Any) -> None:
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"text/plain")],
                }
            )
            await send({"type": "http.response.body", "body": b"ok"})

        wrapped = LaravelSessionMiddleware(minimal, app)
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

        async def call(target: Any) -> None:
            await target(scope, receive, send)

        base = await atimed(lambda: call(minimal), n, repeat)
        ours = await atimed(lambda: call(wrapped), n, repeat)
        line("ASGI in-process (app vs +mw)", "minimal app ", base, ours)
        print(f"{'':<34} middleware adds {(ours - base) * 1e6:.1f} µs per request")
    await uvicorn_bench(url, n, repeat, size)


async def uvicorn_bench(url: str, n: int, repeat: int, size: int) -> None:
    try:
        import httpx
        import uvicorn
    except ImportError:
        print("uvicorn/httpx not installed: HTTP figures skipped")
        return
    results = {}
    for wrapped in (False, True):
        port = free_port()
        ready = threading.Event()
        holder: dict[str, Any] = {}

        def serve(
            wrapped: bool = wrapped,
            port: int = port,
            holder: dict[str, Any] = holder,
            ready: threading.Event = ready,
        ) -> None:
            async def main() -> None:
                app = AsyncLaravel.from_url(url, laravel_version="12.67", app_key=KEY)
                session = app.sessions.create(attributes(size))
                await app.sessions.save(session)
                holder["cookie"] = (
                    app.config.session_cookie,
                    app.sessions.cookie_value(session),
                )

                async def minimal(scope: Any, receive: Any, send: Any) -> None:
                    if scope["type"] != "http":
                        return
                    await send(
                        {
                            "type": "http.response.start",
                            "status": 200,
                            "headers": [(b"content-type", b"text/plain")],
                        }
                    )
                    await send({"type": "http.response.body", "body": b"ok"})

                target = LaravelSessionMiddleware(minimal, app) if wrapped else minimal
                config = uvicorn.Config(
                    target,
                    host="127.0.0.1",
                    port=port,
                    log_level="error",
                    lifespan="off",
                )
                server = uvicorn.Server(config)
                holder["server"] = server
                task = asyncio.create_task(server.serve())
                while not server.started:
                    await asyncio.sleep(0.01)
                ready.set()
                await task
                await app.aclose()

            asyncio.run(main())

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        ready.wait(10)
        name, cookie = holder["cookie"]
        with httpx.Client(
            base_url=f"http://127.0.0.1:{port}", headers={"cookie": f"{name}={cookie}"}
        ) as client:
            results[wrapped] = timed(lambda c=client: c.get("/"), n, repeat)
        holder["server"].should_exit = True
        thread.join(10)
    line(
        "ASGI uvicorn HTTP (app vs +mw)", "minimal app ", results[False], results[True]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=None)
    parser.add_argument("-n", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--size", type=int, default=1024)
    args = parser.parse_args()
    proc = None
    url = args.url
    if url is None:
        proc, url = start_server()
    try:
        bench_sync(url, args.n, args.repeat, args.size)
        asyncio.run(bench_async(url, args.n, args.repeat, args.size))
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait()


if __name__ == "__main__":
    main()
