"""Spec §0 version boundaries that need a real Redis (the pure parts are in
``tests/unit/test_version_table.py``, whose PHP peer and generators are reused here).

Each test runs on both sides of its boundary with generated keys, values and names,
and reads the raw bytes back with a plain redis-py client.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import string
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis as sync_redis
from redis.exceptions import AuthenticationError

from ninja_redis._async._backend import wall_time
from ninja_redis._async.app import AsyncLaravel
from ninja_redis._async.worker import AsyncJob, AsyncWorker
from ninja_redis.config import LaravelVersion
from ninja_redis.exceptions import LockError
from ninja_redis.payloads import PhpJob
from ninja_redis.php import PhpObject
from tests.unit.test_version_table import (
    app_name,
    enc,
    numeric_string,
    php_peer,
    php_value,
    text,
    unb64,
)

AppFactory = Any  # make_app(version, **overrides) -> AsyncLaravel


@pytest.fixture
async def make_app(redis_url: str, prefix: str) -> AsyncIterator[AppFactory]:
    apps: list[AsyncLaravel] = []

    def make(version: str, **kw: Any) -> AsyncLaravel:
        kw.setdefault("redis_prefix", prefix)
        app = AsyncLaravel.from_url(redis_url, laravel_version=version, **kw)
        apps.append(app)
        return app

    try:
        yield make
    finally:
        for app in apps:
            await app.aclose()


def raw(app: AsyncLaravel, connection: str = "default") -> sync_redis.Redis:
    conn = app.config.connection(connection)
    return sync_redis.Redis(host=conn.host, port=conn.port, db=conn.database)


def ver(version: str) -> LaravelVersion:
    return LaravelVersion.parse(version)


# ============================================================================ rows 3/4


@pytest.mark.parametrize("version", ["10.50", "11.0"])
async def test_row03_04_keys_on_the_wire(make_app: AppFactory, version: str) -> None:
    """put/lock/session keys: ⟨P⟩⟨C⟩key with the ``:`` of 8.x-10.x (none for "0")."""
    rng = random.Random(f"w03-{version}")
    for cache_prefix in ("0", text(rng) or "c", ""):
        app = make_app(version, cache_prefix=cache_prefix)
        p = app.config.redis_prefix
        if ver(version) >= (11, 0):
            c = cache_prefix
        else:  # RedisStore::setPrefix(): ! empty($prefix), and empty("0") is true
            c = "" if cache_prefix in ("", "0") else cache_prefix + ":"
        db1, db0 = raw(app, "cache"), raw(app)
        for _ in range(5):
            key, value = text(rng) or "k", php_value(rng)
            assert await app.cache.put(key, value, 60)
            stored = db1.get((p + c + key).encode())
            assert stored == app.codec(app.config.cache_connection).dumps(value)
            assert 0 < db1.ttl((p + c + key).encode()) <= 60
            name = text(rng) or "l"
            assert await app.cache.lock(name, 30, "own").get()
            assert db0.get((p + c + name).encode()) == b"own"


# ============================================================================== row 6


@pytest.mark.parametrize("version", ["9.52", "10.0"])
async def test_row06_tag_design(make_app: AppFactory, version: str) -> None:
    """9.x: tag ids at tag:NAME:key and SADD …:standard_ref; 10.0+: ZADD into
    tag:NAME:entries (score now+ttl), the member without ⟨P⟩⟨C⟩."""
    rng = random.Random(f"w06-{version}")
    app = make_app(version, cache_prefix=text(rng) or "c")
    db1 = raw(app, "cache")
    head = (app.config.redis_prefix + app.config.effective_cache_prefix).encode()
    names = [text(rng, 6) or "t1", (text(rng, 6) or "t2") + "x"]
    key, value = text(rng) or "k", php_value(rng)
    before = int(wall_time())
    assert await app.cache.tags(names).put(key, value, 600)
    if ver(version) >= (10, 0):
        ns = hashlib.sha1("|".join(f"tag:{n}:entries" for n in names).encode())
        member = f"{ns.hexdigest()}:{key}".encode()
        for n in names:
            score = db1.zscore(head + f"tag:{n}:entries".encode(), member)
            assert score is not None and before + 600 <= score <= int(wall_time()) + 600
        assert db1.get(head + member) == app.codec(app.config.cache_connection).dumps(
            value
        )
        assert not db1.exists(head + f"tag:{names[0]}:key".encode())
    else:
        ids = [
            app.codec(app.config.cache_connection).loads(
                db1.get(head + f"tag:{n}:key".encode())
            )
            for n in names
        ]
        assert all(len(i) == 22 for i in ids)
        ns = hashlib.sha1("|".join(ids).encode()).hexdigest()
        ref = (app.config.effective_cache_prefix + f"{ns}:{key}").encode()
        for i in ids:
            assert db1.smembers(head + f"{i}:standard_ref".encode()) == {ref}
        assert db1.get(head + f"{ns}:{key}".encode()) == app.codec(
            app.config.cache_connection
        ).dumps(value)
        assert not db1.exists(head + f"tag:{names[0]}:entries".encode())
    assert await app.cache.tags(names).get(key) == app.codec(
        app.config.cache_connection
    ).loads(app.codec(app.config.cache_connection).dumps(value))


@pytest.mark.parametrize(
    ("version", "style"),
    [
        ("12.29", "hyphen"),
        ("12.30", "hyphen"),
        ("12.40", "hyphen"),
        ("12.41", "hyphen"),
        ("12.35", "underscore"),
    ],
)
async def test_row06_tag_flush_12_30_and_12_41(
    make_app: AppFactory, version: str, style: str
) -> None:
    """Flushing ``people`` (an item also tagged ``artists``): items are deleted on
    every version; the ``people`` index is DEL-ed up to 12.29, emptied by the Lua ZREM
    from 12.30 — except 12.30-12.40 with a hyphenated prefix, whose unescaped Lua
    pattern matches nothing and leaves the entries; ``artists`` keeps its stale one."""
    rng = random.Random(f"w06f-{version}-{style}")
    app = make_app(version, prefix_style=style, app_name=app_name(rng) + " App")
    db1 = raw(app, "cache")
    head = (app.config.redis_prefix + app.config.effective_cache_prefix).encode()
    assert (b"-" in head) == (style == "hyphen")
    both, people = app.cache.tags(["people", "artists"]), app.cache.tags("people")
    keys = [text(rng) or f"k{i}" for i in range(5)]
    for k in keys:
        await both.put(k, php_value(rng), 600)
    await people.forever("solo", "x")
    people_z = head + b"tag:people:entries"
    artists_z = head + b"tag:artists:entries"
    assert db1.zcard(people_z) == len(set(keys)) + 1
    assert await people.flush()
    for k in keys:
        assert await both.get(k) is None
        assert not db1.exists(await both.item_key(k))
    assert db1.zcard(artists_z) == len(set(keys))  # stale entries stay
    stale = ver(version) >= (12, 30) and ver(version) < (12, 41) and style == "hyphen"
    assert db1.zcard(people_z) == (len(set(keys)) + 1 if stale else 0)


# ============================================================================== row 7


@pytest.mark.parametrize("version", ["12.28", "12.29"])
@pytest.mark.php
@pytest.mark.laravel
async def test_row07_numbers_on_the_wire(make_app: AppFactory, version: str) -> None:
    rng = random.Random(f"w07-{version}")
    app = make_app(version)
    db1 = raw(app, "cache")
    values: list[Any] = [numeric_string(rng) for _ in range(40)] + ["1e999", 0.1 + 0.2]
    expected = php_peer([{"op": "store", "v": enc(v)} for v in values])
    for i, (value, exp) in enumerate(zip(values, expected, strict=True)):
        await app.cache.forever(f"n{i}", value)
        assert db1.get(app.keys.cache(f"n{i}")) == unb64(exp[1])


# ============================================================================== row 8


@pytest.mark.parametrize("version", ["11.38", "11.39"])
@pytest.mark.php
@pytest.mark.laravel
async def test_row08_serializer_put_add_get(make_app: AppFactory, version: str) -> None:
    """With the php serializer: put() double-serialized up to 11.38, once from 11.39;
    add() unpacked up to 11.38 (EVAL args), packed from 11.39; get() gives Laravel's
    value back (int 42 stays an int under a serializer)."""
    rng = random.Random(f"w08-{version}")
    app = make_app(version, redis_serializer="php")
    db1 = raw(app, "cache")
    values = [php_value(rng, text_only=True) for _ in range(30)] + [42, "42", [1, 2]]
    expected = php_peer([{"op": "packed", "v": enc(v)} for v in values])
    new = ver(version) >= (11, 39)
    for i, (value, (old, packed, _, _, plain)) in enumerate(
        zip(values, expected, strict=True)
    ):
        assert await app.cache.put(f"p{i}", value, 60)
        assert db1.get(app.keys.cache(f"p{i}")) == unb64(packed if new else old)
        assert await app.cache.add(f"a{i}", value, 60)
        assert db1.get(app.keys.cache(f"a{i}")) == unb64(packed if new else plain)
    got = await app.cache.get(f"p{len(values) - 3}")  # phpredis unpacks i:42;
    assert got == 42 and type(got) is int


# ============================================================================== row 9


@pytest.mark.parametrize("version", ["12.52", "12.53"])
async def test_row09_serializable_classes_get(
    make_app: AppFactory, version: str
) -> None:
    rng = random.Random(f"w09-{version}")
    app = make_app(version, serializable_classes=False)
    obj = PhpObject(f"App\\Data\\D{rng.randint(1, 999)}", {"v": text(rng)})
    await app.cache.put("obj", obj, 60)
    got = await app.cache.get("obj")
    assert got.class_name == obj.class_name
    assert (type(got).__name__ == "PhpIncompleteClass") == (ver(version) >= (12, 53))


# ============================================================================= row 10


@pytest.mark.parametrize("version", ["11.22", "11.23"])
async def test_row10_flexible_keys(make_app: AppFactory, version: str) -> None:
    """11.23+ ``Cache::flexible``: the value and ``illuminate:cache:flexible:created:K``
    (a raw Unix time) with TTL ``stale``. Not refused before 11.23: the value key is a
    plain cache item that 11.22's ``Cache::get`` reads (the created key is unused)."""
    rng = random.Random(f"w10-{version}")
    app = make_app(version)
    db1 = raw(app, "cache")
    key, value = text(rng) or "k", php_value(rng, text_only=True)
    t0 = int(wall_time())
    got = await app.cache.flexible(key, (5, 60), lambda: value)
    assert got == value
    created = db1.get(app.keys.cache("illuminate:cache:flexible:created:" + key))
    assert created is not None and t0 <= int(created) <= int(wall_time())
    assert db1.get(app.keys.cache(key)) == app.codec(app.config.cache_connection).dumps(
        value
    )
    assert 0 < db1.ttl(app.keys.cache(key)) <= 60
    assert await app.cache.flexible(key, (5, 60), lambda: "other") == got
    await app.cache.wait_background()


# ============================================================================= row 11


@pytest.mark.parametrize("version", ["12.67", "13.0"])
async def test_row11_touch_and_flush_locks(make_app: AppFactory, version: str) -> None:
    """13.0 ``touch`` = EXPIRE (missing key: false; TTL 0: key gone) and
    ``flushLocks`` (refused when locks share the cache connection). Both are offered on
    12.x too (Laravel 12 has neither; the keys they touch are Laravel 12's)."""
    rng = random.Random(f"w11-{version}")
    app = make_app(version)
    db1 = raw(app, "cache")
    key = text(rng) or "k"
    await app.cache.forever(key, "v")
    assert await app.cache.touch(key, 100)
    assert 0 < db1.ttl(app.keys.cache(key)) <= 100
    assert not await app.cache.touch(key + "missing", 100)
    await app.cache.touch(key, 0)
    assert not db1.exists(app.keys.cache(key))
    same = make_app(version, lock_connection="cache")
    with pytest.raises(LockError, match="separate from the cache store"):
        await same.cache.flush_locks()


# ============================================================================= row 16


@pytest.mark.parametrize("version", ["12.44", "12.45"])
async def test_row16_later_member_and_score(make_app: AppFactory, version: str) -> None:
    """``later``: ZADD (8.x-12.44) or the ``later`` script (12.45+); either way the
    :delayed member is the payload byte for byte with score now + delay."""
    rng = random.Random(f"w16-{version}")
    app = make_app(version)
    db0 = raw(app)
    queue = text(rng, 8).replace(":", "") or "q"
    for i in range(5):
        delay = rng.randint(1, 3600)
        t0 = int(wall_time())
        job_id = await app.queue.later(
            delay, f"App\\Handlers\\H{i}@handle", queue, data=i
        )
        members = db0.zrange(app.keys.queue(queue).delayed, 0, -1, withscores=True)
        [(member, score)] = [
            (m, s) for m, s in members if json.loads(m)["id"] == job_id
        ]
        assert t0 + delay <= score <= int(wall_time()) + delay
        decoded = json.loads(member)
        assert decoded["job"] == f"App\\Handlers\\H{i}@handle"
        assert ("delay" in decoded) == (ver(version) >= (12, 11))
        assert not db0.exists(app.keys.queue(queue).notify)


# ============================================================================= row 17


@pytest.mark.parametrize("version", ["8.83", "9.0"])
async def test_row17_migration_batch_size(make_app: AppFactory, version: str) -> None:
    """migrateExpiredJobs: 9.x+ passes the batch size (LIMIT), 8.x moves every due
    job. With batch size 2 and 5 due jobs, one worker pop leaves 1 ready + 3 delayed
    (9.x) or 4 ready + 0 delayed (8.x)."""
    app = make_app(version, queue_migration_batch_size=2, failed_driver="redis")
    db0 = raw(app)
    keys = app.keys.queue()
    for i in range(5):
        db0.zadd(
            keys.delayed, {app.queue.payload("App\\Handlers\\H@handle", data=i): 1 + i}
        )
    worker = AsyncWorker(app, sleep=0, handle_signals=False)
    seen: list[Any] = []

    @worker.handler("App\\Handlers\\H")
    async def handle(job: AsyncJob) -> None:
        seen.append(job.data)

    result = await worker.run(once=True)
    assert result.deleted == 1 and seen == [0]
    if ver(version) >= (9, 0):
        assert (db0.llen(keys.ready), db0.zcard(keys.delayed)) == (1, 3)
    else:
        assert (db0.llen(keys.ready), db0.zcard(keys.delayed)) == (4, 0)


# ============================================================================= row 19


@pytest.mark.parametrize(
    "version", ["10.50", "11.0", "12.40", "12.41", "12.53", "12.54"]
)
@pytest.mark.php
@pytest.mark.laravel
async def test_row19_unique_lock_in_redis(make_app: AppFactory, version: str) -> None:
    """A ``ShouldBeUnique`` push takes ``⟨P⟩⟨C⟩laravel_unique_job:NAME[:]ID`` on the
    lock connection (SET NX EX uniqueFor); a second push is refused."""
    rng = random.Random(f"w19-{version}")
    app = make_app(version)
    db0 = raw(app)
    display = app_name(rng)
    uid = text(rng, 8)
    job = PhpJob(
        "App\\Jobs\\Sync", {"n": 1}, display_name=display, unique_id=uid, unique_for=60
    )
    if ver(version) >= (12, 54):
        name = php_peer(
            [{"op": "xxh128", "v": base64.b64encode(display.encode()).decode()}]
        )[0]
    elif ver(version) >= (12, 41):
        name = display
    else:
        name = "App\\Jobs\\Sync"
    sep = ":" if ver(version) >= (11, 0) else ""
    key = (
        app.config.redis_prefix
        + app.config.effective_cache_prefix
        + f"laravel_unique_job:{name}{sep}{uid}"
    ).encode()
    assert await app.queue.push(job) is not None
    owner = db0.get(key)
    assert owner is not None and len(owner) == 16 and 0 < db0.ttl(key) <= 60
    assert await app.queue.push(job) is None
    assert db0.llen(app.keys.queue().ready) == 1


# ============================================================================= row 22


@pytest.mark.parametrize("version", ["8.83", "9.0"])
@pytest.mark.php
@pytest.mark.laravel
async def test_row22_session_json_on_the_wire(
    make_app: AppFactory, version: str
) -> None:
    rng = random.Random(f"w22-{version}")
    app = make_app(version, session_serialization="json")
    db0 = raw(app)
    json_mode = ver(version) >= (9, 0)
    session = app.sessions.create(
        {"note": text(rng), "n": rng.randint(0, 99), "l": [1, "a/b"]}
    )
    await app.sessions.save(session, age_flash=False)
    stored = db0.get(app.keys.session(session.id))
    [exp] = php_peer(
        [{"op": "session_blob", "v": enc(dict(session.attributes)), "json": json_mode}]
    )
    assert stored == unb64(exp)
    assert 0 < db0.ttl(app.keys.session(session.id)) <= 7200
    loaded = await app.sessions.load(session.id)
    assert loaded is not None and dict(loaded.attributes) == dict(session.attributes)


# ============================================================================= row 24


@pytest.mark.parametrize("version", ["9.5", "9.6"])
async def test_row24_acl_username(redis_server_factory: Any, version: str) -> None:
    """A server where the default user has another password than ACL user ``alice``:
    9.6+ authenticates as alice; 9.5 sends AUTH with the password only (default user),
    which the server refuses — as PhpRedisConnector of that version would be refused."""
    rng = random.Random(f"w24-{version}")
    pw = "".join(rng.choice(string.ascii_letters) for _ in range(12))
    server = redis_server_factory(
        [f"user alice on >{pw} ~* &* +@all"], password="default-" + pw
    )
    env = {
        "REDIS_HOST": "127.0.0.1",
        "REDIS_PORT": str(server.port),
        "REDIS_USERNAME": "alice",
        "REDIS_PASSWORD": pw,
    }
    app = AsyncLaravel.from_mapping(env, laravel_version=version)
    try:
        if ver(version) >= (9, 6):
            assert await app.cache.put("k", "v", 10)
            assert await app.cache.get("k") == "v"
        else:
            with pytest.raises(AuthenticationError):
                await app.cache.put("k", "v", 10)
    finally:
        await app.aclose()
