"""AsyncWorker around the handler, against a real Redis: job chains
(``dispatchNextJobInChain``), ``ShouldBeUnique`` locks, ``queue:restart``,
``queue:pause`` and batched jobs, as Laravel 8-13 do them (spec §9.6, §4.5)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
import redis as redis_sync

from ninja_redis import _chains, _scripts, php
from ninja_redis._async import _backend
from ninja_redis._async.app import AsyncLaravel
from ninja_redis._async.failed import AsyncRedisFailedJobStore
from ninja_redis._async.worker import AsyncJob, AsyncWorker
from ninja_redis.payloads import PhpJob, private, protected

A, B, C = "App\\Jobs\\A", "App\\Jobs\\B", "App\\Jobs\\C"
VERSIONS = ["8.83", "10.50", "11.56", "12.67", "13.26"]


def make_app(redis_url: str, prefix: str, version: str, **kw: Any) -> AsyncLaravel:
    kw.setdefault("failed_driver", "redis")
    return AsyncLaravel.from_url(
        redis_url, laravel_version=version, redis_prefix=prefix, **kw
    )


@pytest_asyncio.fixture
async def app(redis_url: str, prefix: str) -> AsyncIterator[AsyncLaravel]:
    async with make_app(redis_url, prefix, "12.67") as laravel:
        yield laravel


@pytest.fixture
def r(redis_url: str) -> redis_sync.Redis:
    return redis_sync.Redis.from_url(redis_url)


def make_worker(app: AsyncLaravel, queues: list[str] | None = None, **kw: Any) -> Any:
    kw.setdefault("sleep", 0)
    kw.setdefault("handle_signals", False)
    return AsyncWorker(app, queues, **kw)


def record(seen: list[Any], worker: AsyncWorker, *classes: str, **kw: Any) -> None:
    """Handlers that append (class, queue, properties) to ``seen``."""
    for cls in classes:

        async def handle(job: AsyncJob, cls: str = cls) -> None:
            seen.append((cls, job.queue, job.properties))

        worker.handler(cls, **kw)(handle)


def comparable(raw: bytes) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(raw)
    for field in ("uuid", "id", "createdAt"):
        body.pop(field, None)
    return body


# ---------------------------------------------------------------------- chains


@pytest.mark.parametrize("version", VERSIONS)
async def test_python_chain_runs_end_to_end_with_laravel_payloads(
    redis_url: str, prefix: str, r: redis_sync.Redis, version: str
) -> None:
    async with make_app(redis_url, prefix, version) as app:
        b_props = {"b": "x/é", "secret": private([1, 2]), "p": protected(None)}
        c_props = {"c": protected(3)}
        first = PhpJob(
            A,
            {"a": 1},
            chain=[PhpJob(B, b_props), PhpJob(C, c_props)],
            chain_queue="chained",
            chain_connection="redis",
        )
        await app.queue.push(first)
        w = make_worker(app, ["default", "chained"])
        seen: list[Any] = []
        record(seen, w, A, B, C)
        assert (await w.run(once=True)).deleted == 1
        chained = app.keys.queue("chained")
        [pushed] = r.lrange(chained.ready, 0, -1)
        # What Laravel's dispatchNextJobInChain() + dispatch() push: B with the rest
        # of the chain and the chain settings, as this version serializes B.
        expected = app.queue.builder.build(
            PhpJob(
                B,
                b_props,
                queue="chained",
                connection="redis",
                chain=[PhpJob(C, c_props)],
                chain_queue="chained",
                chain_connection="redis",
            )
        )
        assert comparable(pushed) == comparable(expected)  # command included
        result = await w.run(stop_when_empty=True)
        assert (result.jobs, result.deleted, result.failed) == (2, 2, 0)
        # Bus::chain([...])->onQueue('chained'): the first job runs there too
        assert [(cls, queue) for cls, queue, _ in seen] == [
            (A, "chained"),
            (B, "chained"),
            (C, "chained"),
        ]
        assert seen[1][2]["b"] == "x/é" and seen[2][2]["c"] == 3
        assert seen[2][2].get("chained", []) == []
        assert r.llen(chained.ready) == 0 and r.zcard(chained.reserved) == 0


async def test_chain_queue_fallbacks_and_delay(
    app: AsyncLaravel, r: redis_sync.Redis
) -> None:
    # B names its own queue (wins over chainQueue); C has none and no chainQueue is set
    # on the chain, so C goes to the connection's default queue; C has a delay.
    first = PhpJob(A, {}, chain=[PhpJob(B, {}, queue="own"), PhpJob(C, {}, delay=30)])
    await app.queue.push(first, "start")
    w = make_worker(app, ["start", "own", "default"])
    seen: list[Any] = []
    record(seen, w, A, B, C)
    await w.run(once=True)
    [b_raw] = r.lrange(app.keys.queue("own").ready, 0, -1)
    assert json.loads(b_raw)["displayName"] == B
    t0 = int(_backend.wall_time())
    await w.run(once=True)
    default = app.keys.queue("default")
    assert r.llen(default.ready) == 0
    [(c_raw, score)] = r.zrange(default.delayed, 0, -1, withscores=True)
    assert t0 + 30 <= score <= int(_backend.wall_time()) + 30
    body = json.loads(c_raw)
    assert body["displayName"] == C and body["delay"] == 30  # 12.11+ payload field
    assert 's:5:"delay";i:30;' in body["data"]["command"]


async def test_chain_continues_only_after_success(
    app: AsyncLaravel, r: redis_sync.Redis
) -> None:
    store = AsyncRedisFailedJobStore(app)
    w = make_worker(app, ["q"], failer=store)

    @w.handler(A)
    async def handle(job: AsyncJob) -> None:
        what = job.properties["what"]
        if what == "release":
            await job.release(60)
        elif what == "delete":
            await job.delete()  # deleted by the handler: the chain still continues
        elif what == "fail":
            await job.fail()
        elif what == "throw":
            raise RuntimeError("boom")

    for what in ("release", "throw", "fail", "delete", "ok"):
        await app.queue.push(PhpJob(A, {"what": what}, chain=[PhpJob(B, {})]), "q")
    result = await w.run(stop_when_empty=True)
    assert result.jobs == 5
    pushed = [
        json.loads(p)["displayName"] for p in r.lrange(app.keys.queue().ready, 0, -1)
    ]
    assert pushed == [B, B]  # after "delete" and "ok" only
    assert len(await store.all()) == 2  # "throw" (tries 1) and "fail"


async def test_next_job_on_another_connection_is_a_job_exception(
    app: AsyncLaravel, r: redis_sync.Redis
) -> None:
    store = AsyncRedisFailedJobStore(app)
    w = make_worker(app, ["q"], failer=store, tries=2)
    ran: list[int] = []

    @w.handler(A)
    async def handle(job: AsyncJob) -> None:
        ran.append(job.attempts)

    job = PhpJob(A, {}, chain=[PhpJob(B, {}, connection="sqs")])
    await app.queue.push(job, "q")
    await w.run(once=True)
    # Thrown out of CallQueuedHandler::call(): released for a retry, nothing pushed.
    keys = app.keys.queue("q")
    assert r.zcard(keys.delayed) == 1 and r.llen(app.keys.queue().ready) == 0
    [member] = r.zrange(keys.delayed, 0, -1)
    r.zadd(keys.delayed, {member: 0})
    await w.run(once=True)
    [failed] = await store.all()
    assert "queue connection 'sqs'" in failed.exception and ran == [1, 2]


async def test_encrypted_job_chain_continues(
    redis_url: str, prefix: str, r: redis_sync.Redis
) -> None:
    key = "base64:" + "A" * 43 + "="
    async with make_app(redis_url, prefix, "12.67", app_key=key) as app:
        first = PhpJob(A, {"s": "x"}, encrypted=True, chain=[PhpJob(B, {"n": 2})])
        await app.queue.push(first)
        w = make_worker(app)
        seen: list[Any] = []
        record(seen, w, A, B)
        assert not json.loads(r.lindex(app.keys.queue().ready, 0))["data"][
            "command"
        ].startswith("O:")
        await w.run(stop_when_empty=True)
        assert [(c, p.get("n")) for c, _, p in seen] == [(A, None), (B, 2)]


def test_shift_is_php_array_shift() -> None:
    assert _chains.shift(["a", "b", "c"]) == ("a", ["b", "c"])
    assert _chains.shift({3: "a", 7: "b", 9: "c"}) == ("a", ["b", "c"])
    assert _chains.shift({0: "a", "k": "b", 5: "c"}) == ("a", {"k": "b", 0: "c"})


# ------------------------------------------------------------------ unique jobs


@pytest.mark.parametrize(
    ("version", "key_tail"),
    [("8.83", "App\\Jobs\\A42"), ("11.56", "App\\Jobs\\A:42")],
)
async def test_unique_lock_released_after_success(
    redis_url: str, prefix: str, r: redis_sync.Redis, version: str, key_tail: str
) -> None:
    async with make_app(redis_url, prefix, version) as app:
        job = PhpJob(A, {"uniqueId": 42}, unique_id=42)
        lock = app.queue.unique_lock_key(job)
        assert lock == app.keys.lock("laravel_unique_job:" + key_tail)
        assert await app.queue.push(job) is not None  # takes the lock
        assert await app.queue.push(job) is None  # ShouldBeUnique: not dispatched
        w = make_worker(app)
        held: list[bool] = []

        @w.handler(A, unique=True)
        async def handle(job: AsyncJob) -> None:
            held.append(bool(r.exists(lock)))

        await w.run(once=True)
        assert held == [True] and not r.exists(lock)


async def test_unique_lock_kept_on_release_and_retry_released_on_failure(
    app: AsyncLaravel, r: redis_sync.Redis
) -> None:
    store = AsyncRedisFailedJobStore(app)
    w = make_worker(app, failer=store, tries=3)
    keys = app.keys.queue()

    @w.handler(A, unique=True)
    async def handle(job: AsyncJob) -> None:
        if job.attempts == 1:
            await job.release(0)
        else:
            raise RuntimeError(f"attempt {job.attempts}")

    job = PhpJob(A, {"uniqueId": "u"}, unique_id="u")
    lock = app.queue.unique_lock_key(job)
    await app.queue.push(job)
    for attempt in (1, 2):
        await w.run(once=True)
        assert r.exists(lock), attempt  # released / retried: still unique
        [member] = r.zrange(keys.delayed, 0, -1)
        r.zadd(keys.delayed, {member: 0})
    await w.run(once=True)  # attempt 3 throws: failed, lock released
    assert not r.exists(lock) and len(await store.all()) == 1


async def test_unique_lock_released_when_max_attempts_exceeded(
    app: AsyncLaravel, r: redis_sync.Redis
) -> None:
    job = PhpJob(A, {}, unique=True, tries=1)
    lock = app.queue.unique_lock_key(job)
    await app.queue.push(job)
    keys = app.keys.queue()
    raw = r.lpop(keys.ready)
    assert raw is not None
    body = json.loads(raw)
    body["attempts"] = 1  # a lost worker already used the only attempt
    r.rpush(keys.ready, json.dumps(body))
    w = make_worker(app, failer=AsyncRedisFailedJobStore(app))
    ran: list[int] = []

    @w.handler(A, unique=True)
    async def handle(job: AsyncJob) -> None:
        ran.append(1)

    assert (await w.run(once=True)).failed == 1
    assert ran == [] and not r.exists(lock)


async def test_unique_until_processing(app: AsyncLaravel, r: redis_sync.Redis) -> None:
    w = make_worker(app, failer=AsyncRedisFailedJobStore(app))
    job = PhpJob(A, {"uniqueId": 7}, unique_id=7)
    lock = app.queue.unique_lock_key(job)
    held: list[bool] = []

    @w.handler(A, unique="until_processing")
    async def handle(job: AsyncJob) -> None:
        held.append(bool(r.exists(lock)))
        r.set(lock, b"a-new-dispatch")  # the next dispatch may take it meanwhile
        raise RuntimeError("boom")

    await app.queue.push(job)
    assert (await w.run(once=True)).failed == 1
    # Released before the handler; a failure does not release it again.
    assert held == [False] and r.get(lock) == b"a-new-dispatch"


async def test_unique_id_from_callable_and_display_name(
    redis_url: str, prefix: str, r: redis_sync.Redis
) -> None:
    async with make_app(redis_url, prefix, "12.67") as app:
        # uniqueId() is a method here: the registration computes it; and the job
        # defines displayName(), so 12.54+ names the lock after xxh128 of it.
        job = PhpJob(A, {"order": 9}, unique_id="order-9", display_name="order 9")
        lock = app.queue.unique_lock_key(job)
        assert b"App" not in lock and lock.endswith(b":order-9")
        await app.queue.push(job)
        w = make_worker(app)
        w.handler(A, unique=True, unique_id=lambda cmd: f"order-{cmd['order']}")(
            lambda job: _backend.sleep(0)
        )
        assert r.exists(lock)
        await w.run(once=True)
        assert not r.exists(lock)


async def test_unique_registration_is_validated(app: AsyncLaravel) -> None:
    w = make_worker(app)
    with pytest.raises(ValueError):
        w.handler(A, unique="yes")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        w.handler(A, unique_id=lambda cmd: 1)


async def test_chain_takes_the_unique_lock_of_the_next_job(
    app: AsyncLaravel, r: redis_sync.Redis
) -> None:
    w = make_worker(app, ["q"])
    seen: list[Any] = []
    record(seen, w, A)
    record(seen, w, B, unique=True)
    nxt = PhpJob(B, {"uniqueId": 5, "uniqueFor": 600})
    lock = app.queue.unique_lock_key(PhpJob(B, unique_id=5))
    r.set(lock, b"someone")  # taken: PendingDispatch drops the next job
    await app.queue.push(PhpJob(A, {}, chain=[nxt]), "q")
    await w.run(once=True)
    assert r.llen(app.keys.queue().ready) == 0 and r.get(lock) == b"someone"
    r.delete(lock)
    await app.queue.push(PhpJob(A, {}, chain=[nxt]), "q")
    await w.run(once=True)
    assert r.llen(app.keys.queue().ready) == 1
    assert r.exists(lock) and 0 < r.ttl(lock) <= 600  # uniqueFor


# --------------------------------------------------------------- queue:restart


async def test_queue_restart_stops_after_the_current_job(
    app: AsyncLaravel, r: redis_sync.Redis
) -> None:
    await app.cache.forever("illuminate:queue:restart", 1700000000)
    for n in range(3):
        await app.queue.push(PhpJob(A, {"n": n}))
    w = make_worker(app, interruption_poll_interval=0)
    ran: list[int] = []

    @w.handler(A)
    async def handle(job: AsyncJob) -> None:
        ran.append(job.properties["n"])
        # php artisan queue:restart while the first job runs
        await app.cache.forever("illuminate:queue:restart", 1700000100)

    result = await w.run(max_time=10)
    assert result.reason == "restart" and ran == [0] and result.deleted == 1
    assert r.llen(app.keys.queue().ready) == 2


async def test_queue_restart_can_be_turned_off(
    app: AsyncLaravel, r: redis_sync.Redis
) -> None:
    for n in range(2):
        await app.queue.push(PhpJob(A, {"n": n}))
    w = make_worker(app, restartable=False, interruption_poll_interval=0)

    @w.handler(A)
    async def handle(job: AsyncJob) -> None:
        await app.cache.forever("illuminate:queue:restart", job.properties["n"] + 1)

    result = await w.run(stop_when_empty=True)
    assert result.reason == "empty" and result.jobs == 2


async def test_queue_restart_seen_by_an_idle_worker(app: AsyncLaravel) -> None:
    w = make_worker(app, sleep=0.02, interruption_poll_interval=0.1)
    results: list[Any] = []

    async def go() -> None:
        results.append(await w.run(max_time=5))

    handle = _backend.spawn(go)
    await _backend.sleep(0.3)
    assert not results
    t0 = _backend.monotonic()
    await app.cache.forever("illuminate:queue:restart", 1)
    await _backend.wait_spawned([handle])
    assert results[0].reason == "restart" and _backend.monotonic() - t0 < 2


@pytest.mark.parametrize("interval", [3600.0, 0.0])
async def test_interruption_polls_are_not_per_job(
    redis_server_factory: Any, prefix: str, interval: float
) -> None:
    server = redis_server_factory()
    r = server.client()
    async with AsyncLaravel.from_url(
        server.url, laravel_version="12.67", redis_prefix=prefix
    ) as app:
        n = 30
        for i in range(n):
            await app.queue.push(PhpJob(A, {"n": i}))
        w = make_worker(app, interruption_poll_interval=interval)
        w.handler(A)(lambda job: _backend.sleep(0))
        r.script_load(_scripts.load("queue_next"))
        r.config_resetstat()
        result = await w.run(stop_when_empty=True)
        stats: dict[str, Any] = r.info("commandstats")
        calls = {k.removeprefix("cmdstat_"): int(v["calls"]) for k, v in stats.items()}
        assert result.jobs == n and calls["evalsha"] == n + 1
        # restart + paused key, read in one pipeline: at start only, or (interval 0,
        # Laravel's rhythm) also before each of the n + 1 pops
        polls = 1 if interval else n + 2
        assert calls["get"] == 2 * polls
    r.close()


# ----------------------------------------------------------------- queue:pause


async def test_paused_queue_is_skipped(app: AsyncLaravel, r: redis_sync.Redis) -> None:
    await app.queue.push(PhpJob(A, {"n": 1}), "high")
    await app.queue.push(PhpJob(A, {"n": 2}), "low")
    # QueueManager::pause('redis', 'high'): Cache::forever(key, true)
    await app.cache.forever("illuminate:queue:paused:redis:high", True)
    w = make_worker(app, ["high", "low"], interruption_poll_interval=0)
    ran: list[int] = []

    @w.handler(A)
    async def handle(job: AsyncJob) -> None:
        ran.append(job.properties["n"])

    result = await w.run(stop_when_empty=True)
    assert result.reason == "empty" and ran == [2]
    assert r.llen(app.keys.queue("high").ready) == 1
    assert (await w.run(once=True)).jobs == 0  # --once skips it too
    await app.cache.forget("illuminate:queue:paused:redis:high")  # queue:continue
    await w.run(stop_when_empty=True)
    assert ran == [2, 1]


async def test_pause_of_the_only_queue_and_falsy_values(
    app: AsyncLaravel, r: redis_sync.Redis
) -> None:
    await app.queue.push(PhpJob(A, {}))
    w = make_worker(app, interruption_poll_interval=0)
    w.handler(A)(lambda job: _backend.sleep(0))
    await app.cache.forever("illuminate:queue:paused:redis:default", True)
    assert (await w.run(stop_when_empty=True)).jobs == 0
    await app.cache.forever("illuminate:queue:paused:redis:default", False)
    assert (await w.run(stop_when_empty=True)).jobs == 1


@pytest.mark.parametrize(
    ("version", "key", "honoured"),
    [
        ("12.39", "illuminate:queue:paused:redis:default", False),
        ("12.40", "illuminate:queue:paused:redis:default", True),
        ("12.67", "illuminate:queues:paused", False),
        ("13.25", "illuminate:queues:paused", True),
    ],
)
async def test_pause_follows_the_configured_version(
    redis_url: str, prefix: str, version: str, key: str, honoured: bool
) -> None:
    async with make_app(redis_url, prefix, version) as app:
        await app.queue.push(PhpJob(A, {}))
        await app.cache.forever(key, True)
        w = make_worker(app, interruption_poll_interval=0)
        w.handler(A)(lambda job: _backend.sleep(0))
        assert (await w.run(stop_when_empty=True)).jobs == (0 if honoured else 1)
        off = make_worker(app, pausable=False)
        off.handler(A)(lambda job: _backend.sleep(0))
        await app.queue.push(PhpJob(A, {}))
        assert (await off.run(stop_when_empty=True)).jobs >= 1


async def test_pause_key_uses_the_connection_name(app: AsyncLaravel) -> None:
    await app.queue.push(PhpJob(A, {}))
    await app.cache.forever("illuminate:queue:paused:redis:default", True)
    w = make_worker(app, connection_name="jobs", interruption_poll_interval=0)
    w.handler(A)(lambda job: _backend.sleep(0))
    assert (await w.run(stop_when_empty=True)).jobs == 1


# --------------------------------------------------------------------- batches


async def test_batched_job_runs_and_records_nothing(
    app: AsyncLaravel, r: redis_sync.Redis, prefix: str, redis_url: str
) -> None:
    batch = "9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d"
    traits = ("Batchable", "InteractsWithQueue", "Queueable")
    await app.queue.push(PhpJob(A, {"n": 1}, batch_id=batch, traits=traits))
    assert json.loads(r.lindex(app.keys.queue().ready, 0))["data"]["batchId"] == batch
    cache_db = redis_sync.Redis.from_url(redis_url, db=1)
    assert app.config.connection(app.config.cache_connection).database == 1

    def stored() -> set[bytes]:
        return set(r.keys(prefix.encode() + b"*")) | set(
            cache_db.keys(prefix.encode() + b"*")
        )

    before = stored()
    w = make_worker(app)
    seen: list[Any] = []

    @w.handler(A)
    async def handle(job: AsyncJob) -> None:
        seen.append(job.batch_id)

    result = await w.run(once=True)
    assert seen == [batch] and result.deleted == 1 and result.failed == 0
    assert stored() <= before  # nothing about the batch was written


async def test_batch_id_of_an_older_payload_comes_from_the_command(
    redis_url: str, prefix: str
) -> None:
    async with make_app(redis_url, prefix, "10.50") as app:
        batch = "b-1"
        job = PhpJob(A, {}, batch_id=batch, traits=("Batchable", "Queueable"))
        await app.queue.push(job)
        w = make_worker(app)
        seen: list[Any] = []

        @w.handler(A)
        async def handle(job: AsyncJob) -> None:
            seen.append((job.payload.batch_id, job.batch_id))

        await w.run(once=True)
        assert seen == [(None, batch)]


def test_php_serialize_of_a_chain_round_trips() -> None:
    # The worker re-serializes the unserialized next job: php.dumps(php.loads(x)) == x
    # for what chains hold (objects, references, enums, nested arrays).
    raw = PhpJob(A, {"x": [1, {"k": 2.5}], "e": php.PhpEnum("E", "A")}).php_object()
    blob = php.dumps(raw)
    assert php.dumps(php.loads(blob)) == blob
