"""Two-way live interop with Laravel 8.83 (Debian php-illuminate-*): PHP reads what Python
wrote and Python reads what PHP wrote, for plain, tagged (8.x reference sets) and lock
operations; a PHP process contends for a lock with Python threads."""

from __future__ import annotations

import base64
import threading
from typing import Any

import pytest

from ninja_redis import php
from ninja_redis._sync.app import Laravel
from tests.interop._php import cache_env, run_batch

pytestmark = [pytest.mark.php, pytest.mark.laravel]


def run_php(port: int, prefix: str, cmds: list[list[Any]]) -> list[Any]:
    items = run_batch("cache.php", cmds, cache_env(port, prefix))
    return [item["result"] for item in items]


def v64(value: Any) -> str:
    return base64.b64encode(php.dumps(value)).decode()


def unv(b64: str) -> Any:
    return php.loads(base64.b64decode(b64))


@pytest.fixture
def app(redis_port: int, prefix: str) -> Any:
    app = Laravel.from_url(
        f"redis://127.0.0.1:{redis_port}/0", laravel_version="8.83", redis_prefix=prefix
    )
    yield app
    app.close()


VALUES = [42, -2.5, "007", "hello", {"theme": "dark"}, [1, "2", None], True, ""]


def test_python_writes_php_reads(app: Any, redis_port: int, prefix: str) -> None:
    cache = app.cache
    for i, value in enumerate(VALUES):
        cache.put(f"k{i}", value, 600)
    cache.put_many({"m1": {"a": 1}, "m2": 7}, 600)
    assert cache.add("added", [1, 2], 600)
    cache.increment("counter", 5)
    tagged = cache.tags(["users", "posts"])
    tagged.put("u7", {"name": "Ann"}, 600)
    tagged.forever("f", "forever")
    tagged.increment("hits", 3)
    assert cache.lock("py-lock", 30, "py-owner").get()
    cmds: list[list[Any]] = [["get", f"k{i}"] for i in range(len(VALUES))]
    cmds += [
        ["many", ["m1", "m2"]],
        ["get", "added"],
        ["get", "counter"],
        ["tags_get", ["users", "posts"], "u7"],
        ["tags_get", ["users", "posts"], "f"],
        ["tags_get", ["users", "posts"], "hits"],
        ["lock_get", "py-lock", 30, "php-owner"],
        ["lock_release", "py-lock", "php-owner"],
        ["lock_release", "py-lock", "py-owner"],
        ["tags_flush", ["users"]],
    ]
    out = run_php(redis_port, prefix, cmds)
    n = len(VALUES)
    expected = [
        str(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v
        for v in VALUES
    ]
    expected[1] = "-2.5"
    assert [unv(x) for x in out[:n]] == expected
    assert {k: unv(x) for k, x in out[n].items()} == {"m1": {"a": 1}, "m2": "7"}
    assert unv(out[n + 1]) == [1, 2]
    assert unv(out[n + 2]) == "5"
    assert unv(out[n + 3]) == {"name": "Ann"}
    assert unv(out[n + 4]) == "forever"
    assert unv(out[n + 5]) == "3"
    assert out[n + 6] is False and out[n + 7] is False and out[n + 8] is True
    # PHP flushed the tag through the reference sets Python wrote
    assert tagged.get("u7") is None and tagged.get("f") is None


def test_php_writes_python_reads(app: Any, redis_port: int, prefix: str) -> None:
    cmds: list[list[Any]] = [
        ["put", f"k{i}", v64(v), 600] for i, v in enumerate(VALUES)
    ]
    cmds += [
        ["put_many", {"m1": v64({"a": 1}), "m2": v64(7)}, 600],
        ["tags_put", ["users", "posts"], "u7", v64({"name": "Ann"}), 600],
        ["tags_forever", ["users"], "solo", v64("only users")],
        ["tags_increment", ["users"], "hits", 2],
        ["lock_get", "php-lock", 30, "php-owner"],
    ]
    run_php(redis_port, prefix, cmds)
    cache = app.cache
    for i, value in enumerate(VALUES):
        got = cache.get(f"k{i}")
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            assert got == {42: "42", -2.5: "-2.5"}[value]
        else:
            assert got == value
    assert cache.many(["m1", "m2"]) == {"m1": {"a": 1}, "m2": "7"}
    assert cache.tags(["users", "posts"]).get("u7") == {"name": "Ann"}
    assert cache.tags("users").get("solo") == "only users"
    assert cache.tags("users").increment("hits") == 3
    lock = cache.lock("php-lock", 30)
    assert lock.get() is False
    assert lock.current_owner() == "php-owner"
    assert cache.restore_lock("php-lock", "php-owner").release() is True
    # Python flushes a tag PHP wrote: PHP no longer sees the items
    assert cache.tags("users").flush()
    out = run_php(
        redis_port,
        prefix,
        [["tags_get", ["users"], "solo"], ["tags_get", ["users", "posts"], "u7"]],
    )
    assert unv(out[0]) is None and unv(out[1]) is None


@pytest.mark.slow
def test_lock_contention_with_php(app: Any, redis_port: int, prefix: str) -> None:
    cache = app.cache
    counter = "contend:counter"
    raw = app.connection("default")
    counter_key = prefix.encode() + counter.encode()
    php_result: list[Any] = []
    violations = 0

    def php_side() -> None:
        php_result.extend(
            run_php(redis_port, prefix, [["contend", "shared", 200, 5, counter]])
        )

    thread = threading.Thread(target=php_side)
    thread.start()
    acquired = 0
    while thread.is_alive() or acquired < 200:
        lock = cache.lock("shared", 5).between_blocked_attempts_sleep_for(5)
        lock.block(10)
        if raw.incr(counter_key) != 1:
            violations += 1
        raw.decr(counter_key)
        assert lock.release()
        acquired += 1
        if acquired >= 2000:
            break
    thread.join(25)
    assert php_result and php_result[0] == {"acquired": 200, "violations": 0}
    assert violations == 0
