"""The Python worker and failed-job stores next to Laravel 8.83's own ``Worker``,
``RedisQueue``, cache store, ``DatabaseUuidFailedJobProvider``/``DatabaseFailedJobProvider``
and ``RetryCommand`` (Debian's php-illuminate-*, driven by ``php/worker_audit.php``).

Each comparison gives both sides the same payload bytes under two key prefixes and the
same frozen clock (``Carbon::setTestNow()`` in PHP, the backend's ``wall_time`` here), then
compares everything they left in Redis (lists, sorted sets with scores, cache counters
with TTLs) byte for byte, and the rows of ``failed_jobs``. The worker logic these checks
exercise (attempts, release, backoff, maxTries/retryUntil/maxExceptions/failOnTimeout,
queue:retry) did not change between 8.83 and 12.x apart from the exception classes and
messages, which the tests pin per version elsewhere (tests/_async/test_worker_audit.py)."""

from __future__ import annotations

import base64
import itertools
import json
import random
import sqlite3
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import redis

from ninja_redis import php as phpser
from ninja_redis._sync import _backend
from ninja_redis._sync.app import Laravel
from ninja_redis._sync.failed import (
    DatabaseFailedJobStore,
    FileFailedJobStore,
    php_json_encode,
)
from ninja_redis._sync.worker import Job, Worker

pytestmark = pytest.mark.php

DRIVER = Path(__file__).parent / "php" / "worker_audit.php"
APP_KEY = "base64:e59K8xMtz9ifYFctzSdIRDYiAwHijRg7zKybchfWKKA="
T = 1_767_225_600
PG = {"driver": "pgsql", "host": "127.0.0.1", "port": 5432, "database": "test",
      "username": "postgres", "password": ""}  # fmt: skip
MY = {"driver": "mysql", "host": "127.0.0.1", "port": 3306, "database": "test",
      "username": "root", "password": "", "charset": "utf8mb4",
      "collation": "utf8mb4_unicode_ci"}  # fmt: skip
PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
MYSQL_URL = "mysql://root@127.0.0.1:3306/test"


def php(redis_url: str, prefix: str, cmd: str, *, check: bool = True, **kw: Any) -> Any:
    u = urlsplit(redis_url)
    req = {
        "redis": {"host": u.hostname, "port": u.port},
        "prefix": prefix,
        "cache_prefix": "laravel_cache",
        "cmd": cmd,
        **kw,
    }
    proc = subprocess.run(
        ["php", str(DRIVER)],
        input=json.dumps(req).encode(),
        capture_output=True,
        timeout=25,
        check=False,
    )
    if not check:
        return proc
    assert proc.returncode == 0, proc.stderr.decode()[-3000:] + proc.stdout.decode()
    return json.loads(proc.stdout)


def payload(n: int, behaviour: str = "throw", **fields: Any) -> bytes:
    data: dict[str, Any] = {
        "uuid": f"{uuid.uuid4()}",
        "displayName": "AuditPeer",
        "job": f"AuditPeer@{behaviour}",
        "maxTries": None,
        "maxExceptions": None,
        "failOnTimeout": False,
        "backoff": None,
        "timeout": None,
        "retryUntil": None,
        "data": {"n": n, "s": "a/b é", "e": []},
        "id": f"id{n}",
        "attempts": 0,
    }
    data.update(fields)
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    return text.replace("/", "\\/").encode()


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_backend, "wall_time", lambda: T + 0.25)


@pytest.fixture
def sides(redis_url: str, prefix: str) -> Iterator[tuple[str, str, Laravel]]:
    """(PHP prefix, Python prefix, the Python app on it): Laravel 8.83, cache prefix
    ``laravel_cache`` on DB 1, APP_KEY shared with the driver."""
    php_prefix, py_prefix = prefix + "php:", prefix + "py:"
    app = Laravel.from_url(
        redis_url,
        laravel_version="8.83",
        redis_prefix=py_prefix,
        cache_prefix="laravel_cache",
        app_key=APP_KEY,
    )
    try:
        yield php_prefix, py_prefix, app
    finally:
        app.close()


def snapshot(redis_url: str, prefix: str) -> dict[tuple[int, bytes], Any]:
    """Every key under ``prefix`` in DB 0 and 1: list items, zset members with scores,
    strings with their TTL."""
    out: dict[tuple[int, bytes], Any] = {}
    base = redis_url.rsplit("/", 1)[0]
    for db in (0, 1):
        r = redis.Redis.from_url(f"{base}/{db}")
        for key in r.scan_iter(match=prefix.encode() + b"*", count=1000):
            short = key[len(prefix) :]
            kind = r.type(key)
            if kind == b"list":
                out[db, short] = r.lrange(key, 0, -1)
            elif kind == b"zset":
                out[db, short] = r.zrange(key, 0, -1, withscores=True)
            else:
                out[db, short] = (r.get(key), r.ttl(key))
    return out


def assert_same_state(mine: dict[Any, Any], laravel: dict[Any, Any]) -> None:
    """Same keys and contents; string TTLs within 2 s (the two sides wrote them at
    different moments of real time)."""
    assert mine.keys() == laravel.keys()
    for key, value in laravel.items():
        if isinstance(value, tuple) and len(value) == 2 and isinstance(value[1], int):
            assert mine[key][0] == value[0], key
            assert (mine[key][1] < 0) == (value[1] < 0), key
            assert abs(mine[key][1] - value[1]) <= 2, key
        else:
            assert mine[key] == value, key


def handler_for(worker: Worker) -> None:
    """The Python twin of the driver's ``AuditPeer`` string job."""

    @worker.handler("AuditPeer")
    def run(job: Job) -> None:
        behaviour = job.payload.job.split("@", 1)[1]
        data = job.data
        if behaviour == "throw":
            raise RuntimeError(data.get("message", "peer boom"))
        if behaviour == "release":
            job.release(data.get("delay", 0))
        elif behaviour == "fail":
            job.fail()
        elif behaviour == "sleep":
            _backend.sleep(data.get("seconds", 5))


def sqlite_db(path: Path, table: str, uuids: bool = True) -> dict[str, Any]:
    path.touch()
    return {"connection": {"driver": "sqlite", "database": str(path)}, "table": table,
            "uuids": uuids}  # fmt: skip


def rows(path: Path, table: str) -> dict[str, tuple[Any, ...]]:
    con = sqlite3.connect(path)
    try:
        got = con.execute(
            f"select uuid, connection, queue, payload, exception, failed_at from {table}"
        ).fetchall()
    finally:
        con.close()
    return {row[0]: row[1:] for row in got}


def head(exception: str) -> str:
    """``Class: message`` of the first line of ``(string) $e`` (PHP adds `` in
    file:line``; worker-made exceptions here have no location)."""
    first = exception.split("\n", 1)[0]
    return first.rsplit(" in /", 1)[0] if " in /" in first else first


# ----------------------------------------------------------- one job, both sides


def test_worker_outcomes_match_laravel(
    redis_url: str, sides: tuple[str, str, Laravel], tmp_path: Path, frozen: None
) -> None:
    php_prefix, py_prefix, app = sides
    r = redis.Redis.from_url(redis_url)
    grid = itertools.product(
        [None, 0, 1, 3],  # maxTries
        [0, 2],  # attempts already made
        [None, "", "5,9"],  # backoff
        [None, 4],  # delay (12.11+ payload field, read by Job::backoff())
        [None, T - 1, T, T + 5],  # retryUntil
        [None, 1, 3],  # maxExceptions (3: the counter stays, with its TTL)
        [(1, 0), (0, "7,3")],  # worker --tries, --backoff
    )
    cases = random.Random(20261).sample(list(grid), 60)
    behaviours = ["throw"] * 45 + ["fire"] * 5 + ["release"] * 5 + ["fail"] * 5
    runs = []
    for i, (
        max_tries,
        attempts,
        backoff,
        delay,
        until,
        max_exc,
        (tries, wb),
    ) in enumerate(cases):
        fields: dict[str, Any] = {
            "maxTries": max_tries,
            "attempts": attempts,
            "backoff": backoff,
            "retryUntil": until,
            "maxExceptions": max_exc,
        }
        if delay is not None:
            fields["delay"] = delay
        raw = payload(i, behaviours[i], **fields)
        queue = f"q{i}"
        for p in (php_prefix, py_prefix):
            r.rpush(f"{p}queues:{queue}", raw)
            r.rpush(f"{p}queues:{queue}:notify", 1)
        runs.append({"queue": queue, "options": {"tries": tries, "backoff": wb}})

    php_db = sqlite_db(tmp_path / "php.sqlite", "failed_jobs")
    php(redis_url, php_prefix, "schema", db=php_db)
    laravel = php(redis_url, php_prefix, "work-many", db=php_db, runs=runs, now=T)

    store = DatabaseFailedJobStore(f"sqlite:///{tmp_path / 'py.sqlite'}", "failed_jobs")
    store.create_table()
    python = []
    for run in runs:
        w = Worker(
            app,
            [run["queue"]],
            sleep=0,
            handle_signals=False,
            failer=store,
            tries=run["options"]["tries"],
            backoff=run["options"]["backoff"],
        )
        handler_for(w)
        res = w.run(once=True)
        python.append((res.deleted, res.released, res.failed))

    outcomes = [
        (int(x["deleted"] and not x["failed"]), int(x["released"]), int(x["failed"]))
        for x in laravel["results"]
    ]
    assert python == outcomes
    assert sum(o[2] for o in outcomes) > 10 and sum(o[1] for o in outcomes) > 10
    state = snapshot(redis_url, php_prefix)
    assert_same_state(snapshot(redis_url, py_prefix), state)
    counters = [v for (db, k), v in state.items() if b"job-exceptions:" in k]
    assert counters and all(v[0] == b"1" and 86390 < v[1] <= 86400 for v in counters)
    php_rows = rows(tmp_path / "php.sqlite", "failed_jobs")
    py_rows = rows(tmp_path / "py.sqlite", "failed_jobs")
    assert php_rows.keys() == py_rows.keys()
    for key, (conn, queue, body, exc, failed_at) in php_rows.items():
        py_conn, py_queue, py_body, py_exc, py_failed_at = py_rows[key]
        assert (py_conn, py_queue, py_body, py_failed_at) == (
            conn,
            queue,
            body,
            failed_at,
        )
        php_head, py_head = head(exc), head(py_exc)
        if php_head.startswith("RuntimeException: "):  # the handler's own exception
            assert py_head == "builtins.RuntimeError: " + php_head.split(": ", 1)[1]
        else:  # MaxAttemptsExceededException / ManuallyFailedException: same text
            assert py_head == php_head, (php_head, py_head)


@pytest.mark.slow
def test_timeouts_match_laravel(
    redis_url: str, sides: tuple[str, str, Laravel], tmp_path: Path, frozen: None
) -> None:
    """Laravel's SIGALRM handler marks the job (maxTries, maxExceptions, failOnTimeout)
    and kills the worker: the job stays in :reserved unless it was failed."""
    php_prefix, py_prefix, app = sides
    r = redis.Redis.from_url(redis_url)
    php_db = sqlite_db(tmp_path / "php.sqlite", "failed_jobs")
    php(redis_url, php_prefix, "schema", db=php_db)
    store = DatabaseFailedJobStore(f"sqlite:///{tmp_path / 'py.sqlite'}", "failed_jobs")
    store.create_table()
    cases = [
        {"maxTries": 3},
        {"maxTries": 3, "failOnTimeout": True},
        {"maxTries": 1},
        {"maxTries": 3, "maxExceptions": 1},
    ]
    for i, fields in enumerate(cases):
        raw = payload(i, "sleep", timeout=1, data={"seconds": 4}, **fields)
        queue = f"t{i}"
        for p in (php_prefix, py_prefix):
            r.rpush(f"{p}queues:{queue}", raw)
            r.rpush(f"{p}queues:{queue}:notify", 1)
        proc = php(
            redis_url,
            php_prefix,
            "daemon",
            check=False,
            db=php_db,
            queue=queue,
            now=T,
            options={"tries": 1, "timeout": 60},
        )
        assert proc.returncode != 0  # killed by its own SIGALRM handler
        w = Worker(app, [queue], sleep=0, handle_signals=False, failer=store)
        handler_for(w)
        res = w.run(once=True)
        assert res.deleted == 0 and res.released == 0
    state = snapshot(redis_url, php_prefix)
    assert_same_state(snapshot(redis_url, py_prefix), state)
    # only the first job (maxTries 3) is left, reserved until pop time + retry_after
    [(member, score)] = state[0, b"queues:t0:reserved"]
    assert score == T + 90 and json.loads(member)["attempts"] == 1
    assert not any(
        k.endswith(b":reserved") for _, k in state if k != b"queues:t0:reserved"
    )
    php_rows = rows(tmp_path / "php.sqlite", "failed_jobs")
    py_rows = rows(tmp_path / "py.sqlite", "failed_jobs")
    assert php_rows.keys() == py_rows.keys() and len(php_rows) == 3
    for key, row in php_rows.items():
        assert py_rows[key][:3] == row[:3] and py_rows[key][4] == row[4]
        # 8.x: the MaxAttemptsExceededException with the "run too long" message
        assert head(py_rows[key][3]) == head(row[3])


# ------------------------------------------------------------------ queue:retry


def encrypted_command(app: Laravel, command: str) -> str:
    # Crypt::encrypt(serialize($job)): the plaintext is s:N:"O:…";
    return app.encrypter.encrypt(command, serialize=True)


@pytest.mark.parametrize("kind", ["sqlite", "postgres", "mysql"])
@pytest.mark.parametrize("uuids", [True, False])
def test_retry_command_takes_python_failed_jobs(
    redis_url: str,
    sides: tuple[str, str, Laravel],
    tmp_path: Path,
    kind: str,
    uuids: bool,
) -> None:
    php_prefix, py_prefix, app = sides
    r = redis.Redis.from_url(redis_url)
    table = f"fj_{uuid.uuid4().hex[:10]}"
    url, connection = {
        "sqlite": (f"sqlite:///{tmp_path / 'r.sqlite'}", None),
        "postgres": (PG_URL, PG),
        "mysql": (MYSQL_URL, MY),
    }[kind]
    if connection is None:
        (tmp_path / "r.sqlite").touch()
        connection = {"driver": "sqlite", "database": str(tmp_path / "r.sqlite")}
    db = {"connection": connection, "table": table, "uuids": uuids}
    store = DatabaseFailedJobStore(url, table, app, uuids=uuids)
    store.create_table()  # the Python schema; Laravel's providers must read it
    command = phpser.dumps(phpser.PhpObject("App\\Jobs\\AuditRetryUntil", {"n": 1}))
    command_text = command.decode()
    bodies = [
        payload(1, attempts=3, data={"x": "a/b é ☃", "e": {}, "k": {"0": "a"}}),
        payload(
            2,
            job="Illuminate\\Queue\\CallQueuedHandler@call",
            attempts=2,
            retryUntil=T,
            data={"commandName": "App\\Jobs\\AuditRetryUntil", "command": command_text},
        ),  # fmt: skip
        payload(
            3,
            job="Illuminate\\Queue\\CallQueuedHandler@call",
            attempts=1,
            data={
                "commandName": "App\\Jobs\\AuditRetryUntil",
                "command": encrypted_command(app, command_text),
            },
        ),  # fmt: skip
        payload(4, attempts=None),
    ]
    try:
        ids = [store.log("redis", f"retry{i}", b, "E") for i, b in enumerate(bodies)]
        if not uuids:
            assert ids == [str(int(ids[0]) + i) for i in range(4)]
        out = php(redis_url, php_prefix, "retry", db=db, ids=ids, retry_until=T + 600)
        assert out["output"].count("has been pushed back onto the queue") == 4
        assert store.all() == []  # forgotten by Laravel
        for i, b in enumerate(bodies):
            store.log("redis", f"retry{i}", b, "E")
        # the same rows retried from Python: the retryUntil() of AuditRetryUntil
        # (payloads 2 and 3) is what PHP called; payload 1 has no data.command
        for job in store.all():
            until = T + 600 if b"AuditRetryUntil" in job.payload else None
            store.retry(job.id, **({"retry_until": until} if until else {}))
        assert store.all() == []
        for i in range(4):
            php_list = r.lrange(f"{php_prefix}queues:retry{i}", 0, -1)
            py_list = r.lrange(f"{py_prefix}queues:retry{i}", 0, -1)
            assert py_list == php_list and len(php_list) == 1, i
        pushed = [
            json.loads(r.lindex(f"{php_prefix}queues:retry{i}", 0)) for i in range(4)
        ]
        assert [p.get("attempts") for p in pushed] == [0, 0, 0, None]
        assert [p.get("retryUntil") for p in pushed] == [None, T + 600, T + 600, None]
    finally:
        with store._db.cursor() as cur:
            cur.execute(f"drop table if exists {store._t}")


@pytest.mark.parametrize("uuids", [True, False])
def test_python_reads_laravel_failed_jobs(
    redis_url: str, sides: tuple[str, str, Laravel], tmp_path: Path, uuids: bool
) -> None:
    php_prefix, _, app = sides
    db = sqlite_db(tmp_path / "l.sqlite", "failed_jobs", uuids)
    php(redis_url, php_prefix, "schema", db=db)
    raw = payload(9, attempts=2)
    out = php(
        redis_url,
        php_prefix,
        "log",
        db=db,
        queue="emails",
        now=T,
        timezone="Asia/Tokyo",
        payload=base64.b64encode(raw).decode(),
        message="boom é",
    )
    store = DatabaseFailedJobStore(
        f"sqlite:///{tmp_path / 'l.sqlite'}",
        "failed_jobs",
        app,
        uuids=uuids,
        app_timezone="Asia/Tokyo",
    )
    [job] = store.all()
    assert job.id == str(out["id"]) and job.payload == raw
    assert (job.connection, job.queue) == ("redis", "emails")
    assert job.exception == out["string"]
    assert int(job.failed_at.timestamp()) == T  # Date::now() in Asia/Tokyo, read back
    assert store.find(job.id) == job


# --------------------------------------------------------------------- schemas


def columns(url: str, table: str) -> list[tuple[Any, ...]]:
    store = DatabaseFailedJobStore(url, table)
    with store._db.cursor() as cur:
        if store._db.kind == "sqlite":
            cur.execute(f"pragma table_info({table})")
            cols = [tuple(c[1:]) for c in cur.fetchall()]
            cur.execute(f"pragma index_list({table})")
            uniques = sorted(bool(i[2]) for i in cur.fetchall())
            return cols + [("unique", tuple(uniques))]
        if store._db.kind == "postgres":
            cur.execute(
                "select column_name, data_type, is_nullable, column_default, "
                "character_maximum_length, datetime_precision from "
                "information_schema.columns where table_name = %s order by ordinal_position",
                (table,),
            )
            cols = [
                tuple(str(x).replace(table, "T") for x in c) for c in cur.fetchall()
            ]
            cur.execute(
                "select count(*) from information_schema.table_constraints where "
                "table_name = %s and constraint_type = 'UNIQUE'",
                (table,),
            )
            return cols + [("unique", cur.fetchone()[0])]
        cur.execute(
            "select column_name, column_type, is_nullable, column_default, extra, "
            "column_key, collation_name from information_schema.columns "
            "where table_name = %s and table_schema = database() "
            "order by ordinal_position",
            (table,),
        )
        return [tuple(c) for c in cur.fetchall()]


def _named(cols: list[tuple[Any, ...]], table: str) -> list[tuple[Any, ...]]:
    return [tuple(str(x).replace(table, "T") for x in c) for c in cols]


@pytest.mark.parametrize("kind", ["sqlite", "postgres", "mysql"])
@pytest.mark.parametrize("uuids", [True, False])
def test_table_matches_laravels_migration(
    redis_url: str, sides: tuple[str, str, Laravel], tmp_path: Path, kind: str,
    uuids: bool,
) -> None:  # fmt: skip
    php_prefix, _, _ = sides
    url, connection = {
        "sqlite": (f"sqlite:///{tmp_path / 's.sqlite'}", None),
        "postgres": (PG_URL, PG),
        "mysql": (MYSQL_URL, MY),
    }[kind]
    if connection is None:
        (tmp_path / "s.sqlite").touch()
        connection = {"driver": "sqlite", "database": str(tmp_path / "s.sqlite")}
    ours, theirs = (f"fj_{uuid.uuid4().hex[:10]}" for _ in range(2))
    store = DatabaseFailedJobStore(url, ours, uuids=uuids)
    store.create_table()
    php(redis_url, php_prefix, "schema",
        db={"connection": connection, "table": theirs, "uuids": uuids})  # fmt: skip
    try:
        mine = columns(url, ours)
        laravel = columns(url, theirs)
        assert _named(mine, ours) == _named(laravel, theirs)
    finally:
        with store._db.cursor() as cur:
            for t in (ours, theirs):
                cur.execute(f"drop table if exists {store._db.quote(t)}")


# -------------------------------------------------------------- json_encode


def random_value(rng: random.Random, depth: int = 0) -> Any:
    choice = rng.randrange(10 if depth < 3 else 6)
    if choice == 0:
        return rng.choice([None, True, False])
    if choice == 1:
        return rng.choice([0, -1, 7, 2**53 + 1, -(2**62), 12345678901234567])
    if choice == 2:
        return rng.choice([0.1, 1.0, -0.0, 1e20, 1.5e-7, 0.30000000000000004, 1e15])
    if choice in (3, 4, 5):
        return "".join(
            rng.choice(["a", "/", "\\", '"', "é", "☃", "\n", "\t", "<", "'", "0", "𝄞"])
            for _ in range(rng.randrange(6))
        )
    if choice in (6, 7):
        return [random_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    keys = rng.choice([["a", "b/c", "é"], ["0", "1", "2"], ["1", "0"], ["0", "01"], []])
    return {k: random_value(rng, depth + 1) for k in keys[: rng.randrange(4)]}


@pytest.mark.parametrize(("assoc", "pretty"), [(True, False), (False, True)])
def test_json_encode_matches_php(
    redis_url: str, sides: tuple[str, str, Laravel], assoc: bool, pretty: bool
) -> None:
    rng = random.Random(4242 + assoc + 2 * pretty)
    values = [random_value(rng) for _ in range(300)]
    texts = [json.dumps(v, ensure_ascii=False) for v in values]
    out = php(redis_url, sides[0], "json", texts=texts, assoc=assoc, pretty=pretty)
    mine = [php_json_encode(json.loads(t), pretty=pretty, assoc=assoc) for t in texts]
    assert mine == out["outs"]


def test_file_failer_is_what_laravel_writes_back(
    redis_url: str, sides: tuple[str, str, Laravel], tmp_path: Path, frozen: None
) -> None:
    """FileFailedJobProvider (10.x+) reads the file with json_decode() and writes it with
    json_encode(JSON_PRETTY_PRINT): the file Python writes is a fixed point of that."""
    php_prefix, _, app = sides
    path = tmp_path / "failed-jobs.json"
    store = FileFailedJobStore(path, app, app_timezone="America/New_York")
    for i in range(3):
        store.log("redis", "q/é", payload(i, data={"e": {}, "k": {"0": 1}}), f"E{i} ☃/")
    text = path.read_text()
    out = php(redis_url, php_prefix, "json", texts=[text], assoc=False, pretty=True)
    assert out["outs"] == [text]
    first = json.loads(text)[0]
    assert (
        first["failed_at"] == "2025-12-31 19:00:00"
        and first["failed_at_timestamp"] == T
    )
