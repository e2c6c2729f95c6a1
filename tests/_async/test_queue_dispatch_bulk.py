"""``queue.bulk`` on the app's wire: ``PhpJob.many`` rows, NOSCRIPT recovery."""

from __future__ import annotations

import json
from typing import Any

import pytest
from redis.exceptions import ResponseError

from ninja_redis import _scripts
from ninja_redis._async.app import AsyncLaravel
from ninja_redis.payloads import PhpJob, private, protected

APP_KEY = "base64:e59K8xMtz9ifYFctzSdIRDYiAwHijRg7zKybchfWKKA="


def _template() -> PhpJob:
    return PhpJob(
        "App\\Jobs\\SendInvoiceEmail",
        {"invoiceId": 0, "email": protected(""), "meta": private({})},
        tries=5,
        backoff=[10, 60],
    )


def _rows(n: int) -> list[dict[str, Any]]:
    return [
        {"invoiceId": i, "email": f"b{i}/é\n@x", "meta": {"l": [i, "a/b"]}}
        for i in range(n)
    ]


def _fix(payload: bytes) -> bytes:
    d = json.loads(payload)
    return payload.replace(d["uuid"].encode(), b"U").replace(d["id"].encode(), b"I")


async def test_bulk_rows_equal_bulk_jobs(redis_url: str, prefix: str) -> None:
    async with AsyncLaravel.from_url(
        redis_url, laravel_version="8.83", redis_prefix=prefix, app_key=APP_KEY
    ) as app:
        q = app.queue
        template = _template()
        rows = _rows(2100) + [{"email": private("x")}, {"new": 1}]
        ids_rows = await q.bulk(template.many(rows), "rows")
        ids_jobs = await q.bulk(list(template.many(rows)), "jobs")
        a = await q.redis.lrange(q.keys("rows").ready, 0, -1)
        b = await q.redis.lrange(q.keys("jobs").ready, 0, -1)
        assert len(a) == len(b) == len(rows)
        assert [json.loads(p)["id"] for p in a] == ids_rows
        assert [json.loads(p)["id"] for p in b] == ids_jobs
        assert [_fix(p) for p in a] == [_fix(p) for p in b]
        assert await q.redis.llen(q.keys("rows").notify) == len(rows)
        assert await q.bulk(template.many([])) == []


async def test_bulk_after_script_flush_pushes_each_job_once(
    redis_url: str, prefix: str
) -> None:
    async with AsyncLaravel.from_url(
        redis_url, laravel_version="12.67", redis_prefix=prefix, app_key=APP_KEY
    ) as app:
        q = app.queue
        await q.bulk([PhpJob("App\\Jobs\\A")])
        await q.redis.script_flush()
        jobs: list[Any] = [PhpJob("App\\Jobs\\N", {"i": i}) for i in range(2500)]
        jobs.append(PhpJob("App\\Jobs\\Later", delay=60))
        ids = await q.bulk(jobs)  # every EVALSHA fails: all re-sent with EVAL
        assert len(set(ids)) == len(jobs)
        assert await q.pending_size() == 2501
        assert await q.delayed_size() == 1
        assert await q.redis.llen(q.keys().notify) == 2501
        await q.redis.script_flush()
        ids = await q.bulk(_template().many(_rows(1500)))
        assert await q.pending_size() == 4001
        ready = [
            json.loads(p)["id"] for p in await q.redis.lrange(q.keys().ready, 2501, -1)
        ]
        assert ready == ids


async def test_bulk_leaves_the_data_of_the_push_script(
    redis_url: str, prefix: str
) -> None:
    """MULTI/RPUSH/EXEC batches = Laravel's push script run once per payload."""
    async with AsyncLaravel.from_url(
        redis_url, laravel_version="12.67", redis_prefix=prefix, app_key=APP_KEY
    ) as app:
        q = app.queue
        await q.bulk(_template().many(_rows(2345)), "bulk")
        payloads = await q.redis.lrange(q.keys("bulk").ready, 0, -1)
        assert len(payloads) == 2345
        push = q.redis.register_script(_scripts.load("queue_push"))
        one = q.keys("one")
        for p in payloads:
            await push(keys=[one.ready, one.notify], args=[p])
        for name in ("ready", "notify"):
            a, b = getattr(q.keys("bulk"), name), getattr(one, name)
            assert await q.redis.type(a) == await q.redis.type(b) == b"list"
            assert await q.redis.lrange(a, 0, -1) == await q.redis.lrange(b, 0, -1)
        assert await q.redis.lrange(one.notify, 0, 2) == [b"1", b"1", b"1"]
        delayed = [PhpJob("App\\Jobs\\Later", {"i": i}, delay=60) for i in range(1500)]
        await q.bulk(delayed, "bulk")
        assert await q.redis.zcard(q.keys("bulk").delayed) == 1500


async def test_bulk_raises_redis_errors(redis_url: str, prefix: str) -> None:
    async with AsyncLaravel.from_url(
        redis_url, laravel_version="12.67", redis_prefix=prefix, app_key=APP_KEY
    ) as app:
        q = app.queue
        await q.redis.set(q.keys("bad").ready, "not a list")
        with pytest.raises(ResponseError, match="WRONGTYPE"):
            await q.bulk(_template().many(_rows(1500)), "bad")
        # the connection is usable afterwards
        await q.bulk(_template().many(_rows(3)), "good")
        assert await q.pending_size("good") == 3


async def test_bulk_after_a_redis_restart(
    redis_server_factory: Any, prefix: str
) -> None:
    """The pooled connection is stale after a restart: the first batch is re-sent
    on a fresh connection (no EXEC reached Redis), each job pushed once."""
    server = redis_server_factory()
    async with AsyncLaravel.from_url(
        server.url, laravel_version="12.67", redis_prefix=prefix, app_key=APP_KEY
    ) as app:
        q = app.queue
        await q.bulk(_template().many(_rows(10)))
        server.restart()  # no persistence: the 10 jobs are gone
        ids = await q.bulk(_template().many(_rows(2500)))
        assert len(set(ids)) == 2500
        assert await q.pending_size() == 2500
        assert await q.redis.llen(q.keys().notify) == 2500
