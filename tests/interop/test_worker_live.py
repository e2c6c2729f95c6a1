"""Live with Debian's Laravel 8.83: jobs Laravel pushes, delays and releases run in the
Python worker with Laravel's attempts and timings, and back again."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import redis

from ninja_redis._sync import _backend
from ninja_redis._sync.app import Laravel
from ninja_redis._sync.worker import Job, Worker

pytestmark = pytest.mark.php

DRIVER = Path(__file__).parent / "php" / "worker.php"
NAME = "WorkerPeerHandler@fire"


def php(redis_url: str, prefix: str, cmd: str, **kw: Any) -> dict[str, Any]:
    u = urlsplit(redis_url)
    req = {
        "redis": {"host": u.hostname, "port": u.port, "database": 0},
        "prefix": prefix,
        "cmd": cmd,
        **kw,
    }
    out = subprocess.run(
        ["php", str(DRIVER)],
        input=json.dumps(req).encode(),
        capture_output=True,
        timeout=20,
        check=True,
    )
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def test_laravel_pushes_delays_and_releases_python_runs(
    redis_url: str, prefix: str
) -> None:
    app = Laravel.from_url(redis_url, laravel_version="8.83", redis_prefix=prefix)
    r = redis.Redis.from_url(redis_url)
    keys = app.keys.queue()
    ids = php(
        redis_url,
        prefix,
        "push",
        jobs=[
            {"data": {"n": 1}},
            {"data": {"n": 2}, "delay": 2},
            {"data": {"n": 3}, "behaviour": "throw"},
        ],
    )["ids"]
    # Laravel's own worker runs the throwing job: released with --backoff=3, attempts 1.
    t0 = int(_backend.wall_time())
    php(redis_url, prefix, "work-once", options={"backoff": 3, "tries": 3})
    handled = php(redis_url, prefix, "work-once", options={"backoff": 3, "tries": 3})
    assert (
        handled["handled"][0]["what"] == "throw"
        and handled["handled"][0]["attempts"] == 1
    )
    laravel_delayed = r.zrange(keys.delayed, 0, -1, withscores=True)
    assert len(laravel_delayed) == 2  # the later() job and the released one
    released = [(m, s) for m, s in laravel_delayed if json.loads(m)["attempts"] == 1]
    assert len(released) == 1 and t0 + 3 <= released[0][1] <= t0 + 5

    seen: list[tuple[Any, int, int]] = []
    worker = Worker(app, ["default"], sleep=0, handle_signals=False, tries=3, backoff=3)

    @worker.handler("WorkerPeerHandler")
    def handle(job: Job) -> None:
        seen.append((job.data, job.attempts, int(_backend.wall_time())))
        if job.data["n"] == 3 and job.attempts == 2:
            raise RuntimeError("python boom")

    worker.run(stop_when_empty=True)
    assert [s[0]["n"] for s in seen] == []  # n=1 was taken by the first PHP work-once
    # After 2 s the later() job is due, after 3 s Laravel's released job.
    deadline = t0 + 6
    while int(_backend.wall_time()) <= deadline and len(seen) < 2:
        worker.run(once=True)
        _backend.sleep(0.2)
    got = {s[0]["n"]: s for s in seen}
    assert got[2][1] == 1 and got[2][2] >= t0 + 2
    assert got[3][1] == 2 and got[3][2] >= t0 + 3
    # Python released n=3 (attempt 2) with backoff 3 → Laravel runs it as attempt 3.
    [member] = r.zrange(keys.delayed, 0, -1)
    assert json.loads(member)["attempts"] == 2
    r.zadd(keys.delayed, {member: 0})
    handled = php(redis_url, prefix, "work-once", options={"tries": 3})["handled"]
    assert handled[0]["attempts"] == 3 and handled[0]["data"] == {"n": 3}
    assert sorted(ids) == sorted(set(ids))
    r.close()
    app.close()


def test_python_release_runs_in_laravel(redis_url: str, prefix: str) -> None:
    app = Laravel.from_url(redis_url, laravel_version="8.83", redis_prefix=prefix)
    r = redis.Redis.from_url(redis_url)
    keys = app.keys.queue()
    php(redis_url, prefix, "push", jobs=[{"data": {"n": 7}}])
    worker = Worker(app, ["default"], sleep=0, handle_signals=False)
    reserved: list[bytes] = []

    @worker.handler(NAME)
    def handle(job: Job) -> None:
        reserved.append(job.reserved)
        job.release(1)

    t0 = int(_backend.wall_time())
    worker.run(once=True)
    [(member, score)] = r.zrange(keys.delayed, 0, -1, withscores=True)
    assert member == reserved[0] and t0 + 1 <= score <= t0 + 2
    _backend.sleep(2.1)
    handled = php(redis_url, prefix, "work-once", options={"tries": 3})["handled"]
    assert handled[0]["attempts"] == 2 and handled[0]["data"] == {"n": 7}
    assert r.zcard(keys.reserved) == 0 and r.zcard(keys.delayed) == 0
    r.close()
    app.close()
