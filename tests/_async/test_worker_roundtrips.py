"""The worker's cost per job: one ``EVALSHA`` of ``queue_next`` (delete of the previous
job + migrate + migrate + pop), no other command; handler threads are reused; a handler's
own ``TimeoutError`` is a job exception, not a worker timeout."""

from __future__ import annotations

import json
import threading
from typing import Any

import redis as redis_sync

from ninja_redis import _scripts
from ninja_redis._async.app import AsyncLaravel
from ninja_redis._async.worker import AsyncJob, AsyncWorker

CLS = "App\\Jobs\\Thing"


def payload(n: int) -> bytes:
    return json.dumps(
        {
            "uuid": f"uuid-{n}",
            "displayName": CLS,
            "job": "Illuminate\\Queue\\CallQueuedHandler@call",
            "maxTries": None,
            "timeout": None,
            "data": {"commandName": CLS, "command": 'O:14:"App\\Jobs\\Thing":0:{}'},
            "id": f"id-{n}",
            "attempts": 0,
        },
        separators=(",", ":"),
    ).encode()


def fill(r: redis_sync.Redis, app: AsyncLaravel, n: int) -> None:
    keys = app.keys.queue()
    r.rpush(keys.ready, *[payload(i) for i in range(n)])
    r.rpush(keys.notify, *([b"1"] * n))


def command_calls(r: redis_sync.Redis) -> dict[str, int]:
    stats: dict[str, Any] = r.info("commandstats")
    return {k.removeprefix("cmdstat_"): int(v["calls"]) for k, v in stats.items()}


async def test_one_round_trip_per_job(redis_server_factory: Any, prefix: str) -> None:
    server = redis_server_factory()
    r = server.client()
    async with AsyncLaravel.from_url(
        server.url, laravel_version="12.67", redis_prefix=prefix
    ) as app:
        n = 50
        fill(r, app, n)
        # Only the pop path is counted here; the queue:restart / queue:pause reads
        # (per run and per interval, not per job) are counted in
        # test_worker_lifecycle.py::test_interruption_polls_are_not_per_job.
        worker = AsyncWorker(
            app, ["default"], handle_signals=False, restartable=False, pausable=False
        )
        ran: list[str | None] = []

        @worker.handler(CLS)
        async def handle(job: AsyncJob) -> None:
            ran.append(job.id)

        r.script_load(_scripts.load("queue_next"))
        r.config_resetstat()
        res = await worker.run(stop_when_empty=True)
        calls = command_calls(r)
        assert res.jobs == n and res.deleted == n and len(ran) == n
        # n pops + the empty one (which also deletes the last job)
        assert calls.pop("evalsha") == n + 1
        for setup in ("config|resetstat", "info", "client|setinfo", "select", "hello"):
            calls.pop(setup, None)  # this test's own calls; connection set-up
        # ... and inside it Laravel's commands (2 migrates of :delayed/:reserved per
        # pop, LPOP ready + LPOP notify + ZADD per job, the ZREM of each finished job).
        assert calls == {
            "zrangebyscore": 2 * (n + 1),
            "lpop": 2 * n + 1,
            "zadd": n,
            "zrem": n,
        }
        keys = app.keys.queue()
        assert r.llen(keys.ready) == 0 and r.llen(keys.notify) == 0
        assert r.zcard(keys.reserved) == 0
    r.close()


async def test_handler_threads_are_reused(redis_url: str, prefix: str) -> None:
    r = redis_sync.Redis.from_url(redis_url)
    async with AsyncLaravel.from_url(
        redis_url, laravel_version="12.67", redis_prefix=prefix
    ) as app:
        fill(r, app, 40)
        worker = AsyncWorker(
            app, ["default"], handle_signals=False, concurrency=2, timeout=5
        )
        threads: set[threading.Thread] = set()

        @worker.handler(CLS)
        async def handle(job: AsyncJob) -> None:
            threads.add(threading.current_thread())

        res = await worker.run(stop_when_empty=True)
        assert res.jobs == 40 and res.deleted == 40
        # One thread per runner at most (the blocking Worker runs handlers with a time
        # limit on a helper thread; it is not a new thread per job).
        assert 1 <= len(threads) <= 2
    r.close()


async def test_own_timeout_error_is_a_job_exception(
    redis_url: str, prefix: str
) -> None:
    r = redis_sync.Redis.from_url(redis_url)
    async with AsyncLaravel.from_url(
        redis_url, laravel_version="12.67", redis_prefix=prefix, failed_driver="redis"
    ) as app:
        fill(r, app, 1)
        worker = AsyncWorker(
            app, ["default"], handle_signals=False, timeout=30, tries=2
        )

        @worker.handler(CLS)
        async def handle(job: AsyncJob) -> None:
            raise TimeoutError("upstream API timed out")

        res = await worker.run(once=True)
        # attempts 1 < tries 2: released like any exception (a worker timeout would
        # have left the job reserved until retry_after).
        assert (res.released, res.failed) == (1, 0)
        keys = app.keys.queue()
        assert r.zcard(keys.delayed) == 1 and r.zcard(keys.reserved) == 0
    r.close()
