"""AsyncWorker on the golden Laravel fixtures: the jobs Laravel pushed are handled in Python
with Laravel's reserved bytes, attempts and release/backoff effects (queue_work.json)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
import redis as redis_sync

from ninja_redis._async import _backend
from ninja_redis._async.app import AsyncLaravel
from ninja_redis._async.failed import AsyncRedisFailedJobStore
from ninja_redis._async.worker import AsyncJob, AsyncWorker
from tests._shared import VERSIONS, dump_keys, load_fixture, raw


def fixture_app(redis_url: str, prefix: str, data: dict[str, Any]) -> AsyncLaravel:
    c = data["config"]
    return AsyncLaravel.from_url(
        redis_url,
        laravel_version=c["laravel_version"],
        redis_prefix=prefix + c["redis_prefix"],
        cache_prefix=c["cache_prefix"],
        app_key=c["app_key"],
        cipher=c.get("cipher") or "AES-256-CBC",
        failed_driver="redis",
    )


@pytest_asyncio.fixture
async def sync_client(redis_url: str) -> AsyncIterator[redis_sync.Redis]:
    client = redis_sync.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.mark.parametrize("version", VERSIONS)
async def test_queue_work_fixture(
    version: str, redis_url: str, prefix: str, sync_client: redis_sync.Redis
) -> None:
    data = load_fixture(version, "queue_work")
    steps = [s for s in data["steps"] if s["args"][0] == "queue:work-once"]
    assert len(steps) == 4
    async with fixture_app(redis_url, prefix, data) as app:
        keys = app.keys.queue("default")
        seen: list[AsyncJob] = []
        for step in steps:
            out = step["output"]
            body, reserved_body = raw(out["raw_body"]), raw(out["reserved_body"])
            sync_client.rpush(keys.ready, body)
            sync_client.rpush(keys.notify, b"1")
            mode = step["args"][1] if len(step["args"]) > 1 else ""
            worker = AsyncWorker(app, ["default"], sleep=0, handle_signals=False)
            times: list[int] = []

            async def handle(
                job: AsyncJob, mode: str = mode, times: list[int] = times
            ) -> None:
                times.append(int(_backend.wall_time()))
                seen.append(job)
                # The exact bytes of the :reserved member while the job runs.
                members = sync_client.zrange(keys.reserved, 0, -1)
                assert members == [job.reserved]
                if mode == "--release=30":
                    await job.release(30)
                elif mode == "--fail":
                    raise RuntimeError("boom")

            worker.handler(out["payload"]["data"]["commandName"])(handle)
            result = await worker.run(once=True)
            after = int(_backend.wall_time())
            assert result.jobs == 1
            job = seen[-1]
            assert job.raw == body
            assert job.reserved == reserved_body  # cjson re-encoding, byte for byte
            assert job.attempts == out["attempts"] == 1
            assert job.id == out["job_id"]
            assert sync_client.zcard(keys.reserved) == 0
            assert sync_client.llen(keys.ready) == 0
            assert sync_client.llen(keys.notify) == 0
            cmd = job.command
            expected = out["unserialized_command"]
            assert cmd.class_name == expected["$class"]
            props = job.properties
            checked = 0
            for name, prop in expected["properties"].items():
                # PHP adds declared defaults on unserialize; compare what the bytes hold.
                if name in props and isinstance(prop["value"], (str, int, bool)):
                    assert props[name] == prop["value"], name
                    checked += 1
            assert checked >= 1
            delayed = dict(sync_client.zrange(keys.delayed, 0, -1, withscores=True))
            if mode == "--release=30":
                assert times[0] + 30 <= delayed[reserved_body] <= after + 30
            elif mode == "--fail":
                # backoff "10,60,300", attempt 1 -> +10; maxExceptions counter in the cache
                assert times[0] + 10 <= delayed[reserved_body] <= after + 10
                cache = app.connection("cache")
                assert await cache.get(app.keys.job_exceptions(job.uuid or "")) == b"1"
                assert (
                    0
                    < await cache.ttl(app.keys.job_exceptions(job.uuid or ""))
                    <= 86400
                )
            else:
                assert reserved_body not in delayed
        # The final :delayed zset holds the same members as Laravel's.
        final = dump_keys(data, db=0)
        laravel_delayed = {
            raw(m["member"])
            for m in final[
                data["config"]["redis_prefix"].encode() + b"queues:default:delayed"
            ]["members"]
        }
        ours = set(sync_client.zrange(keys.delayed, 0, -1))
        assert ours == laravel_delayed
        assert [j.payload.command_name for j in seen] == [
            s["output"]["payload"]["data"]["commandName"] for s in steps
        ]
        if version != "10.50.3":
            secret = [j for j in seen if j.payload.is_encrypted]
            assert secret and secret[0].properties["reportName"] == "q3"


@pytest.mark.parametrize("version", VERSIONS)
async def test_push_jobs_fixture_drained(
    version: str, redis_url: str, prefix: str, sync_client: redis_sync.Redis
) -> None:
    data = load_fixture(version, "queue_push_jobs")
    prefix_key = data["config"]["redis_prefix"].encode()
    ready = dump_keys(data, db=0)[prefix_key + b"queues:default"]
    bodies = [raw(i) for i in ready["items"]]
    async with fixture_app(redis_url, prefix, data) as app:
        keys = app.keys.queue("default")
        for b in bodies:
            sync_client.rpush(keys.ready, b)
            sync_client.rpush(keys.notify, b"1")
        worker = AsyncWorker(app, ["default"], sleep=0, handle_signals=False)
        handled: list[tuple[str, int, Any]] = []

        async def handle(job: AsyncJob) -> None:
            handled.append((job.payload.command_name or "", job.attempts, job.command))

        for b in bodies:
            worker.handler(json.loads(b)["data"]["commandName"])(handle)
        result = await worker.run(stop_when_empty=True)
        assert result.reason == "empty"
        assert result.jobs == result.deleted == len(bodies)
        assert [h[0] for h in handled] == [
            json.loads(b)["data"]["commandName"] for b in bodies
        ]
        assert all(h[1] == 1 for h in handled)
        assert all(
            h[2].class_name == h[0] for h in handled
        )  # encrypted one decrypted too
        for k in (keys.ready, keys.reserved, keys.delayed, keys.notify):
            assert not sync_client.exists(k)


@pytest.mark.parametrize("version", VERSIONS)
async def test_later_and_dispatch_fixture_priority(
    version: str, redis_url: str, prefix: str, sync_client: redis_sync.Redis
) -> None:
    """Delayed jobs migrate when due; queues are served in the order given."""
    data = load_fixture(version, "queue_later_and_dispatch")
    p = data["config"]["redis_prefix"].encode()
    dump = dump_keys(data, db=0)
    async with fixture_app(redis_url, prefix, data) as app:
        order: list[tuple[str, str]] = []
        for name in ("default", "emails"):
            keys = app.keys.queue(name)
            for item in dump[p + b"queues:" + name.encode()]["items"]:
                sync_client.rpush(keys.ready, raw(item))
                sync_client.rpush(keys.notify, b"1")
            for m in dump[p + b"queues:" + name.encode() + b":delayed"]["members"]:
                # due now (Laravel's score is in the fixture's past/future: make it due)
                sync_client.zadd(keys.delayed, {raw(m["member"]): 1})
        worker = AsyncWorker(app, ["emails", "default"], sleep=0, handle_signals=False)

        async def handle(job: AsyncJob) -> None:
            order.append((job.queue, job.payload.command_name or ""))

        for cls in (
            "App\\Jobs\\PlainJob",
            "App\\Jobs\\SendInvoiceEmail",
            "App\\Jobs\\ProcessPodcast",
        ):
            worker.handler(cls)(handle)
        result = await worker.run(stop_when_empty=True)
        assert result.jobs == 4
        # emails first (ready job, then its migrated delayed job), then default.
        assert order == [
            ("emails", "App\\Jobs\\PlainJob"),
            ("emails", "App\\Jobs\\ProcessPodcast"),
            ("default", "App\\Jobs\\PlainJob"),
            ("default", "App\\Jobs\\SendInvoiceEmail"),
        ]


async def test_unknown_and_corrupt_jobs_are_failed_and_kept(
    redis_url: str, prefix: str, sync_client: redis_sync.Redis
) -> None:
    data = load_fixture("12.67.0", "queue_push_raw")
    async with fixture_app(redis_url, prefix, data) as app:
        keys = app.keys.queue("default")
        corrupt = [
            b"{not json",
            b'{"job":"X@y","data":{}}',
            b'{"uuid":"u-1","job":"A\\\\B@c","data":{"k":[]},"id":"i1","attempts":0}',
        ]
        for b in corrupt:
            sync_client.rpush(keys.ready, b)
        store = AsyncRedisFailedJobStore(app)
        worker = AsyncWorker(app, sleep=0, handle_signals=False, failer=store)
        result = await worker.run(stop_when_empty=True)
        assert result.jobs == 3 and result.failed == 3
        failed = await store.all()
        assert [
            f.payload for f in reversed(failed)
        ] == corrupt  # original bytes, newest first
        assert "JobPayloadError" in failed[-1].exception
        assert "no handler" in failed[0].exception and failed[0].id == "u-1"
        assert failed[0].queue == "default" and failed[0].connection == "redis"
        assert sync_client.zcard(keys.reserved) == 0
        assert sync_client.llen(keys.ready) == 0
