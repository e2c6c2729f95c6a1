"""Worker throughput on no-op jobs: ninja_redis's worker vs Laravel 8.83's own
``Illuminate\\Queue\\Worker`` daemon loop (stop-when-empty, no listeners), draining the same
queue on the same machine and Redis, in one run.

    python benchmarks/worker.py [--url redis://127.0.0.1:6390/0] [-n 10000] [--repeat 3]

Without ``--url`` a private redis-server is started on a free port. Both sides use their
defaults (``tries`` 1, ``timeout`` 60: ``pcntl_alarm`` per job in PHP, ``SIGALRM`` /
``asyncio.timeout`` here). Two kinds of no-op jobs, the same bytes for both sides:

* ``string``: ``WorkerPeerHandler@noop`` (``Queue::push('Class@method')``), the cheapest
  job Laravel has (no unserialize(), no bus);
* ``object``: a ``CallQueuedHandler@call`` payload of a queued command class (what
  ``dispatch(new Job)`` pushes): Laravel unserializes the command and runs it through the
  bus; Python's no-op handler does not unserialize it (``job.command`` is lazy).

Every repeat runs Laravel and then each Python configuration on a refilled queue; the
table shows the median jobs/s and the median of the per-repeat ratios to Laravel on the
same kind of job. Python's default configuration is ``concurrency=1, prefetch=1``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import redis

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _common import Server, add_common_args, busy_cpus, redis_server  # noqa: E402

from ninja_redis._async.app import AsyncLaravel  # noqa: E402
from ninja_redis._async.worker import AsyncJob, AsyncWorker  # noqa: E402
from ninja_redis._sync.app import Laravel  # noqa: E402
from ninja_redis._sync.worker import Job, Worker  # noqa: E402
from ninja_redis.payloads import PhpJob, build_payload  # noqa: E402

STRING_JOB = "WorkerPeerHandler@noop"
OBJECT_JOB = "BenchNoopJob"

# Laravel 8.83's worker, booted by hand like tests/interop/php/worker.php, plus the bus
# for CallQueuedHandler jobs. stdin: {"redis": {...}, "prefix": ...}; prints {"seconds"}.
PHP_DRIVER = r"""<?php
foreach (['Support', 'Container', 'Config', 'Events', 'Pipeline', 'Bus', 'Redis', 'Queue']
         as $c) {
    require_once "Illuminate/$c/autoload.php";
}

use Illuminate\Bus\Queueable;
use Illuminate\Container\Container;
use Illuminate\Contracts\Debug\ExceptionHandler;
use Illuminate\Contracts\Queue\ShouldQueue;
use Illuminate\Events\Dispatcher;
use Illuminate\Queue\Connectors\RedisConnector;
use Illuminate\Queue\InteractsWithQueue;
use Illuminate\Queue\QueueManager;
use Illuminate\Queue\Worker;
use Illuminate\Queue\WorkerOptions;
use Illuminate\Redis\RedisManager;

final class PeerExceptions implements ExceptionHandler
{
    public function report(Throwable $e) { fwrite(STDERR, (string) $e); }
    public function shouldReport(Throwable $e) { return true; }
    public function render($request, Throwable $e) { return null; }
    public function renderForConsole($output, Throwable $e) {}
}

final class WorkerPeerHandler
{
    public function noop($job, $data) { $job->delete(); }
}

final class BenchNoopJob implements ShouldQueue
{
    use InteractsWithQueue, Queueable;

    public function handle() {}
}

$in = json_decode(stream_get_contents(STDIN), true, 512, JSON_THROW_ON_ERROR);
$app = new Container();
Container::setInstance($app);
$app->instance('config', new Illuminate\Config\Repository([
    'queue' => ['default' => 'redis', 'connections' => ['redis' => [
        'driver' => 'redis', 'connection' => 'default', 'queue' => 'default',
        'retry_after' => 90, 'block_for' => null,
    ]]],
]));
$app->instance(Illuminate\Contracts\Container\Container::class, $app);
$events = new Dispatcher($app);
$app->instance('events', $events);
$app->instance(Illuminate\Contracts\Events\Dispatcher::class, $events);
$app->instance(Illuminate\Contracts\Bus\Dispatcher::class,
    new Illuminate\Bus\Dispatcher($app));
$redis = new RedisManager($app, 'phpredis', [
    'default' => $in['redis'], 'options' => ['prefix' => $in['prefix']],
]);
$manager = new QueueManager($app);
$manager->addConnector('redis', fn () => new RedisConnector($redis));
// queue:work defaults (--timeout=60 --tries=1 --memory=128), stop-when-empty, and
// --sleep=0: 8.x sleeps once more on the empty queue before it checks stop-when-empty.
$options = new WorkerOptions('default', 0, 128, 60, 0, 1, false, true);
$worker = new Worker($manager, $events, new PeerExceptions(), fn () => false);
$start = hrtime(true);
register_shutdown_function(function () use ($start) {
    echo json_encode(['seconds' => (hrtime(true) - $start) / 1e9]);
});
$worker->daemon('redis', 'default', $options);  // exits when the queue is empty
"""


def string_payload(i: int) -> bytes:
    # Laravel 8.x createStringPayload + RedisQueue id/attempts
    return json.dumps(
        {
            "uuid": str(uuid.uuid4()),
            "displayName": STRING_JOB,
            "job": STRING_JOB,
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


def object_payload(i: int) -> bytes:
    # What dispatch(new BenchNoopJob) pushes on Laravel 8.83.
    raw: bytes | str = build_payload(PhpJob(OBJECT_JOB, {}), version=(8, 83))
    return raw if isinstance(raw, bytes) else raw.encode()


def fill(client: redis.Redis, ready: bytes, notify: bytes, n: int, kind: str) -> None:
    make = string_payload if kind == "string" else object_payload
    pipe = client.pipeline(transaction=False)
    for start in range(0, n, 1000):
        chunk = [make(i) for i in range(start, min(n, start + 1000))]
        pipe.rpush(ready, *chunk)
        pipe.rpush(notify, *([b"1"] * len(chunk)))
    pipe.execute()


def run_php(driver: Path, url: str, prefix: str) -> float:
    u = urlsplit(url)
    req = {
        "redis": {"host": u.hostname, "port": u.port, "database": int(u.path[1:] or 0)},
        "prefix": prefix,
    }
    out = subprocess.run(
        ["php", str(driver)],
        input=json.dumps(req).encode(),
        capture_output=True,
        check=True,
        timeout=600,
    )
    if out.stderr:
        raise RuntimeError(out.stderr.decode()[-2000:])
    return float(json.loads(out.stdout)["seconds"])


def run_sync(app: Laravel, concurrency: int, prefetch: int) -> float:
    worker = Worker(
        app,
        ["default"],
        handle_signals=False,
        concurrency=concurrency,
        prefetch=prefetch,
    )

    @worker.handler(STRING_JOB)
    @worker.handler(OBJECT_JOB)
    def handle(job: Job) -> None:
        return None

    t0 = time.perf_counter()
    worker.run(stop_when_empty=True)
    return time.perf_counter() - t0


async def run_async(url: str, prefix: str, concurrency: int, prefetch: int) -> float:
    async with AsyncLaravel.from_url(
        url, laravel_version="8.83", redis_prefix=prefix
    ) as app:
        worker = AsyncWorker(
            app,
            ["default"],
            handle_signals=False,
            concurrency=concurrency,
            prefetch=prefetch,
        )

        @worker.handler(STRING_JOB)
        @worker.handler(OBJECT_JOB)
        async def handle(job: AsyncJob) -> None:
            return None

        t0 = time.perf_counter()
        await worker.run(stop_when_empty=True)
        return time.perf_counter() - t0


PHP = "Laravel 8.83 Worker::daemon"


def cpu_seconds(pid: int | None) -> tuple[float, float]:
    """(this process + its finished children, the redis-server) CPU seconds so far."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    client = own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime
    server = 0.0
    if pid is not None:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            server = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError):
            pass
    return client, server


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    add_common_args(ap)
    ap.add_argument("-n", type=int, default=10_000, help="jobs per measurement")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument(
        "--kinds", default="string,object", help="string and/or object jobs"
    )
    ap.add_argument(
        "--uvloop",
        action="store_true",
        help="run the asyncio worker on uvloop (pip install uvloop) instead of asyncio",
    )
    args = ap.parse_args()
    with busy_cpus(args.busy), redis_server(args.url) as server:
        if args.busy:
            print(f"--busy {args.busy}: CPUs kept out of idle by spinning processes")
        run(server, args)


def run(server: Server, args: argparse.Namespace) -> None:
    run_loop: Callable[[Any], float] = asyncio.run
    loop_note = ""
    if args.uvloop:
        import uvloop

        run_loop, loop_note = uvloop.run, ", uvloop"
    url = server.url
    fd, name = tempfile.mkstemp(suffix=".php")
    os.write(fd, PHP_DRIVER.encode())
    os.close(fd)
    driver = Path(name)
    try:
        prefix = f"bench{uuid.uuid4().hex[:6]}:"
        app = Laravel.from_url(url, laravel_version="8.83", redis_prefix=prefix)
        keys = app.keys.queue()
        client = app.connection()
        n = args.n
        runs: list[tuple[str, Callable[[], float]]] = [
            (PHP, lambda: run_php(driver, url, prefix))
        ]
        for c, k in ((1, 1), (4, 1), (1, 32)):
            label = f"c={c}, prefetch={k}" + (" (default)" if (c, k) == (1, 1) else "")
            runs.append(
                (
                    f"ninja_redis Worker (sync, {label})",
                    lambda c=c, k=k: run_sync(app, c, k),  # type: ignore[misc]
                )
            )
            runs.append(
                (
                    f"ninja_redis AsyncWorker ({label}{loop_note})",
                    lambda c=c, k=k: run_loop(  # type: ignore[misc]
                        run_async(url, prefix, c, k)
                    ),
                )
            )
        for kind in args.kinds.split(","):
            rates: dict[str, list[float]] = {name: [] for name, _ in runs}
            ratios: dict[str, list[float]] = {name: [] for name, _ in runs}
            cpu: dict[str, list[tuple[float, float]]] = {name: [] for name, _ in runs}
            pid = server.pid
            for _ in range(args.repeat):
                base = 0.0
                for name, fn in runs:
                    fill(client, keys.ready, keys.notify, n, kind)
                    c0, s0 = cpu_seconds(pid)
                    rate = n / fn()
                    c1, s1 = cpu_seconds(pid)
                    cpu[name].append(((c1 - c0) / n * 1e6, (s1 - s0) / n * 1e6))
                    assert client.llen(keys.ready) == 0, name
                    assert client.zcard(keys.reserved) == 0, name
                    base = base or rate
                    rates[name].append(rate)
                    ratios[name].append(rate / base)
            print(
                f"{kind} jobs, n={n}, median of {args.repeat} "
                f"(load average {os.getloadavg()[0]:.1f} at the end); "
                "CPU µs/job: worker, redis-server"
            )
            for name, _ in runs:
                print(
                    f"  {name:52s} {statistics.median(rates[name]):8.0f} jobs/s  "
                    f"x{statistics.median(ratios[name]):.2f} "
                    f"(x{min(ratios[name]):.2f}..x{max(ratios[name]):.2f})  "
                    f"cpu {statistics.median(c for c, _ in cpu[name]):4.0f} "
                    f"{statistics.median(r for _, r in cpu[name]):4.0f}"
                )
        app.close()
    finally:
        driver.unlink()


if __name__ == "__main__":
    main()
