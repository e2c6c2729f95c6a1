"""Options shared by the ASGI, WSGI and Django middleware (pure)."""

from __future__ import annotations

from typing import Any, Final, Literal

from ..crypto import parse_cookie_header
from ..sessions import Session

Require = Literal["session", "user"] | None

#: Laravel's JSON answer for an unauthenticated request.
UNAUTHENTICATED_BODY: Final = b'{"message":"Unauthenticated."}'
REASONS: Final = {401: "Unauthorized", 403: "Forbidden", 419: "Page Expired"}


def check_require(require: Any) -> Require:
    """Validate the ``require`` option."""
    if require not in (None, "session", "user"):
        raise ValueError("require must be None, 'session' or 'user'")
    return require  # type: ignore[no-any-return]


def rejected(require: Require, session: Session | None, user_id: Any) -> bool:
    """Should the request be refused under ``require``?"""
    if require == "session":
        return session is None
    if require == "user":
        return user_id is None
    return False


class CookieReader:
    """One cookie's value out of ``Cookie:`` headers, remembering recent headers.

    A browser repeats the same header until a cookie changes, and parsing it
    (``parse_cookie_header``: split, percent-decoding) is a pure function, so the
    value found in each of the last ``size`` distinct headers is kept (FIFO).
    """

    __slots__ = ("_seen", "name", "size")

    def __init__(self, name: str, size: int = 256) -> None:
        self.name = name
        self.size = size
        self._seen: dict[str | bytes, str | None] = {}

    def __call__(self, header: str | bytes) -> str | None:
        """The cookie's value in ``header`` (``bytes`` are latin-1), or ``None``."""
        seen = self._seen
        try:
            return seen[header]
        except KeyError:
            pass
        text = header.decode("latin-1") if isinstance(header, bytes) else header
        value = parse_cookie_header(text).get(self.name)
        if len(seen) >= self.size:
            seen.pop(next(iter(seen)), None)
        seen[header] = value
        return value
