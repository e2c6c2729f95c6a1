"""KeySpace: every Redis key Laravel uses, built in one place.

redis-py has no key-prefix option, so ninja_redis applies the connection prefix ⟨P⟩ itself,
exactly where phpredis and predis apply it (spec §2.4): to every key argument and to the
``KEYS`` of ``EVAL``; never to values, ``ARGV``, zset members or SCAN ``MATCH`` patterns
(and SCAN results already contain ⟨P⟩). Every method here returns *full* Redis keys, as
``bytes``, unless its name says ``member``.

Layout (⟨C⟩ = cache prefix, with the ``:`` that 8.x–10.x append)::

    cache item        ⟨P:cache⟩⟨C⟩key                               db 1
    tagged item 10+   ⟨P:cache⟩⟨C⟩sha1("tag:a:entries|tag:b:entries"):key
    tag index 10+     ⟨P:cache⟩⟨C⟩tag:NAME:entries        (zset, member "sha1:key")
    tag id 8/9        ⟨P:cache⟩⟨C⟩tag:NAME:key            (value: the tag id)
    tag refs 8/9      ⟨P:cache⟩⟨C⟩ID:standard_ref / ID:forever_ref   (member "⟨C⟩sha1:key")
    lock              ⟨P:lock⟩⟨C⟩name                               db 0
    session           ⟨P:session⟩⟨C⟩id                              db 0
    rate limiter      ⟨P:cache⟩⟨C⟩clean(key) and ⟨P:cache⟩⟨C⟩clean(key):timer
    queue             ⟨P:queue⟩queues:NAME[:delayed|:reserved|:notify]   (13.x cluster: {NAME})
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from ._ratelimit import RateLimiterRules, clean_rate_limiter_key
from .config import LaravelConfig

__all__ = ["KeySpace", "QueueKeys", "to_bytes"]

_GLOB_SPECIAL = re.compile(rb"([*?\[\]\\])")
SESSION_ID = re.compile(r"[A-Za-z0-9]{40}")


def to_bytes(value: str | bytes | int) -> bytes:
    """Keys and names as bytes (``str`` is UTF-8; an ``int`` becomes its decimal)."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, bool):
        raise TypeError("a bool is not a valid key")
    if isinstance(value, int):
        return str(value).encode()
    if isinstance(value, str):
        return value.encode("utf-8", "surrogateescape")
    raise TypeError(f"keys must be str or bytes, not {type(value).__name__}")


def has_hash_tag(key: str) -> bool:
    """Laravel's ``Connection::hasHashTag()`` (13.x), which is Redis' own rule: the
    text between the first ``{`` and the first ``}`` after it is not empty."""
    start = key.find("{")
    if start < 0:
        return False
    end = key.find("}", start + 1)
    return end > start + 1


def glob_escape(value: bytes) -> bytes:
    """Escape Redis glob metacharacters so ``value`` matches itself in SCAN MATCH."""
    return _GLOB_SPECIAL.sub(rb"\\\1", value)


@dataclass(frozen=True)
class QueueKeys:
    """The four keys of one Redis queue (full keys, ⟨P⟩ included)."""

    name: str
    ready: bytes
    delayed: bytes
    reserved: bytes
    notify: bytes


class KeySpace:
    """Builds every Redis key from a :class:`LaravelConfig`.

    Keys of the cache store use the cache connection's ⟨P⟩, locks the lock connection's,
    sessions the session connection's and queues the queue connection's.
    """

    def __init__(self, config: LaravelConfig) -> None:
        self.config = config
        self.cache_prefix: bytes = to_bytes(config.effective_cache_prefix)
        self._p_cache = self.connection_prefix(config.cache_connection)
        self._p_lock = self.connection_prefix(config.lock_connection)
        self._p_session = self.connection_prefix(config.session_connection_name)
        self._p_queue = self.connection_prefix(config.queue_connection)
        # hot-path constants
        self._cache_head = self._p_cache + self.cache_prefix
        self._lock_head = self._p_lock + self.cache_prefix
        self._session_head = self._p_session + self.cache_prefix
        v = config.laravel_version
        self._clean_rate_limiter_keys = RateLimiterRules.for_version(
            (v.major, v.minor)
        ).clean

    # ---------------------------------------------------------------- prefixes

    def connection_prefix(self, connection: str | None) -> bytes:
        """⟨P⟩ of a Redis connection (``b""`` when it has none)."""
        return to_bytes(self.config.connection(connection).prefix)

    def strip_prefix(
        self, full_key: bytes, connection: str | None = "default"
    ) -> bytes:
        """A full key without the connection's ⟨P⟩ (as phpredis would want it back)."""
        p = self.connection_prefix(connection)
        return full_key[len(p) :] if p and full_key.startswith(p) else full_key

    def scan_pattern(
        self, pattern: bytes | str, connection: str | None = "default"
    ) -> bytes:
        """A SCAN ``MATCH`` pattern for keys below ⟨P⟩: ⟨P⟩ is glob-escaped, ``pattern`` is not."""
        return glob_escape(self.connection_prefix(connection)) + to_bytes(pattern)

    # ------------------------------------------------------------------- cache

    def cache(self, key: str | bytes | int) -> bytes:
        """``⟨P⟩⟨C⟩key`` on the cache connection."""
        return self._cache_head + to_bytes(key)

    @property
    def cache_head(self) -> bytes:
        """``⟨P⟩⟨C⟩``: what every key of the cache store starts with."""
        return self._cache_head

    def cache_scan_pattern(self) -> bytes:
        """MATCH pattern for every key of this cache store (⟨P⟩⟨C⟩*, escaped)."""
        return glob_escape(self._cache_head) + b"*"

    def flexible_created(self, key: str | bytes) -> bytes:
        """``Cache::flexible`` timestamp key (11.23+)."""
        return self.cache(b"illuminate:cache:flexible:created:" + to_bytes(key))

    def flexible_lock(self, key: str | bytes) -> bytes:
        """``Cache::flexible`` refresh lock (a lock: lock connection)."""
        return self.lock(b"illuminate:cache:flexible:lock:" + to_bytes(key))

    # -------------------------------------------------------------- tags 10.x+

    def tag_entries(self, name: str | bytes) -> bytes:
        """The sorted-set index of one tag: ``⟨P⟩⟨C⟩tag:NAME:entries``."""
        return self._cache_head + b"tag:" + to_bytes(name) + b":entries"

    @staticmethod
    def tag_namespace(tag_ids: list[bytes]) -> bytes:
        """sha1 (hex) of the tag ids joined with ``|``, in the order given."""
        return hashlib.sha1(b"|".join(tag_ids)).hexdigest().encode()

    def tag_member(self, names: list[str | bytes], key: str | bytes) -> bytes:
        """The zset member (and item key without ⟨P⟩⟨C⟩) of a tagged item, 10.x+."""
        ids = [b"tag:" + to_bytes(n) + b":entries" for n in names]
        return self.tag_namespace(ids) + b":" + to_bytes(key)

    def tagged(self, names: list[str | bytes], key: str | bytes) -> bytes:
        """Full key of a tagged item, 10.x+."""
        return self._cache_head + self.tag_member(names, key)

    def tag_member_key(self, member: bytes) -> bytes:
        """Full item key of a zset member (``sha1:key`` → ``⟨P⟩⟨C⟩sha1:key``)."""
        return self._cache_head + member

    def tag_scan_pattern(self) -> bytes:
        """MATCH pattern of every tag index (what ``cache:prune-stale-tags`` scans)."""
        return glob_escape(self._cache_head) + b"tag:*:entries"

    def tag_name_from_key(self, full_key: bytes) -> bytes | None:
        """``NAME`` of ``⟨P⟩⟨C⟩tag:NAME:entries``, or ``None`` for another key."""
        head = self._cache_head + b"tag:"
        if full_key.startswith(head) and full_key.endswith(b":entries"):
            return full_key[len(head) : -len(b":entries")]
        return None

    def tag_flush_prefix_pattern(self) -> bytes:
        """ARGV[1] of the 12.30+ tag flush script: ⟨P⟩⟨C⟩ as a Lua pattern.

        12.41+ escape ``-`` as ``%-`` (laravel/framework#57927); 12.30–12.40 send
        ⟨P⟩⟨C⟩ as is, so with a hyphenated prefix their ``string.gsub`` matches
        nothing and the ``ZREM``s leave the entries in the flushed tag sets.
        """
        if self.config.laravel_version < (12, 41):
            return self._cache_head
        return self._cache_head.replace(b"-", b"%-")

    # --------------------------------------------------------------- tags 8/9

    def legacy_tag_id_key(self, name: str | bytes) -> bytes:
        """8.x/9.x: where a tag's id lives, ``⟨P⟩⟨C⟩tag:NAME:key``."""
        return self._cache_head + b"tag:" + to_bytes(name) + b":key"

    def legacy_tag_ref(self, tag_id: bytes, kind: str) -> bytes:
        """8.x/9.x reference set ``⟨P⟩⟨C⟩ID:standard_ref`` / ``ID:forever_ref``."""
        if kind not in ("standard", "forever"):
            raise ValueError("kind must be 'standard' or 'forever'")
        return self._cache_head + tag_id + b":" + kind.encode() + b"_ref"

    def legacy_tagged(self, tag_ids: list[bytes], key: str | bytes) -> bytes:
        """8.x/9.x full key of a tagged item: ``⟨P⟩⟨C⟩sha1(ids joined by |):key``."""
        return self._cache_head + self.tag_namespace(tag_ids) + b":" + to_bytes(key)

    def legacy_ref_member(self, tag_ids: list[bytes], key: str | bytes) -> bytes:
        """8.x/9.x reference-set member: the item key with ⟨C⟩ but without ⟨P⟩."""
        return self.cache_prefix + self.tag_namespace(tag_ids) + b":" + to_bytes(key)

    def legacy_ref_member_key(self, member: bytes) -> bytes:
        """Full key of an 8.x/9.x reference-set member (⟨P⟩ + member)."""
        return self._p_cache + member

    # ----------------------------------------------------------- rate limiter

    def rate_limiter_name(self, key: str | bytes, cleanings: int = 1) -> bytes:
        """The name ``RateLimiter`` stores ``key`` under (without ⟨P⟩⟨C⟩):
        ``cleanRateLimiterKey(key)`` from 8.68.1 on (``é`` → ``e``, ``&`` → ``a``,
        ``'`` → ``&#039;``), the key as given before. ``cleanings=2`` is the twice-cleaned
        name some Laravel methods read (``remaining()``, ``clear()``'s counter, 8.68–9.13
        ``tooManyAttempts()``): it differs only for keys with ``'`` or ``½ ¼ ¾ ¹ ² ³ ∴``.
        """
        name = to_bytes(key)
        if self._clean_rate_limiter_keys:
            for _ in range(cleanings):
                name = clean_rate_limiter_key(name)
        return name

    def rate_limiter(self, key: str | bytes, cleanings: int = 1) -> bytes:
        """A ``RateLimiter`` counter: ``⟨P⟩⟨C⟩NAME`` on the cache connection (NAME from
        :meth:`rate_limiter_name`); a plain integer with the hit count."""
        return self._cache_head + self.rate_limiter_name(key, cleanings)

    def rate_limiter_timer(self, key: str | bytes) -> bytes:
        """A ``RateLimiter`` timer: ``⟨P⟩⟨C⟩NAME:timer``, the Unix time the window ends."""
        return self._cache_head + self.rate_limiter_name(key) + b":timer"

    # ------------------------------------------------------------------ locks

    def lock(self, name: str | bytes) -> bytes:
        """``⟨P⟩⟨C⟩name`` on the lock connection (db 0 by default)."""
        return self._lock_head + to_bytes(name)

    def unique_job_lock(self, job_name: str, unique_id: str = "") -> bytes:
        """``ShouldBeUnique`` lock: ``laravel_unique_job:`` + class + [``:`` 11.x+] + id.

        ``job_name`` is the class name, or, when the job defines ``displayName()``, its
        value (12.41–12.53) or xxh128 (12.54+): ``payloads.unique_lock_name`` decides.
        """
        sep = ":" if self.config.laravel_version >= (11, 0) else ""
        return self.lock(f"laravel_unique_job:{job_name}{sep}{unique_id}")

    # --------------------------------------------------------------- sessions

    def session(self, session_id: str | bytes) -> bytes:
        """``⟨P⟩⟨C⟩id`` on the session connection (the Laravel cache-store layout)."""
        return self._session_head + to_bytes(session_id)

    def session_hash(self, session_id: str | bytes) -> bytes:
        """The runbook's hash layout: ``⟨P⟩session:{id}``."""
        return self._p_session + b"session:" + to_bytes(session_id)

    # ----------------------------------------------------------------- queues

    def _braces_queues(self) -> bool:
        """13.x on a cluster connection wraps queue names in ``{}`` itself."""
        return self.config.cluster and self.config.laravel_version >= (13, 0)

    def queue_base(self, name: str | None = None) -> bytes:
        """``queues:NAME`` without ⟨P⟩ (13.x cluster: ``queues:{NAME}`` unless NAME
        already has a hash tag, as ``RedisQueue::getQueueRedisKey``)."""
        queue = name or self.config.queue
        if self._braces_queues() and not has_hash_tag(queue):
            queue = "{" + queue + "}"
        return b"queues:" + to_bytes(queue)

    def queue(self, name: str | None = None) -> QueueKeys:
        """The four keys of queue ``name`` (default: the configured queue)."""
        base = self._p_queue + self.queue_base(name)
        return QueueKeys(
            name=name or self.config.queue,
            ready=base,
            delayed=base + b":delayed",
            reserved=base + b":reserved",
            notify=base + b":notify",
        )

    def queue_scan_pattern(self) -> bytes:
        """MATCH pattern of every queue key on the queue connection."""
        return glob_escape(self._p_queue) + b"queues:*"

    def queue_name_from_key(self, full_key: bytes) -> str | None:
        """The queue name of a ready-list key (``⟨P⟩queues:NAME``), else ``None``."""
        head = self._p_queue + b"queues:"
        if not full_key.startswith(head):
            return None
        rest = full_key[len(head) :]
        for suffix in (b":delayed", b":reserved", b":notify"):
            if rest.endswith(suffix):
                return None
        name = rest.decode("utf-8", "surrogateescape")
        if (
            self._braces_queues()
            and name.startswith("{")
            and name.endswith("}")
            and not has_hash_tag(name[1:-1])
        ):
            name = name[1:-1]  # the braces 13.x added
        return name

    def failed_jobs_list(self) -> bytes:
        """The runbook's Redis failed-job list: ``⟨P⟩queues:failed``."""
        return self._p_queue + b"queues:failed"

    # ------------------------------------------------------ framework keys

    def job_exceptions(self, uuid: str) -> bytes:
        """``maxExceptions`` counter ``job-exceptions:UUID`` (cache store)."""
        return self.cache(f"job-exceptions:{uuid}")

    def queue_restart(self) -> bytes:
        """``illuminate:queue:restart`` (``queue:restart`` timestamp; cache store)."""
        return self.cache(b"illuminate:queue:restart")

    def queue_paused(self, connection: str, queue: str) -> bytes:
        """``illuminate:queue:paused:CONN:QUEUE`` (``queue:pause``, 12.40+; cache store)."""
        return self.cache(f"illuminate:queue:paused:{connection}:{queue}")

    def queues_paused(self) -> bytes:
        """``illuminate:queues:paused`` (``queue:pause --all``, 13.25+; cache store)."""
        return self.cache(b"illuminate:queues:paused")

    def horizon(self, suffix: str | bytes) -> bytes:
        """A Horizon key: the Horizon prefix replaces ⟨P⟩."""
        return to_bytes(self.config.horizon_prefix) + to_bytes(suffix)
