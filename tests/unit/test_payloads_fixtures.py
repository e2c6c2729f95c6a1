"""Python's queue payloads against the golden fixtures of real Laravel 10/11/12/13.

For every job a fixture pushed (``queue:push`` / ``queue:dispatch`` steps), Python builds
the payload for the same job (classes twinned in ``_queue_jobs.py``) and, once ``uuid``,
``id`` and ``createdAt`` are set to the fixture's, it must equal Laravel's bytes. For
encrypted commands both sides are decrypted and the plaintexts compared. The Redis key
and the ``:delayed`` score are derived from the config and compared too.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from ninja_redis.config import LaravelConfig
from ninja_redis.crypto import Encrypter
from ninja_redis.keys import KeySpace
from ninja_redis.payloads import PayloadBuilder, parse_payload
from tests._shared import VERSIONS, dump_keys, load_fixture, raw
from tests.unit._queue_jobs import job_from_step

SCENARIOS = ("queue_push_jobs", "queue_later_and_dispatch")


def _version(v: str) -> tuple[int, int]:
    major, minor, _ = v.split(".")
    return int(major), int(minor)


def _config(fx: dict[str, Any]) -> LaravelConfig:
    c = fx["config"]
    return LaravelConfig.from_mapping(
        {},
        laravel_version=c["laravel_version"],
        redis_prefix=c["redis_prefix"],
        queue=c["queue"],
    )


def _stored(fx: dict[str, Any]) -> dict[bytes, list[tuple[bytes, str | None]]]:
    """Every list item / zset member of db 0, per full key, in stored order."""
    out: dict[bytes, list[tuple[bytes, str | None]]] = {}
    for key, entry in dump_keys(fx, 0).items():
        if entry["type"] == "list":
            out[key] = [(raw(i), None) for i in entry["items"]]
        elif entry["type"] == "zset":
            out[key] = [(raw(m["member"]), m["score"]) for m in entry["members"]]
    return out


def _cases() -> list[Any]:
    cases = []
    for version in VERSIONS:
        for scenario in SCENARIOS:
            fx = load_fixture(version, scenario)
            for n, step in enumerate(fx["steps"]):
                if step["args"][0] in ("queue:push", "queue:dispatch"):
                    cases.append(
                        pytest.param(
                            version, scenario, n, id=f"{version}-{scenario}-{n}"
                        )
                    )
    return cases


@pytest.mark.parametrize(("version", "scenario", "step_no"), _cases())
def test_payload_bytes_equal_laravel(version: str, scenario: str, step_no: int) -> None:
    fx = load_fixture(version, scenario)
    config = _config(fx)
    keys = KeySpace(config)
    encrypter = Encrypter.from_app_key(fx["config"]["app_key"], fx["config"]["cipher"])
    builder = PayloadBuilder(_version(version), encrypter=encrypter)
    steps = fx["steps"]
    job, queue, delay = job_from_step(steps[step_no]["args"])

    # Where Laravel put it: queue = --queue / onQueue(), :delayed when delayed.
    qkeys = keys.queue(queue or job.queue)
    full_key = qkeys.delayed if delay is not None else qkeys.ready
    stored = _stored(fx)
    assert full_key in stored, f"{full_key!r} not in {sorted(stored)}"
    # the n-th push to this key is this step's payload
    same_key = [
        i
        for i, st in enumerate(steps)
        if st["args"][0] in ("queue:push", "queue:dispatch")
        and (lambda j: (keys.queue(j[1] or j[0].queue), j[2] is not None))(
            job_from_step(st["args"])
        )
        == (qkeys, delay is not None)
    ]
    original, score = stored[full_key][same_key.index(step_no)]
    theirs = json.loads(original)
    if steps[step_no]["output"].get("id") is not None:
        assert theirs["id"] == steps[step_no]["output"]["id"]

    mine = builder.build(
        job,
        uuid=theirs["uuid"],
        id=theirs["id"],
        created_at=theirs.get("createdAt"),
        delay=delay,
    )
    if job.encrypted:
        a, b = parse_payload(mine), parse_payload(original)
        assert a.command_bytes(encrypter) == b.command_bytes(encrypter)
        a.payload["data"]["command"] = b.payload["data"]["command"] = "<encrypted>"
        assert json.dumps(a.payload) == json.dumps(
            b.payload
        )  # same keys, order, values
        assert a.is_encrypted and b.is_encrypted
    else:
        assert mine == original

    if delay is not None:
        assert score is not None
        # availableAt = push time + delay; the push happened within this step
        lo = int(steps[step_no]["time"]) + delay
        hi = int(
            steps[step_no + 1]["time"] if step_no + 1 < len(steps) else fx["time_end"]
        )
        assert lo <= int(score) <= hi + delay
        if "createdAt" in theirs:
            assert int(score) == theirs["createdAt"] + delay
    # every push adds one notify entry; delayed pushes add none
    if delay is None:
        assert len(stored[qkeys.notify]) == len(stored[qkeys.ready])


@pytest.mark.parametrize("version", VERSIONS)
def test_gcm_encrypted_job(version: str) -> None:
    fx = load_fixture(version, "queue_push_jobs_gcm")
    assert fx["config"]["cipher"] == "AES-256-GCM"
    encrypter = Encrypter.from_app_key(fx["config"]["app_key"], "AES-256-GCM")
    original = raw(fx["steps"][1]["output"]["raw_body"])
    theirs = parse_payload(original)
    job, _q, _d = job_from_step(fx["steps"][0]["args"])
    mine = PayloadBuilder(_version(version), encrypter=encrypter).build(
        job, uuid=theirs.uuid, id=theirs.id, created_at=theirs.created_at
    )
    ours = parse_payload(mine)
    assert ours.command_bytes(encrypter) == theirs.command_bytes(encrypter)
    # the GCM envelope has a tag, the CBC one a mac
    env = json.loads(__import__("base64").b64decode(ours.command or ""))
    assert env["tag"] and env["mac"] == ""
    # Laravel's worker ran the fixture job: the command object it saw is ours
    obj = ours.command_object(encrypter)
    assert obj.class_name == "App\\Jobs\\GenerateSecretReport"
    assert (
        obj["secret"] == "s"
        and obj.visibility("secret") == "App\\Jobs\\GenerateSecretReport"
    )
    ours.payload["data"]["command"] = theirs.payload["data"]["command"] = "x"
    assert json.dumps(ours.payload) == json.dumps(theirs.payload)


@pytest.mark.parametrize("version", VERSIONS)
def test_push_raw_fixture_parses(version: str) -> None:
    fx = load_fixture(version, "queue_push_raw")
    for step in fx["steps"]:
        payload = step["output"]["input"]["payload"].encode()
        parsed = parse_payload(payload)
        assert parsed.id == step["output"]["id"] == "rawid0001"
        assert parsed.job == "App\\Handlers\\RawHandler@handle"
        assert parsed.display_name == "App\\Handlers\\RawHandler@handle"
        assert parsed.attempts == 0 and parsed.data == {"x": 1}
