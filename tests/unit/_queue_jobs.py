"""Python twins of the fixture job classes (``../shared/fixtures/php/jobs.php``).

Each class declares the PHP mapping once with :func:`ninja_redis.payloads.php_job`;
:func:`job_from_step` turns a fixture step (``queue:push <Class> <json args>``) into the
same job, so tests can compare Python's payload with Laravel's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ninja_redis.payloads import NO_DEFAULT, PhpJob, php_field, php_job, to_php_job
from ninja_redis.php import PhpEnum


@php_job(
    "App\\Jobs\\SendInvoiceEmail",
    tries=5,
    backoff=[10, 60, 300],
    timeout=120,
    max_exceptions=2,
)
@dataclass
class SendInvoiceEmail:
    invoice_id: int = php_field(name="invoiceId", default=1)
    email: str = php_field(visibility="protected", default="user@example.com")
    meta: dict[str, Any] = php_field(visibility="private", default_factory=dict)
    status: PhpEnum | None = None
    # untyped promoted property: its implicit default is null
    due_at: datetime | None = php_field(name="dueAt", php_default=None, default=None)


@dataclass
class ProcessPodcastArgs:
    payload: dict[str, Any] = field(default_factory=dict)
    note: str | None = None
    retry_at: str | None = None


def process_podcast(args: ProcessPodcastArgs) -> PhpJob:
    """ProcessPodcast has displayName()/retryUntil() methods: build the PhpJob directly."""
    pid = args.payload.get("id", "none")
    return PhpJob(
        "App\\Jobs\\ProcessPodcast",
        {
            "payload": args.payload,
            "note": args.note,
            "retryAt": php_prop_default_none(args.retry_at),
        },
        fail_on_timeout=True,
        display_name=f"podcast:{pid}",
        retry_until=(
            None if args.retry_at is None else datetime.fromisoformat(args.retry_at)
        ),
    )


def php_prop_default_none(value: Any) -> Any:
    from ninja_redis.payloads import Prop

    return Prop(value, "public", None)


@php_job("App\\Jobs\\GenerateSecretReport", tries=3, encrypted=True)
@dataclass
class GenerateSecretReport:
    report_name: str = php_field(name="reportName", default="q3")
    secret: str = php_field(visibility="private", default="s3cr3t")
    recipients: list[str] = php_field(visibility="protected", default_factory=list)


@php_job("App\\Jobs\\PlainJob", backoff=30, serializes_models=False)
@dataclass
class PlainJob:
    value: Any = None
    count: int = php_field(visibility="protected", default=0)
    label: str | None = php_field(visibility="private", default=None)


@php_job("App\\Jobs\\ModernJob")
@dataclass
class ModernJob:
    items: list[Any] = field(default_factory=list)
    user_id: int = php_field(name="userId", default=0)


assert NO_DEFAULT is not None


def typed(value: Any) -> Any:
    """Fixture "typed JSON" (``$enum``, ``$carbon``) → Python job values."""
    if isinstance(value, dict):
        if "$enum" in value:
            cls, case = value["$enum"].split("::")
            return PhpEnum(cls, case)
        if "$carbon" in value:
            return datetime.fromisoformat(value["$carbon"])
        return {k: typed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [typed(v) for v in value]
    return value


_FIELDS = {
    "SendInvoiceEmail": (
        SendInvoiceEmail,
        {"invoiceId": "invoice_id", "dueAt": "due_at"},
    ),
    "GenerateSecretReport": (GenerateSecretReport, {"reportName": "report_name"}),
    "PlainJob": (PlainJob, {}),
    "ModernJob": (ModernJob, {"userId": "user_id"}),
}


def job_from_step(args: list[str]) -> tuple[PhpJob, str | None, int | None]:
    """``(job, --queue, --delay)`` of a ``queue:push``/``queue:dispatch`` step.

    ``queue:dispatch`` goes through the Bus, which sets the job's ``queue``/``delay``
    properties (``onQueue()``/``delay()``); ``queue:push`` only picks key and score.
    """
    cmd, cls, raw_args = args[0], args[1], json.loads(args[2])
    opts = dict(a[2:].split("=", 1) for a in args[3:])
    queue = opts.get("queue")
    delay = int(opts["delay"]) if "delay" in opts else None
    kwargs = {k: typed(v) for k, v in raw_args.items()}
    if cls == "ProcessPodcast":
        job = process_podcast(
            ProcessPodcastArgs(
                kwargs.get("payload", {}), kwargs.get("note"), kwargs.get("retryAt")
            )
        )
    else:
        klass, rename = _FIELDS[cls]
        job = to_php_job(klass(**{rename.get(k, k): v for k, v in kwargs.items()}))
    if cmd == "queue:dispatch":
        job.queue = queue
        job.delay = delay
    return job, queue, delay
