"""Typical user code against the public API, checked by ``mypy --strict`` in
tests/test_typing.py (never executed). A change that makes ordinary calls fail to
type-check (an invariant ``Mapping`` key, a missing overload) breaks that test."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from ninja_redis import AsyncLaravel, Laravel, PhpJob
from ninja_redis.exceptions import LockTimeout, NinjaRedisError


def sync_cache(app: Laravel) -> None:
    users: dict[str, dict[str, Any]] = {"user:1": {"id": 1}}
    app.cache.put_many(users, 60)
    app.cache.put_many({b"raw": 1}, timedelta(minutes=1))
    got: dict[str | bytes, Any] = app.cache.many(["user:1", "user:2"])
    defaults: dict[str, int] = {"hits": 0}
    app.cache.many(defaults)
    app.cache.put("k", [1, 2], 60)
    app.cache.remember("k", 60, lambda: {"fresh": True})
    app.cache.tags(["people", "artists"]).put("John", {"name": "John"}, 60)
    try:
        with app.cache.lock("invoice:7", 10).block(5):
            pass
    except LockTimeout:
        pass
    except NinjaRedisError:
        raise
    print(got)


async def async_cache(app: AsyncLaravel) -> None:
    rows: dict[str, int] = {"a": 1, "b": 2}
    await app.cache.put_many(rows, 60)
    values = await app.cache.many(["a", "b"])
    await app.cache.tags("people").flush()
    print(values)


def queue(app: Laravel) -> None:
    job = PhpJob("App\\Jobs\\SendInvoiceEmail", {"invoiceId": 1}, tries=3)
    job_id: str | None = app.queue.push(job, "emails")
    app.queue.later(timedelta(seconds=30), job)
    print(job_id, app.queue.size("emails"))
