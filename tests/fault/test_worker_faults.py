"""At-least-once under faults: workers SIGKILLed at random points lose no job, and only
the jobs in flight at a kill run again; an AOF Redis restart loses no pushed job."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis

from ninja_redis import PhpJob
from ninja_redis._sync.app import Laravel
from ninja_redis._sync.worker import Job, Worker

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
CLS = "App\\Jobs\\Count"

WORKER = """
import sys
from ninja_redis._sync.app import Laravel
url, prefix = sys.argv[1], sys.argv[2]
app = Laravel.from_url(url, laravel_version="12.67", redis_prefix=prefix)
done = prefix.encode() + b"test:done"
client = app.connection()
worker = app.worker(["default"], retry_after=2, sleep=0.05, tries=0, failer=None)
@worker.handler("App\\\\Jobs\\\\Count")
def handle(job):
    client.rpush(done, job.id)
worker.run()
"""


def spawn(url: str, prefix: str, log: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    with log.open("ab") as fh:
        return subprocess.Popen(
            [sys.executable, "-c", WORKER, url, prefix], env=env, stdout=fh, stderr=fh
        )


@pytest.mark.timeout(60)
def test_sigkilled_workers_lose_nothing(
    redis_url: str, prefix: str, tmp_path: Path
) -> None:
    n = 10_000
    r = redis.Redis.from_url(redis_url)
    app = Laravel.from_url(redis_url, laravel_version="12.67", redis_prefix=prefix)
    keys = app.keys.queue()
    ids = app.queue.bulk([PhpJob(CLS, {"n": i}) for i in range(n)])
    assert len(ids) == n and r.llen(keys.ready) == n
    done_key = prefix.encode() + b"test:done"
    rng = random.Random(1234)
    workers = [spawn(redis_url, prefix, tmp_path / "workers.log") for _ in range(3)]
    in_flight: set[bytes] = set()
    kills = 0
    deadline = time.monotonic() + 40
    try:
        while kills < 8 and r.llen(done_key) < n * 0.9:
            time.sleep(rng.uniform(0.15, 0.5))
            victim = rng.randrange(len(workers))
            workers[victim].send_signal(signal.SIGKILL)
            workers[victim].wait()
            kills += 1
            # What the dead worker may have been running: everything reserved right now.
            in_flight.update(r.zrange(keys.reserved, 0, -1))
            workers[victim] = spawn(redis_url, prefix, tmp_path / "workers.log")
        while time.monotonic() < deadline:
            if (
                r.llen(keys.ready) == 0
                and r.zcard(keys.reserved) == 0
                and len(set(r.lrange(done_key, 0, -1))) >= n
            ):
                break
            time.sleep(0.2)
    finally:
        for w in workers:
            w.send_signal(signal.SIGTERM)
        for w in workers:
            try:
                w.wait(10)
            except subprocess.TimeoutExpired:
                w.kill()
    assert kills >= 3
    for w in workers:
        assert w.returncode == 0, (tmp_path / "workers.log").read_text()[-2000:]
    done = r.lrange(done_key, 0, -1)
    assert set(done) == {i.encode() for i in ids if i}  # every job ran, none lost
    repeated = {d for d in set(done) if done.count(d) > 1} if len(done) != n else set()
    in_flight_ids = {json.loads(m)["id"].encode() for m in in_flight}
    assert repeated <= in_flight_ids  # only jobs in flight at a kill ran twice
    assert len(done) - n <= kills * 2
    assert r.zcard(keys.delayed) == 0 and r.zcard(keys.reserved) == 0
    r.close()
    app.close()


@pytest.mark.timeout(30)
def test_aof_restart_loses_no_pushed_job(redis_server_factory, prefix: str) -> None:  # type: ignore[no-untyped-def]
    server = redis_server_factory(["appendonly yes", "appendfsync always"])
    app = Laravel.from_url(server.url, laravel_version="12.67", redis_prefix=prefix)
    n = 2_000
    ids = app.queue.bulk([PhpJob(CLS, {"n": i}) for i in range(n)])
    for i in range(200):  # and single pushes too
        app.queue.push(PhpJob(CLS, {"n": n + i}))
    server.kill()
    server.restart()
    app2 = Laravel.from_url(server.url, laravel_version="12.67", redis_prefix=prefix)
    keys = app2.keys.queue()
    r = server.client()
    assert r.llen(keys.ready) == n + 200 and r.llen(keys.notify) == n + 200
    seen: list[str | None] = []
    worker = Worker(app2, ["default"], sleep=0, handle_signals=False, failer=None)

    @worker.handler(CLS)
    def handle(job: Job) -> None:
        seen.append(job.id)

    res = worker.run(stop_when_empty=True)
    assert res.jobs == n + 200 and seen[:n] == ids
    r.close()
    app.close()
    app2.close()
