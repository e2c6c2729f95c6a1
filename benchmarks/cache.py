"""Cache benchmark: ninja_redis vs raw redis-py (same process, same server, same
bytes), and tagged put/get + lock acquire/release vs Laravel 8.83 itself
(tests/interop/php/cache.php), all measured in the same run.

    python benchmarks/cache.py [--url redis://127.0.0.1:6379/0] [-n 3000] [--size 1024]
                               [--repeats 5] [--only get,put,...]

Without --url a private redis-server is started on a free port.

Method (the machine is usually shared and noisy):

* every comparison runs in ``--repeats`` rounds after a warm-up round; each round
  runs both sides back to back (alternating which goes first) so they see the same
  load, and the reported ratio is the *median of the per-round ratios*;
* ops/s are medians over the rounds; ``cpu`` is the process CPU time per operation
  (``time.process_time``, median over rounds) — much less sensitive to load than
  wall time; ``ovh`` = our CPU per op minus the baseline's CPU per op;
* the payload is a realistic cached record (a user row with nested settings and the
  last orders, as ``Cache::remember('user:42', ...)`` would store it), padded to
  ``--size`` bytes of PHP ``serialize()`` output; the baseline stores/reads the very
  bytes ninja_redis produces (checked);
* Laravel numbers come from a PHP process per round (phpredis, Laravel 8.83), timing
  its own loop; round-trip counts (RT) are printed next to them. A phpredis raw
  ``GET`` loop and a redis-py raw ``GET`` loop show the per-round-trip floor of each
  client.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import redis
import redis.asyncio as aredis
from _common import add_common_args, busy_cpus, redis_server

from ninja_redis import php
from ninja_redis._async.app import AsyncLaravel
from ninja_redis._scripts import load as load_script
from ninja_redis._sync.app import Laravel

try:
    import phpserialize  # type: ignore[import-untyped]
except ImportError:  # a tests extra
    phpserialize = None

ROOT = Path(__file__).resolve().parents[1]

Side = Callable[[], Any]


def record(size: int) -> dict[str, Any]:
    """A realistic cached record, padded (``bio``) to ~``size`` serialized bytes."""
    rec: dict[str, Any] = {
        "id": 48213,
        "uuid": "9b2f6c1e-4a7d-4f0e-9c53-2d8e1b7a6f40",
        "name": "Ada Lovelace",
        "email": "ada.lovelace@example.com",
        "email_verified_at": "2024-03-01T12:00:00.000000Z",
        "created_at": "2023-11-14T08:21:37.000000Z",
        "is_admin": False,
        "balance": 1234.5,
        "roles": ["editor", "billing"],
        "settings": {
            "locale": "en_GB",
            "timezone": "Europe/London",
            "notifications": {"email": True, "sms": False},
        },
        "recent_orders": [
            {
                "id": 90000 + i,
                "total": 19.99 + i,
                "status": "paid",
                "placed_at": f"2025-01-0{i + 1}T10:00:00Z",
            }
            for i in range(3)
        ],
        "avatar_url": None,
        "bio": "",
    }
    pad = max(0, size - len(php.dumps(rec)))
    rec["bio"] = ("Mathematician and writer. " * (pad // 26 + 1))[:pad]
    return rec


# ----------------------------------------------------------------- measuring


def _round(fn: Side, n: int) -> tuple[float, float]:
    c, t = time.process_time(), time.perf_counter()
    fn()
    return n / (time.perf_counter() - t), (time.process_time() - c) / n


async def _around(fn: Callable[[], Awaitable[None]], n: int) -> tuple[float, float]:
    c, t = time.process_time(), time.perf_counter()
    await fn()
    return n / (time.perf_counter() - t), (time.process_time() - c) / n


class Result:
    def __init__(self) -> None:
        self.rates: list[float] = []
        self.cpus: list[float] = []

    def add(self, rate_cpu: tuple[float, float]) -> None:
        self.rates.append(rate_cpu[0])
        self.cpus.append(rate_cpu[1])

    @property
    def rate(self) -> float:
        return statistics.median(self.rates)

    @property
    def cpu(self) -> float:
        return statistics.median(self.cpus)


def compare(ours: Side, base: Side, n: int, reps: int) -> tuple[Result, Result, float]:
    ours(), base()  # warm-up
    a, b, ratios = Result(), Result(), []
    for i in range(reps):
        if i % 2:
            b.add(_round(base, n))
            a.add(_round(ours, n))
        else:
            a.add(_round(ours, n))
            b.add(_round(base, n))
        ratios.append(a.rates[-1] / b.rates[-1])
    return a, b, statistics.median(ratios)


async def acompare(
    ours: Callable[[], Awaitable[None]],
    base: Callable[[], Awaitable[None]],
    n: int,
    reps: int,
) -> tuple[Result, Result, float]:
    await ours()
    await base()
    a, b, ratios = Result(), Result(), []
    for i in range(reps):
        if i % 2:
            b.add(await _around(base, n))
            a.add(await _around(ours, n))
        else:
            a.add(await _around(ours, n))
            b.add(await _around(base, n))
        ratios.append(a.rates[-1] / b.rates[-1])
    return a, b, statistics.median(ratios)


def row(
    name: str, a: Result, b: Result, ratio: float, base_name: str, note: str = ""
) -> None:
    print(
        f"{name:26s} ours {a.rate:8.0f}/s cpu {a.cpu * 1e6:6.1f}us | "
        f"{base_name:22s} {b.rate:8.0f}/s cpu {b.cpu * 1e6:6.1f}us | "
        f"x{ratio:5.2f} ovh {(a.cpu - b.cpu) * 1e6:+6.1f}us {note}",
        flush=True,
    )


# ----------------------------------------------------------------------- PHP


def _php_env(url: str, prefix: str) -> dict[str, str]:
    u = urlsplit(url)
    return dict(
        os.environ,
        REDIS_HOST=u.hostname or "127.0.0.1",
        REDIS_PORT=str(u.port or 6379),
        REDIS_PREFIX=prefix,
        CACHE_PREFIX="laravel_cache",
    )


def php_bench(url: str, prefix: str, op: str, n: int) -> float | None:
    """Laravel 8.83's own ops/s for ``op`` (its loop timed inside PHP)."""
    if not shutil.which("php"):
        return None
    out = subprocess.run(
        ["php", str(ROOT / "tests/interop/php/cache.php")],
        input=json.dumps([["bench", op, n]]).encode(),
        capture_output=True,
        env=_php_env(url, prefix),
        check=True,
    )
    res = json.loads(out.stdout)[0]
    if not res["ok"]:
        return None
    return n / float(res["result"]["seconds"])


_PHP_RAW_GET = r"""
$r = new Redis(); $r->connect(getenv('REDIS_HOST'), (int) getenv('REDIS_PORT'));
$r->select(1); $n = (int) $argv[1]; $k = $argv[2];
$t = microtime(true); for ($i = 0; $i < $n; $i++) { $r->get($k); }
echo $n / (microtime(true) - $t);
"""


def php_raw_get(url: str, key: bytes, n: int) -> float | None:
    if not shutil.which("php"):
        return None
    out = subprocess.run(
        ["php", "-r", _PHP_RAW_GET, "--", str(n), key.decode()],
        capture_output=True,
        env=_php_env(url, ""),
        check=True,
    )
    return float(out.stdout)


# ---------------------------------------------------------------------- main


def main() -> None:
    ap = argparse.ArgumentParser()
    add_common_args(ap)
    ap.add_argument("-n", type=int, default=3000)
    ap.add_argument("--size", type=int, default=1024)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--only", default="", help="comma list: get,put,many,tags,lock")
    args = ap.parse_args()
    only = set(filter(None, args.only.split(",")))

    def want(name: str) -> bool:
        return not only or name in only

    with busy_cpus(args.busy), redis_server(args.url) as server:
        if args.busy:
            print(f"--busy {args.busy}: CPUs kept out of idle by spinning processes")
        run(server.url, args.n, args.repeats, args.size, want)


def run(url: str, n: int, reps: int, size: int, want: Callable[[str], bool]) -> None:
    prefix = "bench:"
    value = record(size)
    app = Laravel.from_url(url, laravel_version="12.67", redis_prefix=prefix)
    cache = app.cache
    blob = cache._codec.dumps(value)
    assert blob == php.dumps(value)
    print(
        f"payload: PHP array (user record: 14 fields, nested settings, 3 orders), "
        f"{len(blob)} bytes serialized; n={n}, rounds={reps} (+1 warm-up)"
    )
    t = time.perf_counter()
    for _ in range(2000):
        cache._codec.loads(blob)
    dec = (time.perf_counter() - t) / 2000
    t = time.perf_counter()
    for _ in range(2000):
        cache._codec.dumps(value)
    enc = (time.perf_counter() - t) / 2000
    print(f"codec: loads {dec * 1e6:.1f} us/value, dumps {enc * 1e6:.1f} us/value")
    rawc = redis.Redis.from_url(url.rsplit("/", 1)[0] + "/1")
    key = app.keys.cache("bench")
    rawc.set(key, blob)
    assert cache.get("bench") == value

    print("-- sync (ratio = ours ops/s / baseline ops/s, median of per-round ratios)")
    if want("put"):

        def ours_put() -> None:
            for _ in range(n):
                cache.put("bench", value, 600)

        def raw_put() -> None:
            for _ in range(n):
                rawc.execute_command("SETEX", key, 600, blob)

        row("put 1KB", *compare(ours_put, raw_put, n, reps), "redis-py SETEX")
    if want("get"):

        def ours_get() -> None:
            for _ in range(n):
                cache.get("bench")

        def raw_get() -> None:
            for _ in range(n):
                rawc.get(key)

        row("get 1KB", *compare(ours_get, raw_get, n, reps), "redis-py GET")

    m = n // 50 or 1
    names = [f"m{i}" for i in range(100)]
    mapping = {k: value for k in names}
    fulls = [app.keys.cache(k) for k in names]
    if want("many"):

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

        def raw_many_decode() -> None:
            loads = cache._codec.loads
            for _ in range(m):
                [loads(v) for v in rawc.mget(fulls)]

        def raw_many_phpserialize() -> None:
            # what a user of raw redis-py would decode PHP values with on PyPI
            loads = phpserialize.loads
            for _ in range(m):
                [loads(v, decode_strings=True) for v in rawc.mget(fulls)]

        row(
            "put_many 100",
            *compare(ours_put_many, raw_put_many, m, reps),
            "redis-py MULTI+SETEX",
        )
        row("many 100", *compare(ours_many, raw_many, m, reps), "redis-py MGET")
        row(
            "many 100",
            *compare(ours_many, raw_many_decode, m, reps),
            "MGET+100 codec.loads",
            "(decode floor)",
        )
        if phpserialize is not None:
            row(
                "many 100",
                *compare(ours_many, raw_many_phpserialize, m, reps),
                "MGET+phpserialize",
                "(raw redis-py + the PyPI decoder)",
            )

    async def async_part() -> None:
        aapp = AsyncLaravel.from_url(url, laravel_version="12.67", redis_prefix=prefix)
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

        async def a_many() -> None:
            for _ in range(m):
                await acache.many(names)

        async def a_raw_many() -> None:
            for _ in range(m):
                await araw.mget(fulls)

        async def a_put_many() -> None:
            for _ in range(m):
                await acache.put_many(mapping, 600)

        async def a_raw_put_many() -> None:
            for _ in range(m):
                async with araw.pipeline(transaction=True) as p:
                    for k in fulls:
                        p.execute_command("SETEX", k, 600, blob)
                    await p.execute()

        print("-- async")
        cases: list[tuple[str, Any, Any, str, int]] = []
        if want("put"):
            cases.append(("put 1KB", a_put, a_raw_put, "redis-py SETEX", n))
        if want("get"):
            cases.append(("get 1KB", a_get, a_raw_get, "redis-py GET", n))
        if want("many"):
            cases.append(
                ("put_many 100", a_put_many, a_raw_put_many, "redis-py MULTI+SETEX", m)
            )
            cases.append(("many 100", a_many, a_raw_many, "redis-py MGET", m))
        for name, ours, base, bname, count in cases:
            row(name, *await acompare(ours, base, count, reps), bname)
        await araw.aclose()
        await aapp.aclose()

    asyncio.run(async_part())

    if want("tags") or want("lock"):
        tags_and_locks(url, prefix, rawc, n, reps, want)
    rawc.close()
    app.close()


def tags_and_locks(
    url: str,
    prefix: str,
    rawc: redis.Redis,
    n: int,
    reps: int,
    want: Callable[[str], bool],
) -> None:
    k = min(n, 2000)
    small = ["x"] * 10  # what cache.php's bench stores: array_fill(0, 10, 'x')
    lockc = redis.Redis.from_url(url.rsplit("/", 1)[0] + "/0")
    app8 = Laravel.from_url(url, laravel_version="8.83", redis_prefix=prefix)
    app12 = Laravel.from_url(url, laravel_version="12.67", redis_prefix=prefix)
    c8, c12 = app8.cache, app12.cache
    keys8 = app8.keys
    sblob = c8._codec.dumps(small)
    ids_sha = rawc.script_load(load_script("tag_legacy_ids"))
    get_sha = rawc.script_load(load_script("tag_legacy_get"))
    rel_sha = lockc.script_load(load_script("lock_release"))
    tag_keys = [keys8.legacy_tag_id_key(t) for t in ("a", "b")]
    c8.tags(["a", "b"]).put("k0", small, 600)  # create the tag ids

    def raw_ids() -> list[bytes]:
        # the same EVALSHA ninja_redis sends (ids exist: ARGV unused but sent)
        raws = rawc.evalsha(ids_sha, 2, *tag_keys, b"x", b"x")
        return [php.loads(r).encode() for r in raws]

    # ---- Laravel 8.x tags (reference sets) and locks vs Laravel 8.83 and raw
    def tags_put() -> None:
        for i in range(k):
            c8.tags(["a", "b"]).put(f"k{i}", small, 600)

    def raw_tags_put() -> None:
        for i in range(k):
            ids = raw_ids()
            item = keys8.legacy_tagged(ids, f"k{i}")
            member = keys8.legacy_ref_member(ids, f"k{i}")
            with rawc.pipeline(transaction=False) as p:
                for tid in ids:
                    p.sadd(keys8.legacy_tag_ref(tid, "standard"), member)
                p.execute_command("SETEX", item, 600, sblob)
                p.execute()

    def tags_get() -> None:
        for i in range(k):
            c8.tags(["a", "b"]).get(f"k{i % 100}")

    def raw_tags_get() -> None:
        # the one EVALSHA ninja_redis sends (ids and item read in Lua), then decode
        head = keys8.cache_head
        for i in range(k):
            reply = rawc.evalsha(get_sha, 2, *tag_keys, head, f"k{i % 100}")
            if reply[0] is not None:
                php.loads(reply[0])

    lock_key = keys8.lock("bench")

    def lock() -> None:
        for _ in range(k):
            lk = c8.lock("bench", 10)
            lk.get()
            lk.release()

    def raw_lock() -> None:
        owner = b"0123456789abcdef"  # fixed: the raw side pays nothing for it
        for _ in range(k):
            lockc.set(lock_key, owner, ex=10, nx=True)
            lockc.evalsha(rel_sha, 1, lock_key, owner)

    # ---- Laravel 10+ tags (sorted sets): no PHP peer here; raw redis-py only
    zsets = [app12.keys.tag_entries(t) for t in ("a", "b")]
    head = app12.keys.tagged(["a", "b"], b"")
    mhead = app12.keys.tag_member(["a", "b"], b"")

    def ztags_put() -> None:
        for i in range(k):
            c12.tags(["a", "b"]).put(f"k{i}", small, 600)

    def raw_ztags_put() -> None:
        for i in range(k):
            score = int(time.time()) + 600
            with rawc.pipeline(transaction=False) as p:
                for z in zsets:
                    p.zadd(z, {mhead + f"k{i}".encode(): score})
                p.execute_command("SETEX", head + f"k{i}".encode(), 600, sblob)
                p.execute()

    def ztags_get() -> None:
        for i in range(k):
            c12.tags(["a", "b"]).get(f"k{i % 100}")

    def raw_ztags_get() -> None:
        for i in range(k):
            raw = rawc.get(head + f"k{i % 100}".encode())
            if raw is not None:
                php.loads(raw)

    phpredis = php_raw_get(url, keys8.cache("bench"), 5000)
    pyraw = _round(lambda: [rawc.get(keys8.cache("bench")) for _ in range(5000)], 5000)
    if phpredis is not None:
        print(
            f"-- per-RT floor: phpredis GET {phpredis:.0f}/s, redis-py GET "
            f"{pyraw[0]:.0f}/s (cpu {pyraw[1] * 1e6:.1f}us)"
        )
    print(
        "-- vs Laravel 8.83 (PHP, same server, one PHP run per round) and raw "
        "redis-py sending our commands"
    )
    cases = []
    if want("tags"):
        cases += [
            (
                "tagged put (8.x)",
                tags_put,
                raw_tags_put,
                "tags_put",
                "RT ours 2 / Laravel 7",
            ),
            (
                "tagged get (8.x)",
                tags_get,
                raw_tags_get,
                "tags_get",
                "RT ours 1 / Laravel 3",
            ),
        ]
    if want("lock"):
        cases.append(
            ("lock get+release", lock, raw_lock, "lock", "RT ours 2 / Laravel 2")
        )
    for name, fn, raw, op, rts in cases:
        fn(), raw()
        ours, base, lara, ratios, lratios = Result(), Result(), [], [], []
        for _ in range(reps):
            ours.add(_round(fn, k))
            base.add(_round(raw, k))
            lr = php_bench(url, prefix, op, k)
            if lr is not None:
                lara.append(lr)
                lratios.append(ours.rates[-1] / lr)
            ratios.append(ours.rates[-1] / base.rates[-1])
        row(name, ours, base, statistics.median(ratios), "redis-py same cmds")
        if lara:
            print(
                f"{'':26s} Laravel 8.83 {statistics.median(lara):8.0f}/s"
                f"  ours/Laravel x{statistics.median(lratios):5.2f}  {rts}"
            )
    if want("tags"):
        for name, fn, raw, note in (
            (
                "tagged put (10+ zsets)",
                ztags_put,
                raw_ztags_put,
                "RT ours 1 / Laravel 3",
            ),
            (
                "tagged get (10+ zsets)",
                ztags_get,
                raw_ztags_get,
                "RT ours 1 / Laravel 1",
            ),
        ):
            row(name, *compare(fn, raw, k, reps), "redis-py same cmds", note)
        base = php_bench(url, prefix, "put_many", 100)
        if base is not None:
            print(
                f"{'Laravel 8.83 putMany 100':26s} {base:8.0f} calls/s "
                "(MULTI + 100 SETEX + EXEC, one RT per command)"
            )
    lockc.close()
    app8.close()
    app12.close()


if __name__ == "__main__":
    main()
