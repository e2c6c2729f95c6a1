"""Queue dispatch throughput: ninja_redis vs Laravel 8.83's own ``Queue::push``.

One run, same machine, same Redis server, same job (``App\\Jobs\\SendInvoiceEmail`` with
a protected and a private property and an enum):

* Laravel: ``$queue->push($job)`` n times inside PHP (``tests/interop/php/queue.php
  bench-push``, timed with ``hrtime``; PHP start-up excluded).
* redis-py: ``EVALSHA`` of the push script with a pre-built payload (the floor).
* ninja_redis ``queue.push(job)``: build the payload + one ``EVALSHA`` per job.
* ninja_redis ``queue.bulk(jobs)``: build + one pipeline per 10,000 jobs.

Prints jobs/s and the ratios (targets: push >= 1.0x Laravel, bulk >= 100,000 jobs/s).

    .venv/bin/python benchmarks/queue_push.py [--url redis://127.0.0.1:6379/0] [-n 5000]

Without ``--url`` a private ``redis-server`` is started on a free port.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ninja_redis import _scripts  # noqa: E402
from ninja_redis._sync.app import Laravel  # noqa: E402
from ninja_redis.payloads import PhpJob, Prop, private, protected  # noqa: E402
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


@contextmanager
def redis_server(url: str | None) -> Iterator[str]:
    if url:
        yield url
        return
    binary = shutil.which("redis-server")
    if not binary:
        sys.exit("redis-server not found: pass --url")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with tempfile.TemporaryDirectory() as d:
        proc = subprocess.Popen(
            [
                binary,
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
        try:
            deadline = time.time() + 10
            while time.time() < deadline:
                try:
                    socket.create_connection(("127.0.0.1", port), 0.2).close()
                    break
                except OSError:
                    time.sleep(0.05)
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            proc.terminate()
            proc.wait(10)


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


def median_rate(fn, n: int, repeats: int) -> float:  # type: ignore[no-untyped-def]
    rates = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        rates.append(n / (time.perf_counter() - t))
    return statistics.median(rates)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--url", default=None)
    ap.add_argument("-n", type=int, default=5000, help="jobs per push measurement")
    ap.add_argument(
        "--bulk", type=int, default=100_000, help="jobs per bulk measurement"
    )
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    n = args.n
    prefix = f"bench{os.getpid()}:"
    with redis_server(args.url) as url:
        app = Laravel.from_url(
            url, laravel_version="8.83", redis_prefix=prefix, app_key=APP_KEY
        )
        q = app.queue
        r = app.connection()
        keys = q.keys()

        php_rate = php_push(url, prefix, n)
        q.clear()

        payload = q.payload(invoice(1))
        script = r.register_script(_scripts.load("queue_push"))

        def raw_push() -> None:
            for _ in range(n):
                script(keys=[keys.ready, keys.notify], args=[payload])

        raw_push()  # warm-up
        q.clear()
        raw_rate = median_rate(raw_push, n, args.repeats)
        q.clear()

        def push() -> None:
            for i in range(n):
                q.push(invoice(i))

        push()
        q.clear()
        push_rate = median_rate(push, n, args.repeats)
        q.clear()

        b = args.bulk

        def bulk() -> None:
            jobs = [invoice(i) for i in range(b)]
            for start in range(0, b, 10_000):
                q.bulk(jobs[start : start + 10_000])

        bulk()
        assert q.pending_size() == b
        q.clear()
        bulk_rate = median_rate(bulk, b, args.repeats)
        q.clear()
        app.close()

    print(f"queue push, Laravel 8.83 job SendInvoiceEmail, n={n}, bulk={b}")
    print(f"  Laravel Queue::push (PHP, hrtime)   {php_rate:>10,.0f} jobs/s")
    print(f"  redis-py EVALSHA, prebuilt payload  {raw_rate:>10,.0f} jobs/s")
    print(
        f"  ninja_redis queue.push              {push_rate:>10,.0f} jobs/s"
        f"  x{push_rate / php_rate:.2f} Laravel  x{push_rate / raw_rate:.2f} redis-py"
    )
    print(
        f"  ninja_redis queue.bulk              {bulk_rate:>10,.0f} jobs/s"
        f"  x{bulk_rate / php_rate:.2f} Laravel  (target 100,000)"
    )


if __name__ == "__main__":
    main()
