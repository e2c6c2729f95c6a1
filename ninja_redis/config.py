"""Laravel's configuration as a Python value: what a Laravel app reads from ``.env``.

``LaravelConfig`` holds every setting that decides what Laravel writes to Redis: the Redis
connections (``default`` for sessions, locks and queues; ``cache`` for cache data), the
connection prefix ⟨P⟩ (``REDIS_PREFIX``), the cache prefix ⟨C⟩ (``CACHE_PREFIX``), the session
and queue settings, ``APP_KEY`` and the Laravel version whose defaults and dialect apply.

Build one with :meth:`LaravelConfig.from_env` (a Laravel ``.env`` file, then the process
environment, which wins like in Laravel), :meth:`LaravelConfig.from_url` or
:meth:`LaravelConfig.from_mapping`. Explicit keyword overrides always win over version
defaults. This module is pure: no Redis, no I/O except reading the ``.env`` file.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qsl, unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .exceptions import ConfigError

__all__ = [
    "LATEST_MINOR",
    "LaravelConfig",
    "LaravelVersion",
    "RedisConnectionConfig",
    "parse_dotenv",
    "slug",
]

Serializer = Literal["none", "php", "igbinary", "msgpack", "json"]
Compression = Literal["none", "lzf", "zstd", "lz4"]
SERIALIZERS: tuple[str, ...] = ("none", "php", "igbinary", "msgpack", "json")
COMPRESSIONS: tuple[str, ...] = ("none", "lzf", "zstd", "lz4")
CIPHERS: tuple[str, ...] = ("aes-128-cbc", "aes-256-cbc", "aes-128-gcm", "aes-256-gcm")

#: The newest minor release of each major that this library knows about. A bare major
#: version (``12``) means "the latest 12.x".
LATEST_MINOR: dict[int, int] = {8: 83, 9: 52, 10: 50, 11: 56, 12: 67, 13: 26}
DEFAULT_VERSION = (12, 67)


@dataclass(frozen=True)
class LaravelVersion:
    """A Laravel framework version, compared as ``(major, minor)``.

    >>> LaravelVersion.parse("11.38") < (11, 39)
    True
    """

    major: int
    minor: int

    @classmethod
    def parse(
        cls, value: str | int | tuple[int, ...] | LaravelVersion | None
    ) -> LaravelVersion:
        """Parse ``12``, ``"12"``, ``"12.67"``, ``"v12.67.0"`` or ``(12, 67)``."""
        if value is None or value == "":
            return cls(*DEFAULT_VERSION)
        if isinstance(value, LaravelVersion):
            return value
        if isinstance(value, bool):
            raise ConfigError(
                "laravel_version must be a version such as 12 or '11.38'",
                variable="laravel_version",
            )
        parts: list[int]
        if isinstance(value, int):
            parts = [value]
        elif isinstance(value, tuple):
            parts = [int(p) for p in value]
        else:
            m = re.fullmatch(
                r"\s*v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:\.\*)?\s*", str(value)
            )
            if not m:
                raise ConfigError(
                    f"laravel_version {value!r} is not a version such as 12 or '11.38'",
                    variable="laravel_version",
                )
            parts = [int(p) for p in m.groups() if p is not None]
        major = parts[0]
        if major not in LATEST_MINOR:
            raise ConfigError(
                f"laravel_version {major} is not supported (8 through 13)",
                variable="laravel_version",
            )
        minor = parts[1] if len(parts) > 1 else LATEST_MINOR[major]
        return cls(major, minor)

    def __ge__(self, other: object) -> bool:
        return (self.major, self.minor) >= _as_tuple(other)

    def __gt__(self, other: object) -> bool:
        return (self.major, self.minor) > _as_tuple(other)

    def __le__(self, other: object) -> bool:
        return (self.major, self.minor) <= _as_tuple(other)

    def __lt__(self, other: object) -> bool:
        return (self.major, self.minor) < _as_tuple(other)

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}"


def _as_tuple(other: object) -> tuple[int, int]:
    if isinstance(other, LaravelVersion):
        return (other.major, other.minor)
    if isinstance(other, tuple):
        return (int(other[0]), int(other[1]) if len(other) > 1 else 0)
    if isinstance(other, int):
        return (other, 0)
    raise TypeError(f"cannot compare LaravelVersion with {type(other).__name__}")


@dataclass(frozen=True)
class RedisConnectionConfig:
    """One entry of ``config/database.php``'s ``redis`` block (``default`` or ``cache``).

    ``prefix`` is the connection prefix ⟨P⟩ that phpredis/predis prepend to every key.
    ``serializer``/``compression`` are the phpredis options of that connection.
    """

    name: str = "default"
    host: str = "127.0.0.1"
    port: int = 6379
    database: int = 0
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    tls: bool = False
    prefix: str = ""
    serializer: Serializer = "none"
    compression: Compression = "none"
    compression_level: int | None = None
    read_timeout: float | None = None
    timeout: float | None = 5.0
    unix_socket: str | None = None

    @property
    def url(self) -> str:
        """A ``redis://`` / ``rediss://`` URL of this connection without the password."""
        scheme = "rediss" if self.tls else "redis"
        user = f"{self.username}@" if self.username else ""
        return f"{scheme}://{user}{self.host}:{self.port}/{self.database}"


@dataclass(frozen=True)
class LaravelConfig:
    """Everything that decides which Redis keys and bytes a Laravel app uses.

    Build it with :meth:`from_env`, :meth:`from_url` or :meth:`from_mapping`; the
    dataclass itself is frozen, use :meth:`replace` for variants.
    """

    laravel_version: LaravelVersion = field(
        default_factory=lambda: LaravelVersion(*DEFAULT_VERSION)
    )
    app_name: str = "Laravel"
    app_key: str | None = field(default=None, repr=False)
    previous_keys: tuple[str, ...] = field(default=(), repr=False)
    cipher: str = "AES-256-CBC"

    redis_client: Literal["phpredis", "predis"] = "phpredis"
    #: ``True`` when the app talks to a Redis Cluster (``database.redis.clusters``).
    cluster: bool = False
    cluster_mode: str = "redis"
    #: Global ``database.redis.options.prefix`` (⟨P⟩ of every connection by default).
    redis_prefix: str = "laravel-database-"
    connections: Mapping[str, RedisConnectionConfig] = field(default_factory=dict)

    #: ``cache.prefix`` as configured (before the ``:`` that 8.x–10.x append).
    cache_prefix: str = "laravel-cache-"
    cache_connection: str = "cache"
    lock_connection: str = "default"
    #: Laravel 12.53+ ``cache.serializable_classes``: classes ``get()`` may revive.
    serializable_classes: bool | tuple[str, ...] = True

    session_driver: str = "redis"
    session_cookie: str = "laravel-session"
    session_lifetime: int = 120
    session_expire_on_close: bool = False
    session_encrypt: bool = False
    session_serialization: Literal["php", "json"] = "php"
    #: Redis connection of the session store; ``None`` means ``default`` (as in Laravel).
    session_connection: str | None = None
    #: ``"laravel"`` (the cache-store string Laravel writes) or ``"hash"`` (the runbook's
    #: ``session:{id}`` hash with the columns of the database driver).
    session_layout: Literal["laravel", "hash"] = "laravel"

    queue_connection: str = "default"
    queue: str = "default"
    queue_retry_after: int | None = 90
    queue_block_for: int | None = None
    queue_migration_batch_size: int = -1
    #: ``database-uuids``, ``database``, ``file``, ``redis`` (list ``queues:failed``) or ``null``.
    failed_driver: str = "database-uuids"
    failed_database_url: str | None = field(default=None, repr=False)
    failed_table: str = "failed_jobs"
    failed_path: str | None = None
    #: ``app.timezone``: the zone ``failed_at`` is written in (``APP_TIMEZONE`` from
    #: 11.0; 8-10 skeletons hard-code ``UTC`` in ``config/app.php``).
    app_timezone: str = "UTC"

    horizon: bool = False
    horizon_prefix: str = "laravel_horizon:"

    # ------------------------------------------------------------------ derived

    @property
    def version(self) -> LaravelVersion:
        """Shorthand for :attr:`laravel_version`."""
        return self.laravel_version

    def connection(self, name: str | None) -> RedisConnectionConfig:
        """The named Redis connection (``None`` → ``default``); ``ConfigError`` if unknown."""
        key = name or "default"
        try:
            return self.connections[key]
        except KeyError:
            raise ConfigError(
                f"Redis connection {key!r} is not configured "
                f"(known: {', '.join(sorted(self.connections)) or 'none'})",
                variable=key,
            ) from None

    @property
    def effective_cache_prefix(self) -> str:
        """⟨C⟩: the cache prefix as RedisStore uses it (8.x–10.x append ``:``).

        8.x–10.x ``setPrefix()``: ``! empty($prefix) ? $prefix.':' : ''``, and PHP's
        ``empty("0")`` is true, so ``"0"`` means no prefix there; 11.x+ use it as is.
        """
        if self.laravel_version < (11, 0):
            return "" if self.cache_prefix in ("", "0") else self.cache_prefix + ":"
        return self.cache_prefix

    @property
    def session_connection_name(self) -> str:
        """The connection sessions use (``session.connection`` ?? ``default``)."""
        return self.session_connection or "default"

    def replace(self, **changes: Any) -> LaravelConfig:
        """A copy with some fields changed (validated like the constructor)."""
        return _validated(dataclasses.replace(self, **changes))

    def __post_init__(self) -> None:
        _validate(self)

    # ------------------------------------------------------------ constructors

    @classmethod
    def from_env(
        cls,
        path: str | os.PathLike[str] | None = None,
        *,
        laravel_version: str | int | tuple[int, ...] | LaravelVersion | None = None,
        environ: Mapping[str, str] | None = None,
        **overrides: Any,
    ) -> LaravelConfig:
        """Read the settings the way a Laravel app does.

        ``path`` is the app's ``.env`` file (``None``: ``./.env`` if it exists). Its
        values are parsed with phpdotenv's rules (quotes, escapes, ``${VAR}``), then the
        process environment (or ``environ``) is applied on top: like Laravel, a variable
        that is already set in the environment wins over the file. ``laravel_version``
        may also come from ``LARAVEL_VERSION``. Keyword overrides use field names
        (``cache_prefix="x_"``) and win over everything.
        """
        values: dict[str, str] = {}
        env_path = Path(path) if path is not None else Path(".env")
        if path is not None and not env_path.is_file():
            raise ConfigError(
                f".env file {str(env_path)!r} does not exist", variable="path"
            )
        proc = dict(os.environ if environ is None else environ)
        if env_path.is_file():
            values.update(
                parse_dotenv(env_path.read_text(encoding="utf-8"), environ=proc)
            )
        values.update(proc)
        return cls.from_mapping(values, laravel_version=laravel_version, **overrides)

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        laravel_version: str | int | tuple[int, ...] | LaravelVersion | None = None,
        **overrides: Any,
    ) -> LaravelConfig:
        """Settings for the Redis server at ``url`` with the version's defaults.

        ``redis://[user:password@]host:port/db`` (``rediss://`` for TLS); the URL's
        database is used for the ``default`` connection and ``cache_db`` (default
        ``REDIS_CACHE_DB``'s default, 1) for the cache connection. Query parameters
        follow Laravel's URL parser (``?prefix=app_`` sets the connection prefix).
        """
        parts = urlsplit(url)
        env: dict[str, str] = {"REDIS_URL": parts._replace(path="").geturl()}
        db = parts.path.lstrip("/")
        if db:
            env["REDIS_DB"] = unquote(db)
        return cls.from_mapping(env, laravel_version=laravel_version, **overrides)

    @classmethod
    def from_mapping(
        cls,
        env: Mapping[str, Any],
        *,
        laravel_version: str | int | tuple[int, ...] | LaravelVersion | None = None,
        **overrides: Any,
    ) -> LaravelConfig:
        """Settings from a mapping of Laravel env variables (``{"REDIS_HOST": ...}``).

        Missing variables take the defaults of the Laravel version; keyword overrides
        use field names and win over both.
        """
        return _from_env_mapping(env, laravel_version, overrides)


# ----------------------------------------------------------------- .env parsing

_ENV_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.]*)\s*=\s*(.*)$")
_INTERP = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_.]*)(?::-([^}]*))?\}")
_DQ_ESCAPES = {
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "f": "\f",
    "v": "\v",
    '"': '"',
    "\\": "\\",
    "$": "$",
}


def parse_dotenv(
    text: str, *, environ: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Parse a Laravel ``.env`` file (vlucas/phpdotenv rules) into a dict.

    * ``KEY=value``, optional ``export``, ``#`` comments (after whitespace when unquoted).
    * Single quotes are literal; double quotes understand ``\\n``, ``\\"``, ``\\\\``,
      ``\\$`` and may span lines; both kinds are removed.
    * ``${VAR}`` (and ``${VAR:-default}``) is replaced in unquoted and double-quoted
      values, from earlier lines first, then ``environ`` (the process environment wins
      there too, as phpdotenv's immutable repository does).
    """
    env = dict(environ or {})
    out: dict[str, str] = {}
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        m = _ENV_LINE.match(line)
        if not m:
            raise ConfigError(
                f".env line {i} is not KEY=VALUE: {line[:40]!r}", variable=None
            )
        name, rest = m.group(1), m.group(2)
        if rest.startswith('"'):
            body = rest[1:]
            while True:
                end = _closing_quote(body)
                if end >= 0 or i >= len(lines):
                    break
                body += "\n" + lines[i]
                i += 1
            if end < 0:
                raise ConfigError(
                    f".env value of {name} has no closing double quote", variable=name
                )
            value = _unescape_dq(body[:end])
            value = _interpolate(value, out, env)
        elif rest.startswith("'"):
            end = rest.find("'", 1)
            if end < 0:
                raise ConfigError(
                    f".env value of {name} has no closing single quote", variable=name
                )
            value = rest[1:end]
        else:
            value = re.split(r"\s+#", rest, maxsplit=1)[0].strip()
            if value.startswith("#"):
                value = ""
            value = _interpolate(value, out, env)
        out[name] = value
    return out


def _closing_quote(body: str) -> int:
    j = 0
    while j < len(body):
        c = body[j]
        if c == "\\":
            j += 2
            continue
        if c == '"':
            return j
        j += 1
    return -1


def _unescape_dq(s: str) -> str:
    return re.sub(r"\\(.)", lambda m: _DQ_ESCAPES.get(m.group(1), "\\" + m.group(1)), s)


def _interpolate(value: str, seen: Mapping[str, str], env: Mapping[str, str]) -> str:
    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        if name in env:
            return env[name]
        if name in seen:
            return seen[name]
        return m.group(2) or ""

    return _INTERP.sub(sub, value)


# ----------------------------------------------------------------- Str::slug


# voku/portable-ascii: characters ``to_ascii()`` looks at (anything but \t \x10 \x13
# \n \r and printable ASCII), and the ones it finally deletes.
_NOT_ASCII = re.compile("[^\x09\x10\x13\x0a\x0d\x20-\x7e]")


def _to_ascii(text: str) -> str:
    """``Str::ascii($text)``: voku/portable-ascii ``ASCII::to_ascii($text, 'en')``.

    Known sequences of 3, then 2 non-ASCII characters are replaced, then single
    ones (``ß`` → ``ss``, ``Ж`` → ``Zh``); what is left that is not ASCII is removed.
    """
    chars = _NOT_ASCII.findall(text)
    if not chars:
        return text
    from ._ascii import TABLE

    done: set[str] = set()
    for n in (3, 2, 1):
        for i in range(len(chars) - n + 1):
            seq = "".join(chars[i : i + n])
            if seq not in done and seq in TABLE and seq in text:
                done.add(seq)
                text = text.replace(seq, TABLE[seq])
    for ws in ("\n\r", "\n", "\r", "\t"):
        text = text.replace(ws, " ")
    return _NOT_ASCII.sub("", text)


def slug(title: str, separator: str = "-") -> str:
    """Laravel's ``Str::slug($title, $separator)`` (ASCII transliteration, lowercase)."""
    text = _to_ascii(title)
    flip = "_" if separator == "-" else "-"
    text = text.replace(flip, separator)
    text = text.replace("@", f"{separator}at{separator}")
    text = text.lower()
    sep = re.escape(separator)
    text = re.sub(rf"[^{sep}a-z0-9\s]+", "", text)
    text = re.sub(rf"[{sep}\s]+", separator, text)
    return text.strip(separator)


# ----------------------------------------------------------------- env → config

_TRUE = {"true", "(true)", "1", "yes", "on"}
_FALSE = {"false", "(false)", "0", "no", "off", ""}


def _env_value(env: Mapping[str, Any], name: str) -> Any:
    """Laravel's ``env()``: ``true``/``false``/``null``/``empty`` literals become values."""
    if name not in env:
        return None
    value = env[name]
    if not isinstance(value, str):
        return value
    low = value.lower()
    if low in ("true", "(true)"):
        return True
    if low in ("false", "(false)"):
        return False
    if low in ("null", "(null)"):
        return None
    if low in ("empty", "(empty)"):
        return ""
    return value


def _as_bool(value: Any, variable: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return bool(value)
    if isinstance(value, str) and value.lower() in _TRUE | _FALSE:
        return value.lower() in _TRUE
    raise ConfigError(f"{variable} must be true or false", variable=variable)


def _as_int(value: Any, variable: str, *, allow_none: bool = False) -> int | None:
    if value is None or value == "":
        if allow_none:
            return None
        raise ConfigError(f"{variable} must be an integer", variable=variable)
    if isinstance(value, bool):
        raise ConfigError(f"{variable} must be an integer", variable=variable)
    if isinstance(value, int):
        return value
    try:
        return int(str(value).strip())
    except ValueError:
        raise ConfigError(
            f"{variable} must be an integer, got {str(value)[:20]!r}", variable=variable
        ) from None


def _version_defaults(
    v: LaravelVersion, app_name: str, style: str | None
) -> dict[str, str]:
    """The skeleton defaults of ``config/database.php``, ``cache.php``, ``session.php``."""
    hyphen = (v >= (12, 0)) if style is None else (style == "hyphen")
    if style not in (None, "hyphen", "underscore"):
        raise ConfigError(
            "prefix_style must be 'hyphen' or 'underscore'", variable="prefix_style"
        )
    under = slug(app_name, "_")
    dash = slug(app_name, "-")
    if hyphen:
        return {
            "redis_prefix": f"{dash}-database-",
            "cache_prefix": f"{dash}-cache-",
            "session_cookie": f"{dash}-session",
            "horizon_prefix": f"{under}_horizon:",
        }
    return {
        "redis_prefix": f"{under}_database_",
        "cache_prefix": f"{under}_cache" if v.major == 8 else f"{under}_cache_",
        "session_cookie": f"{under}_session",
        "horizon_prefix": f"{under}_horizon:",
    }


_FIELD_NAMES = {f.name for f in dataclasses.fields(LaravelConfig)}
# Overrides that are not fields but shape the connections.
_CONNECTION_OVERRIDES = {
    "redis_url",
    "redis_host",
    "redis_port",
    "redis_username",
    "redis_password",
    "redis_db",
    "redis_cache_db",
    "redis_tls",
    "redis_serializer",
    "redis_compression",
    "redis_compression_level",
    "cache_url",
    "prefix_style",
    "redis_timeout",
}


def _from_env_mapping(
    env: Mapping[str, Any],
    laravel_version: Any,
    overrides: dict[str, Any],
) -> LaravelConfig:
    unknown = set(overrides) - _FIELD_NAMES - _CONNECTION_OVERRIDES
    if unknown:
        raise ConfigError(
            f"unknown setting(s): {', '.join(sorted(unknown))}",
            variable=sorted(unknown)[0],
        )
    if laravel_version is None:
        laravel_version = overrides.pop("laravel_version", None) or _env_value(
            env, "LARAVEL_VERSION"
        )
    else:
        overrides.pop("laravel_version", None)
    version = LaravelVersion.parse(laravel_version)
    # env('APP_NAME', 'laravel'): the default only when the variable is missing;
    # APP_NAME= (or null) slugs to "" (prefixes "_database_", "_cache_", ...).
    if "app_name" in overrides:
        app_name = str(overrides["app_name"])
    elif "APP_NAME" in env:
        name = _env_value(env, "APP_NAME")
        # PHP's (string) of what env() returns: null/false -> "", true -> "1"
        if name is None or name is False:
            app_name = ""
        else:
            app_name = "1" if name is True else str(name)
    else:
        app_name = "Laravel"
    style = overrides.pop("prefix_style", None) or _env_value(env, "NINJA_PREFIX_STYLE")
    defaults = _version_defaults(version, app_name, style)

    def pick(field_name: str, var: str | None, default: Any) -> Any:
        if field_name in overrides:
            return overrides[field_name]
        if var is not None:
            value = _env_value(env, var)
            if value is not None:
                return value
        return default

    kw: dict[str, Any] = {"laravel_version": version, "app_name": app_name}
    kw["app_key"] = pick("app_key", "APP_KEY", None) or None
    # APP_PREVIOUS_KEYS is read by config/app.php and the Encrypter from 11.0 on
    # (spec §0 row 20); Laravel 8-10 ignore the variable.
    prev = pick(
        "previous_keys", "APP_PREVIOUS_KEYS" if version >= (11, 0) else None, ()
    )
    if isinstance(prev, str):
        # array_filter(explode(",")): PHP drops the falsy entries, "" and "0"
        prev = tuple(k for k in prev.split(",") if k not in ("", "0"))
    kw["previous_keys"] = tuple(prev)
    kw["cipher"] = str(pick("cipher", "APP_CIPHER", "AES-256-CBC"))

    kw["redis_client"] = str(pick("redis_client", "REDIS_CLIENT", "phpredis")).lower()
    kw["cluster_mode"] = str(pick("cluster_mode", "REDIS_CLUSTER", "redis"))
    kw["cluster"] = _as_bool(pick("cluster", "NINJA_REDIS_CLUSTER", False), "cluster")
    prefix = pick("redis_prefix", "REDIS_PREFIX", defaults["redis_prefix"])
    kw["redis_prefix"] = "" if prefix is None else str(prefix)
    cache_prefix = pick("cache_prefix", "CACHE_PREFIX", defaults["cache_prefix"])
    kw["cache_prefix"] = "" if cache_prefix is None else str(cache_prefix)

    kw["cache_connection"] = str(
        pick("cache_connection", "REDIS_CACHE_CONNECTION", "cache")
    )
    kw["lock_connection"] = str(
        pick("lock_connection", "REDIS_CACHE_LOCK_CONNECTION", "default")
    )
    sc = pick("serializable_classes", None, True)
    kw["serializable_classes"] = sc if isinstance(sc, bool) else tuple(sc)

    kw["session_driver"] = str(pick("session_driver", "SESSION_DRIVER", "redis"))
    kw["session_cookie"] = str(
        pick("session_cookie", "SESSION_COOKIE", defaults["session_cookie"])
    )
    kw["session_lifetime"] = _as_int(
        pick("session_lifetime", "SESSION_LIFETIME", 120), "SESSION_LIFETIME"
    )
    kw["session_expire_on_close"] = _as_bool(
        pick("session_expire_on_close", "SESSION_EXPIRE_ON_CLOSE", False),
        "SESSION_EXPIRE_ON_CLOSE",
    )
    kw["session_encrypt"] = _as_bool(
        pick("session_encrypt", "SESSION_ENCRYPT", False), "SESSION_ENCRYPT"
    )
    kw["session_serialization"] = str(
        pick("session_serialization", "SESSION_SERIALIZATION", "php")
    ).lower()
    sconn = pick("session_connection", "SESSION_CONNECTION", None)
    kw["session_connection"] = str(sconn) if sconn else None
    kw["session_layout"] = str(
        pick("session_layout", "NINJA_SESSION_LAYOUT", "laravel")
    )

    kw["queue_connection"] = str(
        pick("queue_connection", "REDIS_QUEUE_CONNECTION", "default")
    )
    kw["queue"] = str(pick("queue", "REDIS_QUEUE", "default"))
    kw["queue_retry_after"] = _as_int(
        pick("queue_retry_after", "REDIS_QUEUE_RETRY_AFTER", 90),
        "REDIS_QUEUE_RETRY_AFTER",
        allow_none=True,
    )
    kw["queue_block_for"] = _as_int(
        pick("queue_block_for", "REDIS_QUEUE_BLOCK_FOR", None),
        "REDIS_QUEUE_BLOCK_FOR",
        allow_none=True,
    )
    kw["queue_migration_batch_size"] = _as_int(
        pick("queue_migration_batch_size", None, -1), "queue_migration_batch_size"
    )
    kw["failed_driver"] = str(
        pick("failed_driver", "QUEUE_FAILED_DRIVER", "database-uuids")
    )
    kw["failed_database_url"] = pick(
        "failed_database_url", "NINJA_FAILED_DATABASE_URL", None
    ) or _database_url(env)
    kw["failed_table"] = str(pick("failed_table", "QUEUE_FAILED_TABLE", "failed_jobs"))
    kw["failed_path"] = pick("failed_path", "QUEUE_FAILED_PATH", None)
    kw["app_timezone"] = str(
        pick("app_timezone", "APP_TIMEZONE" if version >= (11, 0) else None, "UTC")
        or "UTC"
    )
    kw["horizon"] = _as_bool(pick("horizon", "NINJA_HORIZON", False), "horizon")
    kw["horizon_prefix"] = str(
        pick("horizon_prefix", "HORIZON_PREFIX", defaults["horizon_prefix"])
    )

    if "connections" in overrides:
        kw["connections"] = dict(overrides["connections"])
    else:
        kw["connections"] = _connections(env, overrides, version)
    return LaravelConfig(**kw)


def _database_url(env: Mapping[str, Any]) -> str | None:
    """A SQLAlchemy-style URL of ``DB_*`` (for the ``failed_jobs`` table), if set."""
    driver = _env_value(env, "DB_CONNECTION")
    if not driver:
        return None
    driver = str(driver)
    if driver == "sqlite":
        return (
            f"sqlite:///{_env_value(env, 'DB_DATABASE') or 'database/database.sqlite'}"
        )
    scheme = {"mysql": "mysql", "mariadb": "mysql", "pgsql": "postgresql"}.get(driver)
    if scheme is None:
        return None
    user = _env_value(env, "DB_USERNAME") or ""
    password = _env_value(env, "DB_PASSWORD") or ""
    host = _env_value(env, "DB_HOST") or "127.0.0.1"
    port = _env_value(env, "DB_PORT") or ("5432" if scheme == "postgresql" else "3306")
    db = _env_value(env, "DB_DATABASE") or "laravel"
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    return f"{scheme}://{auth}{host}:{port}/{db}"


def _connections(
    env: Mapping[str, Any], overrides: Mapping[str, Any], version: LaravelVersion
) -> dict[str, RedisConnectionConfig]:
    def pick(over: str, var: str, default: Any) -> Any:
        if over in overrides:
            return overrides[over]
        value = _env_value(env, var)
        return default if value is None else value

    host = str(pick("redis_host", "REDIS_HOST", "127.0.0.1"))
    port = _as_int(pick("redis_port", "REDIS_PORT", 6379), "REDIS_PORT")
    username = pick("redis_username", "REDIS_USERNAME", None)
    if username is not None and version < (9, 6):
        # Laravel 8 / 9.0–9.5 phpredis never sends an ACL username (spec §0 row 24).
        username = None if "redis_username" not in overrides else username
    password = pick("redis_password", "REDIS_PASSWORD", None)
    db = _as_int(pick("redis_db", "REDIS_DB", 0), "REDIS_DB")
    cache_db = _as_int(pick("redis_cache_db", "REDIS_CACHE_DB", 1), "REDIS_CACHE_DB")
    serializer = str(pick("redis_serializer", "NINJA_REDIS_SERIALIZER", "none")).lower()
    compression = str(
        pick("redis_compression", "NINJA_REDIS_COMPRESSION", "none")
    ).lower()
    level = _as_int(
        pick("redis_compression_level", "NINJA_REDIS_COMPRESSION_LEVEL", None),
        "redis_compression_level",
        allow_none=True,
    )
    tls = _as_bool(pick("redis_tls", "NINJA_REDIS_TLS", False), "redis_tls")
    timeout = pick("redis_timeout", "NINJA_REDIS_TIMEOUT", 5.0)
    base: dict[str, Any] = {
        "host": host,
        "port": port,
        "username": username or None,
        "password": password or None,
        "tls": tls,
        "serializer": serializer,
        "compression": compression,
        "compression_level": level,
        "timeout": float(timeout) if timeout is not None else None,
    }
    url = pick("redis_url", "REDIS_URL", None)
    cache_url = pick("cache_url", "REDIS_CACHE_URL", url)
    default = _apply_url(dict(base, name="default", database=db), url, "REDIS_URL")
    cache = _apply_url(
        dict(base, name="cache", database=cache_db),
        cache_url,
        "REDIS_CACHE_URL" if "REDIS_CACHE_URL" in env else "REDIS_URL",
    )
    for conn in (default, cache):
        conn.setdefault("prefix", None)
        if (
            version < (9, 6)
            and "redis_username" not in overrides
            and str(pick("redis_client", "REDIS_CLIENT", "phpredis")).lower()
            == "phpredis"
        ):
            # ... nor one from REDIS_URL (or ?username=): 8.x-9.5 PhpRedisConnector
            # sends AUTH with the password only.
            conn["username"] = None
    out: dict[str, RedisConnectionConfig] = {}
    for conn in (default, cache):
        prefix = conn.pop("prefix")
        conn["prefix"] = _resolved_prefix(overrides, env, version, prefix)
        out[conn["name"]] = RedisConnectionConfig(**conn)
    return out


def _resolved_prefix(
    overrides: Mapping[str, Any],
    env: Mapping[str, Any],
    version: LaravelVersion,
    url_prefix: Any,
) -> str:
    """⟨P⟩ of a connection: a ``?prefix=`` in the URL wins, else the global prefix."""
    if url_prefix is not None:
        return str(url_prefix)
    return "\0"  # placeholder, filled in by _validate from redis_prefix


def _json_decode_like_php(value: str) -> Any:
    """Laravel's URL parser json-decodes every component when it parses."""
    import json

    try:
        return json.loads(value)
    except ValueError:
        return value


def _apply_url(conn: dict[str, Any], url: Any, variable: str) -> dict[str, Any]:
    """Apply ``REDIS_URL`` the way ``ConfigurationUrlParser`` does (spec §2.2)."""
    if not url:
        return conn
    parts = urlsplit(str(url))
    scheme = parts.scheme.lower()
    if scheme not in ("redis", "rediss", "tcp", "tls", "unix"):
        raise ConfigError(
            f"{variable} must be a redis:// or rediss:// URL", variable=variable
        )
    if scheme == "unix":
        conn["unix_socket"] = unquote(parts.path)
        return conn
    conn["tls"] = scheme in ("rediss", "tls")
    try:
        if parts.hostname:
            conn["host"] = unquote(parts.hostname)
        if parts.port is not None:
            conn["port"] = parts.port
    except ValueError:
        raise ConfigError(
            f"{variable} has an invalid port", variable=variable
        ) from None
    if parts.username:
        conn["username"] = unquote(parts.username) or None
    if parts.password is not None:
        conn["password"] = unquote(parts.password) or None
    path = parts.path.lstrip("/")
    if path:
        conn["database"] = _as_int(_json_decode_like_php(unquote(path)), variable)
    for k, v in parse_qsl(parts.query, keep_blank_values=True):
        val = _json_decode_like_php(v)
        if k == "prefix":
            conn["prefix"] = "" if val is None else str(v)
        elif k == "database":
            conn["database"] = _as_int(val, variable)
        elif k in ("password", "username"):
            conn[k] = str(val) if val else None
        elif k in ("timeout", "read_timeout"):
            conn[k] = float(val)
        elif k == "serializer":
            conn["serializer"] = str(val).lower()
        elif k == "compression":
            conn["compression"] = str(val).lower()
        elif k == "compression_level":
            conn["compression_level"] = _as_int(val, variable)
        # Other phpredis options (persistent, name, scan, ...) do not change any bytes.
    return conn


def _validated(cfg: LaravelConfig) -> LaravelConfig:
    _validate(cfg)
    return cfg


def _validate(cfg: LaravelConfig) -> None:
    if not isinstance(cfg.laravel_version, LaravelVersion):
        object.__setattr__(
            cfg, "laravel_version", LaravelVersion.parse(cfg.laravel_version)
        )
    try:
        ZoneInfo(cfg.app_timezone)
    except (ValueError, ZoneInfoNotFoundError):
        raise ConfigError(
            f"unknown timezone {cfg.app_timezone!r} (an IANA name such as "
            "'Europe/Paris')",
            variable="APP_TIMEZONE",
        ) from None
    conns = dict(cfg.connections)
    if not conns:
        conns = {
            "default": RedisConnectionConfig(name="default", prefix=cfg.redis_prefix),
            "cache": RedisConnectionConfig(
                name="cache", database=1, prefix=cfg.redis_prefix
            ),
        }
    for name, conn in list(conns.items()):
        if conn.prefix == "\0":
            conns[name] = dataclasses.replace(conn, prefix=cfg.redis_prefix)
        c = conns[name]
        if c.serializer not in SERIALIZERS:
            raise ConfigError(
                f"redis serializer {c.serializer!r} is not one of "
                f"{', '.join(SERIALIZERS)}",
                variable="redis_serializer",
            )
        if c.compression not in COMPRESSIONS:
            raise ConfigError(
                f"redis compression {c.compression!r} is not one of "
                f"{', '.join(COMPRESSIONS)}",
                variable="redis_compression",
            )
        if not (0 <= c.port <= 65535):
            raise ConfigError(
                "REDIS_PORT must be between 0 and 65535", variable="REDIS_PORT"
            )
        if c.database < 0:
            raise ConfigError("REDIS_DB must not be negative", variable="REDIS_DB")
    object.__setattr__(cfg, "connections", conns)
    if cfg.redis_client not in ("phpredis", "predis"):
        raise ConfigError(
            "REDIS_CLIENT must be phpredis or predis", variable="REDIS_CLIENT"
        )
    if cfg.cipher.lower() not in CIPHERS:
        raise ConfigError(
            f"cipher {cfg.cipher!r} is not supported ({', '.join(CIPHERS)})",
            variable="APP_CIPHER",
        )
    if cfg.session_serialization not in ("php", "json"):
        raise ConfigError(
            "SESSION_SERIALIZATION must be php or json",
            variable="SESSION_SERIALIZATION",
        )
    if cfg.session_layout not in ("laravel", "hash"):
        raise ConfigError(
            "session_layout must be 'laravel' or 'hash'", variable="session_layout"
        )
    if cfg.session_lifetime is None or cfg.session_lifetime <= 0:
        raise ConfigError(
            "SESSION_LIFETIME must be a positive number of minutes",
            variable="SESSION_LIFETIME",
        )
    if cfg.failed_driver not in ("database-uuids", "database", "file", "redis", "null"):
        raise ConfigError(
            f"QUEUE_FAILED_DRIVER {cfg.failed_driver!r} is not supported "
            "(database-uuids, database, file, redis, null)",
            variable="QUEUE_FAILED_DRIVER",
        )
    for attr, var in (
        ("cache_connection", "REDIS_CACHE_CONNECTION"),
        ("lock_connection", "REDIS_CACHE_LOCK_CONNECTION"),
        ("queue_connection", "REDIS_QUEUE_CONNECTION"),
    ):
        if getattr(cfg, attr) not in conns:
            raise ConfigError(
                f"{var} names the unknown Redis connection {getattr(cfg, attr)!r}",
                variable=var,
            )
    if cfg.session_connection is not None and cfg.session_connection not in conns:
        raise ConfigError(
            f"SESSION_CONNECTION names the unknown Redis connection "
            f"{cfg.session_connection!r}",
            variable="SESSION_CONNECTION",
        )
    if cfg.session_serialization == "json" and cfg.laravel_version < (9, 0):
        # Laravel 8 ignores the option and always writes PHP serialize() (spec §0 row 22).
        object.__setattr__(cfg, "session_serialization", "php")
