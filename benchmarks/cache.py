"""Cache benchmark: ninja_redis vs raw redis-py (same process, same server), and tagged
put/get + lock acquire/release vs Laravel 8.83 itself (tests/interop/php/cache.php).

    python benchmarks/cache.py [--url redis://127.0.0.1:6379/0] [-n 5000] [--size 1024]

Without --url a private redis-server is started on a free port. Prints ops/s (median of
--repeats runs after a warm-up) and the ratio ninja_redis / baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import redis
import redis.asyncio as aredis

from ninja_redis import php
from ninja_redis._async.app import AsyncLaravel
from ninja_redis._sync.app import Laravel

ROOT = Path(__file__).resolve().parents[1]


def start_server() -> tuple[str, subprocess.Popen[bytes]]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    d = tempfile.mkdtemp()
    proc = subprocess.Popen(
        [shutil.which("redis-server") or "redis-server", "--port", str(port),
         "--save", "", "--appendonly", "no", "--dir", d],
        stdout=subprocess.DEVNULL,
    )
    for _ in range(100):
        try:
            if redis.Redis(port=port).ping():
                break
        except redis.ConnectionError:
            time.sleep(0.05)
    return f"redis://127.0.0.1:{port}/0", proc


def median_rate(fn: Callable[[], None], n: int, repeats: int) -> float:
    fn()  # warm-up
    rates = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        rates.append(n / (time.perf_counter() - t))
    return statistics.median(rates)


def amedian_rate(fn: Callable[[], Awaitable[None]], n: int, repeats: int) -> float:
    async def run() -> float:
        await fn()
        rates = []
        for _ in range(repeats):
            t = time.perf_counter()
            await fn()
            rates.append(n / (time.perf_counter() - t))
        return statistics.median(rates)

    return asyncio.run(run())


def row(name: str, ours: float, base: float, base_name: str, note: str = "") -> None:
    print(f"{name:34s} ninja_redis {ours:10.0f}/s  {base_name} {base:10.0f}/s"
          f"  x{ours / base:5.2f} {note}")


def php_bench(url: str, prefix: str, op: str, n: int) -> float | None:
    if not shutil.which("php"):
        return None
    from urllib.parse import urlsplit

    u = urlsplit(url)
    env = dict(os.environ, REDIS_HOST=u.hostname or "127.0.0.1",
               REDIS_PORT=str(u.port or 6379), REDIS_PREFIX=prefix,
               CACHE_PREFIX="laravel_cache")
    out = subprocess.run(
        ["php", str(ROOT / "tests/interop/php/cache.php")],
        input=json.dumps([["bench", op, n]]).encode(), capture_output=True, env=env,
        check=True,
    )
    res = json.loads(out.stdout)[0]
    if not res["ok"]:
        return None
    return n / res["result"]["seconds"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--url")
    ap.add_argument("-n", type=int, default=5000)
    ap.add_argument("--size", type=int, default=1024)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    proc = None
    url = args.url
    if not url:
        url, proc = start_server()
    n, reps = args.n, args.repeats
    try:
        prefix = "bench:"
        value = {f"k{i}": "x" * 20 for i in range(max(1, args.size // 32))}
        blob = php.dumps(value)
        print(f"value: PHP array, {len(blob)} bytes serialized; n={n}, repeats={reps}")

        app = Laravel.from_url(url, laravel_version="12.67", redis_prefix=prefix)
        cache = app.cache
        rawc = redis.Redis.from_url(url.rsplit("/", 1)[0] + "/1")
        key = app.keys.cache("bench")

        def ours_put() -> None:
            for _ in range(n):
                cache.put("bench", value, 600)

        def raw_put() -> None:
            for _ in range(n):
                rawc.execute_command("SETEX", key, 600, blob)

        def ours_get() -> None:
            for _ in range(n):
                cache.get("bench")

        def raw_get() -> None:
            for _ in range(n):
                rawc.get(key)

        row("sync put 1KB", median_rate(ours_put, n, reps),
            median_rate(raw_put, n, reps), "redis-py SETEX")
        row("sync get 1KB", median_rate(ours_get, n, reps),
            median_rate(raw_get, n, reps), "redis-py GET")

        m = n // 50 or 1
        names = [f"m{i}" for i in range(100)]
        mapping = {k: value for k in names}
        fulls = [app.keys.cache(k) for k in names]

        def ours_put_many() -> None:
            for _ in range(m):
                cache.put_many(mapping, 600)

        def raw_put_many() -> None:
            for _ in range(m):
                with rawc.pipeline(transaction=True) as p:
                    for k in fulls:
                        p.execute_command("SETEX", k, 600, blob)
                    p.execute()

        def ours_many() -> None:
            for _ in range(m):
                cache.many(names)

        def raw_many() -> None:
            for _ in range(m):
                rawc.mget(fulls)

        row("sync put_many 100", median_rate(ours_put_many, m, reps),
            median_rate(raw_put_many, m, reps), "redis-py MULTI/SETEX")
        row("sync many 100", median_rate(ours_many, m, reps),
            median_rate(raw_many, m, reps), "redis-py MGET")

        async def async_part() -> None:
            aapp = AsyncLaravel.from_url(url, laravel_version="12.67",
                                         redis_prefix=prefix)
            acache = aapp.cache
            araw = aredis.Redis.from_url(url.rsplit("/", 1)[0] + "/1")

            async def a_put() -> None:
                for _ in range(n):
                    await acache.put("bench", value, 600)

            async def a_raw_put() -> None:
                for _ in range(n):
                    await araw.execute_command("SETEX", key, 600, blob)

            async def a_get() -> None:
                for _ in range(n):
                    await acache.get("bench")

            async def a_raw_get() -> None:
                for _ in range(n):
                    await araw.get(key)

            for name, ours, base, bname in (
                ("async put 1KB", a_put, a_raw_put, "redis-py SETEX"),
                ("async get 1KB", a_get, a_raw_get, "redis-py GET"),
            ):
                ro = await _arate(ours, n, reps)
                rb = await _arate(base, n, reps)
                row(name, ro, rb, bname)
            await araw.aclose()
            await aapp.aclose()

        asyncio.run(async_part())

        # Laravel 8.83 comparisons (reference-set tags, locks): both sides on 8.83.
        app8 = Laravel.from_url(url, laravel_version="8.83", redis_prefix=prefix)
        c8 = app8.cache
        small = ["x"] * 10
        k = min(n, 2000)

        def tags_put() -> None:
            t = c8.tags(["a", "b"])
            for i in range(k):
                t.put(f"k{i}", small, 600)

        def tags_get() -> None:
            t = c8.tags(["a", "b"])
            for i in range(k):
                t.get(f"k{i % 100}")

        def lock() -> None:
            for _ in range(k):
                lk = c8.lock("bench", 10)
                lk.get()
                lk.release()

        for name, fn, op, rts in (
            ("tagged put (8.x tags)", tags_put, "tags_put", "RT ours 2 / Laravel 7"),
            ("tagged get (8.x tags)", tags_get, "tags_get", "RT ours 2 / Laravel 3"),
            ("lock acquire+release", lock, "lock", "RT ours 2 / Laravel 2"),
        ):
            ours = median_rate(fn, k, reps)
            base = php_bench(url, prefix, op, k)
            if base is None:
                print(f"{name:34s} ninja_redis {ours:10.0f}/s  (php not available)")
            else:
                row(name, ours, base, "Laravel 8.83", rts)
        base = php_bench(url, prefix, "put_many", 200)
        if base is not None:
            print(f"{'Laravel 8.83 putMany 100':34s} {base:10.0f} calls/s (102 RT each)")
        rawc.close()
        app.close()
        app8.close()
    finally:
        if proc is not None:
            proc.terminate()


async def _arate(fn: Callable[[], Awaitable[None]], n: int, reps: int) -> float:
    await fn()
    rates: list[float] = []
    for _ in range(reps):
        t = time.perf_counter()
        await fn()
        rates.append(n / (time.perf_counter() - t))
    return statistics.median(rates)


_unused: Any = amedian_rate

if __name__ == "__main__":
    main()
