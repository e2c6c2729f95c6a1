"""AsyncQueue dispatch and inspection against a real Redis, checked against the fixtures.

Each fixture scenario is replayed through ``app.queue`` (same Laravel version, prefixes,
queue names and delays, under a per-test prefix); the Redis state must then equal the
fixture's ``final_dump``: the same keys and types, the same number of ``:notify`` entries,
payload bytes equal once ``uuid``/``id``/``createdAt`` are set to the fixture's, and
``:delayed`` scores of now + delay.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import pytest_asyncio
import redis as redis_sync

from ninja_redis._async.app import AsyncLaravel
from ninja_redis.crypto import Encrypter
from ninja_redis.exceptions import JobPayloadError
from ninja_redis.payloads import PhpJob, parse_payload
from tests._shared import VERSIONS, dump_keys, load_fixture, raw
from tests.unit._queue_jobs import job_from_step

APP_KEY = "base64:e59K8xMtz9ifYFctzSdIRDYiAwHijRg7zKybchfWKKA="


def make_app(redis_url: str, prefix: str, **overrides: Any) -> AsyncLaravel:
    options: dict[str, Any] = {
        "laravel_version": "12.67",
        "redis_prefix": prefix,
        "app_key": APP_KEY,
    }
    options.update(overrides)
    return AsyncLaravel.from_url(redis_url, **options)


@pytest_asyncio.fixture
async def app(redis_url: str, prefix: str) -> AsyncIterator[AsyncLaravel]:
    async with make_app(redis_url, prefix) as laravel:
        yield laravel


def _normalise(mine: bytes, theirs: bytes) -> bytes:
    """``mine`` with its uuid, id and createdAt replaced by those of ``theirs``."""
    a, b = json.loads(mine), json.loads(theirs)
    out = mine
    for field in ("uuid", "id"):
        if field in a:
            out = out.replace(
                f'"{field}":"{a[field]}"'.encode(),
                f'"{field}":"{b[field]}"'.encode(),
                1,
            )
    if "createdAt" in a:
        out = out.replace(
            f'"createdAt":{a["createdAt"]}'.encode(),
            f'"createdAt":{b["createdAt"]}'.encode(),
            1,
        )
    return out


def _same_payload(mine: bytes, theirs: bytes, encrypter: Encrypter) -> None:
    p = parse_payload(mine)
    if p.is_encrypted:
        q = parse_payload(theirs)
        assert p.command_bytes(encrypter) == q.command_bytes(encrypter)
        p.payload["data"]["command"] = q.payload["data"]["command"] = "-"
        for k in ("uuid", "id", "createdAt"):
            if k in p.payload:
                p.payload[k] = q.payload[k]
        assert json.dumps(p.payload) == json.dumps(q.payload)
    else:
        assert _normalise(mine, theirs) == theirs


async def _replay(
    redis_url: str, prefix: str, scenario: str, version: str
) -> tuple[dict[str, Any], dict[bytes, Any], dict[bytes, dict[str, Any]], float, float]:
    fx = load_fixture(version, scenario)
    c = fx["config"]
    before = time.time()
    async with make_app(
        redis_url,
        prefix + c["redis_prefix"],
        laravel_version=c["laravel_version"],
        cipher=c["cipher"],
    ) as laravel:
        q = laravel.queue
        for step in fx["steps"]:
            args = step["args"]
            if args[0] in ("queue:push", "queue:dispatch"):
                job, queue, delay = job_from_step(args)
                if args[0] == "queue:dispatch" or delay is None:
                    job_id = await q.push(job, queue)
                else:
                    job_id = await q.later(delay, job, queue)
                assert job_id is not None and len(job_id) == 32
            elif args[0] == "queue:pushRaw":
                opts = dict(a[2:].split("=", 1) for a in args[2:])
                inp = step["output"]["input"]
                job_id = await q.push_raw(
                    inp["payload"],
                    opts.get("queue"),
                    int(opts["delay"]) if "delay" in opts else None,
                )
                assert job_id == step["output"]["id"]
            elif args[0] == "queue:size":
                out = step["output"]
                queue = dict(a[2:].split("=", 1) for a in args[1:]).get("queue")
                assert await q.size(queue) == out["size"]
                if "pendingSize" in out:
                    assert await q.pending_size(queue) == out["pendingSize"]
                    assert await q.delayed_size(queue) == out["delayedSize"]
                    assert await q.reserved_size(queue) == out["reservedSize"]
    after = time.time()
    client = redis_sync.Redis.from_url(redis_url)
    try:
        ours: dict[bytes, Any] = {}
        for key in client.scan_iter(match=prefix.encode() + b"*"):
            short = key[len(prefix) :]
            kind = client.type(key).decode()
            if kind == "list":
                ours[short] = ("list", client.lrange(key, 0, -1))
            else:
                ours[short] = ("zset", client.zrange(key, 0, -1, withscores=True))
    finally:
        client.close()
    return fx, ours, dump_keys(fx, 0), before, after


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(
    "scenario", ["queue_push_jobs", "queue_later_and_dispatch", "queue_push_raw"]
)
async def test_replay_fixture(
    redis_url: str, prefix: str, scenario: str, version: str
) -> None:
    fx, ours, theirs, before, after = await _replay(
        redis_url, prefix, scenario, version
    )
    encrypter = Encrypter.from_app_key(APP_KEY, fx["config"]["cipher"])
    assert sorted(ours) == sorted(theirs)
    for key, entry in theirs.items():
        kind, mine = ours[key]
        assert kind == entry["type"]
        if kind == "list":
            items = [raw(i) for i in entry["items"]]
            assert len(mine) == len(items)
            if key.endswith(b":notify"):
                assert mine == items == [b"1"] * len(items)
            elif key.startswith(b"{") or items[0].startswith(b'{"uuid"'):
                for m, t in zip(mine, items, strict=True):
                    _same_payload(m, t, encrypter)
            else:  # pushRaw: byte for byte
                assert mine == items
        else:
            members = entry["members"]
            assert len(mine) == len(members)
            for (m, score), t in zip(mine, members, strict=True):
                member = raw(t["member"])
                if member.startswith(b'{"uuid"'):
                    _same_payload(m, member, encrypter)
                else:
                    assert m == member
                # same delay relative to the push time: fixture score - fixture time
                delay = int(float(t["score"])) - int(fx["time_start"])
                assert int(before) + delay <= score <= int(after) + delay + 1
                if member.startswith(b'{"uuid"') and b'"createdAt"' in m:
                    assert (
                        int(score)
                        == json.loads(m)["createdAt"] + json.loads(m)["delay"]
                    )


async def test_push_returns_id_and_uses_notify(app: AsyncLaravel) -> None:
    q = app.queue
    job_id = await q.push(PhpJob("App\\Jobs\\Ping", {"n": 1}))
    keys = q.keys()
    r = q.redis
    assert await r.llen(keys.ready) == 1 and await r.lrange(keys.notify, 0, -1) == [
        b"1"
    ]
    payload = parse_payload(await r.lindex(keys.ready, 0))
    assert payload.id == job_id and payload.attempts == 0 and payload.delay is None
    assert payload.command == 'O:13:"App\\Jobs\\Ping":1:{s:1:"n";i:1;}'


async def test_later_accepts_seconds_timedelta_datetime(app: AsyncLaravel) -> None:
    q = app.queue
    now = int(time.time())
    await q.later(30, PhpJob("App\\Jobs\\A"))
    await q.later(timedelta(minutes=2), PhpJob("App\\Jobs\\B"))
    at = datetime.fromtimestamp(now + 600, tz=timezone.utc)
    await q.later(at, PhpJob("App\\Jobs\\C"))
    rows = await q.jobs(state="delayed")
    by = {j.payload.command_name: (j.score, j.payload.delay) for j in rows if j.payload}
    assert now + 30 <= by["App\\Jobs\\A"][0] <= now + 31 and by["App\\Jobs\\A"][1] == 30
    assert (
        now + 120 <= by["App\\Jobs\\B"][0] <= now + 121 and by["App\\Jobs\\B"][1] == 120
    )
    assert by["App\\Jobs\\C"][0] == now + 600
    assert 599 <= (by["App\\Jobs\\C"][1] or 0) <= 600
    assert (
        await q.pending_size() == 0 and await app.queue.redis.llen(q.keys().notify) == 0
    )


async def test_job_queue_and_delay_properties_route_like_dispatch(
    app: AsyncLaravel,
) -> None:
    q = app.queue
    await q.push(PhpJob("App\\Jobs\\A", queue="emails", delay=5))
    assert await q.delayed_size("emails") == 1 and await q.size() == 0
    (entry,) = await q.jobs("emails", "delayed")
    assert entry.payload is not None
    assert entry.payload.command is not None
    assert entry.payload.command.endswith('s:5:"queue";s:6:"emails";s:5:"delay";i:5;}')
    # an explicit queue argument wins over the job's queue, like Queue::push
    await q.push(PhpJob("App\\Jobs\\A", queue="emails"), "other")
    assert await q.pending_size("other") == 1


async def test_string_job(app: AsyncLaravel) -> None:
    q = app.queue
    job_id = await q.push("App\\Handlers\\Foo@bar", data={"x": [1, "a/b"]})
    (entry,) = await q.jobs()
    assert entry.id == job_id
    assert entry.raw.startswith(
        b'{"uuid":"'
        + (entry.payload.uuid or "").encode()
        + b'","displayName":"App\\\\Handlers\\\\Foo",'
        b'"job":"App\\\\Handlers\\\\Foo@bar","maxTries":null,"maxExceptions":null,'
        b'"failOnTimeout":false,"backoff":null,"timeout":null,"data":{"x":[1,"a\\/b"]},'
    )


async def test_push_raw_validates(app: AsyncLaravel) -> None:
    q = app.queue
    with pytest.raises(JobPayloadError):
        await q.push_raw(
            b'{"job":"X@y","data":[]}'
        )  # no attempts: Laravel would lose it
    with pytest.raises(JobPayloadError):
        await q.push_raw(b"not json")
    assert await q.size() == 0
    assert await q.push_raw(b'{"job":"X@y","data":[]}', validate=False) is None
    assert await q.pending_size() == 1


async def test_bulk_one_round_trip_keeps_order(app: AsyncLaravel) -> None:
    q = app.queue
    jobs: list[Any] = [PhpJob("App\\Jobs\\N", {"i": i}) for i in range(2500)]
    jobs.insert(3, PhpJob("App\\Jobs\\Later", delay=60))
    jobs.insert(5, PhpJob("App\\Jobs\\Mail", queue="emails"))
    jobs.insert(7, "App\\H@run")
    ids = await q.bulk(jobs)
    assert len(ids) == len(jobs) and len(set(ids)) == len(jobs)
    both = await q.sizes(["default", "emails"])
    assert both == {k: v for k, v in (await q.sizes()).items()}
    sizes = await q.sizes()
    assert sizes["default"].pending == 2501 and sizes["default"].delayed == 1
    assert sizes["emails"].pending == 1 and sizes["default"].total == 2502
    assert await q.redis.llen(q.keys().notify) == 2501
    page = await q.jobs(offset=0, limit=10)
    names = [j.payload.display_name for j in page if j.payload]
    assert names[:5] == ["App\\Jobs\\N"] * 3 + ["App\\Jobs\\N", "App\\Jobs\\N"]
    assert "App\\H" in names
    # FIFO order of the ready list = order of the jobs
    ready_ids = [j.id for j in await q.jobs(limit=5000)]
    assert ready_ids == [
        i
        for i, j in zip(ids, jobs, strict=True)
        if not isinstance(j, PhpJob) or (j.delay is None and j.queue is None)
    ]


async def test_inspection_and_clear(app: AsyncLaravel) -> None:
    q = app.queue
    ids = [await q.push(PhpJob("App\\Jobs\\N", {"i": i})) for i in range(5)]
    await q.later(10, PhpJob("App\\Jobs\\D"))
    await q.redis.zadd(q.keys().reserved, {b'{"job":"X@y","attempts":1}': 1})
    await q.redis.rpush(q.keys().ready, b"garbage")
    assert await q.size() == 8
    page = await q.jobs(offset=2, limit=2)
    assert [j.id for j in page] == ids[2:4]
    bad = (await q.jobs(offset=5, limit=1))[0]
    assert bad.payload is None and bad.error and "not JSON" in bad.error
    reserved = await q.jobs(state="reserved")
    assert (
        reserved[0].score == 1.0
        and reserved[0].payload
        and reserved[0].payload.attempts == 1
    )
    found = await q.find(ids[4] or "")
    assert found is not None and found.state == "pending"
    assert await q.find("nope") is None
    assert await q.queues() == ["default"]
    assert await q.clear() == 8
    assert await q.size() == 0 and await q.redis.exists(q.keys().notify) == 0


async def test_unique_job_lock(app: AsyncLaravel) -> None:
    q = app.queue
    job = PhpJob("App\\Jobs\\Unique", {"a": 1}, unique_id="42", unique_for=60)
    first = await q.push(job)
    assert first is not None
    assert await q.push(job) is None  # lock taken: skipped like Laravel
    key = q.unique_lock_key(job)
    assert key == app.keys.lock("laravel_unique_job:App\\Jobs\\Unique:42")
    lock_client = app.connection(app.config.lock_connection)
    owner = await lock_client.get(key)
    assert owner is not None and len(owner) == 16 and owner.isalnum()
    assert 59 <= await lock_client.ttl(key) <= 60
    assert await q.pending_size() == 1
    ids = await q.bulk([job, PhpJob("App\\Jobs\\Unique", unique_id="43")])
    assert ids[0] is None and ids[1] is not None
    assert (
        await lock_client.ttl(app.keys.lock("laravel_unique_job:App\\Jobs\\Unique:43"))
        == -1
    )


async def test_unique_lock_key_before_11(redis_url: str, prefix: str) -> None:
    async with make_app(redis_url, prefix, laravel_version="10.50") as laravel:
        job = PhpJob("App\\Jobs\\Unique", unique_id=7)
        assert laravel.queue.unique_lock_key(job).endswith(
            b"laravel_unique_job:App\\Jobs\\Unique7"
        )


async def test_horizon_payload(redis_url: str, prefix: str) -> None:
    async with make_app(redis_url, prefix, horizon=True) as laravel:
        from ninja_redis.payloads import ModelIdentifier

        job = PhpJob(
            "App\\Jobs\\H", {"user": ModelIdentifier("App\\Models\\User", 7), "s": "é"}
        )
        job_id = await laravel.queue.push(job)
        (entry,) = await laravel.queue.jobs()
        p = entry.payload
        assert p is not None and p.id == p.uuid == job_id
        assert list(p.payload)[-4:] == ["type", "tags", "silenced", "pushedAt"]
        assert p.get("tags") == ["App\\Models\\User:7"] and p.get("type") == "job"
        assert b"\\u00e9" in entry.raw  # default json_encode flags: unicode escaped
        assert float(p.get("pushedAt")) == pytest.approx(time.time(), abs=5)


def _fix_ids(payload: bytes) -> bytes:
    """``payload`` with uuid, id and createdAt set to fixed values."""
    import re

    payload = re.sub(rb'"uuid":"[0-9a-f-]{36}"', b'"uuid":"U"', payload, count=1)
    payload = re.sub(rb'"id":"[A-Za-z0-9-]{32,36}"', b'"id":"I"', payload, count=1)
    return re.sub(rb'"createdAt":\d+', b'"createdAt":0', payload, count=1)


def _bulk_jobs() -> list[Any]:
    from ninja_redis.payloads import Prop, private, protected
    from ninja_redis.php import PhpEnum

    status = PhpEnum("App\\Enums\\InvoiceStatus", "Draft")
    jobs: list[Any] = []
    for i in range(1203):
        jobs.append(
            PhpJob(
                "App\\Jobs\\SendInvoiceEmail",
                {
                    "invoiceId": i,
                    "email": protected(f"b{i}/x@example.com"),
                    "meta": private({"lines": [{"sku": 'é"\\', "qty": i}]}),
                    "status": status,
                    "dueAt": Prop(None, default=None),
                },
                tries=5,
                backoff=[10, 60, 300],
                timeout=120,
                max_exceptions=2,
            )
        )
    jobs.append(PhpJob("App\\Jobs\\Twice", {"a": status, "b": status}))
    jobs.append(PhpJob("App\\Jobs\\Secret", {"s": "x"}, encrypted=True))
    jobs.append("App\\Handlers\\H@run")
    return jobs


@pytest.mark.parametrize("version", ["8.83", "12.67", "13.0"])
async def test_bulk_payloads_equal_push_payloads(
    redis_url: str, prefix: str, version: str
) -> None:
    async with make_app(redis_url, prefix, laravel_version=version) as laravel:
        q = laravel.queue
        jobs = _bulk_jobs()
        pushed = [await q.push(job, "one") for job in jobs]
        bulked = await q.bulk(jobs, "two")
        one = await q.redis.lrange(q.keys("one").ready, 0, -1)
        two = await q.redis.lrange(q.keys("two").ready, 0, -1)
        assert [json.loads(p)["id"] for p in one] == pushed
        assert [json.loads(p)["id"] for p in two] == bulked
        assert len(set(pushed + bulked)) == 2 * len(jobs)
        encrypted = len(jobs) - 2
        for i, (a, b) in enumerate(zip(one, two, strict=True)):
            if i == encrypted:  # a fresh IV per encryption: compare the plaintext
                pa, pb = parse_payload(a), parse_payload(b)
                assert pa.command_bytes(q.builder.encrypter) == pb.command_bytes(
                    q.builder.encrypter
                )
                continue
            assert _fix_ids(a) == _fix_ids(b)
        for name in ("one", "two"):
            assert await q.redis.llen(q.keys(name).notify) == len(jobs)
            assert await q.redis.lrange(q.keys(name).notify, 0, 0) == [b"1"]


async def test_push_after_script_flush_and_killed_connection(
    app: AsyncLaravel,
) -> None:
    q = app.queue
    await q.push(PhpJob("App\\Jobs\\A"))
    await q.redis.script_flush()
    await q.push(PhpJob("App\\Jobs\\B"))  # NOSCRIPT: the script is loaded again
    await q.redis.execute_command("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "no")
    await q.push(PhpJob("App\\Jobs\\C"))  # a dead pooled connection: retried
    await q.bulk([PhpJob("App\\Jobs\\D")])
    names = [j.payload.display_name for j in await q.jobs() if j.payload]
    assert names == ["App\\Jobs\\A", "App\\Jobs\\B", "App\\Jobs\\C", "App\\Jobs\\D"]
    assert await q.redis.llen(q.keys().notify) == 4
