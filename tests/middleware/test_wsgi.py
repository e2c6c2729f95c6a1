"""WSGI middleware with Flask's test client."""

from __future__ import annotations

from typing import Any

from flask import Flask, request

from ninja_redis.middleware.wsgi import LaravelSessionMiddleware
from tests.middleware.conftest import Seeded


def build(seeded: Seeded, **kw: Any) -> Flask:
    app = Flask(__name__)

    @app.get("/me")
    def me() -> dict[str, Any]:
        session = request.environ["laravel.session"]
        return {
            "user_id": request.environ["laravel.user_id"],
            "user": request.environ["laravel.user"],
            "theme": session.get("theme") if session is not None else None,
        }

    app.wsgi_app = LaravelSessionMiddleware(app.wsgi_app, seeded.laravel, **kw)  # type: ignore[method-assign]
    return app


def call(app: Flask, cookie: str | None, name: str) -> Any:
    client = app.test_client()
    if cookie is not None:
        client.set_cookie(name, cookie)
    return client.get("/me")


def test_flask(seeded: Seeded) -> None:
    app = build(seeded)
    r = call(app, seeded.logged_in, seeded.cookie_name)
    assert r.status_code == 200 and r.json == {
        "user_id": 42,
        "user": None,
        "theme": "dark",
    }
    assert call(app, seeded.guest, seeded.cookie_name).json["user_id"] is None
    assert call(app, seeded.forged, seeded.cookie_name).json["theme"] is None
    assert call(app, None, seeded.cookie_name).json["user_id"] is None


def test_flask_require_and_loader(seeded: Seeded) -> None:
    app = build(seeded, require="user", user_loader=lambda uid: {"id": uid})
    r = call(app, seeded.logged_in, seeded.cookie_name)
    assert r.status_code == 200 and r.json["user"] == {"id": 42}
    r = call(app, seeded.guest, seeded.cookie_name)
    assert r.status_code == 401 and r.json == {"message": "Unauthenticated."}
    assert call(app, seeded.forged, seeded.cookie_name).status_code == 401
    app2 = build(seeded, require="session", reject_status=403)
    assert call(app2, seeded.guest, seeded.cookie_name).status_code == 200
    assert call(app2, None, seeded.cookie_name).status_code == 403
