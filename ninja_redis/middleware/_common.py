"""Options shared by the ASGI, WSGI and Django middleware (pure)."""

from __future__ import annotations

from typing import Any, Final, Literal

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
