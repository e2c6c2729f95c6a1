"""Failed-job stores against the real servers: PostgreSQL, MySQL/MariaDB, SQLite, the file
provider's JSON file and the Redis list; list / find / retry / forget / flush."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import redis as redis_sync

from ninja_redis._async.app import AsyncLaravel
from ninja_redis._async.failed import (
    AsyncDatabaseFailedJobStore,
    AsyncFailedJobStore,
    AsyncFileFailedJobStore,
    AsyncRedisFailedJobStore,
    failed_job_store,
    php_json_encode,
)

PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
MYSQL_URL = "mysql://root@127.0.0.1:3306/test"


def body(n: int, **extra: Any) -> bytes:
    data = {
        "uuid": f"{uuid.uuid4()}",
        "displayName": "App\\Jobs\\X",
        "job": "A@b",
        "data": {"commandName": "App\\Jobs\\X", "command": 'O:1:"x"/é'},
        "id": f"id{n}",
        "attempts": 3,
    }
    data.update(extra)
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()


@pytest_asyncio.fixture
async def app(redis_url: str, prefix: str) -> AsyncIterator[AsyncLaravel]:
    async with AsyncLaravel.from_url(
        redis_url, laravel_version="12.67", redis_prefix=prefix
    ) as laravel:
        yield laravel


@pytest_asyncio.fixture(params=["postgres", "mysql", "sqlite", "file", "redis"])
async def store(
    request: pytest.FixtureRequest, app: AsyncLaravel, tmp_path: Path
) -> AsyncIterator[AsyncFailedJobStore]:
    table = f"failed_jobs_{uuid.uuid4().hex[:10]}"
    kind = request.param
    if kind in ("postgres", "mysql", "sqlite"):
        url = {
            "postgres": PG_URL,
            "mysql": MYSQL_URL,
            "sqlite": f"sqlite:///{tmp_path / 'db.sqlite'}",
        }[kind]
        db = AsyncDatabaseFailedJobStore(url, table, app)
        await db.create_table()
        try:
            yield db
        finally:
            with db._db.cursor() as cur:
                cur.execute(f"drop table {db._t}")
    elif kind == "file":
        yield AsyncFileFailedJobStore(tmp_path / "failed-jobs.json", app)
    else:
        yield AsyncRedisFailedJobStore(app)


async def test_log_all_find_forget_flush(store: AsyncFailedJobStore) -> None:
    bodies = [body(i) for i in range(3)]
    ids = [
        await store.log("redis", "emails", b, f"RuntimeError: boom {i}")
        for i, b in enumerate(bodies)
    ]
    assert ids == [json.loads(b)["uuid"] for b in bodies]
    jobs = await store.all()
    assert [j.id for j in jobs] == ids[::-1]  # newest first
    assert [j.payload for j in jobs] == bodies[::-1]  # original bytes
    assert jobs[0].queue == "emails" and jobs[0].connection == "redis"
    assert jobs[0].exception == "RuntimeError: boom 2"
    assert await store.ids("emails") == ids[::-1] and await store.ids("other") == []
    found = await store.find(ids[1])
    assert found is not None and found.payload == bodies[1]
    assert await store.find("nope") is None
    assert await store.forget(ids[1]) is True
    assert await store.forget(ids[1]) is False
    assert await store.flush(hours=1) == 0  # nothing older than an hour
    assert await store.flush() == 2
    assert await store.all() == []


async def test_retry_pushes_back_with_attempts_reset(
    store: AsyncFailedJobStore, app: AsyncLaravel, redis_url: str
) -> None:
    b = body(1, data={"commandName": "A", "command": "x/y é", "empty": {}})
    job_id = await store.log("redis", "emails", b, "E")
    assert await store.retry(job_id) == "id1"
    assert await store.find(job_id) is None
    r = redis_sync.Redis.from_url(redis_url)
    keys = app.keys.queue("emails")
    [pushed] = r.lrange(keys.ready, 0, -1)
    assert r.llen(keys.notify) == 1
    # queue:retry: json_decode(..., true) + attempts = 0 + json_encode() (default flags)
    assert json.loads(pushed)["attempts"] == 0
    assert b'"x\\/y \\u00e9"' in pushed and b'"empty":[]' in pushed
    assert await store.retry("unknown") is None


async def test_file_layout_is_laravels(app: AsyncLaravel, tmp_path: Path) -> None:
    path = tmp_path / "failed-jobs.json"
    s = AsyncFileFailedJobStore(path, app, limit=2)
    for i in range(3):
        await s.log("redis", "default", body(i), "E/1")
    text = path.read_text()
    data = json.loads(text)
    assert len(data) == 2
    assert list(data[0]) == [
        "id",
        "connection",
        "queue",
        "payload",
        "exception",
        "failed_at",
        "failed_at_timestamp",
    ]
    assert (
        text.startswith('[\n    {\n        "id": "') and '"exception": "E\\/1"' in text
    )
    assert text == php_json_encode(data, pretty=True)


async def test_store_from_config(redis_url: str, prefix: str, tmp_path: Path) -> None:
    async with AsyncLaravel.from_url(
        redis_url,
        redis_prefix=prefix,
        failed_driver="database-uuids",
        failed_database_url=f"sqlite:///{tmp_path / 'x.sqlite'}",
        failed_table="fj",
    ) as a:
        s = failed_job_store(a)
        assert isinstance(s, AsyncDatabaseFailedJobStore) and s.table == "fj"
        assert str(s._tz) == "UTC"  # unless configured
    async with AsyncLaravel.from_url(
        redis_url,
        redis_prefix=prefix,
        laravel_version="11.56",
        app_timezone="Asia/Tokyo",
        failed_driver="database-uuids",
        failed_database_url=f"sqlite:///{tmp_path / 'y.sqlite'}",
    ) as a:
        s = failed_job_store(a)
        assert str(s._tz) == "Asia/Tokyo"  # failed_at is written in app.timezone
    async with AsyncLaravel.from_url(
        redis_url,
        redis_prefix=prefix,
        failed_driver="file",
        failed_path=str(tmp_path / "f.json"),
    ) as a:
        assert isinstance(failed_job_store(a), AsyncFileFailedJobStore)
