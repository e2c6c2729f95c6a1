"""Conformance audit of the cache store, tagged cache and locks against a real Redis
and, where it can run, real Laravel 8.83 (``tests/interop/php/cache_audit.php``).

Keys, tag names, prefixes and values are generated (``random.Random`` with a fixed
seed per test): unicode, binary, very long, and with ``:`` ``{`` ``*`` ``?`` ``[`` ``]``
``\\`` in keys and prefixes. Nothing comes from ``../shared/fixtures``. Where only a
10.x-12.x source reading exists (tag zsets, 11.0 TTL rounding, 11.20 ``block()``,
12.30+ tag flush) the expected bytes are computed here from that reading and the
commands are read back with ``MONITOR`` on a private server.
"""

from __future__ import annotations

import base64
import hashlib
import math
import random
import re
import string
import subprocess
import time
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import redis as sync_redis

from ninja_redis import php
from ninja_redis._async._backend import monotonic, wall_time
from ninja_redis._async.app import AsyncLaravel
from ninja_redis.codec import format_php_number
from ninja_redis.exceptions import LockTimeout
from ninja_redis.php import PhpEnum, PhpObject
from tests.interop._php import cache_env, run_driver
from tests.unit.test_version_table import numeric_string, php_float, php_value

AppFactory = Any  # make_app(version, **overrides) -> AsyncLaravel

# the PHP classes the generated values use (declared in every PHP batch)
PHP_CLASSES = r"""
if (! class_exists('AuditPoint', false)) {
    class AuditPoint { public $x; protected $y; private $z; }
    enum AuditSuit: string { case Hearts = 'H'; case Spades = 'S'; }
}
"""


@pytest.fixture
async def make_app(redis_url: str, prefix: str) -> AsyncIterator[AppFactory]:
    apps: list[AsyncLaravel] = []

    def make(version: str, url: str | None = None, **kw: Any) -> AsyncLaravel:
        kw.setdefault("redis_prefix", prefix)
        app = AsyncLaravel.from_url(url or redis_url, laravel_version=version, **kw)
        apps.append(app)
        return app

    try:
        yield make
    finally:
        for app in apps:
            await app.aclose()


def raw(app: AsyncLaravel, connection: str = "cache") -> sync_redis.Redis:
    conn = app.config.connection(
        app.config.cache_connection if connection == "cache" else connection
    )
    return sync_redis.Redis(host=conn.host, port=conn.port, db=conn.database)


# ------------------------------------------------------------------- the PHP peer


def v64(value: Any) -> dict[str, str]:
    return {"v": base64.b64encode(php.dumps(value)).decode()}


def php_run(
    port: int, prefix: str, cmds: list[list[Any]], **env: str
) -> list[dict[str, Any]]:
    """Run ``cache_audit.php`` (Laravel 8.83); each answer's ``result`` is the
    serialize() text of the PHP return value (or ``error``/``message``)."""
    batch: list[list[Any]] = [["define", PHP_CLASSES], *cmds]
    out = run_driver("cache_audit.php", batch, cache_env(port, prefix, **env))
    assert len(out) == len(batch) and out[0]["ok"], out[:1]
    for item in out[1:]:
        if item["ok"]:
            item["raw"] = base64.b64decode(item["result"])
            item["value"] = php.loads(item["raw"])
    return out[1:]


# ----------------------------------------------------------------- generators

KEY_CHARS = string.ascii_letters + string.digits + ":{}*?[]\\^-_./ é€😀"


def gen_key(rng: random.Random, n: int = 16) -> str:
    return "".join(rng.choice(KEY_CHARS) for _ in range(rng.randint(1, n)))


def audit_values(rng: random.Random) -> list[Any]:
    """Every PHP-visible value type, edges first, then generated ones."""
    values: list[Any] = [
        2**63 - 1,
        -(2**63),
        -(2**63) + 1,
        0,
        -1,
        0.1 + 0.2,
        -0.0,
        1e15,
        1e14,
        12345678901234.5,
        999999999999995.0,
        120000000000005.0,
        5e-324,
        1.7976931348623157e308,
        math.inf,
        -math.inf,
        math.nan,
        " 5",
        "5 ",
        "+5",
        "-0",
        ".5",
        "5.",
        "1e3",
        "1E-3",
        "0x1A",
        "1e999",
        "9223372036854775808",
        "",
        "dark",
        "Grüße, 世界 😀",
        True,
        False,
        None,
        [],
        {},
        {"1": "x", "01": "y", "-5": "z", "-0": "w"},
        bytes(range(256)),
        "x" * 100_000,
        PhpObject("AuditPoint", {"x": 1}, protected={"y": [1.5]}, private={"z": "é"}),
        PhpObject("stdClass", {"p": None, "q": {"r": [True]}}),
        PhpEnum("AuditSuit", "Hearts"),
        [PhpEnum("AuditSuit", "Spades"), {"n": [PhpEnum("AuditSuit", "Spades")]}],
    ]
    values += [numeric_string(rng) for _ in range(25)]
    values += [php_float(rng) for _ in range(25)]
    values += [php_value(rng) for _ in range(40)]
    values += [rng.randint(-(2**63), 2**63 - 1) for _ in range(10)]
    return values


def laravel_get(value: Any, default: Any = None) -> Any:
    """What RedisStore::get() gives back for a stored ``value`` (no phpredis
    serializer): finite numbers and numeric strings as the stored numeric string, a
    cached null as the default, anything else as itself."""
    if isinstance(value, bool) or value is None:
        return default if value is None else value
    if isinstance(value, int) or (isinstance(value, float) and math.isfinite(value)):
        return format_php_number(value)
    return value


def same(a: Any, b: Any) -> bool:
    """Equal as PHP values (NaN, -0.0 and int/str keys compared through serialize())."""
    return bool(php.dumps(a) == php.dumps(b))


# -------------------------------------------------------------- MONITOR helper

_ARG = re.compile(rb'"((?:[^"\\]|\\.)*)"')
_ESC = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"a": b"\a", b"b": b"\b"}


def _unescape(arg: bytes) -> bytes:
    out = bytearray()
    i = 0
    while i < len(arg):
        c = arg[i : i + 1]
        if c == b"\\":
            nxt = arg[i + 1 : i + 2]
            if nxt == b"x":
                out += bytes([int(arg[i + 2 : i + 4], 16)])
                i += 4
                continue
            out += _ESC.get(nxt, nxt)
            i += 2
            continue
        out += c
        i += 1
    return bytes(out)


class Monitor:
    """``redis-cli monitor`` on a private server: the commands it received."""

    def __init__(self, port: int, workdir: Path) -> None:
        self.path = workdir / f"monitor-{time.time_ns()}.log"
        self._file = self.path.open("wb")
        self._proc = subprocess.Popen(
            ["redis-cli", "-p", str(port), "monitor"], stdout=self._file
        )
        deadline = time.monotonic() + 5
        while b"OK" not in self.path.read_bytes():
            assert time.monotonic() < deadline, "redis-cli monitor did not start"
            time.sleep(0.01)

    def commands(self) -> list[list[bytes]]:
        time.sleep(0.2)
        self._proc.terminate()
        self._proc.wait(5)
        self._file.close()
        out = []
        for line in self.path.read_bytes().splitlines():
            args = [_unescape(m) for m in _ARG.findall(line)]
            if args:
                args[0] = args[0].upper()
                out.append(args)
        return out


# =============================================================== values (8.83 live)


@pytest.mark.php
@pytest.mark.laravel
async def test_value_bytes_and_get_match_laravel_8(
    make_app: AppFactory, redis_port: int, prefix: str
) -> None:
    """put() stores what Laravel 8.83's RedisStore stores for every PHP-visible type,
    and get() returns what Laravel's get() returns (numbers as numeric strings), on
    generated keys; both directions, checked through the raw bytes."""
    rng = random.Random("audit-values")
    values = audit_values(rng)
    keys = [f"{gen_key(rng)}#{i}" for i in range(len(values))]
    app = make_app("8.83")
    db1 = raw(app)
    for i, (key, value) in enumerate(zip(keys, values, strict=True)):
        assert await app.cache.put("py" + key, value, 600) is True, i
    php_out = php_run(
        redis_port,
        prefix,
        [
            ["repo", "put", ["php" + k, v64(v), 600]]
            for k, v in zip(keys, values, strict=True)
        ]
        + [["repo", "get", ["py" + k]] for k in keys]
        + [["repo", "get", ["php" + k]] for k in keys],
    )
    n = len(keys)
    for i, (key, value) in enumerate(zip(keys, values, strict=True)):
        assert php_out[i]["value"] is True, (i, php_out[i])
        mine, theirs = app.keys.cache("py" + key), app.keys.cache("php" + key)
        assert db1.get(mine) == db1.get(theirs), (i, value)
        assert (
            db1.ttl(mine) == db1.ttl(theirs) == 600
            or abs(db1.ttl(mine) - db1.ttl(theirs)) <= 1
        )
        php_get_py, php_get_php = php_out[n + i]["raw"], php_out[2 * n + i]["raw"]
        assert php_get_py == php_get_php, (i, value)
        got = await app.cache.get("php" + key)
        assert php.dumps(got) == php_get_php, (i, value, got)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if not isinstance(value, float) or math.isfinite(value):
                assert type(got) is str  # Laravel returns the numeric string
    # many() over every key: one MGET, the same values
    got_many = await app.cache.many(["php" + k for k in keys])
    for i, k in enumerate(keys):
        assert php.dumps(got_many["php" + k]) == php_out[2 * n + i]["raw"]


# ================================================================= TTLs (8.83 live)


def stored_seconds(r: sync_redis.Redis, key: bytes) -> int | None:
    """The TTL a SETEX/EXPIRE gave ``key`` (PTTL rounded up), None if missing."""
    pttl = r.pttl(key)
    if pttl == -2:
        return None
    return -1 if pttl == -1 else math.ceil(pttl / 1000)


@pytest.mark.php
@pytest.mark.laravel
async def test_ttl_forms_match_laravel_8(
    make_app: AppFactory, redis_port: int, prefix: str
) -> None:
    """Repository::getSeconds() of 8.x-10.x: an int, a float (truncated), a
    DateInterval, a DateTime ``now + N s`` (whole timestamps subtracted: exactly N,
    where truncating the real difference gives N-1), 0, negative and past TTLs
    (put deletes, add refuses, putMany deletes) -- Python and Laravel 8.83 side by
    side on generated keys."""
    rng = random.Random("audit-ttl")
    app = make_app("8.83")
    db1 = raw(app)
    n = rng.randint(100, 10_000)
    cases: list[tuple[str, Any, Any]] = [
        ("int", n, n),
        ("float", n + 0.9, {"f": repr(n + 0.9)}),
        ("interval", timedelta(seconds=n), {"di": f"PT{n}S"}),
        ("dtrel", None, {"dtrel": float(n)}),
        ("zero", 0, 0),
        ("negative", -n, -n),
        ("floatneg", -0.5, {"f": "-0.5"}),
        ("past", None, {"dtrel": -5.0}),
    ]
    keys = {name: gen_key(rng) + name for name, _, _ in cases}
    for name in keys:  # every key exists first: put with TTL <= 0 must delete it
        await app.cache.forever("py" + keys[name], "old")
        await app.cache.forever("php" + keys[name], "old")
    py_results = {}
    for name, py_ttl, _ in cases:
        if name == "dtrel":
            py_ttl = datetime.now(timezone.utc) + timedelta(seconds=n)
        elif name == "past":
            py_ttl = datetime.now() - timedelta(seconds=5)  # naive = local time
        py_results[name] = await app.cache.put("py" + keys[name], [name], py_ttl)
    out = php_run(
        redis_port,
        prefix,
        [["repo", "put", ["php" + keys[c[0]], v64([c[0]]), c[2]]] for c in cases],
    )
    for (name, _, _), answer in zip(cases, out, strict=True):
        mine = stored_seconds(db1, app.keys.cache("py" + keys[name]))
        theirs = stored_seconds(db1, app.keys.cache("php" + keys[name]))
        assert mine == theirs, (name, mine, theirs)
        assert py_results[name] == answer["value"], name
        if name in ("int", "interval", "dtrel"):
            assert mine == n, name
        elif name == "float":
            assert mine == n  # (int) 100.9 = 100
        else:
            assert mine is None, name  # deleted (forget), put returned true
    # add(): a TTL <= 0 refuses without touching anything; putMany deletes
    adds = [0, -3, {"dtrel": -2.0}, {"f": "0.5"}]
    py_adds = [
        await app.cache.add("pa" + keys["int"], 1, t)
        for t in (0, -3, datetime.now(timezone.utc) - timedelta(seconds=2), 0.5)
    ]
    out = php_run(
        redis_port, prefix, [["repo", "add", ["qa" + keys["int"], 1, t]] for t in adds]
    )
    assert py_adds == [a["value"] for a in out] == [False] * 4
    assert not db1.exists(app.keys.cache("pa" + keys["int"]))
    assert not db1.exists(app.keys.cache("qa" + keys["int"]))


# ===================================================== put/add/many/... (8.83 live)


@pytest.mark.php
@pytest.mark.laravel
async def test_store_operations_match_laravel_8(
    make_app: AppFactory, redis_port: int, prefix: str
) -> None:
    """add (existing, missing, cached null, no TTL), putMany return values (empty, TTL
    <= 0 on present/missing keys), increment/decrement on missing, TTL'd, non-numeric,
    float and overflowing values, pull, forget, forever: Python and Laravel side by
    side, results and bytes compared."""
    rng = random.Random("audit-ops")
    app = make_app("8.83")
    db1 = raw(app)
    k = {name: gen_key(rng) + name for name in "abcdefghijklmn"}
    seeded: list[tuple[str, Any, Any]] = [
        ("a", "first", 300),
        ("b", None, 300),  # a cached null counts as missing for add()
        ("f", "abc", 300),  # not a number: INCRBY fails
        ("g", 1.5, 300),  # "1.5": INCRBY fails
        ("h", 2**63 - 1, 300),  # INCRBY overflows
        ("i", 5, 777),  # INCRBY keeps the TTL
        ("j", " 5", 300),  # numeric for PHP, not an integer for Redis
        ("m", "x", 300),
    ]

    async def python_side(p: str) -> list[Any]:
        cache = app.cache
        for name, value, ttl in seeded:
            await cache.put(p + k[name], value, ttl)
        results: list[Any] = [
            await cache.add(p + k["a"], "second", 300),
            await cache.add(p + k["b"], "second", 300),
            await cache.add(p + k["c"], [1, 2], 300),
            await cache.add(p + k["d"], "noTTL", None),
            await cache.add(p + k["d"], "again", None),
            await cache.put_many({}, 60),
            await cache.put_many({}, 0),
            await cache.put_many({}, None),
            await cache.put_many({p + k["m"]: 1, p + k["n"]: 2}, 0),
            await cache.put_many({p + k["i"] + "x": 1}, 60),
            await cache.put_many({p + k["i"] + "x": 1}, -1),
        ]
        for name in ("e", "i", "f", "g", "h", "j"):
            try:
                results.append(await cache.increment(p + k[name], 3))
            except sync_redis.exceptions.ResponseError:
                results.append(False)  # phpredis: false, redis-py: an error
        results.append(await cache.decrement(p + k["e"], 10))
        results.append(await cache.pull(p + k["a"], "dflt"))
        results.append(await cache.pull(p + k["a"], "dflt"))
        results.append(await cache.forget(p + k["a"]))
        results.append(await cache.forget(p + k["b"]))
        results.append(await cache.forever(p + k["l"], {"é": [1]}))
        return results

    mine = await python_side("py")
    cmds: list[list[Any]] = [
        ["repo", "put", ["php" + k[name], v64(value), ttl]]
        for name, value, ttl in seeded
    ]
    p = "php"
    cmds += [
        ["repo", "add", [p + k["a"], "second", 300]],
        ["repo", "add", [p + k["b"], "second", 300]],
        ["repo", "add", [p + k["c"], v64([1, 2]), 300]],
        ["repo", "add", [p + k["d"], "noTTL", None]],
        ["repo", "add", [p + k["d"], "again", None]],
        ["repo", "putMany", [{"map": []}, 60]],
        ["repo", "putMany", [{"map": []}, 0]],
        ["repo", "putMany", [{"map": []}, None]],
        ["repo", "putMany", [{"map": [[p + k["m"], 1], [p + k["n"], 2]]}, 0]],
        ["repo", "putMany", [{"map": [[p + k["i"] + "x", 1]]}, 60]],
        ["repo", "putMany", [{"map": [[p + k["i"] + "x", 1]]}, -1]],
    ]
    cmds += [
        ["repo", "increment", [p + k[n], 3]] for n in ("e", "i", "f", "g", "h", "j")
    ]
    cmds += [
        ["repo", "decrement", [p + k["e"], 10]],
        ["repo", "pull", [p + k["a"], "dflt"]],
        ["repo", "pull", [p + k["a"], "dflt"]],
        ["repo", "forget", [p + k["a"]]],
        ["repo", "forget", [p + k["b"]]],
        ["repo", "forever", [p + k["l"], v64({"é": [1]})]],
    ]
    out = php_run(redis_port, prefix, cmds)[len(seeded) :]
    assert [same(a, b["value"]) for a, b in zip(mine, out, strict=True)] == [
        True
    ] * len(mine), list(zip(mine, [b.get("value") for b in out], strict=True))
    for name in k.values():
        for suffix in ("", "x"):
            py, ph = (
                app.keys.cache("py" + name + suffix),
                app.keys.cache("php" + name + suffix),
            )
            assert db1.get(py) == db1.get(ph), name
            assert stored_seconds(db1, py) == stored_seconds(db1, ph), name
    assert stored_seconds(db1, app.keys.cache("py" + k["i"])) == 777
    assert stored_seconds(db1, app.keys.cache("py" + k["e"])) == -1  # INCRBY: no TTL
    assert await app.cache.get("py" + k["e"]) == "-7"  # numbers come back as strings


# ======================================================= TTL rules of 10.x / 11.0+


@pytest.mark.parametrize("version", ["10.50", "11.0", "12.67"])
async def test_datetime_and_interval_ttls_on_the_wire(
    make_app: AppFactory, version: str
) -> None:
    """SETEX seconds for datetime/timedelta TTLs: 8.x-10.x subtract whole Unix
    timestamps (``now + 300`` is 300), 11.0+ round the microsecond difference up."""
    rng = random.Random(f"audit-dt-{version}")
    app = make_app(version)
    db1 = raw(app)
    new = tuple(map(int, version.split("."))) >= (11, 0)
    for i in range(12):
        key = gen_key(rng) + str(i)
        secs = rng.randint(2, 5000)
        frac = rng.choice([0.0, 0.25, 0.999, rng.random()])
        before = wall_time()
        when = datetime.fromtimestamp(before + secs + frac, timezone.utc)
        assert await app.cache.put(key, i, when)
        after = wall_time()
        got = stored_seconds(db1, app.keys.cache(key))
        if new:
            allowed = {math.ceil(before + secs + frac - t) for t in (before, after)}
        else:
            allowed = {
                math.floor(before + secs + frac) - math.floor(t)
                for t in (before, after)
            }
        assert got in allowed, (version, secs, frac, got, allowed)
        td = timedelta(seconds=secs, microseconds=rng.choice([0, 1, 500, 999_999]))
        assert await app.cache.put(key + "td", i, td)
        got = stored_seconds(db1, app.keys.cache(key + "td"))
        micros = td // timedelta(microseconds=1)
        assert got == (-(-micros // 10**6) if new else micros // 10**6)


# ================================================================= add script / MONITOR


async def test_commands_on_the_wire(
    make_app: AppFactory, redis_server_factory: Any, tmp_path: Path
) -> None:
    """MONITOR on a private server: add() runs Laravel's add script (EXISTS then
    SETEX, KEYS[1] item, ARGV value and TTL), a tagged decrement sends DECRBY after
    ZADD NX -1, a lock SET key owner EX s NX / SETNX, release the compare-and-DEL
    script, forever SET, put SETEX, putMany MULTI/SETEX/EXEC."""
    server = redis_server_factory()
    app = make_app("12.67", url=server.url)
    rng = random.Random("audit-wire")
    key = gen_key(rng)
    head = app.keys.cache(b"")
    mon = Monitor(server.port, tmp_path)
    await app.cache.add(key, "v", 10)
    await app.cache.add(key, "w", 10)
    await app.cache.put_many({key + "1": 1, key + "2": "x"}, 20)
    await app.cache.tags(["a", "b"]).decrement(key, 4)
    lock = app.cache.lock(key, 30, "own")
    await lock.get()
    await app.cache.lock(key + "0", 0, "own0").get()
    await lock.release()
    cmds = mon.commands()
    names = [c[0] for c in cmds if c[0] not in (b"HELLO", b"CLIENT", b"SELECT")]
    assert b"DECRBY" in names and b"INCRBY" not in names
    # EVALSHA, and EVAL with the text on a NOSCRIPT: the same KEYS/ARGV either way
    evals = [c for c in cmds if c[0] in (b"EVAL", b"EVALSHA")]
    tails = {tuple(c[2:]) for c in evals}
    item = head + key.encode()
    assert tails == {
        (b"1", item, b's:1:"v";', b"10"),
        (b"1", item, b's:1:"w";', b"10"),
        (b"1", app.keys.lock(key), b"own"),
    }
    texts = [c[1] for c in evals if c[0] == b"EVAL" and len(c) == 6]
    laravel_add = (
        b"return redis.call('exists',KEYS[1])<1 and "
        b"redis.call('setex',KEYS[1],ARGV[2],ARGV[1])"
    )
    assert texts and all(t.rstrip().endswith(laravel_add) for t in texts)
    inner = [c for c in cmds if c[0] in (b"EXISTS", b"SETEX") and key.encode() in c[1]]
    assert [c[0] for c in inner][:3] == [b"EXISTS", b"SETEX", b"EXISTS"]
    setex = [
        c for c in cmds if c[0] == b"SETEX" and c[1].startswith(head + key.encode())
    ]
    assert [c[2] for c in setex] == [b"10", b"20", b"20"]
    lock_key = app.keys.lock(key)
    assert [b"SET", lock_key, b"own", b"EX", b"30", b"NX"] in cmds
    assert [b"SETNX", app.keys.lock(key + "0"), b"own0"] in cmds
    i = names.index(b"MULTI")
    assert names[i : i + 4] == [b"MULTI", b"SETEX", b"SETEX", b"EXEC"]
    zadds = [c for c in cmds if c[0] == b"ZADD"]
    assert [c[2:4] for c in zadds] == [[b"NX", b"-1"], [b"NX", b"-1"]]


# ====================================================== tagged cache 10.x+ (zsets)


@pytest.mark.parametrize("version", ["10.50", "12.29", "12.30", "12.67"])
async def test_tagged_zset_semantics(make_app: AppFactory, version: str) -> None:
    """Scores (floor(now) + ttl, -1 forever, NX keeps the first score), members
    (sha1(tag:a:entries|tag:b:entries):key, no ⟨P⟩⟨C⟩), putMany per item, TTL <= 0
    (DEL only, result = every key existed), many, pull, forget, add indexing even
    when the add fails, flush (only the named tags are cleaned, the others keep stale
    members), flushStale (-1 and future scores stay)."""
    rng = random.Random(f"audit-tags-{version}")
    # no Lua pattern characters in ⟨C⟩: the 12.30+ flush script's gsub() must match
    safe = string.ascii_letters + string.digits + ":{}_/é"
    app = make_app(version, cache_prefix="".join(rng.choice(safe) for _ in range(6)))
    db1 = raw(app)
    head = app.keys.cache(b"")
    names = [gen_key(rng, 6) + "1", gen_key(rng, 6) + "2"]
    tagged = app.cache.tags(names)
    zsets = [head + f"tag:{n}:entries".encode() for n in names]
    ns = hashlib.sha1(
        "|".join(f"tag:{n}:entries" for n in names).encode("utf-8")
    ).hexdigest()

    def member(key: str) -> bytes:
        return f"{ns}:{key}".encode()

    keys = [gen_key(rng) + str(i) for i in range(8)]
    values = [php_value(rng) for _ in keys]
    values[0] = 5  # incremented below
    before = int(wall_time())
    assert await tagged.put_many(dict(zip(keys[:4], values[:4], strict=True)), 300)
    after = int(wall_time())
    for key, value in zip(keys[:4], values[:4], strict=True):
        assert db1.get(head + member(key)) == app.codec("cache").dumps(value)
        for z in zsets:
            assert before + 300 <= db1.zscore(z, member(key)) <= after + 300
    assert await tagged.forever(keys[4], values[4])
    assert [db1.zscore(z, member(keys[4])) for z in zsets] == [-1, -1]
    assert await tagged.increment(keys[0], 2) == 7
    # increment: ZADD NX -1 keeps the existing score
    assert all(db1.zscore(z, member(keys[0])) >= before + 300 for z in zsets)
    # add() indexes first, even when the key exists (the add itself fails)
    assert await tagged.add(keys[1], "other", 100) is False
    assert all(
        before + 100 <= db1.zscore(z, member(keys[1])) <= after + 100 for z in zsets
    )
    assert await tagged.add(keys[5], values[5], 50) is True
    # many() / pull() / forget()
    got = await tagged.many({keys[2]: "d", keys[7]: "dflt"})
    assert same(got[keys[2]], laravel_get(values[2], "d"))
    assert got[keys[7]] == "dflt"
    assert same(await tagged.pull(keys[3]), laravel_get(values[3]))
    assert not db1.exists(head + member(keys[3]))
    # TTL <= 0: only DEL (no index), True only if every key existed
    assert await tagged.put_many({keys[2]: 1, keys[7]: 2}, 0) is False
    assert await tagged.put_many({keys[5]: 1}, -1) is True
    assert await tagged.put_many({}, 60) is False
    assert await tagged.put_many({}, None) is True
    assert not db1.exists(head + member(keys[7]))
    assert db1.zscore(zsets[0], member(keys[7])) is None
    # a one-tag view of tag 2: its item survives a flush of tag 1
    other = app.cache.tags([names[1]])
    assert await other.put(keys[6], values[6], 600)
    solo = hashlib.sha1(f"tag:{names[1]}:entries".encode()).hexdigest()
    # flushStale: expired entries go, -1 and future ones stay
    db1.zadd(zsets[0], {b"expired:member": before - 10})
    assert await app.cache.flush_stale_tags() >= 1
    assert db1.zscore(zsets[0], b"expired:member") is None
    assert db1.zscore(zsets[0], member(keys[4])) == -1
    # flush tag 1 only (through a one-tag view): its items go, tag 2 keeps members
    first = app.cache.tags([names[0]])
    assert await first.flush()
    for key in (keys[0], keys[1], keys[4]):
        assert not db1.exists(head + member(key))
    assert db1.zscore(zsets[1], member(keys[0])) is not None  # stale in tag 2
    assert db1.exists(head + f"{solo}:{keys[6]}".encode())
    if tuple(map(int, version.split("."))) >= (12, 30):
        assert db1.zcard(zsets[0]) == 0  # emptied by ZREM, not deleted explicitly
    else:
        assert not db1.exists(zsets[0])


# ======================================================= tagged cache 8.x (live)


@pytest.mark.php
@pytest.mark.laravel
async def test_legacy_tags_match_laravel_8(
    make_app: AppFactory, redis_port: int, prefix: str
) -> None:
    """8.x/9.x tag ids and reference sets, both directions: Python writes (put,
    forever, increment, decrement, add, putMany incl. TTL <= 0), Laravel reads and
    flushes; Laravel writes, Python reads (the one-round-trip Lua get) and flushes;
    PHP-falsy and foreign tag ids ("0", ``s:0:"";``, ``i:5;``, ``b:1;``, ``N;``) are
    read or replaced exactly as TagSet::tagId() does."""
    rng = random.Random("audit-legacy-tags")
    app = make_app("8.83")
    db1 = raw(app)
    head = app.keys.cache(b"")
    names = [gen_key(rng, 6) + "a", gen_key(rng, 6) + "b"]
    keys = [gen_key(rng) + str(i) for i in range(8)]
    values = [php_value(rng, text_only=True) for _ in keys]
    t = app.cache.tags(names)
    assert await t.put(keys[0], values[0], 300)
    assert await t.forever(keys[1], values[1])
    assert await t.increment(keys[2], 5) == 5
    assert await t.decrement(keys[2], 7) == -2
    assert await t.add(keys[3], values[3], 300) is True
    assert await t.put_many({keys[4]: values[4], keys[5]: values[5]}, 300)
    assert await t.put_many({keys[6]: 1}, 0) is False  # missing key: forget() false
    out = php_run(
        redis_port,
        prefix,
        [["tags", names, "get", [k]] for k in keys[:6]]
        + [
            ["tags", names, "many", [{"list": keys[:2]}]],
            ["tags", [names[0]], "flush", []],
        ]
        + [["tags", names, "get", [k]] for k in keys[:2]],
    )
    expect = [laravel_get(values[i]) for i in range(6)]
    expect[2] = "-2"
    for i, e in enumerate(expect):
        assert same(out[i]["value"], e), (i, out[i]["value"], e)
    assert same(
        out[6]["value"],
        {keys[0]: laravel_get(values[0]), keys[1]: laravel_get(values[1])},
    )
    assert (
        out[7]["value"] is True and out[8]["value"] is None and out[9]["value"] is None
    )
    # the reference set of tag b still lists the deleted items (stale), like Laravel
    # Laravel writes, Python reads through the Lua fast path, then flushes
    k2 = [gen_key(rng) + "p" + str(i) for i in range(3)]
    v2 = [php_value(rng, text_only=True) for _ in k2]
    php_run(
        redis_port,
        prefix,
        [
            ["tags", names, "put", [k2[0], v64(v2[0]), 300]],
            ["tags", names, "forever", [k2[1], v64(v2[1])]],
            ["tags", names, "increment", [k2[2], 3]],
        ],
    )
    t = app.cache.tags(names)
    assert same(await t.get(k2[0]), laravel_get(v2[0]))
    assert same(await t.get(k2[1]), laravel_get(v2[1]))
    assert await t.get(k2[2]) == "3"
    assert await t.flush()
    out = php_run(redis_port, prefix, [["tags", names, "get", [k]] for k in k2])
    assert [o["value"] for o in out] == [None, None, None]
    # foreign and falsy ids stored at tag:NAME:key
    forms = [b"0", b's:0:"";', b's:1:"0";', b"i:5;", b"b:1;", b"N;", b"d:1.5;", b"i:0;"]
    for j, form in enumerate(forms):
        tag = f"{gen_key(rng, 5)}f{j}"
        id_key = head + f"tag:{tag}:key".encode()
        db1.set(id_key, form)
        out = php_run(
            redis_port,
            prefix,
            [["tags", [tag], "put", ["k", v64(["php", j]), 300]]],
        )
        assert out[0]["value"] is True
        php_id = db1.get(id_key)
        assert await app.cache.tags([tag]).get("k") == ["php", j], form
        # Python with the same stored form, written first
        tag2 = tag + "py"
        id_key2 = head + f"tag:{tag2}:key".encode()
        db1.set(id_key2, form)
        assert await app.cache.tags([tag2]).put("k", ["py", j], 300)
        py_id = db1.get(id_key2)
        reset = php_id != form
        assert (py_id != form) == reset, (form, php_id, py_id)
        out = php_run(redis_port, prefix, [["tags", [tag2], "get", ["k"]]])
        assert out[0]["value"] == ["py", j], form
        # and a Python get of a falsy id replaces it too (one-round-trip path)
        tag3 = tag + "get"
        id_key3 = head + f"tag:{tag3}:key".encode()
        db1.set(id_key3, form)
        assert await app.cache.tags([tag3]).get("k3") is None
        assert (db1.get(id_key3) != form) == reset, form


# ================================================================== flush escaping


async def test_prefix_flush_escapes_glob_characters(make_app: AppFactory) -> None:
    """flush(mode="prefix"), flush_locks() and flush_stale_tags() SCAN with ⟨P⟩⟨C⟩
    glob-escaped: prefixes full of ``* ? [ ] \\ ^ -`` delete their own keys only,
    never the decoys an unescaped pattern would match."""
    rng = random.Random("audit-glob")
    for round_ in range(6):
        special = "".join(rng.choice("*?[]\\^-{}:a") for _ in range(rng.randint(2, 7)))
        p = f"g{round_}{special}"
        c = "".join(rng.choice("*?[]\\x:") for _ in range(rng.randint(1, 4)))
        app = make_app("12.67", redis_prefix=p, cache_prefix=c)
        db1, db0 = raw(app), raw(app, "default")
        mine = [gen_key(rng) for _ in range(30)]
        for key in mine:
            await app.cache.put(key, 1, 600)
            assert await app.cache.lock(key, 600, "o").get()
        await app.cache.tags(["t"]).put("x", 1, 1)
        # decoys: what ⟨P⟩⟨C⟩* would match with the metacharacters unescaped
        head = app.keys.cache(b"")
        decoys = [
            re.sub(rb"[*?\[\]\\^]", b"Z", head) + b"decoy",
            head.replace(b"\\", b"") + b"decoy",
            head[:-1] + b"Q" + b"decoy" if head else b"Qdecoy",
        ]
        decoys = [d for d in decoys if not d.startswith(head)]
        for d in decoys:
            db1.set(d, b"keep")
            db0.set(d, b"keep")
        db1.zadd(head + b"tag:t:entries", {b"gone": 1})
        assert await app.cache.flush_stale_tags() >= 1
        assert db1.zscore(head + b"tag:t:entries", b"gone") is None
        deleted = await app.cache.flush()
        assert deleted == 30 + 2  # items, the tagged item and its zset
        assert await app.cache.flush_locks() == 30
        for d in decoys:
            assert db1.get(d) == b"keep" and db0.get(d) == b"keep", (p, c, d)
            db1.delete(d)
            db0.delete(d)
        assert not any(db1.exists(app.keys.cache(k)) for k in mine)


# ==================================================================== locks (live)


@pytest.mark.php
@pytest.mark.laravel
@pytest.mark.parametrize("serializer", [None, "1", "2"])
async def test_locks_match_laravel_8(
    make_app: AppFactory, redis_port: int, prefix: str, serializer: str | None
) -> None:
    """Owner bytes (packed by phpredis when the lock connection has a serializer:
    none, php, igbinary), SET NX EX / SETNX, cross-process release both ways (restoreLock),
    a wrong owner releases nothing, forceRelease, isOwnedBy; names generated."""
    rng = random.Random(f"audit-locks-{serializer}")
    kw = (
        {"redis_serializer": {"1": "php", "2": "igbinary"}[serializer]}
        if serializer
        else {}
    )
    env = {"REDIS_SERIALIZER": serializer} if serializer else {}
    app = make_app("8.83", **kw)
    db0 = raw(app, "default")
    codec = app.codec("default")
    names = [gen_key(rng) + str(i) for i in range(4)]
    owner = "".join(rng.choice(string.ascii_letters) for _ in range(12))
    lk = app.cache.lock(names[0], 120, owner)
    assert await lk.get() is True
    assert db0.get(app.keys.lock(names[0])) == codec.pack_member(owner)
    assert 119 <= db0.ttl(app.keys.lock(names[0])) <= 120
    auto = app.cache.lock(names[1], 0)
    assert re.fullmatch(r"[A-Za-z0-9]{16}", auto.owner)
    assert await auto.get() is True and db0.ttl(app.keys.lock(names[1])) == -1
    out = php_run(
        redis_port,
        prefix,
        [
            ["lock", names[0], 120, "someone", "get", []],
            ["restore", names[0], "someone", "release", []],
            ["restore", names[0], owner, "release", []],
            ["restore", names[1], auto.owner, "release", []],
            ["lock", names[2], 60, "php-owner", "get", []],
            ["lock", names[3], 0, "php-zero", "get", []],
        ],
        **env,
    )
    assert [o["value"] for o in out] == [False, False, True, True, True, True]
    assert not db0.exists(app.keys.lock(names[0]))
    php_lock = app.cache.restore_lock(names[2], "php-owner")
    assert await php_lock.current_owner() == "php-owner"
    assert await php_lock.is_owned_by_current_process()
    assert await app.cache.restore_lock(names[2], "nope").release() is False
    assert db0.get(app.keys.lock(names[2])) == codec.pack_member("php-owner")
    assert 0 < db0.ttl(app.keys.lock(names[2])) <= 60
    assert await php_lock.release() is True
    assert db0.ttl(app.keys.lock(names[3])) == -1
    await app.cache.lock(names[3]).force_release()
    assert not db0.exists(app.keys.lock(names[3]))


@pytest.mark.slow
@pytest.mark.php
@pytest.mark.laravel
async def test_block_timing_per_version(
    make_app: AppFactory, redis_port: int, prefix: str
) -> None:
    """Lock::block() before 11.20 sleeps, then gives up once whole Unix seconds say
    ``now - wait >= start``: measured on Laravel 8.83 and on Python 8.83 against that
    formula; 11.20+ gives up as soon as the next pause would overrun the budget."""
    rng = random.Random("audit-block")
    app = make_app("8.83")
    name = gen_key(rng)
    assert await app.cache.lock(name, 60, "holder").get()

    def check_old_rule(start: float, elapsed: float, wait: int, pause: float) -> None:
        # Laravel <= 11.19: $starting = time(); loop { usleep(pause); if (time() - wait
        # >= $starting) throw }. $starting is floor(start) or, when a second boundary
        # falls between our clock read and the code's, floor(start) + 1. Every pass
        # also costs a round trip, so the stop is defined by the wall clock, not by a
        # pause count: it stopped at a check where the rule held, and not a whole
        # pause after one where it already held.
        began = math.floor(start)
        end = start + elapsed
        assert elapsed >= pause, (start, elapsed)  # sleeps before the first check
        assert math.floor(end) - wait >= began, (start, elapsed, wait)
        assert math.floor(end - pause) - wait < began + 1, (start, elapsed, wait)

    out = php_run(redis_port, prefix, [["block", name, 10, 250, 1] for _ in range(3)])
    for o in out:
        acquired, start, elapsed = o["value"]
        assert acquired is False
        check_old_rule(start, elapsed, 1, 0.25)
    for wait in (1, 2):
        lock = app.cache.lock(name, 10)
        start = wall_time()
        t0 = monotonic()
        with pytest.raises(LockTimeout):
            await lock.block(wait)
        check_old_rule(start, monotonic() - t0, wait, 0.25)
    app11 = make_app("11.20")
    assert await app11.cache.lock(name, 60, "holder").get()
    new = app11.cache.lock(name, 10).between_blocked_attempts_sleep_for(100)
    t0 = monotonic()
    with pytest.raises(LockTimeout):
        await new.block(0.55)
    assert 0.4 <= monotonic() - t0 <= 0.55 + 0.1  # 5 attempts, 4 pauses, no overrun
    old = make_app("11.19").cache.lock(name, 10)
    assert old._old_block and not new._old_block


# ================================================================ flexible (11.23+)


async def test_flexible_keys_and_created_value(make_app: AppFactory) -> None:
    """Cache::flexible: value and ``illuminate:cache:flexible:created:KEY`` written
    together (MULTI, TTL = stale), created = the Unix time as a raw integer, the
    refresh lock ``illuminate:cache:flexible:lock:KEY`` on the lock connection and
    released after the refresh; tagged: both keys under the tag namespace."""
    rng = random.Random("audit-flexible")
    app = make_app("11.23")
    db1, db0 = raw(app), raw(app, "default")
    key = gen_key(rng)
    value = php_value(rng, text_only=True) or "v"
    before = int(wall_time())
    assert same(await app.cache.flexible(key, (5, 60), lambda: value), value)
    created = db1.get(app.keys.flexible_created(key))
    assert created is not None and re.fullmatch(rb"[0-9]{10}", created)
    assert before <= int(created) <= int(wall_time())
    assert stored_seconds(db1, app.keys.flexible_created(key)) == 60
    assert stored_seconds(db1, app.keys.cache(key)) == 60
    # stale: the old value comes back, the refresh runs under the lock, then releases
    db1.set(app.keys.flexible_created(key), str(before - 100).encode(), ex=60)
    assert same(await app.cache.flexible(key, (5, 60), lambda: "fresh"), value)
    await app.cache.wait_background()
    assert await app.cache.get(key) == "fresh"
    assert int(db1.get(app.keys.flexible_created(key)) or 0) >= before
    assert not db0.exists(app.keys.flexible_lock(key))
    tagged = app.cache.tags(["t"])
    await tagged.flexible(key, (5, 60), lambda: 1)
    ns = hashlib.sha1(b"tag:t:entries").hexdigest()
    assert db1.get(app.keys.cache(f"{ns}:illuminate:cache:flexible:created:{key}"))


async def test_remember_ttl_from_the_value(make_app: AppFactory) -> None:
    """remember(): a callable TTL gets the computed value (``value($ttl, $value)``);
    a hit neither calls the callback nor touches the TTL; a computed null is stored
    as ``N;`` and counts as a miss next time, like Laravel."""
    rng = random.Random("audit-remember")
    app = make_app("12.67")
    db1 = raw(app)
    key = gen_key(rng)
    seen: list[Any] = []

    def ttl(value: Any) -> int:
        seen.append(value)
        return 100 + len(value)

    assert await app.cache.remember(key, ttl, lambda: "abcd") == "abcd"
    assert seen == ["abcd"] and stored_seconds(db1, app.keys.cache(key)) == 104
    assert await app.cache.remember(key, 5, lambda: "other") == "abcd"
    assert stored_seconds(db1, app.keys.cache(key)) == 104
    calls: list[int] = []

    def compute() -> None:
        calls.append(1)

    assert await app.cache.remember(key + "n", 60, compute) is None
    assert db1.get(app.keys.cache(key + "n")) == b"N;"
    assert await app.cache.remember(key + "n", 60, compute) is None
    assert calls == [1, 1]
