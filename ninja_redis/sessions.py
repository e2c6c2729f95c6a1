"""Laravel sessions without I/O: the :class:`Session` mapping and the stored bytes.

Laravel's ``Illuminate\\Session\\Store`` keeps the attributes in one PHP array and, on
``save()``, ages the flash data and writes ``serialize($attributes)`` (or
``json_encode`` with ``session.serialization = json``, 9.0+). The Redis driver stores
that *string* through the cache layer, so it is serialized once more::

    inner  a:2:{s:6:"_token";s:40:"q8Xz…jK7";s:6:"_flash";a:2:{s:3:"old";a:0:{}s:3:"new";a:0:{}}}
    Redis  s:95:"a:2:{s:6:"_token";…;s:3:"new";a:0:{}}}";

With ``SESSION_ENCRYPT`` (``EncryptedStore``) the inner blob is first
``Crypt::encrypt()``-ed (``serialize=true``) and the base64 envelope is what the cache
layer wraps: ``s:596:"eyJpdiI6…";``.

PHP arrays keep insertion order, and so does :class:`Session`: every operation here
mirrors the PHP code path (``Arr::set``, ``array_diff``, ``array_unique``, ``$a[] =``)
so that the same history produces the same bytes as Laravel, including the order of
``_flash.new``/``_flash.old`` (spec §7.4).

Pure module: no ``redis``/``asyncio`` imports.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping
from json.encoder import encode_basestring_ascii
from typing import TYPE_CHECKING, Any, Final, Literal

from . import php
from ._phpvalue import php_string_cast
from .crypto import SESSION_GUARD_HASH, is_valid_session_id
from .exceptions import SerializeError, SessionConflict, UnserializeError

__all__ = [
    "SESSION_ID_LENGTH",
    "Session",
    "SessionConflict",
    "decode_attributes",
    "encode_attributes",
    "generate_session_id",
    "login_attributes",
    "login_key",
    "php_json_decode",
    "php_json_encode",
    "unwrap_cache_string",
    "wrap_cache_string",
]

SESSION_ID_LENGTH: Final = 40
_ALNUM: Final = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_INT_KEY = re.compile(r"(?:0|-?[1-9][0-9]*)\Z")
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_MISSING: Any = object()

Serialization = Literal["php", "json"]


def generate_session_id() -> str:
    """A new session id like ``Str::random(40)``: 40 letters and digits (CSPRNG)."""
    return "".join(secrets.choice(_ALNUM) for _ in range(SESSION_ID_LENGTH))


def login_key(guard: str = "web") -> str:
    """``SessionGuard::getName()``: ``login_web_59ba36addc2b2f9401580f014c7f58ea4e30989d``."""
    return f"login_{guard}_{SESSION_GUARD_HASH}"


# ----------------------------------------------------------------- PHP array model
#
# A PHP array is a ``list`` when its keys are exactly 0..n-1 in order, else a
# ``dict`` (the mapping every ninja_redis decoder uses). Keys are normalised like PHP:
# the string "7" is the int key 7, "07" stays a string.


def _php_key(key: Any) -> Any:
    if isinstance(key, bool):
        return int(key)
    if isinstance(key, str) and _INT_KEY.match(key):
        n = int(key)
        if _INT64_MIN <= n <= _INT64_MAX:
            return n
    return key


def _as_pairs(arr: Any) -> list[tuple[Any, Any]]:
    if isinstance(arr, dict):
        return list(arr.items())
    if isinstance(arr, (list, tuple)):
        return list(enumerate(arr))
    return []


def _make_array(pairs: Iterable[tuple[Any, Any]]) -> list[Any] | dict[Any, Any]:
    """A PHP array from ``(key, value)`` pairs: a ``list`` when the keys are 0..n-1."""
    out: dict[Any, Any] = {}
    for k, v in pairs:
        out[_php_key(k)] = v
    if all(type(k) is int and k == i for i, k in enumerate(out)):
        return list(out.values())
    return out


def _next_index(arr: dict[Any, Any]) -> int:
    ints = [k for k in arr if type(k) is int]
    return max(ints) + 1 if ints and max(ints) >= 0 else 0


def _array_push(arr: Any, value: Any) -> list[Any] | dict[Any, Any]:
    """``$arr[] = $value``."""
    if isinstance(arr, list):
        return [*arr, value]
    if isinstance(arr, dict):
        return _make_array([*arr.items(), (_next_index(arr), value)])
    return [value]


def _array_diff(arr: Any, remove: Iterable[Any]) -> list[Any] | dict[Any, Any]:
    """``array_diff($arr, $remove)``: keeps the keys of the surviving entries."""
    gone = {php_string_cast(v) for v in remove}
    return _make_array(
        (k, v) for k, v in _as_pairs(arr) if php_string_cast(v) not in gone
    )


def _array_unique_merge(a: Any, b: Any) -> list[Any] | dict[Any, Any]:
    """``array_unique(array_merge($a, $b))`` for lists of keys."""
    merged = [v for _, v in _as_pairs(a)] + [v for _, v in _as_pairs(b)]
    seen: set[str] = set()
    pairs = []
    for i, v in enumerate(merged):
        s = php_string_cast(v)
        if s not in seen:
            seen.add(s)
            pairs.append((i, v))
    return _make_array(pairs)


def _split(key: Any) -> list[Any]:
    return [_php_key(p) for p in str(key).split(".")] if isinstance(key, str) else [key]


def _child(container: Any, key: Any) -> Any:
    if isinstance(container, dict):
        return container.get(key, _MISSING)
    if isinstance(container, list) and type(key) is int and 0 <= key < len(container):
        return container[key]
    return _MISSING


def _with(container: Any, key: Any, value: Any) -> list[Any] | dict[Any, Any]:
    """``$container[$key] = $value`` on a (possibly list) PHP array; returns the array."""
    if isinstance(container, list):
        if type(key) is int and 0 <= key < len(container):
            container[key] = value
            return container
        if type(key) is int and key == len(container):
            container.append(value)
            return container
        container = dict(enumerate(container))
    out: dict[Any, Any] = container if isinstance(container, dict) else {}
    out[key] = value
    return out


def _without(container: Any, key: Any) -> Any:
    """``unset($container[$key])``; a list loses its list shape unless it was the tail."""
    if isinstance(container, dict):
        container.pop(key, None)
        return container
    if isinstance(container, list) and type(key) is int and 0 <= key < len(container):
        if key == len(container) - 1:
            container.pop()
            return container
        return {i: v for i, v in enumerate(container) if i != key}
    return container


# ------------------------------------------------------------------------ Session


class Session(MutableMapping[Any, Any]):
    """One Laravel session: a mutable mapping of its attributes plus Laravel's helpers.

    ``session["theme"]`` reads and writes top-level attributes (PHP insertion order is
    kept). :meth:`get`, :meth:`put`, :meth:`has`, :meth:`forget` and :meth:`pull` take
    Laravel's dot notation (``"cart.0.qty"``). Flash data follows ``Store``: :meth:`flash`,
    :meth:`now`, :meth:`reflash`, :meth:`keep`, and :meth:`age_flash_data` (called by the
    store's ``save()``). Nothing here talks to Redis; load and save through
    ``app.sessions``.

    ``repr()`` shows neither the id nor the attributes (the id is a credential).

    .. versionadded:: 0.1
    """

    __slots__ = (
        "_attributes",
        "_id",
        "_loader",
        "_logins",
        "exists",
        "ip_address",
        "original",
        "user_agent",
    )

    def __init__(
        self,
        session_id: str | None = None,
        attributes: Mapping[Any, Any] | None = None,
        *,
        exists: bool = False,
        original: bytes | None = None,
    ) -> None:
        self._id = ""
        self.id = session_id if session_id is not None else generate_session_id()
        self._attributes: dict[Any, Any] = dict(attributes or {})
        #: ``True`` when the session was read from Redis (``Store::$exists``).
        self.exists = exists
        #: The exact Redis bytes it was read from (``None`` for a new session); what
        #: the optimistic ``update()`` compares against.
        self.original = original
        #: Hash layout only: the ``ip_address`` and ``user_agent`` columns.
        self.ip_address: str | None = None
        self.user_agent: str | None = None
        #: lazy sessions only (see :meth:`_lazy`): decodes the attributes on first use
        self._loader: Callable[[], dict[Any, Any]] | None = None
        #: lazy sessions only: the ``login_…`` attributes, known without decoding
        self._logins: Mapping[Any, Any] | None = None

    @classmethod
    def _lazy(
        cls,
        session_id: str,
        loader: Callable[[], dict[Any, Any]],
        logins: Mapping[Any, Any],
        original: bytes,
    ) -> Session:
        """A stored session whose attributes are decoded on first use (internal).

        ``session_id`` must already be valid; ``loader()`` returns a new attribute
        dict decoded from ``original`` (bytes known to decode); ``logins``: the
        attributes whose key starts with ``login_`` (read-only, may be shared), so
        :meth:`user_id` needs no decoding. Behaves exactly like
        ``Session(session_id, loader(), exists=True, original=original)``.
        """
        self = cls.__new__(cls)
        self._id = session_id
        self._loader = loader
        self._logins = logins
        self.exists = True
        self.original = original
        self.ip_address = None
        self.user_agent = None
        return self

    if not TYPE_CHECKING:  # keep mypy's attribute checks on Session

        def __getattr__(self, name: str) -> Any:
            # only reached for an unset slot: ``_attributes`` of a lazy session
            loader = self._loader if name == "_attributes" else None
            if loader is None:
                raise AttributeError(
                    f"{type(self).__name__!r} object has no attribute {name!r}"
                )
            attributes = loader()
            self._attributes = attributes
            self._loader = None
            self._logins = None
            return attributes

    def __getstate__(self) -> Any:
        """Copy/pickle support: a lazy session is decoded first."""
        self._attributes  # noqa: B018 - decodes a lazy session
        return (None, {k: getattr(self, k) for k in Session.__slots__})

    # ----------------------------------------------------------------- identity

    @property
    def id(self) -> str:
        """The session id: 40 ASCII letters and digits (``Str::random(40)``)."""
        return self._id

    @id.setter
    def id(self, value: str) -> None:
        if not is_valid_session_id(value):
            raise ValueError("a session id is exactly 40 ASCII letters and digits")
        self._id = value

    @property
    def token(self) -> str | None:
        """The CSRF token (``_token``), or ``None`` before the session has one."""
        value = self._attributes.get("_token")
        return value if isinstance(value, str) else None

    def regenerate_token(self) -> str:
        """``Store::regenerateToken()``: a new 40-char ``_token`` (kept in place)."""
        self.put("_token", generate_session_id())
        return self._attributes["_token"]  # type: ignore[no-any-return]

    @property
    def attributes(self) -> dict[Any, Any]:
        """The attribute array itself (``Store::all()``), in PHP order."""
        return self._attributes

    def __repr__(self) -> str:
        return f"<Session attributes={len(self._attributes)} exists={self.exists}>"

    # ------------------------------------------------------------ mapping (top)

    def __getitem__(self, key: Any) -> Any:
        return self._attributes[_php_key(key)]

    def __setitem__(self, key: Any, value: Any) -> None:
        self._attributes[_php_key(key)] = value

    def __delitem__(self, key: Any) -> None:
        del self._attributes[_php_key(key)]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._attributes)

    def __len__(self) -> int:
        return len(self._attributes)

    def __contains__(self, key: object) -> bool:
        return _php_key(key) in self._attributes

    # ----------------------------------------------------- Laravel dot notation

    def get(self, key: Any, default: Any = None) -> Any:
        """``Store::get()``: ``Arr::get`` with dot notation (a literal key wins)."""
        attrs = self._attributes
        pk = _php_key(key)
        if pk in attrs:
            return attrs[pk]
        if not isinstance(key, str) or "." not in key:
            return default
        node: Any = attrs
        for part in _split(key):
            node = _child(node, part)
            if node is _MISSING:
                return default
        return node

    def has(self, key: Any) -> bool:
        """``Store::has()``: the key exists and is not ``None``."""
        return self.get(key) is not None

    def exists_key(self, key: Any) -> bool:
        """``Store::exists()``: the key exists (even holding ``None``)."""
        return self.get(key, _MISSING) is not _MISSING

    def put(self, key: Any, value: Any = None) -> None:
        """``Store::put()``: ``Arr::set`` with dot notation, or a mapping of them."""
        if isinstance(key, Mapping):
            for k, v in key.items():
                self._arr_set(k, v)
        else:
            self._arr_set(key, value)

    def _arr_set(self, key: Any, value: Any) -> None:
        parts = _split(key)
        if len(parts) == 1:
            self._attributes[parts[0]] = value
            return

        def assign(container: Any, rest: list[Any]) -> Any:
            head = rest[0]
            if len(rest) == 1:
                return _with(container, head, value)
            child = _child(container, head)
            if not isinstance(child, (dict, list)):
                child = {}
            return _with(container, head, assign(child, rest[1:]))

        first = parts[0]
        child = self._attributes.get(first)
        if not isinstance(child, (dict, list)):
            child = {}
        self._attributes[first] = assign(child, parts[1:])

    def push(self, key: Any, value: Any) -> None:
        """``Store::push()``: append ``value`` to the array at ``key``."""
        self.put(key, _array_push(self.get(key, []), value))

    def pull(self, key: Any, default: Any = None) -> Any:
        """``Store::pull()``: get and forget."""
        value = self.get(key, _MISSING)
        if value is _MISSING:
            return default
        self.forget(key)
        return value

    def forget(self, keys: Any) -> None:
        """``Store::forget()``: ``Arr::forget`` of one key or a list of keys."""
        for key in keys if isinstance(keys, (list, tuple)) else [keys]:
            self._arr_forget(key)

    def _arr_forget(self, key: Any) -> None:
        attrs = self._attributes
        pk = _php_key(key)
        if pk in attrs:
            del attrs[pk]
            return
        parts = _split(key)
        if len(parts) == 1:
            return

        def drop(container: Any, rest: list[Any]) -> Any:
            if len(rest) == 1:
                return _without(container, rest[0])
            child = _child(container, rest[0])
            if not isinstance(child, (dict, list)):
                return container
            return _with(container, rest[0], drop(child, rest[1:]))

        first = parts[0]
        if isinstance(attrs.get(first), (dict, list)):
            attrs[first] = drop(attrs[first], parts[1:])

    def remove(self, key: Any) -> Any:
        """``Store::remove()``: ``Arr::pull`` of a key."""
        return self.pull(key)

    def flush(self) -> None:
        """``Store::flush()``: drop every attribute (``_token`` included)."""
        self._attributes.clear()

    def increment(self, key: Any, amount: int = 1) -> Any:
        """``Store::increment()``."""
        value = self.get(key, 0) + amount
        self.put(key, value)
        return value

    def decrement(self, key: Any, amount: int = 1) -> Any:
        """``Store::decrement()``."""
        return self.increment(key, -amount)

    # ----------------------------------------------------------------- flash data

    def flash(self, key: Any, value: Any = True) -> None:
        """``Store::flash()``: ``value`` for this and the next request."""
        self.put(key, value)
        self.push("_flash.new", key)
        self._remove_from_old_flash([key])

    def now(self, key: Any, value: Any) -> None:
        """``Store::now()``: ``value`` for the current request only."""
        self.put(key, value)
        self.push("_flash.old", key)

    def reflash(self) -> None:
        """``Store::reflash()``: keep all flash data for another request."""
        self._merge_new_flashes(self.get("_flash.old", []))
        self.put("_flash.old", [])

    def keep(self, keys: Any = None) -> None:
        """``Store::keep()``: keep these flash keys for another request.

        As in Laravel, ``keep()`` without keys keeps nothing (use :meth:`reflash`).
        """
        if keys is None:
            keys = []
        keys = list(keys) if isinstance(keys, (list, tuple)) else [keys]
        self._merge_new_flashes(keys)
        self._remove_from_old_flash(keys)

    def flash_input(self, values: Mapping[Any, Any]) -> None:
        """``Store::flashInput()``: flash ``_old_input``."""
        self.flash("_old_input", dict(values))

    def _merge_new_flashes(self, keys: Any) -> None:
        self.put("_flash.new", _array_unique_merge(self.get("_flash.new", []), keys))

    def _remove_from_old_flash(self, keys: list[Any]) -> None:
        self.put("_flash.old", _array_diff(self.get("_flash.old", []), keys))

    def age_flash_data(self) -> None:
        """``Store::ageFlashData()``: what ``save()`` does first.

        Forget the keys listed in ``_flash.old``, move ``_flash.new`` to
        ``_flash.old``, empty ``_flash.new``.
        """
        self.forget([v for _, v in _as_pairs(self.get("_flash.old", []))])
        self.put("_flash.old", self.get("_flash.new", []))
        self.put("_flash.new", [])

    # ------------------------------------------------------------ URLs and auth

    @property
    def previous_url(self) -> str | None:
        """``Store::previousUrl()``: ``_previous.url``."""
        value = self.get("_previous.url")
        return value if isinstance(value, str) else None

    def set_previous_url(self, url: str) -> None:
        """``Store::setPreviousUrl()``."""
        self.put("_previous.url", url)

    def user_id(self, guard: str = "web") -> int | str | None:
        """The id of the user logged in with ``guard`` (``login_{guard}_{sha1}``).

        An ``int`` for integer primary keys, a ``str`` for UUIDs and other string ids,
        ``None`` when nobody is logged in (or the value is not an id at all).
        """
        logins = self._logins  # still lazy: no need to decode
        attributes = self._attributes if logins is None else logins
        value = attributes.get(login_key(guard))
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            return None
        return value

    def login(self, user_id: int | str, guard: str = "web") -> None:
        """Put the login key like ``SessionGuard::updateSession()``.

        Laravel then moves the session to a new id (``migrate(true)``; 12.34+
        ``regenerate(true)``, a new ``_token`` too): ``app.sessions.login()`` does
        both, then ``save()``. For AuthenticateSession also call
        ``app.sessions.set_password_hash``.
        """
        if isinstance(user_id, bool) or not isinstance(user_id, (int, str)):
            raise TypeError("a user id is an int or a str")
        self.put(login_key(guard), user_id)

    def logout(self, guard: str = "web") -> None:
        """``SessionGuard::clearUserDataFromStorage()``: remove the login key."""
        self.forget(login_key(guard))

    def password_hash(self, guard: str = "web") -> str | None:
        """The stored ``password_hash_{guard}`` value (raw hash, or 12.45+ HMAC)."""
        value = self._attributes.get(f"password_hash_{guard}")
        return value if isinstance(value, str) else None


# ------------------------------------------------------------------ stored bytes


def wrap_cache_string(blob: bytes) -> bytes:
    """The cache layer's ``serialize()`` of a string: ``s:LEN:"…";`` (LEN in bytes)."""
    return b's:%d:"%b";' % (len(blob), blob)


def unwrap_cache_string(value: bytes, *, key: bytes | None = None) -> bytes:
    """The string inside ``s:LEN:"…";``; :class:`UnserializeError` otherwise."""
    if value[:2] == b"s:":
        colon = value.find(b":", 2)
        if 2 < colon <= 22:
            digits = value[2:colon]
            if digits.isdigit():
                n = int(digits)
                start = colon + 2
                if (
                    value[colon + 1 : start] == b'"'
                    and len(value) == start + n + 2
                    and value[start + n :] == b'";'
                ):
                    return value[start : start + n]
    raise UnserializeError(
        'a Laravel session value is a serialized string s:LEN:"…";',
        value,
        0,
        key=key,
    )


def login_attributes(attributes: Mapping[Any, Any]) -> dict[str, Any]:
    """The attributes whose key starts with ``login_`` (what :meth:`Session.user_id` reads)."""
    return {k: v for k, v in attributes.items() if type(k) is str and k[:6] == "login_"}


def encode_attributes(
    attributes: Mapping[Any, Any], serialization: Serialization
) -> bytes:
    """The inner blob ``Store::save()`` writes: ``serialize()`` or ``json_encode()``."""
    if serialization == "json":
        return php_json_encode(dict(attributes))
    return php.dumps(dict(attributes))


def decode_attributes(
    blob: bytes, serialization: Serialization, *, key: bytes | None = None
) -> dict[Any, Any]:
    """The attribute array of an inner blob (what ``readFromHandler()`` returns).

    Laravel turns anything that is not an array into an empty session; here a blob that
    does not decode raises :class:`UnserializeError` naming ``key``, and a decoded value
    that is not an array is an error too.
    """
    if serialization == "json":
        try:
            value = php_json_decode(blob)
        except ValueError as exc:
            raise UnserializeError(
                f"session data is not valid JSON ({type(exc).__name__})",
                blob,
                0,
                key=key,
            ) from None
    else:
        try:
            value = php.loads(blob)
        except UnserializeError as exc:
            raise exc.with_key(key) if key is not None else exc from None
    if isinstance(value, dict):
        return value
    if isinstance(value, list):
        return dict(enumerate(value))
    raise UnserializeError("session data is not an array", blob, 0, key=key)


# ---------------------------------------------------------- PHP json_encode/decode


def php_json_encode(value: Any) -> bytes:
    """``json_encode($value)`` with PHP's default flags, byte for byte.

    Slashes escaped (``\\/``), non-ASCII as lowercase ``\\uXXXX`` (surrogate pairs),
    floats with ``serialize_precision=-1`` (``1.0`` → ``1``, ``1.0e-7``), empty arrays
    and lists as ``[]``, other arrays as objects. ``NaN``/``INF``, invalid UTF-8 and
    objects raise :class:`SerializeError` (where ``json_encode`` returns ``false``).
    """
    parts: list[str] = []
    _json_into(value, parts, 0)
    return "".join(parts).encode("ascii")


def _json_str(value: str) -> str:
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise SerializeError(
                "json_encode: malformed UTF-8 in a string", None
            ) from None
    if "\x7f" in value:  # PHP leaves DEL as is; Python would write \u007f
        return '"' + "\x7f".join(_json_str(p)[1:-1] for p in value.split("\x7f")) + '"'
    out: str = encode_basestring_ascii(value)
    return out.replace("/", "\\/")


def _json_into(value: Any, out: list[str], depth: int) -> None:
    if depth > 512:
        raise SerializeError("json_encode: maximum depth exceeded", None)
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        out.append(str(value))
    elif isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise SerializeError("json_encode: INF and NAN cannot be encoded", value)
        out.append(php.format_float(value).decode().replace("E", "e"))
    elif isinstance(value, str):
        out.append(_json_str(value))
    elif isinstance(value, (bytes, bytearray)):
        try:
            text = bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            raise SerializeError(
                "json_encode: malformed UTF-8 in a string", None
            ) from None
        out.append(_json_str(text))
    elif isinstance(value, (list, tuple)):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _json_into(item, out, depth + 1)
        out.append("]")
    elif isinstance(value, dict):
        arr = _make_array(value.items())
        if isinstance(arr, list):
            _json_into(arr, out, depth)
            return
        out.append("{")
        for i, (k, item) in enumerate(arr.items()):
            if i:
                out.append(",")
            out.append(_json_str(php_string_cast(k)))
            out.append(":")
            _json_into(item, out, depth + 1)
        out.append("}")
    else:
        raise SerializeError(
            f"json session serialization cannot encode {type(value).__name__}", value
        )


def _json_int(text: str) -> int | float:
    n = int(text)
    return n if _INT64_MIN <= n <= _INT64_MAX else float(text)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"invalid JSON constant {name}")


_json_decoder = json.JSONDecoder(
    object_pairs_hook=_make_array, parse_int=_json_int, parse_constant=_reject_constant
)


def php_json_decode(data: bytes | str) -> Any:
    """``json_decode($data, true)``: objects become PHP arrays (``list`` or ``dict``).

    Numeric-string keys become int keys like PHP; integers beyond 64 bits become
    floats. Invalid JSON raises ``ValueError``.
    """
    text = data.decode("utf-8") if isinstance(data, (bytes, bytearray)) else data
    value, end = _json_decoder.raw_decode(text, _skip_ws(text, 0))
    if _skip_ws(text, end) != len(text):
        raise ValueError("extra data after the JSON value")
    return value


def _skip_ws(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\n\r":
        pos += 1
    return pos
