"""Recognise a browser logged in to the Laravel app, in Python web frameworks.

* :mod:`ninja_redis.middleware.asgi`: pure ASGI 3 (Starlette, FastAPI, Quart, ...),
  uses :class:`~ninja_redis.AsyncLaravel`.
* :mod:`ninja_redis.middleware.wsgi`: any WSGI app (Flask, Bottle, ...), uses
  :class:`~ninja_redis.Laravel`.
* :mod:`ninja_redis.middleware.django`: Django middleware (sync and async).

Each reads the encrypted ``session.cookie``, verifies its MAC and cookie-name prefix,
loads the session from Redis and exposes the :class:`~ninja_redis.sessions.Session`
(or ``None``) and the user id; a cookie that fails any check is treated as absent.
Optionally requests without a valid session (or user) are rejected with 401, and a
``user_loader(user_id)`` hook turns the id into your user object.

None of them imports a web framework at import time (Django's module imports Django).
"""

from __future__ import annotations

__all__: list[str] = []
