"""Worker life cycle against Debian's Laravel 8.83: job chains that Laravel dispatches
continue in the Python worker, byte for byte as Laravel's own worker continues them, and
come back to Laravel; ``queue:restart`` written by Laravel's cache stops the Python worker,
and ``ninja-redis queue restart`` writes what Laravel writes.

Peers: ``tests/interop/php/queue.php`` (``RedisQueue``, the Bus dispatcher, ``Worker``,
``chain`` command) and ``tests/interop/php/cache.php`` (``Repository`` on ``RedisStore``).
"""

from __future__ import annotations

import base64
import json
import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import redis

from ninja_redis import php
from ninja_redis._sync.app import Laravel
from ninja_redis._sync.worker import Job, Worker
from ninja_redis.cli import main as cli_main
from tests.interop._php import cache_env, run_batch

pytestmark = [pytest.mark.php, pytest.mark.laravel]

APP_KEY = "base64:e59K8xMtz9ifYFctzSdIRDYiAwHijRg7zKybchfWKKA="
INVOICE = "App\\Jobs\\SendInvoiceEmail"
PLAIN = "App\\Jobs\\PlainJob"


def queue_php(redis_port: int, prefix: str, commands: list[list[str]]) -> list[Any]:
    env = {"REDIS_PORT": str(redis_port), "REDIS_PREFIX": prefix, "APP_KEY": APP_KEY}
    return run_batch("queue.php", commands, env, "batch")


def cache_php(redis_port: int, prefix: str, commands: list[list[Any]]) -> list[Any]:
    items = run_batch("cache.php", commands, cache_env(redis_port, prefix))
    return [item["result"] for item in items]


def make_app(redis_port: int, prefix: str) -> Laravel:
    return Laravel.from_url(
        f"redis://127.0.0.1:{redis_port}/0",
        laravel_version="8.83",
        redis_prefix=prefix,
        app_key=APP_KEY,
    )


def without_ids(raw: bytes) -> bytes:
    """The payload bytes with its random ``uuid`` and ``id`` values blanked."""
    body = json.loads(raw)
    for field in ("uuid", "id"):
        value = body[field].encode()
        assert raw.count(value) == 1
        raw = raw.replace(value, b"<" + field.encode() + b">")
    return raw


def test_laravel_chain_continues_in_python_like_in_laravel(
    redis_port: int, prefix: str
) -> None:
    app = make_app(redis_port, prefix)
    r = redis.Redis(port=redis_port)
    keys = app.keys.queue("chainq")
    chain = [
        ["SendInvoiceEmail", {"invoiceId": 1, "email": "a@x.io"}],
        ["PlainJob", {"value": "b/é", "count": 2, "label": "second"}],
        ["SendInvoiceEmail", {"invoiceId": 3, "meta": {"n": [1, 2]}}],
        ["PlainJob", {"value": 4}],
    ]
    queue_php(
        redis_port, prefix, [["chain", json.dumps(chain), "--chain-queue=chainq"]]
    )
    [first] = r.lrange(keys.ready, 0, -1)
    assert b'chainQueue\\";s:6:\\"chainq\\"' in first
    assert b'chainCatchCallbacks\\";a:0:{}' in first

    # Laravel's own worker runs the first job: dispatchNextJobInChain() pushes job 2.
    [ran] = queue_php(redis_port, prefix, [["work-once", "--queue=chainq"]])
    assert ran["handled"][0]["properties"]["invoiceId"] == 1
    [laravel_next] = r.lrange(keys.ready, 0, -1)
    # The same first job again, now run by the Python worker.
    r.delete(keys.ready, keys.notify, keys.delayed, keys.reserved)
    r.rpush(keys.ready, first)
    r.rpush(keys.notify, b"1")
    worker = Worker(app, ["chainq"], sleep=0, handle_signals=False)
    seen: list[tuple[str, Any]] = []

    @worker.handler(INVOICE)
    def invoice(job: Job) -> None:
        seen.append((INVOICE, job.properties["invoiceId"]))

    @worker.handler(PLAIN)
    def plain(job: Job) -> None:
        seen.append((PLAIN, job.properties["value"]))

    assert worker.run(once=True).deleted == 1
    [python_next] = r.lrange(keys.ready, 0, -1)
    # Byte for byte the payload Laravel built (the random uuid and id aside).
    assert without_ids(python_next) == without_ids(laravel_next)
    assert json.loads(python_next)["backoff"] == "30"  # PlainJob's $backoff

    # Job 2 (pushed by Python) runs in Laravel, whose worker dispatches job 3 from the
    # chain Python wrote; Python runs job 3 and dispatches job 4; Laravel runs job 4.
    [ran2] = queue_php(redis_port, prefix, [["work-once", "--queue=chainq"]])
    props = ran2["handled"][0]["properties"]
    assert ran2["handled"][0]["class"] == PLAIN and ran2["handled"][0]["queue"] == (
        "chainq"
    )
    assert (props["value"], props["count"], props["label"]) == ("b/é", 2, "second")
    assert props["chainQueue"] == "chainq" and props["chainCatchCallbacks"] == []
    assert len(props["chained"]) == 2
    third = json.loads(r.lindex(keys.ready, 0))
    assert (third["maxTries"], third["backoff"], third["timeout"]) == (
        5,
        "10,60,300",
        120,
    )
    assert worker.run(once=True).deleted == 1
    assert seen == [(INVOICE, 1), (INVOICE, 3)]
    [ran4] = queue_php(redis_port, prefix, [["work-once", "--queue=chainq"]])
    last = ran4["handled"][0]
    assert last["class"] == PLAIN and last["properties"]["value"] == 4
    assert last["properties"]["chained"] == [] and last["queue"] == "chainq"
    assert ran4["deleted"] and not ran4["failed"]
    sizes = queue_php(redis_port, prefix, [["size", "--queue=chainq"]])[0]
    assert sizes["size"] == 0


def test_laravel_restart_signal_stops_python_worker(
    redis_port: int, prefix: str
) -> None:
    app = make_app(redis_port, prefix)
    # A restart timestamp from before the worker started does not stop it.
    cache_php(
        redis_port,
        prefix,
        [["forever", "illuminate:queue:restart", v64(int(time.time()) - 60)]],
    )
    worker = Worker(
        app, ["idle"], sleep=0.05, handle_signals=False, interruption_poll_interval=0
    )
    results: list[Any] = []
    thread = threading.Thread(target=lambda: results.append(worker.run()))
    thread.start()
    time.sleep(0.5)
    assert thread.is_alive()
    # What `php artisan queue:restart` does: Cache::forever(key, now) on the store.
    cache_php(
        redis_port,
        prefix,
        [["forever", "illuminate:queue:restart", v64(int(time.time()))]],
    )
    thread.join(10)
    assert not thread.is_alive() and results[0].reason == "restart"


def test_cli_queue_restart_writes_what_laravel_writes(
    redis_port: int,
    prefix: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    app = make_app(redis_port, prefix)
    key = app.keys.queue_restart()
    client = app.connection(app.config.cache_connection)
    before = int(time.time())
    cache_php(
        redis_port, prefix, [["forever", "illuminate:queue:restart", v64(before)]]
    )
    assert client.get(key) == str(before).encode()  # Laravel stores the number raw
    for var in list(os.environ):
        if var.startswith(("REDIS_", "CACHE_", "APP_", "LARAVEL_")):
            monkeypatch.delenv(var)
    monkeypatch.setenv("REDIS_PREFIX", prefix)
    monkeypatch.chdir(tmp_path)  # no .env
    url = f"redis://127.0.0.1:{redis_port}/0"
    argv = ["--url", url, "--laravel-version", "8.83", "--json", "queue", "restart"]
    assert cli_main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    written = client.get(key)
    assert written is not None and written == str(out["value"]).encode()
    assert before <= int(written) <= int(time.time()) and client.ttl(key) == -1
    assert out["key"] == key.decode()
    # Laravel reads it back through its cache store: the number as a string.
    [read_back] = cache_php(redis_port, prefix, [["get", "illuminate:queue:restart"]])
    assert php.loads(base64.b64decode(read_back)) == written.decode()


def v64(value: Any) -> str:
    return base64.b64encode(php.dumps(value)).decode()
