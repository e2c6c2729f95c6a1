"""Worker throughput on no-op jobs: ninja_redis's worker vs Laravel 8.83's own
``Illuminate\\Queue\\Worker`` daemon loop (stop-when-empty, no listeners), draining the same
queue on the same machine and Redis, in one run.

    python benchmarks/worker.py [--url redis://127.0.0.1:6390/0] [-n 20000]

Without ``--url`` a private redis-server is started on a free port. Laravel runs through
``tests/interop/php/worker.php`` (string jobs ``WorkerPeerHandler@noop``, which delete
themselves); Python runs the same payloads with a handler registered for that job string.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import redis

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ninja_redis._async.app import AsyncLaravel  # noqa: E402
from ninja_redis._async.worker import AsyncJob, AsyncWorker  # noqa: E402
from ninja_redis._sync.app import Laravel  # noqa: E402
from ninja_redis._sync.worker import Job, Worker  # noqa: E402

JOB = "WorkerPeerHandler@noop"
DRIVER = ROOT / "tests" / "interop" / "php" / "worker.php"


def payload(i: int) -> bytes:
    # Laravel 8.x createStringPayload + RedisQueue id/attempts
    return json.dumps(
        {
            "uuid": str(uuid.uuid4()),
            "displayName": JOB,
            "job": JOB,
            "maxTries": None,
            "maxExceptions": None,
            "failOnTimeout": False,
            "backoff": None,
            "timeout": None,
            "data": {"n": i},
            "id": uuid.uuid4().hex,
            "attempts": 0,
        },
        separators=(",", ":"),
    ).encode()


def fill(client: redis.Redis, ready: bytes, notify: bytes, n: int) -> None:
    pipe = client.pipeline(transaction=False)
    for start in range(0, n, 1000):
        chunk = [payload(i) for i in range(start, min(n, start + 1000))]
        pipe.rpush(ready, *chunk)
        pipe.rpush(notify, *([b"1"] * len(chunk)))
    pipe.execute()


def run_php(url: str, prefix: str) -> float:
    u = urlsplit(url)
    req = {
        "redis": {"host": u.hostname, "port": u.port, "database": int(u.path[1:] or 0)},
        "prefix": prefix,
        "cmd": "daemon",
        "options": {"tries": 1, "sleep": 0},
    }
    out = subprocess.run(
        ["php", str(DRIVER)],
        input=json.dumps(req).encode(),
        capture_output=True,
        check=True,
        timeout=600,
    )
    return float(json.loads(out.stdout)["seconds"])


def run_sync(app: Laravel, concurrency: int, prefetch: int = 1) -> float:
    worker = Worker(
        app,
        ["default"],
        sleep=0,
        handle_signals=False,
        timeout=0,
        concurrency=concurrency,
        prefetch=prefetch,
    )

    @worker.handler(JOB)
    def handle(job: Job) -> None:
        return None

    t0 = time.perf_counter()
    worker.run(stop_when_empty=True)
    return time.perf_counter() - t0


async def run_async(
    url: str, prefix: str, concurrency: int, prefetch: int = 1
) -> float:
    async with AsyncLaravel.from_url(
        url, laravel_version="8.83", redis_prefix=prefix
    ) as app:
        worker = AsyncWorker(
            app,
            ["default"],
            sleep=0,
            handle_signals=False,
            timeout=0,
            concurrency=concurrency,
            prefetch=prefetch,
        )

        @worker.handler(JOB)
        async def handle(job: AsyncJob) -> None:
            return None

        t0 = time.perf_counter()
        await worker.run(stop_when_empty=True)
        return time.perf_counter() - t0


def start_server() -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    d = tempfile.mkdtemp()
    proc = subprocess.Popen(
        [
            shutil.which("redis-server") or "redis-server",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            d,
        ],
        stdout=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    for _ in range(100):
        try:
            redis.Redis.from_url(url).ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    return proc, url


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url")
    ap.add_argument("-n", type=int, default=20_000)
    args = ap.parse_args()
    proc = None
    url = args.url
    if not url:
        proc, url = start_server()
    try:
        prefix = f"bench{uuid.uuid4().hex[:6]}:"
        app = Laravel.from_url(url, laravel_version="8.83", redis_prefix=prefix)
        keys = app.keys.queue()
        client = app.connection()
        n = args.n
        results: dict[str, float] = {}
        fill(client, keys.ready, keys.notify, n)
        results["Laravel 8.83 Worker::daemon"] = run_php(url, prefix)
        assert client.llen(keys.ready) == 0 and client.zcard(keys.reserved) == 0
        for c, k in ((1, 1), (4, 1), (1, 32), (4, 32)):
            fill(client, keys.ready, keys.notify, n)
            results[f"ninja_redis Worker (sync, concurrency={c}, prefetch={k})"] = (
                run_sync(app, c, k)
            )
            assert client.llen(keys.ready) == 0 and client.zcard(keys.reserved) == 0
            fill(client, keys.ready, keys.notify, n)
            results[f"ninja_redis AsyncWorker (concurrency={c}, prefetch={k})"] = (
                asyncio.run(run_async(url, prefix, c, k))
            )
            assert client.llen(keys.ready) == 0 and client.zcard(keys.reserved) == 0
        base = n / results["Laravel 8.83 Worker::daemon"]
        for name, seconds in results.items():
            rate = n / seconds
            print(
                f"{name:55s} {n:7d} jobs {seconds:7.2f} s {rate:9.0f} jobs/s  x{rate / base:.2f}"
            )
        app.close()
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait()


if __name__ == "__main__":
    main()
