"""Audit of the three middlewares against real frameworks, servers and PHP.

Scopes that must pass through, repeated / split ``Cookie`` headers, every way a cookie
can fail (wrong APP_KEY, tampered, expired, unreadable data, Redis down or hung),
``require`` answers, ``user_loader`` flavours, a threaded WSGI server and the session
cache while PHP (Laravel 8.83) rewrites the session.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import logging
import os
import signal
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from flask import Flask, request
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect
from werkzeug.serving import make_server

from ninja_redis._async.app import AsyncLaravel
from ninja_redis._sync.app import Laravel
from ninja_redis.crypto import Encrypter
from ninja_redis.middleware import asgi, wsgi
from ninja_redis.middleware._common import _ABANDONED, CookieReader, wait_abandoned
from tests.middleware.conftest import KEY, Seeded, options

LOGGER = "ninja_redis.middleware"


# ---------------------------------------------------------------- ASGI helpers


async def me(request: Request) -> JSONResponse:
    session = request.state.laravel_session
    return JSONResponse(
        {
            "user_id": request.state.laravel_user_id,
            "user": request.state.laravel_user,
            "session": session.id if session is not None else None,
            "scope": request.scope["laravel_user_id"],
        }
    )


async def ws(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_json(
        {
            "user_id": websocket.state.laravel_user_id,
            "scope": websocket.scope["laravel_user_id"],
        }
    )
    await websocket.close()


def starlette_app(laravel: AsyncLaravel, **kw: Any) -> asgi.LaravelSessionMiddleware:
    inner = Starlette(routes=[Route("/me", me), WebSocketRoute("/ws", ws)])
    return asgi.LaravelSessionMiddleware(inner, laravel, **kw)


async def aget(app: Any, headers: list[tuple[str, str]] | None = None) -> Any:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return await client.get("/me", headers=headers or [])


def jar(name: str, value: str) -> list[tuple[str, str]]:
    return [("cookie", f"{name}={value}")]


# ------------------------------------------------------ lifespan and websocket


async def test_lifespan_passes_through_untouched(redis_url: str, prefix: str) -> None:
    async with AsyncLaravel.from_url(redis_url, **options(prefix)) as laravel:  # type: ignore[arg-type]
        got: list[Any] = []

        async def inner(scope: Any, receive: Any, send: Any) -> None:
            got.append((scope, receive, send))

        app = asgi.LaravelSessionMiddleware(inner, laravel, require="user")
        scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
        snapshot = dict(scope)

        async def receive() -> Any:
            return {"type": "lifespan.startup"}

        async def send(message: Any) -> None:
            raise AssertionError("the middleware must not answer a lifespan scope")

        await app(scope, receive, send)
        assert got == [(scope, receive, send)] and got[0][0] is scope
        assert scope == snapshot  # no laravel_* keys, state not replaced


def test_lifespan_state_and_websocket_with_starlette(
    seeded: Seeded, redis_url: str, prefix: str
) -> None:
    url = redis_url

    with warnings.catch_warnings():  # starlette 1.x: "install httpx2"
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient

    async def state(request: Request) -> JSONResponse:
        return JSONResponse(
            {"db": request.state.db, "user_id": request.state.laravel_user_id}
        )

    def build(**kw: Any) -> Any:
        # TestClient runs the app in its own event loop: the lifespan closes laravel
        laravel = AsyncLaravel.from_url(url, **options(prefix))  # type: ignore[arg-type]

        @contextlib.asynccontextmanager
        async def lifespan(app: Any) -> Any:
            yield {"db": "handle"}
            await laravel.aclose()

        inner = Starlette(
            routes=[Route("/state", state), WebSocketRoute("/ws", ws)],
            lifespan=lifespan,
        )
        return asgi.LaravelSessionMiddleware(inner, laravel, **kw)

    cookie = f"{seeded.cookie_name}={seeded.logged_in}"
    with TestClient(build()) as client:  # runs the lifespan through the middleware
        r = client.get("/state", headers={"cookie": cookie})
        assert r.json() == {"db": "handle", "user_id": 42}
        with client.websocket_connect("/ws", headers={"cookie": cookie}) as sock:
            assert sock.receive_json() == {"user_id": 42, "scope": 42}
        with client.websocket_connect("/ws") as sock:
            assert sock.receive_json() == {"user_id": None, "scope": None}
    with TestClient(build(require="session")) as client:
        with pytest.raises(WebSocketDisconnect) as info:
            with client.websocket_connect("/ws", headers={"cookie": "a=b"}):
                pass
        assert info.value.code == 1008


# ------------------------------------------------------------- cookie headers


async def test_split_and_repeated_cookie_headers_asgi(
    seeded: Seeded, redis_url: str, prefix: str
) -> None:
    name = seeded.cookie_name
    async with AsyncLaravel.from_url(redis_url, **options(prefix)) as laravel:  # type: ignore[arg-type]
        app = starlette_app(laravel)
        # HTTP/2: one header field per cookie
        r = await aget(
            app,
            [
                ("cookie", "a=1"),
                ("cookie", f"{name}={seeded.logged_in}"),
                ("cookie", "b=2"),
            ],
        )
        assert r.status_code == 200 and r.json()["user_id"] == 42
        # the name as a substring of another cookie's name or value is not the cookie
        r = await aget(
            app,
            [
                ("cookie", f"x{name}={seeded.logged_in}; y=z{name}=1"),
                ("cookie", f"{name}={seeded.guest}"),
            ],
        )
        assert r.json()["user_id"] is None and r.json()["session"] is not None
        # first occurrence wins, as PHP ($_COOKIE) would see the joined header
        r = await aget(
            app,
            [
                ("cookie", f"{name}={seeded.forged}"),
                ("cookie", f"{name}={seeded.logged_in}"),
            ],
        )
        assert r.json()["session"] is None
        r = await aget(app, jar(name, f"{seeded.logged_in}; {name}={seeded.forged}"))
        assert r.json()["user_id"] == 42


def test_cookie_reader_comma_joined_headers() -> None:
    read = CookieReader("laravel_session")
    assert read("a=1,laravel_session=abc") == "abc"  # Werkzeug/gunicorn join
    assert read("laravel_session=x; laravel_session=y") == "x"
    assert read("a=1,b=2") is None


def test_cookie_reader_threads() -> None:
    read = CookieReader("c", size=4)
    errors: list[BaseException] = []
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)

    def work(n: int) -> None:
        try:
            for i in range(3000):
                assert read(f"c={n}-{i}") == f"{n}-{i}"
        except BaseException as exc:
            errors.append(exc)

    try:
        threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(old)
    assert errors == [] and len(read._seen) <= 4


# ------------------------------------------------------ failures: no session


def bad_cookies(seeded: Seeded) -> dict[str, str]:
    v = seeded.logged_in
    return {
        "wrong APP_KEY": seeded.forged,
        "tampered": v[:-6] + ("AAAAAA" if not v.endswith("AAAAAA") else "BBBBBB"),
        "garbage": "not-even-base64!",
    }


async def test_failures_asgi(
    seeded: Seeded, redis_url: str, prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, LOGGER)
    name, lv = seeded.cookie_name, seeded.laravel
    async with AsyncLaravel.from_url(redis_url, **options(prefix)) as laravel:  # type: ignore[arg-type]
        app = starlette_app(laravel, session_cache=False)
        for why, cookie in bad_cookies(seeded).items():
            caplog.clear()
            r = await aget(app, jar(name, cookie))
            assert r.status_code == 200 and r.json()["session"] is None, why
            assert any("rejected" in m for m in caplog.messages), why
        # unreadable session data
        key = lv.sessions.key(seeded.session_id)
        raw = lv.sessions.redis
        good = raw.get(key)
        raw.set(key, b's:5:"a:1:{";')
        caplog.clear()
        r = await aget(app, jar(name, seeded.logged_in))
        assert r.status_code == 200 and r.json()["session"] is None
        assert any("unreadable" in m for m in caplog.messages)
        assert all(seeded.session_id not in m for m in caplog.messages)
        # expired
        raw.set(key, good, px=1)
        time.sleep(0.01)
        caplog.clear()
        r = await aget(app, jar(name, seeded.logged_in))
        assert r.status_code == 200 and r.json()["session"] is None
        assert any("not found" in m for m in caplog.messages)


async def test_redis_down_and_hung_asgi(
    redis_server_factory: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, LOGGER)
    server = redis_server_factory()
    async with AsyncLaravel.from_url(
        server.url, laravel_version="12.67", app_key=KEY, redis_timeout=0.4
    ) as laravel:
        s = laravel.sessions.create()
        s.login(7)
        await laravel.sessions.save(s)
        header = jar(laravel.config.session_cookie, laravel.sessions.cookie_value(s))
        for cache in (False, True):
            app = starlette_app(laravel, session_cache=cache)
            assert (await aget(app, header)).json()["user_id"] == 7
        app = starlette_app(laravel, session_cache=False)
        assert server.process is not None
        os.kill(server.process.pid, signal.SIGSTOP)  # up, but answers nothing
        try:
            started = time.monotonic()
            r = await aget(app, header)
            elapsed = time.monotonic() - started
        finally:
            os.kill(server.process.pid, signal.SIGCONT)
        assert r.status_code == 200 and r.json()["session"] is None
        assert elapsed < 1.2, elapsed  # redis-py's retries alone take ~10 s
        assert any("Redis unavailable" in m for m in caplog.messages)
        server.kill()
        caplog.clear()
        started = time.monotonic()
        r = await aget(starlette_app(laravel, require="session"), header)
        assert time.monotonic() - started < 1.2
        assert r.status_code == 401  # no session, never a 500
        assert any("Redis unavailable" in m for m in caplog.messages)
        server.restart()
        # the loads the middleware gave up on close their sockets before the loop ends
        await wait_abandoned(15)
        assert not [t for t in _ABANDONED if not t.done()]


def test_failures_and_redis_down_wsgi(
    seeded: Seeded, redis_server_factory: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, LOGGER)
    app = flask_app(seeded.laravel, session_cache=False)
    client = app.test_client()
    for why, cookie in bad_cookies(seeded).items():
        caplog.clear()
        client.set_cookie(seeded.cookie_name, cookie)
        r = client.get("/me")
        assert r.status_code == 200 and r.json["session"] is None, why  # type: ignore[index]
        assert any("rejected" in m for m in caplog.messages), why
    server = redis_server_factory()
    with Laravel.from_url(
        server.url, laravel_version="12.67", app_key=KEY, redis_timeout=0.4
    ) as laravel:
        s = laravel.sessions.create()
        s.login(7)
        laravel.sessions.save(s)
        down = flask_app(laravel, session_cache=False, require="user").test_client()
        down.set_cookie(laravel.config.session_cookie, laravel.sessions.cookie_value(s))
        assert down.get("/me").status_code == 200
        server.kill()
        caplog.clear()
        r = down.get("/me")
        assert r.status_code == 401 and r.json == {"message": "Unauthenticated."}
        assert any("Redis unavailable" in m for m in caplog.messages)
        server.restart()


# ----------------------------------------------------------------- require


async def test_require_answers_asgi(
    seeded: Seeded, redis_url: str, prefix: str
) -> None:
    called: list[str] = []

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        called.append(scope["path"])
        await JSONResponse({})(scope, receive, send)

    async with AsyncLaravel.from_url(redis_url, **options(prefix)) as laravel:  # type: ignore[arg-type]
        for require, cookie in (("session", None), ("user", seeded.guest)):
            for status in (401, 403):
                app = asgi.LaravelSessionMiddleware(
                    inner, laravel, require=require, reject_status=status
                )
                hdrs = jar(seeded.cookie_name, cookie) if cookie else []
                r = await aget(app, hdrs)
                assert r.status_code == status
                assert r.content == b'{"message":"Unauthenticated."}'
                assert r.headers["content-type"] == "application/json"
                assert r.headers["content-length"] == "30"
        assert called == []
        app = asgi.LaravelSessionMiddleware(inner, laravel, require="user")
        assert (
            await aget(app, jar(seeded.cookie_name, seeded.logged_in))
        ).status_code == 200
        assert called == ["/me"]


def test_require_answers_wsgi(seeded: Seeded) -> None:
    called: list[str] = []

    def inner(environ: dict[str, Any], start_response: Any) -> Any:
        called.append(environ["PATH_INFO"])
        start_response("200 OK", [])
        return [b""]

    for status, line in ((401, "401 Unauthorized"), (418, "418 Error")):
        mw = wsgi.LaravelSessionMiddleware(
            inner, seeded.laravel, require="user", reject_status=status
        )
        seen: list[Any] = []
        body = mw(
            {"PATH_INFO": "/", "HTTP_COOKIE": f"{seeded.cookie_name}={seeded.guest}"},
            lambda s, h, seen=seen: seen.append((s, h)),
        )
        assert seen == [
            (line, [("Content-Type", "application/json"), ("Content-Length", "30")])
        ]
        assert b"".join(body) == b'{"message":"Unauthenticated."}'
    assert called == []


# -------------------------------------------------------------- user_loader


async def test_user_loader_flavours_asgi(
    seeded: Seeded, redis_url: str, prefix: str
) -> None:
    def sync_load(uid: int | str) -> Any:
        return {"id": uid, "kind": "sync"}

    async def async_load(uid: int | str) -> Any:
        await asyncio.sleep(0)
        return {"id": uid, "kind": "async"}

    async def boom(uid: int | str) -> Any:
        raise LookupError("db down")

    hdrs = jar(seeded.cookie_name, seeded.logged_in)
    async with AsyncLaravel.from_url(redis_url, **options(prefix)) as laravel:  # type: ignore[arg-type]
        for load, kind in ((sync_load, "sync"), (async_load, "async")):
            r = await aget(starlette_app(laravel, user_loader=load), hdrs)
            assert r.json()["user"] == {"id": 42, "kind": kind}
        guests: list[Any] = []
        r = await aget(
            starlette_app(laravel, user_loader=lambda u: guests.append(u)),
            jar(seeded.cookie_name, seeded.guest),
        )
        assert guests == [] and r.json()["user_id"] is None  # not called for guests
        with pytest.raises(LookupError):  # the loader's errors propagate
            await aget(starlette_app(laravel, user_loader=boom), hdrs)
        transport = httpx.ASGITransport(
            app=Starlette_500(laravel, boom), raise_app_exceptions=False
        )
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            assert (await c.get("/me", headers=hdrs)).status_code == 500


def Starlette_500(laravel: AsyncLaravel, loader: Any) -> Any:
    """A Starlette app with the middleware inside: a loader error is a normal 500."""
    from starlette.middleware import Middleware

    return Starlette(
        routes=[Route("/me", me)],
        middleware=[
            Middleware(
                asgi.LaravelSessionMiddleware, laravel=laravel, user_loader=loader
            )
        ],
    )


def test_async_loader_refused_by_wsgi(seeded: Seeded) -> None:
    async def load(uid: int | str) -> Any:
        return None

    with pytest.raises(TypeError):
        wsgi.LaravelSessionMiddleware(lambda e, s: [], seeded.laravel, user_loader=load)


# -------------------------------------------------- WSGI under a threaded server


def flask_app(laravel: Laravel, **kw: Any) -> Flask:
    app = Flask(__name__)

    @app.get("/me")
    def me_() -> dict[str, Any]:
        session = request.environ["laravel.session"]
        return {
            "user_id": request.environ["laravel.user_id"],
            "user": request.environ["laravel.user"],
            "session": session.id if session is not None else None,
        }

    app.wsgi_app = wsgi.LaravelSessionMiddleware(app.wsgi_app, laravel, **kw)  # type: ignore[method-assign]
    return app


@pytest.fixture
def threaded_server(seeded: Seeded) -> Iterator[tuple[int, Seeded, list[Any]]]:
    users: list[Any] = []
    laravel = seeded.laravel
    extra = []
    for uid in range(100, 108):  # eight users, eight sessions
        s = laravel.sessions.create()
        s.login(uid)
        laravel.sessions.save(s)
        extra.append((uid, laravel.sessions.cookie_value(s)))
    app = flask_app(laravel, user_loader=lambda uid: users.append(uid) or {"id": uid})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_port, seeded, extra
    finally:
        server.shutdown()
        thread.join(5)


def test_threaded_wsgi_server(threaded_server: tuple[int, Seeded, list[Any]]) -> None:
    port, seeded, users = threaded_server
    name = seeded.cookie_name
    cases = [(uid, f"{name}={c}") for uid, c in users]
    cases += [(None, f"{name}={seeded.forged}"), (None, f"{name}={seeded.guest}")]
    errors: list[BaseException] = []

    def client(n: int) -> None:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            for i in range(25):
                uid, cookie = cases[(n + i) % len(cases)]
                conn.request("GET", "/me", headers={"Cookie": cookie})
                body = json.loads(conn.getresponse().read())
                assert body["user_id"] == uid, (uid, body)
                assert body["user"] == (None if uid is None else {"id": uid})
            conn.close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []


def test_repeated_cookie_headers_werkzeug(
    threaded_server: tuple[int, Seeded, list[Any]],
) -> None:
    port, seeded, _ = threaded_server
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.putrequest("GET", "/me")
    conn.putheader("Cookie", "a=1")  # Werkzeug joins these with ","
    conn.putheader("Cookie", f"{seeded.cookie_name}={seeded.logged_in}")
    conn.endheaders()
    assert json.loads(conn.getresponse().read())["user_id"] == 42
    conn.close()


# ------------------------------------------------------------------- Django


async def test_django_async_chain_runs_sync_loader_off_the_loop(
    seeded: Seeded, redis_url: str, prefix: str
) -> None:
    from django.test import AsyncClient

    from tests.middleware.test_django import django_settings

    loop_thread = threading.get_ident()
    threads: list[int] = []

    def load(uid: int | str) -> Any:  # an ORM query would raise in the loop thread
        threads.append(threading.get_ident())
        return {"id": uid}

    async with AsyncLaravel.from_url(redis_url, **options(prefix)) as alaravel:  # type: ignore[arg-type]
        with django_settings(app=seeded.laravel, async_app=alaravel, user_loader=load):
            client = AsyncClient()
            client.cookies[seeded.cookie_name] = seeded.logged_in
            r = await client.get("/ame")
            assert json.loads(r.content)["user"] == {"id": 42}
            assert threads and loop_thread not in threads
            client.cookies[seeded.cookie_name] = seeded.forged
            r = await client.get("/ame")
            assert r.status_code == 200 and json.loads(r.content)["user_id"] is None


def test_django_require_answer(seeded: Seeded) -> None:
    from django.test import Client

    from tests.middleware.test_django import django_settings

    with django_settings(app=seeded.laravel, require="session", reject_status=403):
        client = Client()
        client.cookies[seeded.cookie_name] = seeded.forged
        r = client.get("/me")
        assert r.status_code == 403 and r["Content-Type"] == "application/json"
        assert r.content == b'{"message":"Unauthenticated."}'


# ------------------------------------- session cache while PHP rewrites sessions


@pytest.mark.php
@pytest.mark.laravel
async def test_session_cache_follows_php_writes(redis_url: str, prefix: str) -> None:
    from ninja_redis.sessions import login_key
    from tests.interop.test_session_live import COOKIE, run_php

    key = Encrypter.generate_key()
    sid = run_php(
        redis_url, prefix, key, [{"op": "write", "ops": [["put", login_key(), 1]]}]
    )[0]["id"]
    cookie = run_php(redis_url, prefix, key, [{"op": "cookie_encrypt", "value": sid}])[
        0
    ]["payload"]
    async with AsyncLaravel.from_url(
        redis_url,
        laravel_version="8.83",
        redis_prefix=prefix,
        cache_prefix="laravel_cache",
        session_cookie=COOKIE,
        app_key=key,
    ) as laravel:
        app = starlette_app(laravel)  # session_cache on
        cache = laravel.sessions.client_cache
        assert cache is not None
        deadline = time.monotonic() + 5
        while not cache.usable():
            assert time.monotonic() < deadline
            await asyncio.sleep(0.005)
        hdrs = jar(COOKIE, cookie)

        async def user_after(expected: Any) -> None:
            # visible once the invalidation is read; never an older value after it
            deadline = time.monotonic() + 2
            while (await aget(app, hdrs)).json()["user_id"] != expected:
                assert time.monotonic() < deadline, expected
                await asyncio.sleep(0.002)
            for _ in range(5):
                assert (await aget(app, hdrs)).json()["user_id"] == expected

        await user_after(1)
        hits = cache.hits
        await user_after(1)
        assert cache.hits > hits  # served from memory in between
        for ops, expected in (
            ([["put", login_key(), 2]], 2),  # another user logs in on PHP
            ([["forget", login_key()]], None),  # logout on PHP
            ([["put", login_key(), 3]], 3),
        ):
            run_php(redis_url, prefix, key, [{"op": "write", "id": sid, "ops": ops}])
            await user_after(expected)
        laravel.sessions.redis  # noqa: B018 - same client as PHP's server
        await laravel.sessions.redis.delete(laravel.sessions.key(sid))
        await user_after(None)
        assert (await aget(app, hdrs)).json()["session"] is None
