"""Everything ``cluster=True`` promises, on a real 3-master Redis Cluster.

The ``redis_cluster`` fixture (tests/conftest.py) starts three ``redis-server
--cluster-enabled yes`` masters. Each test builds an app with ``cluster=True`` for a
Laravel version whose behaviour differs on a cluster (8.83: reference-set tags, queue
names you brace yourself; 12.67: sorted-set tags; 13.26: automatic ``queues:{NAME}``) and
then reads back, with a plain redis-py ``RedisCluster`` client, the exact keys and bytes
Laravel would find. Keys are chosen so that they live on every master: a command that
reaches only one node, or that mixes slots, fails here.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import AsyncIterator
from typing import Any, Protocol

import pytest
import pytest_asyncio
import redis as sync_redis
from redis.asyncio.cluster import RedisCluster

from ninja_redis._async.app import AsyncLaravel
from ninja_redis._async.worker import AsyncJob
from ninja_redis.config import LaravelConfig
from ninja_redis.exceptions import LockTimeout, QueueError
from ninja_redis.payloads import PhpJob
from tests.conftest import RedisClusterServers

pytestmark = pytest.mark.cluster


def ttl_is(rc: sync_redis.RedisCluster, key: Any, seconds: int) -> bool:
    """The key was given a TTL of ``seconds`` (read back within a second of being
    set: ``PTTL`` in (seconds - 1, seconds] s, where ``TTL`` may already round down)."""
    return bool(seconds * 1000 - 1000 < rc.pttl(key) <= seconds * 1000)


APP_KEY = "base64:e59K8xMtz9ifYFctzSdIRDYiAwHijRg7zKybchfWKKA="
VERSIONS = ["8.83", "12.67", "13.26"]
#: ⟨C⟩ of each version's defaults (8.x appends ":" to "laravel_cache")
CACHE_PREFIX = {
    "8.83": "laravel_cache:",
    "12.67": "laravel-cache-",
    "13.26": "laravel-cache-",
}
JOB = "App\\Jobs\\ClusterJob"


class KeyOf(Protocol):
    def __call__(self, name: str) -> bytes: ...


@pytest.fixture
def rc(
    redis_cluster: RedisClusterServers, request: pytest.FixtureRequest
) -> sync_redis.RedisCluster:
    """A plain redis-py cluster client: what Laravel would find."""
    client = redis_cluster.client()
    request.addfinalizer(client.close)
    return client


def make_app(
    cluster: RedisClusterServers, prefix: str, version: str, **overrides: Any
) -> AsyncLaravel:
    options: dict[str, Any] = {
        "laravel_version": version,
        "redis_prefix": prefix,
        "app_key": APP_KEY,
        "cluster": True,
    }
    options.update(overrides)
    return AsyncLaravel.from_url(cluster.url, **options)


@pytest_asyncio.fixture(params=VERSIONS)
async def app(
    request: pytest.FixtureRequest, redis_cluster: RedisClusterServers, prefix: str
) -> AsyncIterator[AsyncLaravel]:
    async with make_app(redis_cluster, prefix, request.param) as laravel:
        yield laravel


def node_of(rc: sync_redis.RedisCluster, key: bytes) -> str:
    """``host:port`` of the master that holds ``key``."""
    return str(rc.get_node_from_key(key).name)


def spread(
    rc: sync_redis.RedisCluster,
    full_key: KeyOf,
    stem: str,
    per_node: int = 2,
) -> list[str]:
    """Names ``stem0, stem1, …`` until every master holds ``per_node`` of their keys."""
    masters = {n.name for n in rc.get_primaries()}
    assert len(masters) == 3
    counts = dict.fromkeys(masters, 0)
    names: list[str] = []
    for i in range(1000):
        name = f"{stem}{i}"
        node = node_of(rc, full_key(name))
        if counts[node] < per_node:
            counts[node] += 1
            names.append(name)
        if all(c >= per_node for c in counts.values()):
            return names
    raise AssertionError(f"no spread found: {counts}")


def masters_of(rc: sync_redis.RedisCluster, keys: list[bytes]) -> set[str]:
    return {node_of(rc, k) for k in keys}


def version_of(app: AsyncLaravel) -> str:
    v = app.config.laravel_version
    return f"{v.major}.{v.minor}"


async def test_from_client_with_a_cluster_client(
    redis_cluster: RedisClusterServers, rc: sync_redis.RedisCluster, prefix: str
) -> None:
    """A ``RedisCluster`` passed in makes the app a cluster app, as Laravel decides
    by the connection type (13.x queue hash tags, per-slot MGET)."""
    client = RedisCluster(host=redis_cluster.host, port=redis_cluster.port)
    try:
        config = LaravelConfig.from_url(
            redis_cluster.url, laravel_version="13.26", redis_prefix=prefix
        )
        assert config.cluster is False
        app = AsyncLaravel.from_client(client, config)
        assert app.config.cluster is True
        assert app.queue.keys().ready == (prefix + "queues:{default}").encode()
        head = (prefix + "laravel-cache-").encode()
        names = spread(rc, lambda n: head + n.encode(), "c", per_node=1)
        await app.cache.put_many(dict.fromkeys(names, "v"), 60)
        assert await app.cache.many(names) == dict.fromkeys(names, "v")
        await app.aclose()
        assert await client.ping()  # the caller's client stays open
    finally:
        await client.aclose()


# ------------------------------------------------------------------------ cache


async def test_cache_operations_across_slots(
    app: AsyncLaravel, rc: sync_redis.RedisCluster, prefix: str
) -> None:
    head = (prefix + CACHE_PREFIX[version_of(app)]).encode()

    def full(name: str) -> bytes:
        return head + name.encode()

    cache = app.cache
    names = spread(rc, full, "item")
    # put / get: SETEX ⟨P⟩⟨C⟩key ttl E(v)
    for i, name in enumerate(names):
        assert await cache.put(name, {"n": i}, 600) is True
        assert rc.get(full(name)) == b'a:1:{s:1:"n";i:%d;}' % i
        assert ttl_is(rc, full(name), 600)
        assert await cache.get(name) == {"n": i}
    # many: one MGET per slot on a cluster, the values in the caller's order
    got = await cache.many([*reversed(names), "absent"])
    assert list(got) == [*reversed(names), "absent"]
    assert got == {**{n: {"n": i} for i, n in enumerate(names)}, "absent": None}
    assert await cache.many({names[0]: "d", "absent": "dflt"}) == {
        names[0]: {"n": 0},
        "absent": "dflt",
    }
    # put_many with a TTL: Laravel 11.36+ sends one put per key on a cluster
    many = {n: f"v-{n}" for n in spread(rc, full, "many")}
    assert await cache.put_many(many, 300) is True
    for name, value in many.items():
        assert rc.get(full(name)) == b's:%d:"%b";' % (len(value), value.encode())
        assert ttl_is(rc, full(name), 300)
    assert await cache.put_many({n: 7 for n in many}) is True  # forever: plain SETs
    assert all(rc.get(full(n)) == b"7" and rc.ttl(full(n)) == -1 for n in many)
    # TTL <= 0 deletes them all (True only when every key existed)
    assert await cache.put_many(dict.fromkeys([*many, "absent"], 1), 0) is False
    assert all(rc.exists(full(n)) == 0 for n in many)
    # add: Laravel's add script, stored only once
    assert await cache.add("added", "first", 120) is True
    assert await cache.add("added", "second", 120) is False
    assert rc.get(full("added")) == b's:5:"first";' and ttl_is(rc, full("added"), 120)
    # increment / decrement keep the TTL; numbers are stored raw
    assert await cache.increment("counter") == 1
    assert await cache.increment("counter", 4) == 5
    assert await cache.decrement("counter", 2) == 3
    assert rc.get(full("counter")) == b"3" and rc.ttl(full("counter")) == -1
    assert await cache.get("counter") == "3"
    # forever / has / pull / forget
    assert await cache.forever("always", 1.5) is True
    assert rc.get(full("always")) == b"1.5" and rc.ttl(full("always")) == -1
    assert await cache.has("always") is True
    assert await cache.pull("always") == "1.5"
    assert rc.exists(full("always")) == 0
    assert await cache.forget(names[0]) is True
    assert await cache.forget(names[0]) is False
    assert rc.exists(full(names[0])) == 0
    # flexible reads the value and its created-at key (another slot) together
    assert await cache.flexible("fx", (60, 120), lambda: "fresh") == "fresh"
    created = full("illuminate:cache:flexible:created:fx")
    assert rc.get(full("fx")) == b's:5:"fresh";' and ttl_is(rc, full("fx"), 120)
    assert abs(int(rc.get(created) or 0) - int(time.time())) <= 2
    assert await cache.flexible("fx", (60, 120), lambda: "recomputed") == "fresh"


async def test_flush_by_prefix_visits_every_master(
    redis_cluster: RedisClusterServers, rc: sync_redis.RedisCluster, prefix: str
) -> None:
    async with make_app(redis_cluster, prefix, "12.67") as app:
        head = (prefix + "laravel-cache-").encode()
        names = spread(rc, lambda n: head + n.encode(), "f", per_node=3)
        assert len(masters_of(rc, [head + n.encode() for n in names])) == 3
        await app.cache.put_many(dict.fromkeys(names, "x"), 600)
        # another app's keys on the same cluster stay
        other = (prefix + "other-").encode()
        rc.set(other + b"laravel-cache-keep", b"1")
        # a cluster has one database: the session and the lock (⟨P⟩⟨C⟩ on the
        # "default" connection) share the cache's key space; the queue does not
        session = app.sessions.create()
        await app.sessions.save(session)
        assert await app.cache.lock("held", 60).get()
        await app.queue.later(60, PhpJob(JOB, {}), "{q}")
        doomed = len(names) + 2
        seen: list[int] = []
        assert await app.cache.flush(batch=2, progress=seen.append) == doomed
        assert seen and seen[-1] == doomed and len(seen) >= doomed // 2
        assert all(rc.exists(head + n.encode()) == 0 for n in names)
        assert await app.sessions.load(session.id) is None
        assert rc.exists(head + b"held") == 0
        assert rc.get(other + b"laravel-cache-keep") == b"1"
        assert rc.zcard((prefix + "queues:{q}:delayed").encode()) == 1
        assert await app.cache.flush() == 0
        # flush_locks (13.x Cache::flushLocks) scans every master the same way
        locks = spread(rc, lambda n: head + n.encode(), "lock")
        for name in locks:
            assert await app.cache.lock(name, 60).get()
        assert await app.cache.flush_locks() == len(locks)
        assert all(rc.exists(head + n.encode()) == 0 for n in locks)


async def test_flushdb_empties_every_master(
    redis_cluster: RedisClusterServers, rc: sync_redis.RedisCluster, prefix: str
) -> None:
    """Laravel's ``Cache::flush()`` on a phpredis cluster: ``FLUSHDB`` on each master."""
    async with make_app(redis_cluster, prefix, "13.26") as app:
        head = (prefix + "laravel-cache-").encode()
        names = spread(rc, lambda n: head + n.encode(), "d")
        await app.cache.put_many(dict.fromkeys(names, 1), 600)
        assert await app.cache.flush(mode="flushdb") == -1
        assert [rc.dbsize(target_nodes=n) for n in rc.get_primaries()] == [0, 0, 0]


# ------------------------------------------------------------------------- tags


async def test_tags_laravel8_reference_sets(
    redis_cluster: RedisClusterServers, rc: sync_redis.RedisCluster, prefix: str
) -> None:
    async with make_app(redis_cluster, prefix, "8.83") as app:
        head = (prefix + "laravel_cache:").encode()

        def id_key(tag: str) -> bytes:
            return head + b"tag:" + tag.encode() + b":key"

        tags = spread(rc, id_key, "tag", per_node=1)  # one tag per master
        tagged = app.cache.tags(tags)
        assert await tagged.put("u7", "x", 60) is True
        ids = [rc.get(id_key(t)) for t in tags]
        assert all(i is not None and i.startswith(b's:22:"') for i in ids)
        raw_ids = [i[6:-2] for i in ids if i is not None]
        namespace = hashlib.sha1(b"|".join(raw_ids)).hexdigest().encode()
        item = head + namespace + b":u7"
        member = b"laravel_cache:" + namespace + b":u7"
        assert rc.get(item) == b's:1:"x";' and ttl_is(rc, item, 60)
        for tag_id in raw_ids:
            assert rc.smembers(head + tag_id + b":standard_ref") == {member}
        assert await tagged.get("u7") == "x"
        assert await tagged.forever("f", [1]) is True
        for tag_id in raw_ids:
            assert rc.smembers(head + tag_id + b":forever_ref") == {
                b"laravel_cache:" + namespace + b":f"
            }
        assert await tagged.increment("n", 2) == 2
        assert rc.get(head + namespace + b":n") == b"2"
        assert await tagged.add("a", "first", 60) is True
        assert await tagged.add("a", "second", 60) is False
        assert await tagged.many(["u7", "n", "a", "none"]) == {
            "u7": "x",
            "n": "2",
            "a": "first",
            "none": None,
        }
        # the items of one tag list sit on one slot; their ref sets and ids do not
        refs = [head + i + b":standard_ref" for i in raw_ids]
        assert len(masters_of(rc, [*refs, *map(id_key, tags)])) > 1
        # flush: SSCAN each ref set, DEL members, sets and the tag ids (every master)
        assert await tagged.flush() is True
        for key in [item, head + namespace + b":f", head + namespace + b":n", *refs]:
            assert rc.exists(key) == 0
        assert all(rc.exists(id_key(t)) == 0 for t in tags)
        assert await app.cache.tags(tags).get("u7") is None  # new ids now
        assert await app.cache.flush_stale_tags() == 0  # no index in 8.x


@pytest.mark.parametrize("version", ["12.67", "13.26"])
async def test_tags_sorted_sets(
    redis_cluster: RedisClusterServers,
    rc: sync_redis.RedisCluster,
    prefix: str,
    version: str,
) -> None:
    async with make_app(redis_cluster, prefix, version) as app:
        head = (prefix + "laravel-cache-").encode()

        def zset(tag: str) -> bytes:
            return head + b"tag:" + tag.encode() + b":entries"

        tags = spread(rc, zset, "t", per_node=1)
        tagged = app.cache.tags(tags)
        namespace = hashlib.sha1(
            b"|".join(b"tag:" + t.encode() + b":entries" for t in tags)
        ).hexdigest()
        now = int(time.time())
        assert await tagged.put("john", "x", 600) is True
        item = head + f"{namespace}:john".encode()
        assert rc.get(item) == b's:1:"x";' and ttl_is(rc, item, 600)
        for t in tags:
            score = rc.zscore(zset(t), f"{namespace}:john")
            assert score is not None and now + 600 <= score <= now + 602
        assert await tagged.forever("f", "y") is True
        assert await tagged.increment("n", 3) == 3
        assert await tagged.add("a", "first", 60) is True
        assert await tagged.add("a", "second", 60) is False
        for t in tags:
            assert rc.zscore(zset(t), f"{namespace}:f") == -1
            assert rc.zscore(zset(t), f"{namespace}:n") == -1
            assert rc.zscore(zset(t), f"{namespace}:a") is not None
        assert await tagged.many(["john", "f", "n", "a"]) == {
            "john": "x",
            "f": "y",
            "n": "3",
            "a": "first",
        }
        assert await tagged.put_many({"p": 1, "q": 2}, 60) is True
        # one more item under the first tag only: flush of that tag must reach it
        solo = app.cache.tags([tags[0]])
        await solo.put("anne", "z", 600)
        solo_ns = hashlib.sha1(f"tag:{tags[0]}:entries".encode()).hexdigest()
        items = [
            head + f"{namespace}:{k}".encode() for k in ("john", "f", "n", "a", "p")
        ]
        items.append(head + f"{solo_ns}:anne".encode())
        assert all(rc.exists(k) for k in items)
        # flush of the first tag: on a cluster Laravel (every version) ZSCANs and DELs
        # the items in chunks, then DELs the zset: no cross-slot Lua flush
        assert await solo.flush() is True
        assert all(rc.exists(k) == 0 for k in items)
        assert rc.exists(zset(tags[0])) == 0
        # the other tags keep their (now stale) members, as in Laravel
        assert rc.zscore(zset(tags[1]), f"{namespace}:john") is not None
        assert await tagged.flush() is True
        assert all(rc.exists(zset(t)) == 0 for t in tags)


async def test_flush_stale_tags_scans_every_master(
    redis_cluster: RedisClusterServers, rc: sync_redis.RedisCluster, prefix: str
) -> None:
    async with make_app(redis_cluster, prefix, "12.67") as app:
        head = (prefix + "laravel-cache-").encode()

        def zset(tag: str) -> bytes:
            return head + b"tag:" + tag.encode() + b":entries"

        tags = spread(rc, zset, "stale", per_node=2)
        now = int(time.time())
        for t in tags:
            rc.zadd(zset(t), {b"old:a": now - 10, b"new:b": now + 600, b"ever:c": -1})
        # a zset of another cache prefix is left alone
        foreign = (prefix + "other-tag:x:entries").encode()
        rc.zadd(foreign, {b"old": now - 10})
        assert await app.cache.flush_stale_tags() == len(tags)
        for t in tags:
            assert rc.zrange(zset(t), 0, -1) == [b"ever:c", b"new:b"]
        assert rc.zcard(foreign) == 1
        # the per-tag-list variant (RedisTagSet::flushStaleEntries)
        for t in tags:
            rc.zadd(zset(t), {b"old:d": now - 5})
        assert await app.cache.tags(tags).flush_stale() is True
        assert all(rc.zscore(zset(t), b"old:d") is None for t in tags)


# ------------------------------------------------------------------------ locks


async def test_locks(
    app: AsyncLaravel, rc: sync_redis.RedisCluster, prefix: str
) -> None:
    head = (prefix + CACHE_PREFIX[version_of(app)]).encode()
    cache = app.cache
    lock = cache.lock("orders:process", 10, "owner-abc")
    assert await lock.get() is True
    key = head + b"orders:process"
    assert rc.get(key) == b"owner-abc" and ttl_is(rc, key, 10)
    assert await cache.lock("orders:process", 10).get() is False
    assert await lock.current_owner() == "owner-abc"
    assert await cache.restore_lock("orders:process", "wrong").release() is False
    assert rc.get(key) == b"owner-abc"
    # block(): retries every 250 ms and gives up
    with pytest.raises(LockTimeout):
        await cache.lock("orders:process", 10).block(0.3)
    assert await lock.release() is True
    assert rc.exists(key) == 0
    blocked = cache.lock("orders:process", 5)
    assert await blocked.block(1) is blocked
    assert ttl_is(rc, key, 5)
    # a callback runs under the lock and releases it
    assert await cache.lock("other", 5).get(lambda: "done") == "done"
    assert rc.exists(head + b"other") == 0
    await cache.lock("orders:process").force_release()
    assert rc.exists(key) == 0


# --------------------------------------------------------------------- sessions


async def test_sessions(
    app: AsyncLaravel, rc: sync_redis.RedisCluster, prefix: str
) -> None:
    head = (prefix + CACHE_PREFIX[version_of(app)]).encode()
    sessions = app.sessions
    cache = sessions.enable_client_cache()  # a cluster client: stays off
    assert cache.disabled
    ids = []
    for i in range(6):  # ids on several masters
        s = sessions.create({"n": i})
        s.login(40 + i)
        await sessions.save(s)
        ids.append(s.id)
        raw = rc.get(head + s.id.encode())
        assert raw is not None and raw.startswith(b"s:") and b's:6:"_token"' in raw
        assert ttl_is(rc, head + s.id.encode(), 7200)
        loaded = await sessions.load(s.id)
        assert loaded is not None and loaded["n"] == i and loaded.user_id() == 40 + i
        via_cookie = await sessions.from_cookie(sessions.cookie_value(s))
        assert via_cookie is not None and via_cookie.id == s.id
    assert len(masters_of(rc, [head + i.encode() for i in ids])) > 1
    s = await sessions.load(ids[0])
    assert s is not None
    old = s.id
    await sessions.regenerate(s)
    await sessions.save(s)
    assert rc.exists(head + old.encode()) == 0
    assert rc.exists(head + s.id.encode()) == 1

    def bump(session: Any) -> None:
        session["n"] += 10

    await sessions.update(s.id, bump)
    again = await sessions.load(s.id)
    assert again is not None and again["n"] == 10
    await sessions.destroy(s.id)
    assert rc.exists(head + s.id.encode()) == 0


async def test_sessions_hash_layout(
    redis_cluster: RedisClusterServers, rc: sync_redis.RedisCluster, prefix: str
) -> None:
    async with make_app(redis_cluster, prefix, "12.67", session_layout="hash") as app:
        sessions = app.sessions
        s = sessions.create({"a": 1})
        s.login(9)
        await sessions.save(s)
        key = (prefix + "session:" + s.id).encode()
        assert sessions.key(s.id) == key
        assert rc.hget(key, "user_id") == b"9"
        assert 7190 <= rc.ttl(key) <= 7200
        await sessions.save(s, if_unchanged=True)

        def inc(session: Any) -> None:
            session["a"] += 1

        await sessions.update(s.id, inc)
        loaded = await sessions.load(s.id)
        assert loaded is not None and loaded["a"] == 2 and loaded.user_id() == 9
        await sessions.destroy(s.id)
        assert rc.exists(key) == 0


# ------------------------------------------------------------------------ queue


def queue_app(
    cluster: RedisClusterServers, prefix: str, version: str, **kw: Any
) -> AsyncLaravel:
    """≤ 12.x on a cluster: the queue must be braced by the app (spec §9.2); 13.x
    braces it itself."""
    queue = "default" if version.startswith("13.") else "{default}"
    return make_app(cluster, prefix, version, queue=queue, **kw)


@pytest.mark.parametrize("version", VERSIONS)
async def test_queue_keys_and_dispatch(
    redis_cluster: RedisClusterServers,
    rc: sync_redis.RedisCluster,
    prefix: str,
    version: str,
) -> None:
    async with queue_app(redis_cluster, prefix, version) as app:
        q = app.queue
        base = (prefix + "queues:{default}").encode()
        keys = q.keys()
        assert (keys.ready, keys.delayed, keys.reserved, keys.notify) == (
            base,
            base + b":delayed",
            base + b":reserved",
            base + b":notify",
        )
        job = PhpJob(JOB, {"n": 1})
        job_id = await q.push(job)
        ready = rc.lrange(base, 0, -1)
        assert len(ready) == 1 and json.loads(ready[0])["id"] == job_id
        assert json.loads(ready[0])["data"]["commandName"] == JOB
        assert rc.lrange(base + b":notify", 0, -1) == [b"1"]
        now = int(time.time())
        later_id = await q.later(60, PhpJob(JOB, {"n": 2}))
        ((member, score),) = rc.zrange(base + b":delayed", 0, -1, withscores=True)
        assert json.loads(member)["id"] == later_id and now + 60 <= score <= now + 61
        ids = await q.bulk([PhpJob(JOB, {"n": i}) for i in range(3, 6)])
        assert [json.loads(p)["id"] for p in rc.lrange(base, 1, -1)] == ids
        assert rc.llen(base + b":notify") == 4
        assert await q.bulk(PhpJob(JOB, {"n": 0}).many([{"n": 6}, {"n": 7}])) != []
        # ShouldBeUnique: the lock (SET NX EX) on the lock connection's ⟨P⟩⟨C⟩
        unique = PhpJob(JOB, {"n": 8}, unique=True, unique_id=42, unique_for=60)
        assert await q.push(unique) is not None
        assert await q.push(unique) is None
        bulk_ids = await q.bulk([unique, PhpJob(JOB, {"n": 9})])
        assert bulk_ids[0] is None and bulk_ids[1] is not None
        sep = ":" if not version.startswith("8.") else ""
        lock_key = (
            prefix + CACHE_PREFIX[version] + f"laravel_unique_job:{JOB}{sep}42"
        ).encode()
        assert len(rc.get(lock_key) or b"") == 16 and 55 <= rc.ttl(lock_key) <= 60
        assert await q.size() == 9
        assert await q.pending_size() == 8 and await q.delayed_size() == 1
        sizes = await q.sizes()
        assert list(sizes) == [q.keys().name] and sizes[q.keys().name].total == 9
        found = await q.find(later_id or "")
        assert found is not None and found.state == "delayed"
        assert await q.clear() == 9
        for suffix in (b"", b":delayed", b":reserved", b":notify"):
            assert rc.exists(base + suffix) == 0


async def test_queue_13_hash_tag_names(
    redis_cluster: RedisClusterServers, rc: sync_redis.RedisCluster, prefix: str
) -> None:
    """13.x ``getQueueRedisKey``: braces unless the name holds a non-empty ``{…}``
    starting at its first ``{`` (``Connection::hasHashTag``)."""
    expected = {
        "emails": "queues:{emails}",
        "{billing}": "queues:{billing}",
        "x{tenant-1}": "queues:x{tenant-1}",
        "{}x": "queues:{{}x}",
        "a{}b{c}": "queues:{a{}b{c}}",
        "a}{b": "queues:{a}{b}",
    }
    async with make_app(redis_cluster, prefix, "13.26") as app:
        for name, key in expected.items():
            base = (prefix + key).encode()
            assert app.queue.keys(name).ready == base, name
            await app.queue.push(PhpJob(JOB, {}), name)
            assert rc.llen(base) == 1 and rc.llen(base + b":notify") == 1, name
            assert await app.queue.size(name) == 1
        # SCAN of every master finds them all; each name found maps back to its key
        found = await app.queue.queues()
        assert len(found) == len(expected)
        assert {app.queue.keys(n).ready for n in found} == {
            (prefix + k).encode() for k in expected.values()
        }
        assert "emails" in found and "x{tenant-1}" in found


async def test_queue_without_hash_tag_before_13_is_refused(
    redis_cluster: RedisClusterServers, rc: sync_redis.RedisCluster, prefix: str
) -> None:
    """≤ 12.x leaves ``queues:default`` unbraced: its four keys are on different
    slots and Laravel's push/pop/size/clear scripts fail (CROSSSLOT). Those are refused
    with a hint before anything is sent; single-key commands (``later``'s ``ZADD``,
    ``LLEN``) work, as they do for Laravel."""
    async with make_app(redis_cluster, prefix, "12.67") as app:
        q = app.queue
        base = (prefix + "queues:default").encode()
        assert q.keys().ready == base
        with pytest.raises(QueueError, match="hash tag"):
            await q.push(PhpJob(JOB, {}))
        with pytest.raises(QueueError, match="hash tag"):
            await q.bulk([PhpJob(JOB, {}), PhpJob(JOB, {})])
        with pytest.raises(QueueError, match="hash tag"):
            await q.size()
        with pytest.raises(QueueError, match="hash tag"):
            await q.clear()
        with pytest.raises(QueueError, match="'\\{default\\}'"):
            app.worker()
        assert rc.exists(base) == 0 and rc.exists(base + b":notify") == 0
        assert await q.later(30, PhpJob(JOB, {})) is not None
        assert rc.zcard(base + b":delayed") == 1
        assert await q.pending_size() == 0 and await q.delayed_size() == 1


# ----------------------------------------------------------------------- worker


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("concurrency", [1, 2])
async def test_worker_drains_releases_and_fails(
    redis_cluster: RedisClusterServers,
    rc: sync_redis.RedisCluster,
    prefix: str,
    version: str,
    concurrency: int,
) -> None:
    async with queue_app(redis_cluster, prefix, version, failed_driver="redis") as app:
        q = app.queue
        base = (prefix + "queues:{default}").encode()
        await q.bulk([PhpJob(JOB, {"kind": "ok", "n": i}) for i in range(4)])
        await q.push(PhpJob(JOB, {"kind": "flaky", "n": 10}, tries=3))
        await q.push(PhpJob(JOB, {"kind": "release", "n": 11}, tries=3))
        await q.push(PhpJob(JOB, {"kind": "bad", "n": 12}))
        await q.later(0, PhpJob(JOB, {"kind": "ok", "n": 13}))
        seen: list[tuple[int, int]] = []

        async def handle(job: AsyncJob) -> None:
            props = job.properties
            seen.append((props["n"], job.attempts))
            if props["kind"] == "flaky" and job.attempts == 1:
                raise RuntimeError("first try fails")
            if props["kind"] == "release" and job.attempts == 1:
                await job.release(0)
            if props["kind"] == "bad":
                raise ValueError("always fails")

        worker = app.worker(concurrency=concurrency, sleep=0.05, tries=1)
        worker.handler(JOB)(handle)
        result = await worker.run(stop_when_empty=True, max_time=15)
        assert result.reason == "empty"
        assert sorted(seen) == sorted(
            [(i, 1) for i in range(4)]
            + [(10, 1), (10, 2), (11, 1), (11, 2), (12, 1), (13, 1)]
        )
        assert (result.failed, result.released) == (1, 2)
        for suffix in (b"", b":delayed", b":reserved"):
            assert rc.exists(base + suffix) == 0, suffix
        # the failed job went to the Redis failed list with its original payload
        failed = rc.lrange((prefix + "queues:failed").encode(), 0, -1)
        assert len(failed) == 1
        entry = json.loads(failed[0])
        assert entry["queue"] == q.keys().name
        assert json.loads(entry["payload"])["attempts"] == 0
        assert "always fails" in entry["exception"]
        # queue:retry pushes it back onto its queue (the same hash-tagged key)
        failer = worker.failer
        assert await failer.retry(entry["id"]) is not None
        assert await failer.all() == []
        (again,) = rc.lrange(base, 0, -1)
        assert json.loads(again)["data"] == json.loads(entry["payload"])["data"]
        assert rc.llen(base + b":notify") == 1


async def test_worker_blocking_pop(
    redis_cluster: RedisClusterServers, rc: sync_redis.RedisCluster, prefix: str
) -> None:
    """``block_for``: BLPOP on ``queues:{Q}:notify`` (the slot of the queue)."""
    async with queue_app(redis_cluster, prefix, "13.26") as app:
        await app.queue.push(PhpJob(JOB, {"n": 1}))
        done: list[int] = []

        async def handle(job: AsyncJob) -> None:
            done.append(job.properties["n"])

        worker = app.worker(block_for=1, sleep=0)
        worker.handler(JOB)(handle)
        result = await worker.run(stop_when_empty=True, max_time=10)
        assert done == [1] and result.reason == "empty"
        assert rc.llen((prefix + "queues:{default}:notify").encode()) == 0
