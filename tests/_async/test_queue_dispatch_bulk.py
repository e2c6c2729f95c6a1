"""``queue.bulk`` on the app's wire: ``PhpJob.many`` rows, NOSCRIPT recovery."""

from __future__ import annotations

import json
from typing import Any

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


async def test_bulk_without_a_wire(
    redis_url: str, prefix: str, monkeypatch: Any
) -> None:
    async with AsyncLaravel.from_url(
        redis_url, laravel_version="12.67", redis_prefix=prefix, app_key=APP_KEY
    ) as app:
        monkeypatch.setattr(app, "wire", None, raising=False)
        q = app.queue
        await q.redis.script_flush()
        ids = await q.bulk(_template().many(_rows(1200)))
        assert [
            json.loads(p)["id"] for p in await q.redis.lrange(q.keys().ready, 0, -1)
        ] == ids
