"""Queue dispatch throughput: ninja_redis vs Laravel 8.83's own ``Queue::push``.

One run, same machine, one private Redis server, same job (``App\\Jobs\\SendInvoiceEmail``
with a protected and a private property and an enum). Each repeat runs every
measurement once, in turn (so a change of machine load hits them all alike); the
figures are the medians over the repeats.

* Laravel: ``$queue->push(new SendInvoiceEmail(...))`` n times inside PHP
  (``tests/interop/php/queue.php bench-push``, timed with ``hrtime``; PHP start-up
  excluded).
* redis-py: ``EVALSHA`` of the push script with a pre-built payload (the floor for
  one round trip per job through redis-py).
* ninja_redis ``queue.push(job)`` (sync): build the job and its payload, one
  ``EVALSHA``.
* ninja_redis ``AsyncQueue.push`` from ``--tasks`` concurrent asyncio tasks.
* ninja_redis ``queue.bulk(jobs)`` of ``--bulk`` jobs in one call: once with the
  ``PhpJob`` objects built inside the timing (like PHP's ``new``), once pre-built.
* ninja_redis ``queue.bulk(TEMPLATE.many(rows))``: the same jobs given as plain
  dict rows of a ``PhpJob`` template (rows built inside the timing); payloads are
  built without a ``PhpJob`` per job.
* the same with the rows built before the timing (the library's own cost).
* Redis's own time per 1,000-job batch (``INFO commandstats``, private server
  only): ``MULTI``/``RPUSH``/``RPUSH``/``EXEC`` as ``bulk`` sends it, and the
  ``queue_push_bulk`` Lua script on the same payloads.
* CPU: ``time.process_time()`` of this process for building ``--bulk`` payloads
  (``PayloadBuilder.build``) and for the whole ``bulk()`` call; the machine load of
  other processes does not count there.

Targets (issue 5): push >= 1.0x Laravel, bulk >= 100,000 jobs/s.

    .venv/bin/python benchmarks/queue_push.py [--url redis://127.0.0.1:6379/0] \\
        [-n 5000] [--bulk 100000] [--repeats 5] [--tasks 4]

Without ``--url`` a private ``redis-server`` is started on a free port.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _common import add_common_args, busy_cpus, redis_server  # noqa: E402

from ninja_redis import _scripts  # noqa: E402
from ninja_redis._async.app import AsyncLaravel  # noqa: E402
from ninja_redis._sync.app import Laravel  # noqa: E402
from ninja_redis.payloads import (  # noqa: E402
    PayloadBuilder,
    PhpJob,
    Prop,
    private,
    protected,
)
from ninja_redis.php import PhpEnum  # noqa: E402

DRIVER = ROOT / "tests" / "interop" / "php" / "queue.php"
APP_KEY = "base64:e59K8xMtz9ifYFctzSdIRDYiAwHijRg7zKybchfWKKA="
DRAFT = PhpEnum("App\\Enums\\InvoiceStatus", "Draft")


def invoice(n: int) -> PhpJob:
    """The job PHP's bench-push builds: new SendInvoiceEmail($n, ..., Draft)."""
    return PhpJob(
        "App\\Jobs\\SendInvoiceEmail",
        {
            "invoiceId": n,
            "email": protected("billing@example.com"),
            "meta": private({"lines": [{"sku": "A", "qty": 1}]}),
            "status": DRAFT,
            "dueAt": Prop(None, default=None),
        },
        tries=5,
        backoff=[10, 60, 300],
        timeout=120,
        max_exceptions=2,
    )


#: invoice()'s class, options and property visibilities, for PhpJob.many rows
TEMPLATE = invoice(0)


def invoice_rows(b: int) -> list[dict[str, object]]:
    """Rows for ``TEMPLATE.many``: the same jobs as ``invoice(i)`` with their own
    id, e-mail and lines per row (plain dicts, visibility from the template)."""
    return [
        {
            "invoiceId": i,
            "email": f"billing{i}@example.com",
            "meta": {"lines": [{"sku": "A", "qty": 1}]},
        }
        for i in range(b)
    ]


def php_push(url: str, prefix: str, n: int) -> float:
    parts = urlsplit(url)
    env = {
        **os.environ,
        "REDIS_HOST": parts.hostname or "127.0.0.1",
        "REDIS_PORT": str(parts.port or 6379),
        "REDIS_DB": (parts.path.lstrip("/") or "0"),
        "REDIS_PREFIX": prefix,
        "APP_KEY": APP_KEY,
    }
    out = subprocess.run(
        ["php", str(DRIVER), "bench-push", str(n)],
        capture_output=True,
        env=env,
        check=True,
        timeout=600,
    )
    result = json.loads(out.stdout)
    if not result.get("ok"):
        sys.exit(f"PHP driver failed: {result}")
    return float(result["jobs_per_second"])


def timed(fn) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """(wall seconds, CPU seconds of this process) of ``fn()``."""
    w, c = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - w, time.process_time() - c


async def async_push(url: str, prefix: str, n: int, tasks: int) -> float:
    """Jobs/s of ``AsyncQueue.push`` from ``tasks`` concurrent tasks (n jobs)."""
    async with AsyncLaravel.from_url(
        url, laravel_version="8.83", redis_prefix=prefix, app_key=APP_KEY
    ) as app:
        q = app.queue
        per = n // tasks

        async def worker(base: int, count: int) -> None:
            for i in range(count):
                await q.push(invoice(base + i))

        await asyncio.gather(*(worker(0, 50) for _ in range(tasks)))  # warm-up
        await q.clear()
        t = time.perf_counter()
        await asyncio.gather(*(worker(k * per, per) for k in range(tasks)))
        rate = per * tasks / (time.perf_counter() - t)
        assert await q.pending_size() == per * tasks
        await q.clear()
        return rate


def server_ms_per_batch(r: Any, jobs: int, commands: tuple[str, ...]) -> float:
    """Redis's own time (``INFO commandstats`` usec of ``commands``) per 1,000 jobs
    since the last ``CONFIG RESETSTAT``. ``EXEC``'s and ``EVALSHA``'s time include
    the commands they run; reading and parsing the request is not counted."""
    stats = r.info("commandstats")
    usec = sum(stats.get(f"cmdstat_{c}", {}).get("usec", 0) for c in commands)
    return usec / 1000 / (jobs / 1000)


def lua_bulk_ms(r: Any, keys: Any, jobs: int) -> float | None:
    """The same payloads pushed by the ``queue_push_bulk`` Lua script (what
    ``bulk`` sent before): Redis's time per 1,000 jobs, for comparison."""
    payloads = r.lrange(keys.ready, 0, -1)
    if len(payloads) != jobs:
        return None
    r.delete(keys.ready, keys.notify)
    script = r.register_script(_scripts.load("queue_push_bulk"))
    r.config_resetstat()
    pipe = r.pipeline(transaction=False)
    for start in range(0, jobs, 1000):
        chunk = payloads[start : start + 1000]
        script(
            keys=[keys.ready, keys.notify, keys.delayed],
            args=[len(chunk), *chunk],
            client=pipe,
        )
    pipe.execute()
    ms = server_ms_per_batch(r, jobs, ("evalsha", "eval"))
    assert r.llen(keys.ready) == jobs
    return ms


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    add_common_args(ap)
    ap.add_argument("-n", type=int, default=5000, help="jobs per push measurement")
    ap.add_argument(
        "--bulk", type=int, default=100_000, help="jobs per bulk measurement"
    )
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--tasks", type=int, default=4, help="concurrent async pushers")
    args = ap.parse_args()
    n, b = args.n, args.bulk
    prefix = f"bench{os.getpid()}:"
    res: dict[str, list[float]] = {}

    def add(name: str, value: float) -> None:
        res.setdefault(name, []).append(value)

    # CONFIG RESETSTAT / commandstats only on the private server
    private_server = not args.url
    with busy_cpus(args.busy), redis_server(args.url) as server:
        if args.busy:
            print(f"--busy {args.busy}: CPUs kept out of idle by spinning processes")
        url = server.url
        app = Laravel.from_url(
            url, laravel_version="8.83", redis_prefix=prefix, app_key=APP_KEY
        )
        q = app.queue
        r = app.connection()
        keys = q.keys()
        payload = q.payload(invoice(1))
        script = r.register_script(_scripts.load("queue_push"))
        builder = PayloadBuilder((8, 83))

        def raw_push() -> None:
            for _ in range(n):
                script(keys=[keys.ready, keys.notify], args=[payload])

        def push() -> None:
            for i in range(n):
                q.push(invoice(i))

        def bulk() -> None:
            q.bulk([invoice(i) for i in range(b)])

        def bulk_many() -> None:
            q.bulk(TEMPLATE.many(invoice_rows(b)))

        def build() -> None:
            for i in range(b):
                builder.build(invoice(i))

        raw_push()  # warm-up
        push()
        q.bulk([invoice(i) for i in range(1000)])
        q.clear()
        for _ in range(args.repeats):
            add("php", php_push(url, prefix, n))
            q.clear()
            add("raw", n / timed(raw_push)[0])
            q.clear()
            wall, cpu = timed(push)
            add("push", n / wall)
            add("push_cpu", n / cpu)
            q.clear()
            add("async", asyncio.run(async_push(url, prefix, n, args.tasks)))
            wall, cpu = timed(bulk)
            assert q.pending_size() == b
            add("bulk", b / wall)
            add("bulk_cpu", b / cpu)
            q.clear()
            prebuilt = [invoice(i) for i in range(b)]
            wall, cpu = timed(functools.partial(q.bulk, prebuilt))
            add("bulk_prebuilt", b / wall)
            add("bulk_prebuilt_cpu", b / cpu)
            prebuilt.clear()
            q.clear()
            if private_server:
                r.config_resetstat()
            wall, cpu = timed(bulk_many)
            assert q.pending_size() == b
            add("bulk_many", b / wall)
            add("bulk_many_cpu", b / cpu)
            if private_server:
                add("redis_multi_ms", server_ms_per_batch(r, b, ("multi", "exec")))
                lua_ms = lua_bulk_ms(r, q.keys(), b)
                if lua_ms is not None:
                    add("redis_lua_ms", lua_ms)
            q.clear()
            jobs = TEMPLATE.many(invoice_rows(b))
            wall, cpu = timed(functools.partial(q.bulk, jobs))
            add("bulk_many_prerows", b / wall)
            add("bulk_many_prerows_cpu", b / cpu)
            del jobs
            q.clear()
            add("build_cpu", b / timed(build)[1])
        app.close()

    med = {k: statistics.median(v) for k, v in res.items()}
    php, raw = med["php"], med["raw"]
    print(
        f"queue push, Laravel 8.83 job SendInvoiceEmail, n={n}, bulk={b}, "
        f"median of {args.repeats} (load average {os.getloadavg()[0]:.1f}, "
        f"{os.cpu_count()} CPUs)"
    )
    print(f"  Laravel Queue::push (PHP, hrtime)    {php:>10,.0f} jobs/s")
    print(
        f"  redis-py EVALSHA, prebuilt payload   {raw:>10,.0f} jobs/s"
        f"  x{raw / php:.2f} Laravel"
    )
    print(
        f"  ninja_redis queue.push (sync)        {med['push']:>10,.0f} jobs/s"
        f"  x{med['push'] / php:.2f} Laravel  x{med['push'] / raw:.2f} redis-py"
        f"  (CPU {med['push_cpu']:,.0f}/s)"
    )
    print(
        f"  ninja_redis AsyncQueue.push x{args.tasks} tasks {med['async']:>9,.0f}"
        f" jobs/s  x{med['async'] / php:.2f} Laravel"
    )
    print(
        f"  ninja_redis queue.bulk               {med['bulk']:>10,.0f} jobs/s"
        f"  x{med['bulk'] / php:.2f} Laravel  (target 100,000)"
    )
    print(f"  bulk, CPU time of this process       {med['bulk_cpu']:>10,.0f} jobs/s")
    print(
        f"  bulk of pre-built jobs               {med['bulk_prebuilt']:>10,.0f} jobs/s"
        f"  (CPU {med['bulk_prebuilt_cpu']:,.0f}/s)"
    )
    print(
        f"  bulk(template.many(rows)), rows built {med['bulk_many']:>8,.0f} jobs/s"
        f"  (CPU {med['bulk_many_cpu']:,.0f}/s)  (target 100,000)"
    )
    print(
        f"  same, rows built before the timing   {med['bulk_many_prerows']:>10,.0f}"
        f" jobs/s  (CPU {med['bulk_many_prerows_cpu']:,.0f}/s)"
    )
    print(f"  payload build, CPU time              {med['build_cpu']:>10,.0f} jobs/s")
    if "redis_multi_ms" in med:
        lua = med.get("redis_lua_ms")
        print(
            "  Redis time per 1,000-job batch (INFO commandstats): MULTI/RPUSH/EXEC "
            f"{med['redis_multi_ms']:.2f} ms"
            + ("" if lua is None else f", EVALSHA queue_push_bulk {lua:.2f} ms")
        )
    print(
        "  all repeats: "
        + json.dumps(
            {k: [round(x, 2 if x < 100 else None) for x in v] for k, v in res.items()}
        )
    )


if __name__ == "__main__":
    main()
