"""``AsyncSessionStore``: Laravel's Redis session driver, for asyncio code.

Layout (spec §7.2), default ``session_layout = "laravel"``::

    key    ⟨P of session.connection⟩⟨C⟩<40-char id>          db of that connection (0)
    value  s:LEN:"<serialize($attributes) | json_encode | Crypt::encrypt(...)>";
    TTL    SESSION_LIFETIME * 60

``session_layout = "hash"`` (the runbook's alternative) keeps one Redis hash per session
at ``⟨P⟩session:{id}`` with the columns of Laravel's database driver: ``data`` (base64 of
the possibly encrypted inner blob, like the ``payload`` column), ``last_activity``,
``user_id``, ``ip_address``, ``user_agent``; TTL = the lifetime.

Generated into ``ninja_redis/_sync/session.py`` (``SessionStore``) by scripts/unasync.py.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from .. import _scripts
from ..crypto import is_valid_session_id, parse_cookie_header, password_hash_mac
from ..crypto import password_hash_matches as _password_hash_matches
from ..exceptions import DecryptError, UnserializeError
from ..sessions import (
    Session,
    SessionConflict,
    decode_attributes,
    encode_attributes,
    generate_session_id,
    login_attributes,
    login_key,
    unwrap_cache_string,
    wrap_cache_string,
)
from ._backend import wall_time
from .tracking import NOT_CACHED, AsyncSessionCache

if TYPE_CHECKING:
    import redis.asyncio as redis

    from ..codec import LaravelCacheCodec
    from ..crypto import Encrypter, LaravelCookies
    from .app import AsyncLaravel
    from .wire import AsyncWire

_CAS = _scripts.script("session_cas")
_HASH_CAS = _scripts.script("session_hash_cas")

__all__ = ["AsyncSessionStore", "SessionConflict"]


class AsyncSessionStore:
    """Read and write a Laravel application's sessions (``app.sessions``).

    Every value is written exactly as Laravel's ``Store::save()`` and the Redis cache
    driver write it: ``serialize()`` or ``json_encode`` (``SESSION_SERIALIZATION``,
    9.0+), ``EncryptedStore`` when ``SESSION_ENCRYPT`` is on, ``SETEX`` with
    ``SESSION_LIFETIME * 60`` on the session connection under ⟨P⟩⟨C⟩id.

    Reading: :meth:`load` (by id) and :meth:`from_cookie` / :meth:`from_header` /
    :meth:`from_request` (from the encrypted ``session.cookie``). Writing: :meth:`save`
    (last writer wins, like Laravel), :meth:`update` (optimistic compare-and-set with
    retries), :meth:`regenerate`, :meth:`invalidate`, :meth:`destroy`.

    Unreadable stored data: :meth:`load` raises
    :class:`~ninja_redis.exceptions.UnserializeError` (or
    :class:`~ninja_redis.exceptions.DecryptError` for an ``EncryptedStore`` payload it
    cannot decrypt), naming the key. Laravel treats such a session as empty;
    :meth:`from_cookie` without ``strict`` does the same by returning ``None``.

    .. versionadded:: 0.1
    """

    def __init__(self, app: AsyncLaravel, *, cookie_cache_size: int = 1024) -> None:
        cfg = app.config
        self._app = app
        self._keys = app.keys
        self.connection_name: str = cfg.session_connection_name
        self.serialization = cfg.session_serialization
        self.encrypt: bool = cfg.session_encrypt
        self.lifetime: int = cfg.session_lifetime
        self.cookie_name: str = cfg.session_cookie
        self.layout = cfg.session_layout
        conn = cfg.connection(self.connection_name)
        #: no phpredis serializer/compression on the session connection: the fast path
        self._plain = conn.serializer == "none" and conn.compression == "none"
        self._codec: LaravelCacheCodec | None = None
        self._client: redis.Redis | None = None
        self._wire: AsyncWire | None = None
        #: verified cookie value -> session id (only successes; bounded, FIFO eviction)
        self._verified: dict[str | bytes, str] = {}
        self.cookie_cache_size = cookie_cache_size
        self._cache: AsyncSessionCache | None = None

    # ------------------------------------------------------------------ plumbing

    @property
    def redis(self) -> redis.Redis:
        """The redis-py client of the session connection."""
        if self._client is None:
            self._client = self._app.connection(self.connection_name)
        return self._client

    @property
    def ttl(self) -> int:
        """Seconds a session lives after each save (``SESSION_LIFETIME * 60``)."""
        return self.lifetime * 60

    def key(self, session_id: str) -> bytes:
        """The full Redis key of a session (string or hash layout)."""
        if self.layout == "hash":
            return self._keys.session_hash(session_id)
        return self._keys.session(session_id)

    def _encrypter(self) -> Encrypter:
        return self._app.encrypter

    def _cookies(self) -> LaravelCookies:
        return self._app.cookies

    @property
    def wire(self) -> AsyncWire:
        """The lean command path of the session connection."""
        if self._wire is None:
            self._wire = self._app.wire(self.connection_name)
        return self._wire

    # -------------------------------------------------------- client-side cache

    @property
    def client_cache(self) -> AsyncSessionCache | None:
        """The server-assisted cache of session reads, if enabled."""
        return self._cache

    def enable_client_cache(
        self,
        *,
        max_entries: int = 10_000,
        max_age: float = 5.0,
        health_interval: float = 1.0,
        timeout: float = 1.0,
    ) -> AsyncSessionCache:
        """Serve :meth:`load` from memory, kept fresh by Redis 6+ invalidations.

        Opt-in (the middleware turns it on by default). A dedicated connection runs
        ``CLIENT TRACKING ON REDIRECT <own id> BCAST PREFIX ⟨P⟩⟨C⟩`` and
        ``SUBSCRIBE __redis__:invalidate``; any change to a session key by any client
        (PHP included), its expiry, eviction or a ``FLUSHDB`` drops the entry. Entries
        live at most ``max_age`` seconds and never past the key's TTL; at most
        ``max_entries`` (LRU). While the invalidation connection is down or
        unhealthy (no ``PONG`` within ``health_interval + timeout``) nothing is served
        from memory. If the server refuses tracking (ACL, renamed commands, Redis < 6)
        the cache stays off (logged at debug on ``ninja_redis.sessions``). Each load
        still returns a fresh :class:`Session` decoded from the cached bytes.
        Calling it again returns the existing cache. See docs/sessions.md.

        .. versionadded:: 0.2
        """
        if self._cache is None:
            self._cache = AsyncSessionCache(
                self.redis,
                self.key(""),
                max_entries=max_entries,
                max_age=max_age,
                health_interval=health_interval,
                timeout=timeout,
            )
        return self._cache

    async def aclose(self) -> None:
        """Stop the client-side cache's subscriber (``app.aclose()`` calls this)."""
        cache, self._cache = self._cache, None
        if cache is not None:
            await cache.aclose()

    # -------------------------------------------------------------- new sessions

    def create(self, attributes: Mapping[Any, Any] | None = None) -> Session:
        """A new, unsaved session like ``StartSession`` starts one.

        A fresh 40-char id, ``_token`` first, then ``attributes`` in order.
        """
        session = Session(generate_session_id())
        session.regenerate_token()
        if attributes:
            session.put(attributes)
        return session

    # --------------------------------------------------------------- encode/decode

    def _payload(self, session: Session) -> bytes:
        """What ``Store::save()`` hands to the handler (after ``prepareForStorage``)."""
        blob = encode_attributes(session.attributes, self.serialization)
        if self.encrypt:
            # EncryptedStore: Crypt::encrypt($data) with serialize=true
            return self._encrypter().encrypt(blob).encode("ascii")
        return blob

    def _blob(self, payload: bytes, key: bytes) -> bytes:
        """``prepareForUnserialize()``: the inner blob of a stored payload."""
        if not self.encrypt:
            return payload
        try:
            value = self._encrypter().decrypt(payload)
        except DecryptError as exc:
            raise DecryptError(
                f"the encrypted session under key {key!r} cannot be decrypted ({exc})",
                None,
            ) from None
        if isinstance(value, str):
            return value.encode("utf-8", "surrogateescape")
        if isinstance(value, bytes):
            return value
        raise UnserializeError(
            "the decrypted session payload is not a string", None, 0, key=key
        )

    def encode(self, session: Session) -> bytes:
        """The Redis value :meth:`save` writes for ``session`` (string layout)."""
        payload = self._payload(session)
        if self._plain:
            return wrap_cache_string(payload)
        return self._value_codec().dumps(payload)

    def decode(self, session_id: str, value: bytes) -> Session:
        """A :class:`Session` from its stored Redis value (string layout)."""
        return self._decode(session_id, value, self._keys.session(session_id))

    def _decode(self, session_id: str, value: bytes, key: bytes) -> Session:
        attributes = self._decode_attributes(value, key)
        return Session(session_id, attributes, exists=True, original=value)

    def _decode_attributes(self, value: bytes, key: bytes) -> dict[Any, Any]:
        """The attribute array of a stored value (string layout)."""
        if self._plain:
            payload = unwrap_cache_string(value, key=key)
        else:
            inner = self._value_codec().loads(value)
            if isinstance(inner, str):
                payload = inner.encode("utf-8", "surrogateescape")
            elif isinstance(inner, bytes):
                payload = inner
            else:
                raise UnserializeError(
                    "a Laravel session value is a string", value, 0, key=key
                )
        return decode_attributes(self._blob(payload, key), self.serialization, key=key)

    def _value_codec(self) -> LaravelCacheCodec:
        if self._codec is None:
            self._codec = self._app.codec(self.connection_name)
        return self._codec

    def _hash_fields(self, session: Session) -> dict[bytes, bytes]:
        fields = {
            b"data": base64.b64encode(self._payload(session)),
            b"last_activity": str(int(wall_time())).encode(),
        }
        user_id = session.user_id()
        if user_id is not None:
            fields[b"user_id"] = str(user_id).encode()
        if session.ip_address is not None:
            fields[b"ip_address"] = session.ip_address.encode()
        if session.user_agent is not None:
            fields[b"user_agent"] = session.user_agent.encode()
        return fields

    def _from_hash(
        self, session_id: str, fields: Mapping[bytes, bytes]
    ) -> Session | None:
        key = self._keys.session_hash(session_id)
        data = fields.get(b"data")
        if data is None:
            return None
        try:
            last = int(fields.get(b"last_activity", b"0"))
        except ValueError:
            last = 0
        if last < wall_time() - self.ttl:
            return None  # DatabaseSessionHandler::expired()
        try:
            payload = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            raise UnserializeError(
                "the session data field is not base64", data, 0, key=key
            ) from None
        attributes = decode_attributes(
            self._blob(payload, key), self.serialization, key=key
        )
        session = Session(session_id, attributes, exists=True, original=data)
        ip, agent = fields.get(b"ip_address"), fields.get(b"user_agent")
        session.ip_address = ip.decode("utf-8", "replace") if ip is not None else None
        session.user_agent = (
            agent.decode("utf-8", "replace") if agent is not None else None
        )
        return session

    # ------------------------------------------------------------------- reading

    async def load(self, session_id: str) -> Session | None:
        """The session with this id, or ``None`` if the id is invalid, missing or expired.

        Raises :class:`~ninja_redis.exceptions.UnserializeError` /
        :class:`~ninja_redis.exceptions.DecryptError` (naming the key) when the stored
        bytes cannot be read.
        """
        hit: Session | None = self.cached(session_id)
        if hit is not NOT_CACHED:
            return hit
        return await self.fetch(session_id)

    async def fetch(self, session_id: str) -> Session | None:
        """:meth:`load` after :meth:`cached` said ``NOT_CACHED``: the session read from
        Redis (and kept in the session cache when there is one), without a second
        cache lookup."""
        return await self._fetch(session_id, self._cache)

    async def _fetch(
        self, session_id: str, cache: AsyncSessionCache | None
    ) -> Session | None:
        if not is_valid_session_id(session_id):
            return None
        if cache is not None:
            return await self._fetch_into_cache(cache, session_id)
        if self.layout == "hash":
            flat = await self.wire.execute(
                "HGETALL", self._keys.session_hash(session_id)
            )
            return self._from_flat(session_id, flat)
        key = self._keys.session(session_id)
        value: bytes | None = await self.wire.execute("GET", key)
        if value is None:
            return None
        return self._decode(session_id, value, key)

    def _from_flat(
        self, session_id: str, flat: list[bytes] | dict[bytes, bytes]
    ) -> Session | None:
        # HGETALL: a flat list, or a dict through a cluster client (whose
        # execute_command applies redis-py's reply callbacks)
        fields: dict[bytes, bytes] = (
            flat
            if isinstance(flat, dict)
            else dict(zip(flat[::2], flat[1::2], strict=True))
        )
        return self._from_hash(session_id, fields) if fields else None

    def cached(self, session_id: str) -> Any:
        """The session from the local session cache without any I/O, ``None`` for a
        cached miss or an invalid id, or :data:`NOT_CACHED` when Redis has to be asked
        (no cache, or not cached). Same result and errors as :meth:`load` otherwise."""
        if not is_valid_session_id(session_id):
            return None
        cache = self._cache
        if cache is None:
            return NOT_CACHED
        key = self.key(session_id)
        entry = cache.lookup(key)
        if entry is NOT_CACHED:
            return NOT_CACHED
        return self._from_entry(session_id, key, entry)

    def _from_entry(self, session_id: str, key: bytes, entry: Any) -> Session | None:
        """A fresh Session from a cache entry (its bytes, decoded once per entry)."""
        reply: Any = entry.reply
        logins = entry.meta
        if logins is not None:
            # these bytes decoded before: a fresh Session per call, its attributes
            # decoded from them on first use
            return Session._lazy(
                session_id, lambda: self._decode_attributes(reply, key), logins, reply
            )
        if self.layout == "hash":
            return self._from_flat(session_id, reply)
        if reply is None:
            return None
        session = self._decode(session_id, reply, key)  # unreadable bytes raise here
        # once per cached bytes (string layout): they decode, and the login attributes
        # a lazy Session's user_id() reads instead of decoding
        entry.meta = login_attributes(session.attributes)
        return session

    async def _fetch_into_cache(
        self, cache: AsyncSessionCache, session_id: str
    ) -> Session | None:
        """Read the session (with its ``PTTL``) and cache the bytes unless an
        invalidation came meanwhile."""
        key = self.key(session_id)
        read = "HGETALL" if self.layout == "hash" else "GET"
        token = cache.begin(key)
        if token is None:
            reply = await self.wire.execute(read, key)
            entry = None
        else:
            try:
                reply, pttl = await self.wire.pipeline([(read, key), ("PTTL", key)])
            except BaseException:
                cache.abandon(key, token)
                raise
            entry = cache.finish(key, token, reply, pttl)
        if entry is not None:
            return self._from_entry(session_id, key, entry)
        # not cacheable: decode these bytes once
        if self.layout == "hash":
            return self._from_flat(session_id, reply)
        return None if reply is None else self._decode(session_id, reply, key)

    async def _load_fresh(self, session_id: str) -> Session | None:
        """:meth:`load` straight from Redis (read-modify-write must not use the cache)."""
        return await self._fetch(session_id, None)

    def session_id_from_cookie(
        self, cookie_value: str | bytes | None, *, strict: bool = False
    ) -> str | None:
        """The session id inside the encrypted ``session.cookie`` value.

        ``None`` for a missing, forged, tampered or foreign cookie; with
        ``strict=True`` those raise :class:`~ninja_redis.exceptions.DecryptError`
        (``None`` still means "no cookie").

        A browser sends the same cookie value until the app sets a new one, so the
        ids of the last ``cookie_cache_size`` (1024) *verified* cookie values are kept
        in memory and such a value is not decrypted again (the mapping cannot change
        while the keys stay the same). Failures are never cached. Pass
        ``cookie_cache_size=0`` to :class:`AsyncSessionStore` to turn this off.
        """
        if not cookie_value:
            return None
        cached = self._verified.get(cookie_value)
        if cached is not None:
            return cached
        try:
            session_id = self._cookies().session_id_from_cookie(
                cookie_value, self.cookie_name
            )
        except DecryptError:
            if strict:
                raise
            return None
        if self.cookie_cache_size > 0:
            if len(self._verified) >= self.cookie_cache_size:
                try:  # oldest first; threads share the blocking store's dict
                    self._verified.pop(next(iter(self._verified)), None)
                except (RuntimeError, StopIteration):  # changed by another thread
                    pass
            self._verified[cookie_value] = session_id
        return session_id

    async def from_cookie(
        self, cookie_value: str | bytes | None, *, strict: bool = False
    ) -> Session | None:
        """The session named by an encrypted session cookie value, as Laravel sees it.

        The MAC and the cookie-name prefix are checked before anything else; a
        forged or tampered cookie, a missing or expired session and (like Laravel,
        which starts an empty session) unreadable session data all give ``None``.
        With ``strict=True`` a bad cookie raises
        :class:`~ninja_redis.exceptions.DecryptError` and unreadable data its typed
        error; ``None`` then only means "no cookie" or "no such session".
        """
        session_id = self.session_id_from_cookie(cookie_value, strict=strict)
        if session_id is None:
            return None
        if strict:
            return await self.load(session_id)
        try:
            return await self.load(session_id)
        except (UnserializeError, DecryptError):
            return None

    async def from_header(
        self, cookie_header: str | bytes | None, *, strict: bool = False
    ) -> Session | None:
        """Like :meth:`from_cookie`, given a whole ``Cookie:`` request header."""
        if not cookie_header:
            return None
        if isinstance(cookie_header, bytes):
            cookie_header = cookie_header.decode("latin-1")
        value = parse_cookie_header(cookie_header).get(self.cookie_name)
        return await self.from_cookie(value, strict=strict)

    async def from_request(
        self, request: Any, *, strict: bool = False
    ) -> Session | None:
        """Like :meth:`from_cookie`, given a request-like object.

        Accepts an ASGI scope, a WSGI environ, an object with a ``cookies`` or
        ``COOKIES`` mapping (Starlette, Flask, Django requests) or a plain mapping of
        cookie names to values.
        """
        return await self.from_cookie(self.cookie_from_request(request), strict=strict)

    def cookie_from_request(self, request: Any) -> str | None:
        """The raw (still encrypted) session cookie value of a request-like object."""
        name = self.cookie_name
        if isinstance(request, Mapping):
            if "type" in request and "headers" in request:  # ASGI scope
                for k, v in request["headers"]:
                    if k.lower() == b"cookie":
                        found = parse_cookie_header(v.decode("latin-1")).get(name)
                        if found is not None:
                            return found
                return None
            if "wsgi.version" in request or "HTTP_COOKIE" in request:  # WSGI environ
                header = request.get("HTTP_COOKIE")
                return parse_cookie_header(header).get(name) if header else None
            value = request.get(name)
            return value if isinstance(value, str) else None
        for attr in ("cookies", "COOKIES"):
            cookies = getattr(request, attr, None)
            if isinstance(cookies, Mapping):
                value = cookies.get(name)
                return value if isinstance(value, str) else None
        raise TypeError(
            f"cannot find cookies on a {type(request).__name__}: pass an ASGI scope, "
            "a WSGI environ, a request with .cookies, or a mapping"
        )

    def cookie_value(self, session: Session) -> str:
        """The encrypted ``session.cookie`` value Laravel would send for ``session``.

        Percent-encoded for a ``Set-Cookie`` header (``…%3D``).
        """
        return self._cookies().encrypt(self.cookie_name, session.id)

    # ------------------------------------------------------------------- writing

    async def save(
        self, session: Session, *, age_flash: bool = True, if_unchanged: bool = False
    ) -> None:
        """Write the session like ``Store::save()``: age the flash data, then SETEX.

        Last writer wins, exactly like Laravel: a change another process saved after
        this session was loaded is overwritten. With ``if_unchanged=True`` the write
        only happens if the stored bytes are still those the session was loaded from
        (or, for a new session, if none exist), else :class:`SessionConflict`; for
        read-modify-write use :meth:`update`, which retries.
        ``age_flash=False`` skips ``ageFlashData()`` (for writes outside a request).
        """
        if age_flash:
            session.age_flash_data()
        if if_unchanged:
            if not await self._compare_and_set(session):
                raise SessionConflict(
                    f"session under key {self.key(session.id)!r} was changed by "
                    "another writer",
                    self.key(session.id),
                )
            return
        if self.layout == "hash":
            key = self._keys.session_hash(session.id)
            fields = self._hash_fields(session)
            pairs = [x for kv in fields.items() for x in kv]
            commands: list[tuple[Any, ...]] = [
                ("DEL", key),
                ("HSET", key, *pairs),
                ("EXPIRE", key, self.ttl),
            ]
            if self._app.config.cluster:
                # a cluster pipeline cannot carry MULTI/EXEC as plain commands: its
                # transaction mode sends them to the node of the (one) key
                pipe: Any = self.redis.pipeline(transaction=True)
                async with pipe:
                    for cmd in commands:
                        pipe.execute_command(*cmd)
                    await pipe.execute()
            else:
                await self.wire.pipeline([("MULTI",), *commands, ("EXEC",)])
            session.original = fields[b"data"]
        else:
            value = self.encode(session)
            # SETEX key lifetime*60 value: what Laravel's cache-backed handler sends
            await self.wire.execute(
                "SETEX", self._keys.session(session.id), self.ttl, value
            )
            session.original = value
        session.exists = True
        self._forget(session.id)

    def _forget(self, session_id: str) -> None:
        """Our own write: drop the local entry now (the invalidation follows)."""
        if self._cache is not None:
            self._cache.invalidate(self.key(session_id))

    async def _compare_and_set(self, session: Session) -> bool:
        old = session.original
        flag = b"1" if old is not None else b"0"
        if self.layout == "hash":
            fields = self._hash_fields(session)
            args: list[bytes | int] = [flag, old or b"", self.ttl]
            for k, v in fields.items():
                args += [k, v]
            new = fields[b"data"]
        else:
            new = self.encode(session)
            args = [flag, old or b"", new, self.ttl]
        script = _HASH_CAS if self.layout == "hash" else _CAS
        done = await self.wire.eval(script, [self.key(session.id)], args)
        self._forget(session.id)
        if int(done) == 1:
            session.original = new
            session.exists = True
            return True
        return False

    async def update(
        self,
        session_id: str,
        callback: Callable[[Session], Any],
        *,
        retries: int = 10,
        age_flash: bool = False,
    ) -> Session | None:
        """Optimistically change a stored session: read, ``callback(session)``, write.

        The write is a compare-and-set (one Lua script) on the exact bytes that were
        read; if another writer (PHP or Python) saved in between, the session is read
        again and ``callback`` runs again, up to ``retries`` times, then
        :class:`SessionConflict`. ``callback`` mutates the session it is given (its
        return value is ignored) and must be safe to run more than once. Returns the
        saved session, or ``None`` (``callback`` not called) if there is no such
        session. Flash data is not aged unless ``age_flash=True``.
        """
        for _ in range(retries + 1):
            session = await self._load_fresh(session_id)
            if session is None:
                return None
            callback(session)
            if age_flash:
                session.age_flash_data()
            if await self._compare_and_set(session):
                return session
        raise SessionConflict(
            f"session under key {self.key(session_id)!r} kept changing; gave up after "
            f"{retries} retries",
            self.key(session_id),
        )

    async def destroy(self, session_id: str) -> None:
        """``SessionHandler::destroy()``: delete the stored session."""
        if is_valid_session_id(session_id):
            await self.wire.execute("DEL", self.key(session_id))
            self._forget(session_id)

    async def migrate(self, session: Session, destroy: bool = False) -> Session:
        """``Store::migrate($destroy)``: a new id, the attributes (``_token``) kept.

        With ``destroy`` the old key is deleted now, otherwise it stays until it
        expires (Laravel's default). Nothing is written under the new id until
        :meth:`save`; send the new cookie (:meth:`cookie_value`).
        """
        if destroy:
            await self.destroy(session.id)
        session.id = generate_session_id()
        session.exists = False
        session.original = None
        return session

    async def regenerate(self, session: Session, destroy: bool = True) -> Session:
        """``Store::regenerate()``: :meth:`migrate` and a new CSRF token.

        ``migrate($destroy)``: with ``destroy`` (the default here, as on login;
        Laravel's own default is ``false``) the old key is deleted now. Nothing is
        written under the new id until :meth:`save`; send the new cookie
        (:meth:`cookie_value`).
        """
        await self.migrate(session, destroy)
        session.regenerate_token()
        return session

    async def invalidate(self, session: Session) -> Session:
        """``Store::invalidate()``: drop every attribute and migrate to a new id.

        The old key is deleted; like Laravel no new ``_token`` is made (call
        ``session.regenerate_token()``, as Laravel's logout does).
        """
        session.flush()
        return await self.migrate(session, destroy=True)

    async def login(
        self, session: Session, user_id: int | str, guard: str = "web"
    ) -> Session:
        """``SessionGuard::login()``'s session part (``updateSession``).

        Puts ``login_{guard}_…`` and moves the session to a new id, deleting the
        old key: ``migrate(true)`` before Laravel 12.34 (the ``_token`` is kept),
        ``regenerate(true)`` from 12.34 on (a new ``_token``). Then :meth:`save`
        and send :meth:`cookie_value`; for ``AuthenticateSession`` also
        :meth:`set_password_hash`.
        """
        session.login(user_id, guard)
        if self._app.config.laravel_version >= (12, 34):
            return await self.regenerate(session, destroy=True)
        return await self.migrate(session, destroy=True)

    # ----------------------------------------------------------- auth helpers

    def set_password_hash(
        self, session: Session, password_hash: str, guard: str = "web"
    ) -> None:
        """Store ``password_hash_{guard}`` as ``AuthenticateSession`` does.

        12.45+: hex HMAC-SHA256 of the hash keyed with the literal ``APP_KEY``; older
        versions: the raw hash.
        """
        if self._app.config.laravel_version >= (12, 45):
            value = password_hash_mac(password_hash, self._app.config.app_key)
        else:
            value = password_hash
        session.put(f"password_hash_{guard}", value)

    def password_hash_matches(
        self, session: Session, password_hash: str, guard: str = "web"
    ) -> bool:
        """Is the session's ``password_hash_{guard}`` that of ``password_hash``?

        12.45+ accepts both the HMAC and the raw form; older versions only the raw
        hash (``AuthenticateSession`` compares it as is). Constant-time.
        """
        stored = session.password_hash(guard)
        if stored is None:
            return False
        if self._app.config.laravel_version < (12, 45):
            return hmac.compare_digest(
                stored.encode("utf-8"), password_hash.encode("utf-8")
            )
        return _password_hash_matches(stored, password_hash, self._app.config.app_key)

    @staticmethod
    def login_key(guard: str = "web") -> str:
        """``login_{guard}_{sha1('Illuminate\\Auth\\SessionGuard')}``."""
        return login_key(guard)
