"""Jobs pushed from Python run in Laravel 8.83's real ``Illuminate\\Queue\\Worker``.

``tests/interop/php/queue.php`` boots ``RedisQueue`` (phpredis) + Container + Encrypter +
Bus dispatcher + ``Worker`` by hand. Python pushes object jobs (SerializesModels with
protected/private properties, enums and Carbon, displayName(), ShouldBeEncrypted, a job
without SerializesModels), string jobs and delayed jobs; PHP's worker runs them and each
job records what it saw (Redis list ``ninja:handled`` and the driver's JSON output).
The same jobs pushed by PHP produce the same payload bytes as Python's (8.x shape: every
property serialized, no createdAt/delay/batchId).
"""

from __future__ import annotations

import base64
import json
import time
from datetime import datetime, timezone
from typing import Any

import pytest

from ninja_redis._sync.app import Laravel
from ninja_redis.payloads import PhpJob, parse_payload, private, protected
from ninja_redis.php import PhpEnum
from tests.interop._php import run_batch

pytestmark = [pytest.mark.php, pytest.mark.laravel]

APP_KEY = "base64:e59K8xMtz9ifYFctzSdIRDYiAwHijRg7zKybchfWKKA="


def php_batch(
    redis_port: int, prefix: str, commands: list[list[str]], **env: str
) -> list[Any]:
    base = {"REDIS_PORT": str(redis_port), "REDIS_PREFIX": prefix, "APP_KEY": APP_KEY}
    return run_batch("queue.php", commands, {**base, **env}, "batch")


def make_app(redis_url: str, prefix: str, **kw: Any) -> Laravel:
    return Laravel.from_url(
        redis_url, laravel_version="8.83", redis_prefix=prefix, app_key=APP_KEY, **kw
    )


DRAFT = PhpEnum("App\\Enums\\InvoiceStatus", "Draft")


def invoice(n: int, due: datetime | None = None) -> PhpJob:
    from ninja_redis.payloads import Prop

    return PhpJob(
        "App\\Jobs\\SendInvoiceEmail",
        {
            "invoiceId": n,
            "email": protected("billing@example.com"),
            "meta": private({"lines": [{"sku": "A/é", "qty": 1}]}),
            "status": DRAFT,
            "dueAt": Prop(due, default=None),
        },
        tries=5,
        backoff=[10, 60, 300],
        timeout=120,
        max_exceptions=2,
    )


def podcast(pid: int, note: str | None) -> PhpJob:
    return PhpJob(
        "App\\Jobs\\ProcessPodcast",
        {"payload": {"id": pid, "tags": ["a", "b"]}, "note": note},
        fail_on_timeout=True,
        display_name=f"podcast:{pid}",
    )


def secret(name: str) -> PhpJob:
    return PhpJob(
        "App\\Jobs\\GenerateSecretReport",
        {
            "reportName": name,
            "secret": private("hunter2"),
            "recipients": protected(["a@x.io"]),
        },
        tries=3,
        encrypted=True,
    )


def plain(value: Any) -> PhpJob:
    return PhpJob(
        "App\\Jobs\\PlainJob",
        {"value": value, "count": protected(2), "label": private("plain")},
        backoff=30,
        serializes_models=False,
    )


def test_python_jobs_run_in_laravel_worker(
    redis_url: str, redis_port: int, prefix: str
) -> None:
    app = make_app(redis_url, prefix)
    q = app.queue
    due = datetime(2025, 1, 31, tzinfo=timezone.utc)
    ids = [
        q.push(invoice(1001, due)),
        q.push(podcast(77, "héllo")),
        q.push(secret("q3")),
        q.push(plain([1, 2, 3])),
        q.push(
            "App\\Handlers\\RecordHandler@handle", data={"x": [1, "a/b"], "é": None}
        ),
    ]
    assert all(ids)
    out = php_batch(redis_port, prefix, [["work-once"]] * 6 + [["size"], ["handled"]])
    runs, size, handled = out[:6], out[6], out[7]["handled"]
    assert [r["ran"] for r in runs] == [True] * 5 + [False]
    for r, job_id in zip(runs, ids, strict=False):
        assert r["job_id"] == job_id and r["attempts"] == 1
        assert r["events"] == ["JobProcessing", "JobProcessed"], r
        assert r["deleted"] and not r["failed"] and not r["exceptions_reported"]
    assert size["size"] == 0
    by_class = {h["class"]: h for h in handled}
    inv = by_class["App\\Jobs\\SendInvoiceEmail"]["properties"]
    assert inv["invoiceId"] == 1001 and inv["email"] == "billing@example.com"
    assert inv["meta"] == {"lines": [{"sku": "A/é", "qty": 1}]}
    assert inv["status"] == {"$enum": "App\\Enums\\InvoiceStatus::Draft"}
    assert inv["dueAt"] == {"$date": "2025-01-31T00:00:00.000000+00:00"}
    assert inv["tries"] == 5 and inv["backoff"] == [10, 60, 300]
    pod = by_class["App\\Jobs\\ProcessPodcast"]["properties"]
    assert pod["payload"] == {"id": 77, "tags": ["a", "b"]} and pod["note"] == "héllo"
    rep = by_class["App\\Jobs\\GenerateSecretReport"]["properties"]
    assert rep["secret"] == "hunter2" and rep["recipients"] == ["a@x.io"]
    pl = by_class["App\\Jobs\\PlainJob"]["properties"]
    assert pl["value"] == [1, 2, 3] and pl["count"] == 2 and pl["label"] == "plain"
    rec = by_class["App\\Handlers\\RecordHandler"]
    assert rec["data"] == {"x": [1, "a/b"], "é": None} and rec["job_id"] == ids[4]


def test_delayed_and_queued_jobs(redis_url: str, redis_port: int, prefix: str) -> None:
    app = make_app(redis_url, prefix)
    q = app.queue
    later_id = q.later(1, plain("later"))
    mail_id = q.push(plain("emails"), "emails")
    bus_id = q.push(
        PhpJob(
            "App\\Jobs\\PlainJob",
            {"value": "bus"},
            queue="emails",
            serializes_models=False,
            backoff=30,
        )
    )
    first = php_batch(
        redis_port,
        prefix,
        [["work-once"], ["work-once", "--queue=emails,default"]] * 1
        + [["work-once", "--queue=emails"]],
    )
    assert first[0]["ran"] is False  # the delayed job is not due yet
    assert [first[1]["job_id"], first[2]["job_id"]] == [mail_id, bus_id]
    assert first[2]["handled"][0]["queue"] == "emails"
    assert (
        first[2]["handled"][0]["properties"]["queue"] == "emails"
    )  # onQueue() property
    time.sleep(max(0.0, (int(time.time()) + 1.05) - time.time()) + 1.0)
    second = php_batch(redis_port, prefix, [["work-once"]])
    assert second[0]["ran"] and second[0]["job_id"] == later_id
    assert second[0]["handled"][0]["properties"]["value"] == "later"


def test_released_python_job_keeps_attempts(
    redis_url: str, redis_port: int, prefix: str
) -> None:
    app = make_app(redis_url, prefix)
    job_id = app.queue.push(invoice(5))
    out = php_batch(
        redis_port, prefix, [["work-once", "--fail", "--tries=5"], ["size"]]
    )
    assert out[0]["job_id"] == job_id and out[0]["released"] and not out[0]["failed"]
    assert out[1]["delayed"] == 1
    (entry,) = app.queue.jobs(state="delayed")
    # Laravel released it with the first backoff step (10 s) and the reserved bytes
    assert entry.payload is not None and entry.payload.attempts == 1
    assert entry.raw == base64.b64decode(out[0]["reserved_body"])
    assert entry.payload.backoff_for(1) == 10


def test_same_bytes_as_laravel_push(
    redis_url: str, redis_port: int, prefix: str
) -> None:
    """PHP pushes the same jobs; Python's payloads equal them once uuid/id are fixed."""
    app = make_app(redis_url, prefix)
    jobs = [
        (
            "SendInvoiceEmail",
            {"invoiceId": 7, "status": {"$enum": "App\\Enums\\InvoiceStatus::Draft"}},
            invoice_default(7),
        ),
        (
            "ProcessPodcast",
            {"payload": {"id": 9, "tags": ["a", "b"]}, "note": "n/é"},
            podcast(9, "n/é"),
        ),
        (
            "PlainJob",
            {"value": {"k": 1.5}, "count": 2, "label": "plain"},
            plain({"k": 1.5}),
        ),
        (
            "GenerateSecretReport",
            {"reportName": "q3", "secret": "hunter2", "recipients": ["a@x.io"]},
            secret("q3"),
        ),
    ]
    out = php_batch(
        redis_port, prefix, [["push", cls, json.dumps(args)] for cls, args, _ in jobs]
    )
    stored = app.queue.jobs(limit=10)
    enc = app.encrypter
    for (cls, _args, job), res, entry in zip(jobs, out, stored, strict=True):
        theirs = entry.raw
        assert entry.id == res["id"]
        t = parse_payload(theirs)
        mine = app.queue.builder.build(job, uuid=t.uuid, id=t.id)
        if job.encrypted:
            m = parse_payload(mine)
            assert m.command_bytes(enc) == t.command_bytes(enc)
            m.payload["data"]["command"] = t.payload["data"]["command"] = ""
            assert json.dumps(m.payload) == json.dumps(t.payload)
        else:
            assert mine == theirs, cls


def invoice_default(n: int) -> PhpJob:
    from ninja_redis.payloads import Prop

    return PhpJob(
        "App\\Jobs\\SendInvoiceEmail",
        {
            "invoiceId": n,
            "email": protected("user@example.com"),
            "meta": private([]),
            "status": DRAFT,
            "dueAt": Prop(None, default=None),
        },
        tries=5,
        backoff=[10, 60, 300],
        timeout=120,
        max_exceptions=2,
    )
