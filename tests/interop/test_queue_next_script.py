"""``queue_next.lua`` (the worker's one round trip per job) leaves Redis exactly as
Laravel's own commands do when run in sequence: ``ZREM`` of the finished job, ``EVAL``
migrate ``:delayed``, ``EVAL`` migrate ``:reserved``, ``EVAL`` pop (spec §9.3, §9.6).

The reference scripts are Laravel 8.83's ``LuaScripts`` (read from the installed framework
with PHP) and the bundled copies (9.x+ migrate with its batch ``LIMIT``)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from ninja_redis import _scripts

NOW = 1_700_000_000
RETRY_AFTER = 90


def job(n: int, **extra: Any) -> bytes:
    body = {"uuid": f"u{n}", "job": "X@y", "data": {"n": n}, "id": f"i{n}"}
    body.update(extra)
    body.setdefault("attempts", 0)
    return json.dumps(body, separators=(",", ":")).encode()


def laravel_scripts() -> dict[str, str]:
    out = subprocess.run(
        [
            "php",
            "-r",
            'require "Illuminate/Queue/autoload.php"; echo json_encode(['
            '"migrate" => Illuminate\\Queue\\LuaScripts::migrateExpiredJobs(),'
            '"pop" => Illuminate\\Queue\\LuaScripts::pop()]);',
        ],
        capture_output=True,
        check=True,
    )
    data: dict[str, str] = json.loads(out.stdout)
    return data


@pytest.fixture
def r(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


class Queue:
    def __init__(self, r: redis.Redis, prefix: str) -> None:
        self.r = r
        self.prefix = prefix.encode()
        base = self.prefix + b"queues:default"
        self.ready, self.reserved = base, base + b":reserved"
        self.notify, self.delayed = base + b":notify", base + b":delayed"

    def fill(self, state: dict[str, Any]) -> None:
        if state.get("ready"):
            self.r.rpush(self.ready, *state["ready"])
            self.r.rpush(self.notify, *([b"1"] * len(state["ready"])))
        if state.get("delayed"):
            self.r.zadd(self.delayed, dict(state["delayed"]))
        if state.get("reserved"):
            self.r.zadd(self.reserved, dict(state["reserved"]))

    def dump(self) -> dict[str, Any]:
        return {
            "ready": self.r.lrange(self.ready, 0, -1),
            "notify": self.r.lrange(self.notify, 0, -1),
            "delayed": self.r.zrange(self.delayed, 0, -1, withscores=True),
            "reserved": self.r.zrange(self.reserved, 0, -1, withscores=True),
        }


SCENARIOS: dict[str, dict[str, Any]] = {
    "empty": {},
    "ready only": {"ready": [job(1), job(2)]},
    "due, expired and finished": {
        "ready": [job(1)],
        "delayed": [(job(10), NOW - 5), (job(11), NOW), (job(12), NOW + 5)],
        "reserved": [
            (job(20, attempts=1), NOW - 1),
            (job(21, attempts=1), NOW + 50),
            (job(22, attempts=1), NOW + 80),
        ],
        "finished": [job(22, attempts=1)],
    },
    "cjson re-encoding": {
        "ready": [
            b'{"job":"X@y","data":{"a":[],"u":"a/b","\xc3\xa9":"\xc3\xa9",'
            b'"f":0.30000000000000004,"big":12345678901234567},"id":"i1","attempts":0}'
        ]
    },
    "150 due (chunks of 100)": {
        "delayed": [(job(i), NOW - i) for i in range(150)],
        "reserved": [(job(1000 + i, attempts=1), NOW - 1) for i in range(3)],
    },
}


def run_laravel(
    q: Queue,
    texts: dict[str, str],
    finished: list[bytes],
    batch: int | None,
    retry_after: int | None,
    pops: int,
) -> list[Any]:
    if finished:
        q.r.zrem(q.reserved, *finished)
    extra = [] if batch is None else [batch]
    q.r.eval(texts["migrate"], 3, q.delayed, q.ready, q.notify, NOW, *extra)
    if retry_after is not None:
        q.r.eval(texts["migrate"], 3, q.reserved, q.ready, q.notify, NOW, *extra)
    out: list[Any] = []
    for _ in range(pops):
        expiry = NOW + (retry_after or 0)  # availableAt(null) = now
        got = q.r.eval(texts["pop"], 3, q.ready, q.reserved, q.notify, expiry)
        if got[0]:
            out += got
    return out


def run_next(
    q: Queue,
    finished: list[bytes],
    batch: int | None,
    retry_after: int | None,
    pops: int,
) -> list[Any]:
    reply: list[Any] = q.r.eval(
        _scripts.load("queue_next"),
        4,
        q.ready,
        q.reserved,
        q.notify,
        q.delayed,
        NOW,
        NOW + (retry_after or 0),
        b"0" if retry_after is None else b"1",
        b"" if batch is None else batch,
        pops,
        *finished,
    )
    return reply


def check(
    r: redis.Redis,
    prefix: str,
    texts: dict[str, str],
    batch: int | None,
    retry_after: int | None = RETRY_AFTER,
    pops: int = 1,
) -> None:
    for name, state in SCENARIOS.items():
        a, b = Queue(r, f"{prefix}a:{name}:"), Queue(r, f"{prefix}b:{name}:")
        a.fill(state)
        b.fill(state)
        finished = state.get("finished", [])
        expected = run_laravel(a, texts, finished, batch, retry_after, pops)
        got = run_next(b, finished, batch, retry_after, pops)
        assert got == expected, name
        assert b.dump() == a.dump(), name


@pytest.mark.php
@pytest.mark.parametrize("pops", [1, 3])
def test_same_effects_as_laravel_8_scripts(
    r: redis.Redis, prefix: str, pops: int
) -> None:
    check(r, prefix, laravel_scripts(), batch=None, pops=pops)


@pytest.mark.php
def test_same_effects_without_retry_after(r: redis.Redis, prefix: str) -> None:
    check(r, prefix, laravel_scripts(), batch=None, retry_after=None)


@pytest.mark.parametrize("batch", [-1, 1, 2])
def test_same_effects_as_bundled_scripts_with_batch_limit(
    r: redis.Redis, prefix: str, batch: int
) -> None:
    texts = {
        "migrate": _scripts.load("queue_migrate"),
        "pop": _scripts.load("queue_pop"),
    }
    check(r, prefix, texts, batch=batch)
    check(r, prefix + "n:", texts, batch=batch, retry_after=None, pops=2)


def test_unparsable_payload_is_reserved_as_is(r: redis.Redis, prefix: str) -> None:
    q = Queue(r, prefix)
    q.fill({"ready": [b"not json", b'{"attempts":"x"}']})
    assert run_next(q, [], None, RETRY_AFTER, 2) == [
        b"not json",
        b"not json",
        b'{"attempts":"x"}',
        b'{"attempts":"x"}',
    ]
    assert q.dump()["reserved"] == [
        (b"not json", NOW + 90.0),
        (b'{"attempts":"x"}', NOW + 90.0),
    ]
