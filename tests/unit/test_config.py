"""LaravelConfig and KeySpace: version defaults, .env rules, every key format."""

from __future__ import annotations

import pytest

from ninja_redis.config import LaravelConfig, LaravelVersion, parse_dotenv, slug
from ninja_redis.exceptions import ConfigError
from ninja_redis.keys import KeySpace
from tests._shared import dump_keys, load_fixture, raw


@pytest.mark.parametrize(
    ("version", "cache_key", "session_cookie"),
    [
        (8, b"laravel_database_laravel_cache:user_preferences_7", "laravel_session"),
        (9, b"laravel_database_laravel_cache_:user_preferences_7", "laravel_session"),
        (10, b"laravel_database_laravel_cache_:user_preferences_7", "laravel_session"),
        (11, b"laravel_database_laravel_cache_user_preferences_7", "laravel_session"),
        (12, b"laravel-database-laravel-cache-user_preferences_7", "laravel-session"),
        (13, b"laravel-database-laravel-cache-user_preferences_7", "laravel-session"),
    ],
)
def test_version_defaults_give_the_spec_keys(
    version: int, cache_key: bytes, session_cookie: str
) -> None:
    cfg = LaravelConfig.from_mapping({}, laravel_version=version)
    assert KeySpace(cfg).cache("user_preferences_7") == cache_key
    assert cfg.session_cookie == session_cookie


def test_explicit_settings_win_over_version_defaults() -> None:
    cfg = LaravelConfig.from_mapping(
        {"REDIS_PREFIX": "env_", "CACHE_PREFIX": "c"},
        laravel_version=12,
        cache_prefix="o_",
    )
    assert cfg.redis_prefix == "env_"
    assert KeySpace(cfg).cache("k") == b"env_o_k"
    assert (
        KeySpace(cfg.replace(laravel_version=LaravelVersion(10, 50))).cache("k")
        == b"env_o_:k"
    )


def test_empty_prefixes_mean_no_prefix() -> None:
    cfg = LaravelConfig.from_mapping(
        {"REDIS_PREFIX": "", "CACHE_PREFIX": ""}, laravel_version=10
    )
    keys = KeySpace(cfg)
    assert keys.cache("k") == b"k"
    assert keys.queue("emails").ready == b"queues:emails"


def test_app_name_slug_drives_defaults() -> None:
    assert slug("My App", "_") == "my_app"
    assert slug("Ünïcode @ Home!", "-") == "unicode-at-home"
    cfg = LaravelConfig.from_mapping({"APP_NAME": "My App"}, laravel_version=11)
    assert cfg.redis_prefix == "my_app_database_"
    assert cfg.cache_prefix == "my_app_cache_"
    cfg12 = LaravelConfig.from_mapping({"APP_NAME": "My App"}, laravel_version=12)
    assert cfg12.redis_prefix == "my-app-database-"
    assert (
        LaravelConfig.from_mapping(
            {}, laravel_version=12, prefix_style="underscore"
        ).redis_prefix
        == "laravel_database_"
    )


def test_dotenv_quoting_and_interpolation() -> None:
    text = """
# comment
APP_NAME="My App"
export REDIS_HOST=redis.internal # trailing comment
REDIS_PASSWORD='p#ss ${NOT}'
REDIS_PREFIX="${APP_NAME}_db_"
MULTI="line1
line2"
ESC="a\\"b\\nc"
EMPTY=
DEFAULTED=${MISSING:-fallback}
"""
    env = parse_dotenv(text, environ={"FROM_PROC": "x"})
    assert env["APP_NAME"] == "My App"
    assert env["REDIS_HOST"] == "redis.internal"
    assert env["REDIS_PASSWORD"] == "p#ss ${NOT}"
    assert env["REDIS_PREFIX"] == "My App_db_"
    assert env["MULTI"] == "line1\nline2"
    assert env["ESC"] == 'a"b\nc'
    assert env["EMPTY"] == ""
    assert env["DEFAULTED"] == "fallback"


def test_from_env_process_environment_wins(tmp_path) -> None:  # type: ignore[no-untyped-def]
    env_file = tmp_path / ".env"
    env_file.write_text("REDIS_HOST=file-host\nREDIS_PORT=6390\nSESSION_ENCRYPT=true\n")
    cfg = LaravelConfig.from_env(
        env_file, environ={"REDIS_HOST": "proc-host"}, laravel_version="11.38"
    )
    assert cfg.connection("default").host == "proc-host"
    assert cfg.connection("default").port == 6390
    assert cfg.session_encrypt is True
    assert cfg.laravel_version == LaravelVersion(11, 38)


def test_redis_url_parsing_like_laravel() -> None:
    cfg = LaravelConfig.from_mapping(
        {"REDIS_URL": "rediss://user:p%40ss@cache.example:6380/4?prefix=app_"},
        laravel_version=11,
    )
    conn = cfg.connection("default")
    assert (
        conn.host,
        conn.port,
        conn.database,
        conn.username,
        conn.password,
        conn.tls,
    ) == ("cache.example", 6380, 4, "user", "p@ss", True)
    assert conn.prefix == "app_"
    # REDIS_URL is used by both connections in the skeleton: its path wins for both.
    assert cfg.connection("cache").database == 4


def test_from_url_keeps_cache_db() -> None:
    cfg = LaravelConfig.from_url("redis://:secret@h:6380/3")
    assert cfg.connection("default").database == 3
    assert cfg.connection("cache").database == 1
    assert cfg.connection("default").username is None


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"REDIS_PORT": "abc"}, "REDIS_PORT"),
        ({"SESSION_ENCRYPT": "maybe"}, "SESSION_ENCRYPT"),
        ({"REDIS_QUEUE_CONNECTION": "nope"}, "REDIS_QUEUE_CONNECTION"),
        ({"APP_CIPHER": "des"}, "APP_CIPHER"),
        ({"QUEUE_FAILED_DRIVER": "dynamodb"}, "QUEUE_FAILED_DRIVER"),
        ({"REDIS_URL": "http://x"}, "REDIS_URL"),
        ({"LARAVEL_VERSION": "7"}, "laravel_version"),
    ],
)
def test_bad_values_name_the_variable(env: dict[str, str], variable: str) -> None:
    with pytest.raises(ConfigError) as info:
        LaravelConfig.from_mapping(env)
    assert info.value.variable == variable


def test_unknown_override_is_an_error() -> None:
    with pytest.raises(ConfigError, match="unknown setting"):
        LaravelConfig.from_mapping({}, cache_prefx="x")


def test_secrets_never_in_repr() -> None:
    cfg = LaravelConfig.from_mapping(
        {
            "APP_KEY": "base64:c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI=",
            "REDIS_PASSWORD": "hunter2",
            "APP_PREVIOUS_KEYS": "oldkeyvalue",
        }
    )
    text = repr(cfg)
    for secret in ("c2VjcmV0", "hunter2", "oldkeyvalue"):
        assert secret not in text


def test_previous_keys_are_filtered_like_array_filter() -> None:
    # config/app.php: array_filter(explode(',', env('APP_PREVIOUS_KEYS'))) drops "" and "0"
    k1 = "base64:" + "A" * 43 + "="
    k2 = "base64:" + "B" * 43 + "="
    cfg = LaravelConfig.from_mapping(
        {"APP_PREVIOUS_KEYS": f",{k1},0,,{k2},"}, laravel_version=11
    )
    assert cfg.previous_keys == (k1, k2)


def test_laravel8_json_sessions_fall_back_to_php() -> None:
    cfg = LaravelConfig.from_mapping(
        {"SESSION_SERIALIZATION": "json"}, laravel_version=8
    )
    assert cfg.session_serialization == "php"


def test_queue_keys_and_cluster_hash_tags() -> None:
    keys = KeySpace(LaravelConfig.from_mapping({}, laravel_version=12))
    q = keys.queue("emails")
    assert (q.ready, q.delayed, q.reserved, q.notify) == (
        b"laravel-database-queues:emails",
        b"laravel-database-queues:emails:delayed",
        b"laravel-database-queues:emails:reserved",
        b"laravel-database-queues:emails:notify",
    )
    c13 = KeySpace(LaravelConfig.from_mapping({}, laravel_version=13, cluster=True))
    assert c13.queue("emails").ready == b"laravel-database-queues:{emails}"
    assert c13.queue("{x}y").ready == b"laravel-database-queues:{x}y"
    c12 = KeySpace(LaravelConfig.from_mapping({}, laravel_version=12, cluster=True))
    assert c12.queue("emails").ready == b"laravel-database-queues:emails"


def test_scan_patterns_escape_the_prefix() -> None:
    keys = KeySpace(
        LaravelConfig.from_mapping({"REDIS_PREFIX": "a*[b]_"}, laravel_version=11)
    )
    assert keys.tag_scan_pattern() == rb"a\*\[b\]_laravel_cache_tag:*:entries"
    assert (
        keys.tag_name_from_key(b"a*[b]_laravel_cache_tag:people:entries") == b"people"
    )
    assert keys.tag_flush_prefix_pattern() == b"a*[b]_laravel_cache_"


def test_unique_job_lock_separator_by_version() -> None:
    k10 = KeySpace(LaravelConfig.from_mapping({}, laravel_version=10))
    k11 = KeySpace(LaravelConfig.from_mapping({}, laravel_version=11))
    assert (
        k10.unique_job_lock("App\\Jobs\\SyncUser", "42")
        == b"laravel_database_laravel_cache_:laravel_unique_job:App\\Jobs\\SyncUser42"
    )
    assert (
        k11.unique_job_lock("App\\Jobs\\SyncUser", "42")
        == b"laravel_database_laravel_cache_laravel_unique_job:App\\Jobs\\SyncUser:42"
    )


@pytest.mark.parametrize("version", ["10.50.3", "11.56.0", "12.67.0", "13.26.1"])
def test_keys_match_fixture_dumps(version: str) -> None:
    """Every key Laravel wrote in the fixtures is what KeySpace builds for its config."""
    data = load_fixture(version, "tags_put_forever_flush")
    fx = data["config"]
    cfg = LaravelConfig.from_mapping(
        {"REDIS_PREFIX": fx["redis_prefix"], "CACHE_PREFIX": fx["cache_prefix"]},
        laravel_version=version,
    )
    keys = KeySpace(cfg)
    dumped = dump_keys(data)
    assert keys.tag_entries("artists") in dumped
    members = {raw(m["member"]) for m in dumped[keys.tag_entries("artists")]["members"]}
    assert keys.tag_member(["people", "artists"], "john") in members
    locks = dump_keys(load_fixture(version, "locks"), db=0)
    names = {raw(e["key"]) for e in locks.values()}
    assert all(n.startswith(keys.lock(b"")) for n in names), names
    q = dump_keys(load_fixture(version, "queue_push_jobs"), db=0)
    assert keys.queue("default").ready in q
    assert keys.queue("default").notify in q


def test_app_timezone_is_read_from_11_and_validated() -> None:
    env = {"APP_TIMEZONE": "Europe/Paris"}
    assert LaravelConfig.from_mapping(env, laravel_version=11).app_timezone == (
        "Europe/Paris"
    )
    # 8-10 skeletons hard-code 'timezone' => 'UTC' in config/app.php
    assert LaravelConfig.from_mapping(env, laravel_version=10).app_timezone == "UTC"
    assert (
        LaravelConfig.from_mapping({}, laravel_version=10, app_timezone="Asia/Tokyo")
    ).app_timezone == "Asia/Tokyo"
    with pytest.raises(ConfigError, match="unknown timezone"):
        LaravelConfig.from_mapping({"APP_TIMEZONE": "Mars/Olympus"}, laravel_version=12)
