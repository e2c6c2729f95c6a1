"""``ninja-redis``: in-process (``cli.main``) and as ``python -m ninja_redis``, against the
private test Redis. Every test uses its own ``REDIS_PREFIX`` so runs never collide."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ninja_redis import Laravel, PhpJob, cli
from tests.conftest import RedisServerFactory, free_port

REPO = Path(__file__).resolve().parents[1]
APP_KEY = "base64:" + "A" * 43 + "="
ENV_VARS = (
    "REDIS_URL",
    "REDIS_HOST",
    "REDIS_PORT",
    "REDIS_DB",
    "REDIS_CACHE_DB",
    "REDIS_PREFIX",
    "CACHE_PREFIX",
    "APP_NAME",
    "APP_KEY",
    "REDIS_QUEUE",
    "LARAVEL_VERSION",
    "SESSION_COOKIE",
    "QUEUE_FAILED_DRIVER",
)


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, prefix: str) -> dict[str, str]:
    """A clean Laravel environment with this test's prefix; cwd without a .env."""
    for var in ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)
    values = {"REDIS_PREFIX": prefix, "APP_KEY": APP_KEY}
    for k, v in values.items():
        monkeypatch.setenv(k, v)
    return values


@pytest.fixture
def app(env: dict[str, str], redis_url: str) -> Iterator[Laravel]:
    with _app(redis_url) as a:
        yield a


def _app(redis_url: str) -> Laravel:
    from ninja_redis.config import LaravelConfig

    # Like the CLI's --url: the URL's /db selects the default connection only.
    base, db = redis_url.rsplit("/", 1)
    environ = {**os.environ, "REDIS_URL": base, "REDIS_DB": db}
    return Laravel(LaravelConfig.from_env(None, environ=environ))


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any]:
    code, out, err = run(capsys, "--json", *argv)
    assert out, err
    return code, json.loads(out)


# ---------------------------------------------------------------------- keys


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("8", "laravel_database_laravel_cache:user_preferences_7"),
        ("10", "laravel_database_laravel_cache_:user_preferences_7"),
        ("11", "laravel_database_laravel_cache_user_preferences_7"),
        ("13", "laravel-database-laravel-cache-user_preferences_7"),
    ],
)
def test_keys_follow_the_version_defaults(
    capsys: pytest.CaptureFixture[str],
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    version: str,
    expected: str,
) -> None:
    monkeypatch.delenv("REDIS_PREFIX")
    code, data = run_json(
        capsys, "--laravel-version", version, "keys", "--cache", "user_preferences_7"
    )
    assert code == 0
    [row] = data["keys"]
    assert (row["kind"], row["key"], row["db"]) == ("cache", expected, 1)


def test_keys_for_every_kind(
    capsys: pytest.CaptureFixture[str], env: dict[str, str]
) -> None:
    p = env["REDIS_PREFIX"]
    sid = "a" * 40
    code, out, _ = run(
        capsys,
        "--laravel-version",
        "12",
        "keys",
        "--cache",
        "k",
        "--tag",
        "people",
        "--lock",
        "invoices",
        "--session",
        sid,
        "--queue",
        "emails",
    )
    assert code == 0
    lines = out.splitlines()

    def has(fragment: str) -> bool:
        return any(fragment in line for line in lines)

    assert has(f"db1  {p}laravel-cache-k")
    assert has(f"db1  {p}laravel-cache-tag:people:entries")
    assert has(f"db0  {p}laravel-cache-invoices")
    assert has(f"db0  {p}laravel-cache-{sid}")
    for suffix in ("", ":delayed", ":reserved", ":notify"):
        assert has(f"db0  {p}queues:emails{suffix}")


# ----------------------------------------------------------------------- get


def test_get_decodes_a_cache_value(
    capsys: pytest.CaptureFixture[str], app: Laravel, redis_url: str
) -> None:
    app.cache.put("prefs", {"theme": "dark"}, 600)
    code, data = run_json(capsys, "--url", redis_url, "get", "prefs")
    assert code == 0
    assert data["php_type"] == "array"
    assert data["python"] == "{'theme': 'dark'}"
    assert data["raw"] == 'a:1:{s:5:"theme";s:4:"dark";}'
    assert data["db"] == 1 and 0 < data["ttl"] <= 600
    assert data["key"] == app.keys.cache("prefs").decode()


def test_get_numbers_and_missing_keys(
    capsys: pytest.CaptureFixture[str], app: Laravel, redis_url: str
) -> None:
    app.cache.forever("n", 5)
    code, out, _ = run(capsys, "--url", redis_url, "get", "n")
    assert code == 0
    assert (
        "php      string (stored raw as a number" in out
        and "ttl      forever" in out
        and "b'5'" in out
    )
    code, out, _ = run(capsys, "--url", redis_url, "get", "nope")
    assert code == 1 and "no such key" in out


# -------------------------------------------------------------------- health


def test_health_of_the_test_server(
    capsys: pytest.CaptureFixture[str], env: dict[str, str], redis_url: str
) -> None:
    code, data = run_json(capsys, "--url", redis_url, "health")
    assert code == 0, data
    assert data["healthy"] is True and not data["problems"]
    [server] = data["servers"]
    assert server["redis_version"] and server["maxmemory_policy"] == "noeviction"
    assert server["aof_enabled"] == 0 and server["ping_ms"] >= 0
    dbs = {d["connection"]: d for d in data["databases"]}
    assert dbs["default"]["db"] == 0 and dbs["cache"]["db"] == 1
    assert "queues" in dbs["default"]["used_for"] and dbs["cache"]["used_for"] == [
        "cache"
    ]


def test_health_needs_no_admin_commands(
    capsys: pytest.CaptureFixture[str],
    env: dict[str, str],
    redis_server_factory: RedisServerFactory,
) -> None:
    server = redis_server_factory(
        [
            'rename-command CONFIG ""',
            'rename-command KEYS ""',
            'rename-command FLUSHALL ""',
            'rename-command FLUSHDB ""',
            "maxmemory 64mb",
            "maxmemory-policy allkeys-lru",
        ]
    )
    code, out, err = run(capsys, "--url", server.url, "health")
    assert code == 0, out + err
    assert "policy allkeys-lru" in out
    assert "warning:" in out and "may evict queued jobs" in out
    assert out.rstrip().endswith("healthy")


def test_health_without_info_permission(
    capsys: pytest.CaptureFixture[str],
    env: dict[str, str],
    redis_server_factory: RedisServerFactory,
) -> None:
    server = redis_server_factory(['rename-command INFO ""'])
    code, out, _ = run(capsys, "--url", server.url, "health")
    assert code == 0
    assert "INFO not allowed" in out


def test_health_fails_when_redis_is_down(
    capsys: pytest.CaptureFixture[str], env: dict[str, str]
) -> None:
    code, data = run_json(
        capsys, "--url", f"redis://127.0.0.1:{free_port()}/0", "health"
    )
    assert code == 1
    assert data["healthy"] is False
    assert any("ConnectionError" in p for p in data["problems"])


# --------------------------------------------------------------------- queue


def test_queue_stats_and_peek(
    capsys: pytest.CaptureFixture[str], app: Laravel, redis_url: str
) -> None:
    job = PhpJob("App\\Jobs\\SendInvoiceEmail", {"invoiceId": 42})
    app.queue.push(job, queue="emails")
    app.queue.push(job, queue="emails")
    app.queue.later(600, job, queue="emails")
    app.queue.push(job, queue="imports")
    code, data = run_json(
        capsys, "--url", redis_url, "queue", "stats", "emails", "imports", "default"
    )
    assert code == 0
    assert data["queues"] == [
        {"queue": "emails", "pending": 2, "delayed": 1, "reserved": 0},
        {"queue": "imports", "pending": 1, "delayed": 0, "reserved": 0},
        {"queue": "default", "pending": 0, "delayed": 0, "reserved": 0},
    ]
    code, data = run_json(capsys, "--url", redis_url, "queue", "stats", "--all")
    assert [q["queue"] for q in data["queues"]] == ["emails", "imports"]

    code, out, _ = run(capsys, "--url", redis_url, "queue", "peek", "emails", "-n", "1")
    assert code == 0
    assert "showing 1" in out and "App\\Jobs\\SendInvoiceEmail" in out
    code, data = run_json(
        capsys, "--url", redis_url, "queue", "peek", "emails", "--delayed"
    )
    [delayed] = data["jobs"]
    assert delayed["display_name"] == "App\\Jobs\\SendInvoiceEmail"
    assert "available_at" in delayed
    assert app.queue.sizes(["emails"])["emails"].pending == 2  # nothing was consumed


def test_queue_peek_shows_unreadable_payloads(
    capsys: pytest.CaptureFixture[str], app: Laravel, redis_url: str
) -> None:
    app.connection(app.config.queue_connection).rpush(
        app.keys.queue("bad").ready, b"{oops"
    )
    code, out, _ = run(capsys, "--url", redis_url, "queue", "peek", "bad")
    assert code == 0 and "unreadable payload (5 bytes)" in out


# -------------------------------------------------------------------- failed


def test_failed_jobs_with_the_redis_store(
    capsys: pytest.CaptureFixture[str], app: Laravel, redis_url: str
) -> None:
    from ninja_redis._sync.failed import failed_job_store

    store = failed_job_store(Laravel(app.config.replace(failed_driver="redis")))
    app.queue.push(PhpJob("App\\Jobs\\Broken", {}), queue="work")
    raw = app.connection("default").lpop(app.keys.queue("work").ready)
    assert isinstance(raw, bytes)
    first = store.log("redis", "work", raw, "RuntimeException: boom\n#0 trace")
    base = ["--url", redis_url, "failed"]
    code, data = run_json(capsys, *base, "list", "--driver", "redis")
    assert code == 0
    [row] = data["failed"]
    assert (row["id"], row["queue"], row["job"]) == (first, "work", "App\\Jobs\\Broken")
    assert row["exception"] == "RuntimeException: boom"

    code, out, _ = run(capsys, *base, "show", first, "--driver", "redis")
    assert code == 0 and "#0 trace" in out
    code, out, _ = run(capsys, *base, "show", "no-such-id", "--driver", "redis")
    assert code == 1 and "no failed job 'no-such-id'" in out

    code, out, _ = run(capsys, *base, "retry", first, "--driver", "redis")
    assert code == 0 and "pushed again" in out
    assert app.queue.sizes(["work"])["work"].pending == 1
    code, data = run_json(capsys, *base, "list", "--driver", "redis")
    assert data["failed"] == []

    second = store.log("redis", "work", raw, "Error")
    code, out, _ = run(capsys, *base, "forget", second, "--driver", "redis")
    assert code == 0 and "forgotten" in out
    store.log("redis", "work", raw, "Error")
    code, data = run_json(capsys, *base, "flush", "--driver", "redis")
    assert (code, data) == (0, {"flushed": 1})


def test_failed_needs_ids(
    capsys: pytest.CaptureFixture[str], env: dict[str, str], redis_url: str
) -> None:
    code, _, err = run(
        capsys, "--url", redis_url, "failed", "retry", "--driver", "redis"
    )
    assert code == 1 and "needs at least one job id" in err


# ------------------------------------------------------------------- session


def test_session_show_redacts_secrets(
    capsys: pytest.CaptureFixture[str], app: Laravel, redis_url: str
) -> None:
    store = app.sessions
    session = store.create({"cart": [17, 23], "api_token": "tok-SECRET"})
    session.login(42)
    store.save(session)
    cookie = store.cookie_value(session)
    code, out, _ = run(
        capsys, "--url", redis_url, "session", "show", "--cookie", cookie
    )
    assert code == 0, out
    assert "web: 42" in out and "cart = [17, 23]" in out
    assert session.id not in out and session.token not in out
    assert "tok-SECRET" not in out and "<redacted>" in out

    code, data = run_json(capsys, "--url", redis_url, "session", "show", session.id)
    assert code == 0 and data["user_ids"] == {"web": 42}
    assert session.id not in json.dumps(data)
    assert data["attributes"]["_token"] == "<redacted>"
    assert 0 < data["ttl"] <= store.ttl


def test_session_show_rejects_forged_cookies(
    capsys: pytest.CaptureFixture[str], app: Laravel, redis_url: str
) -> None:
    code, out, _ = run(
        capsys, "--url", redis_url, "session", "show", "--cookie", "eyJmYWtl"
    )
    assert code == 1 and "invalid" in out
    code, out, _ = run(capsys, "--url", redis_url, "session", "show", "b" * 40)
    assert code == 1 and "not found" in out


# ---------------------------------------------------------------------- demo


def test_demo_against_the_test_server(
    capsys: pytest.CaptureFixture[str], env: dict[str, str], redis_url: str
) -> None:
    code, out, _ = run(capsys, "--url", redis_url, "demo")
    assert code == 0, out
    assert (
        "MISMATCH" not in out
        and "skipped" not in out
        and out.rstrip().endswith("demo OK")
    )
    assert """b's:5:"hello";'""" in out


@pytest.mark.slow
def test_demo_starts_a_throwaway_server(
    capsys: pytest.CaptureFixture[str], env: dict[str, str]
) -> None:
    code, out, _ = run(capsys, "--url", f"redis://127.0.0.1:{free_port()}/0", "demo")
    assert code == 0, out
    assert "started a throwaway redis-server" in out and "demo OK" in out
    code, out, _ = run(
        capsys, "--url", f"redis://127.0.0.1:{free_port()}/0", "demo", "--no-spawn"
    )
    assert code == 1 and "--no-spawn" in out


# ---------------------------------------------------------------- subprocess


def _subprocess(*argv: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ninja_redis", *argv],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **env},
        cwd=REPO,
    )


def test_python_dash_m(env: dict[str, str], redis_url: str, app: Laravel) -> None:
    app.cache.put("greeting", "hello", 60)
    proc = _subprocess("--json", "--url", redis_url, "get", "greeting", env=env)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["python"] == "'hello'"
    proc = _subprocess("--version", env=env)
    assert proc.returncode == 0 and proc.stdout.startswith("ninja_redis ")


def test_usage_errors_exit_2(env: dict[str, str]) -> None:
    proc = _subprocess("queue", env=env)
    assert proc.returncode == 2 and "usage:" in proc.stderr
    proc = _subprocess("--env", "/nonexistent/.env", "keys", env=env)
    assert proc.returncode == 1 and "does not exist" in proc.stderr


def test_redis_errors_are_one_line(env: dict[str, str]) -> None:
    proc = _subprocess(
        "--url", f"redis://127.0.0.1:{free_port()}/0", "get", "x", env=env
    )
    assert proc.returncode == 1
    assert proc.stderr.startswith("ninja-redis: error: ConnectionError")
    assert "Traceback" not in proc.stderr


def test_missing_modules_give_a_clear_message() -> None:
    with pytest.raises(cli.CliError, match="needs ninja_redis._sync.nothing_here"):
        cli._need("ninja_redis._sync.nothing_here", "this command")


def test_php_type_names() -> None:
    from ninja_redis.php import PhpObject

    assert [
        cli.php_type(v) for v in (None, True, 1, 1.5, "s", b"b", [1], {"a": 1})
    ] == ["null", "bool", "int", "float", "string", "string", "array", "array"]
    assert cli.php_type(PhpObject("App\\User", {})) == "object App\\User"


# -------------------------------------------------------------------- README


def test_the_readme_example_runs(
    env: dict[str, str], redis_url: str, tmp_path: Path, app: Laravel
) -> None:
    """The first screen of README.md does what its PHP comments say."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    code = text.split("```python\n", 1)[1].split("```", 1)[0]
    base, db = redis_url.rsplit("/", 1)
    (tmp_path / ".env").write_text(f"REDIS_URL={base}\nREDIS_DB={db}\n")
    exec(compile(code, "README.md", "exec"), {})
    assert app.cache.get("greeting") == "hello"
    assert app.cache.tags(["reports"]).get("daily") == {"total": 42}
    [job] = app.queue.jobs(None)
    assert job.payload is not None
    assert job.payload.display_name == "App\\Jobs\\SendInvoiceEmail"
