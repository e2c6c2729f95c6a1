"""The ```python examples of README.md and docs/*.md run, or at least compile.

Every block is named ``<file>[<n>]`` (``n``: its position among the file's python
blocks) and must be listed in exactly one of ``RUNNABLE`` or ``NOT_RUNNABLE`` below, so
a new example fails ``test_every_block_is_classified`` until someone decides.

How a runnable block runs:

* ``Laravel.from_env(...)`` / ``AsyncLaravel.from_env(...)`` in its text is replaced by
  ``__docs_app__("Laravel")`` / ``__docs_app__("AsyncLaravel")``: an app on the private
  test server (``redis_url``), under this test's ``prefix``, with a generated
  ``APP_KEY``. That text replacement is the only change made to a block.
* Names a snippet takes as given (``app``, ``request``, a cookie, a PHP blob) are put
  in its namespace by the block's ``given`` function, listed next to it.
* A block with top-level ``await``/``async with`` is compiled with
  ``PyCF_ALLOW_TOP_LEVEL_AWAIT`` and awaited in ``asyncio.run``.
* The block's ``check`` then looks at what it did (values in Redis, its variables).
"""

from __future__ import annotations

import ast
import asyncio
import importlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from ninja_redis import AsyncLaravel, Encrypter, Laravel, PhpJob, Session, php

ROOT = Path(__file__).resolve().parent.parent
DOC_FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```python\n(.*?)^```[ \t]*$", re.S | re.M)
FROM_ENV = re.compile(r"\b(Async)?Laravel\.from_env\((?:\"[^\"\n]*\")?\)")
ASYNC_FLAGS = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT


@dataclass(frozen=True)
class Block:
    path: str  # relative to the repository root
    index: int  # position among the file's python blocks
    line: int  # line of the opening fence (for messages)
    code: str

    @property
    def name(self) -> str:
        return f"{self.path}[{self.index}]"


def python_blocks() -> list[Block]:
    blocks = []
    for doc in DOC_FILES:
        text = doc.read_text(encoding="utf-8")
        for i, m in enumerate(FENCE.finditer(text)):
            line = text.count("\n", 0, m.start()) + 1
            blocks.append(Block(str(doc.relative_to(ROOT)), i, line, m.group(1)))
    return blocks


BLOCKS = {b.name: b for b in python_blocks()}


@dataclass
class Env:
    """What a runnable block gets: the test server, this test's prefix, a fresh key."""

    redis_url: str
    prefix: str
    app_key: str = field(default_factory=Encrypter.generate_key)
    apps: list[Any] = field(default_factory=list)

    def app(self, kind: str = "Laravel") -> Any:
        url, prefix, key = self.redis_url, self.prefix, self.app_key
        app: Laravel | AsyncLaravel
        if kind == "AsyncLaravel":
            app = AsyncLaravel.from_url(url, redis_prefix=prefix, app_key=key)
        else:
            assert kind == "Laravel", kind
            app = Laravel.from_url(url, redis_prefix=prefix, app_key=key)
        self.apps.append(app)
        return app


@dataclass(frozen=True)
class Run:
    given: Callable[[Env], dict[str, Any]] = lambda env: {}
    check: Callable[[Env, dict[str, Any]], None] = lambda env, ns: None


# --------------------------------------------------------------- per-block inputs/checks


def _readme_check(env: Env, ns: dict[str, Any]) -> None:
    app = env.app()
    assert app.cache.get("greeting") == "hello"
    assert ns["report"] == {"total": 42}
    assert app.cache.tags(["reports"]).get("daily") == {"total": 42}
    assert app.cache.lock("invoices", 10).get() is True  # released by the `with`
    (job,) = app.queue.jobs()
    assert job.payload is not None
    assert job.payload.display_name == "App\\Jobs\\SendInvoiceEmail"


def _encryption_given(env: Env) -> dict[str, Any]:
    previous = Encrypter.generate_key()
    config = env.app().config
    enc = Encrypter.from_app_key(env.app_key)
    session_id = "A" * 40
    cookie = env.app().cookies.encrypt(config.session_cookie, session_id)
    return {
        "APP_KEY": env.app_key,
        "APP_PREVIOUS_KEYS": previous,  # the raw .env string
        # what PHP wrote with the key before the rotation
        "token_from_php": Encrypter.from_app_key(previous).encrypt_string("old"),
        "config": config,
        "request": SimpleNamespace(cookies={config.session_cookie: cookie}),
        "_enc": enc,
    }


def _encryption_check(env: Env, ns: dict[str, Any]) -> None:
    assert ns["enc"].decrypt(ns["token"]) == {"secret": [1, 2]}
    assert ns["enc"].decrypt_string(ns["token_from_php"]) == "old"
    assert ns["session_id"] == "A" * 40
    assert ns["name"] == ns["config"].session_cookie


def _locks_given(kind: str) -> Callable[[Env], dict[str, Any]]:
    return lambda env: {"app": env.app(kind)}


def _locks_check(env: Env, ns: dict[str, Any]) -> None:
    lock = env.app().cache.lock("reports", 120)
    assert lock.get() is True  # every `with` released it
    lock.release()


def _carbon_given(env: Env) -> dict[str, Any]:
    dt = datetime(2024, 5, 17, 10, 30, tzinfo=timezone.utc)
    return {"blob": php.dumps(php.carbon(dt))}


def _php_object_check(env: Env, ns: dict[str, Any]) -> None:
    obj = ns["obj"]
    assert obj.properties == {
        "invoiceId": 7,
        "\x00*\x00locale": "fr",  # the block ends with obj["locale"] = "fr"
        "\x00App\\Jobs\\SendInvoice\x00secret": "x",
    }
    assert obj.visibility("secret") == "App\\Jobs\\SendInvoice"
    assert ns["PhpObject"].private_name("Parent", "x") == "\x00Parent\x00x"


def _carbon_check(env: Env, ns: dict[str, Any]) -> None:
    expected = datetime(2024, 5, 17, 10, 30, tzinfo=timezone.utc)
    assert ns["obj"].to_datetime() == expected
    again = ns["php"].carbon(ns["dt"], "Carbon\\CarbonImmutable", carbon_major=2)
    assert again.class_name == "Carbon\\CarbonImmutable"
    assert again["timezone"] == "Europe/Paris"


def _queues_check(env: Env, ns: dict[str, Any]) -> None:
    sizes = env.app().queue.sizes(["default", "emails"])
    assert (sizes["default"].pending, sizes["default"].delayed) == (1002, 0)
    assert (sizes["emails"].pending, sizes["emails"].delayed) == (0, 1)
    command = ns["job"].php_object()
    assert command.class_name == "App\\Jobs\\SendInvoiceEmail"
    assert command["email"] == "billing@example.com"


def _dataclass_job_check(env: Env, ns: dict[str, Any]) -> None:
    assert ns["invoice"] == ns["SendInvoiceEmail"](1001, "billing@example.com")
    (job,) = env.app().queue.jobs()
    assert job.payload is not None
    assert job.payload.max_tries == 5


def _rate_limiter_check(env: Env, ns: dict[str, Any]) -> None:
    app = env.app()
    results = [ns["upload"](app, 7) for _ in range(11)]
    assert [status for status, _ in results] == [200] * 10 + [429]
    assert 0 < int(results[-1][1]["Retry-After"]) <= 60
    key = app.rate_limiter.named_limiter_key("uploads", 7)
    assert app.rate_limiter.attempts(key) == 10


def _saved_session(env: Env) -> tuple[Session, str]:
    app = env.app()
    session = app.sessions.create({"cart": [1]})
    session.login(42)
    app.sessions.save(session)
    return session, app.sessions.cookie_value(session)


def _sessions_given(env: Env) -> dict[str, Any]:
    _, cookie = _saved_session(env)
    name = env.app().config.session_cookie
    return {"request": SimpleNamespace(cookies={name: cookie})}


def _sessions_check(env: Env, ns: dict[str, Any]) -> None:
    assert ns["user_id"] == 42
    stored = env.app().sessions.load(ns["session"].id)
    assert stored is not None
    assert stored["theme"] == "dark"
    assert stored["status"] == "Saved!"
    assert stored["cart"] == [1]


def _client_cache_given(env: Env) -> dict[str, Any]:
    return {"cookie": _saved_session(env)[1]}


def _client_cache_check(env: Env, ns: dict[str, Any]) -> None:
    assert ns["session"].user_id() == 42
    assert ns["app"].sessions.from_cookie(ns["cookie"]).user_id() == 42


def _worker_given(env: Env) -> dict[str, Any]:
    env.app().queue.push(PhpJob("App\\Jobs\\GenerateReport", {"reportId": 3}))
    return {}


def _worker_check(env: Env, ns: dict[str, Any]) -> None:
    assert ns["result"].reason == "empty"
    assert (ns["result"].jobs, ns["result"].deleted) == (1, 1)
    assert env.app().queue.size() == 0


RUNNABLE: dict[str, Run] = {
    "README.md[0]": Run(check=_readme_check),
    "docs/encryption.md[0]": Run(_encryption_given, _encryption_check),
    "docs/locks.md[0]": Run(_locks_given("Laravel"), _locks_check),
    "docs/locks.md[1]": Run(_locks_given("AsyncLaravel"), _locks_check),
    # its commented results: test_php_serialize_intro_values
    "docs/php-serialize.md[0]": Run(),
    "docs/php-serialize.md[1]": Run(check=_php_object_check),
    "docs/php-serialize.md[2]": Run(_carbon_given, _carbon_check),
    "docs/queues.md[0]": Run(check=_queues_check),
    "docs/queues.md[1]": Run(lambda env: {"app": env.app()}, _dataclass_job_check),
    "docs/rate-limiter.md[0]": Run(check=_rate_limiter_check),
    "docs/sessions.md[0]": Run(_sessions_given, _sessions_check),
    "docs/sessions.md[1]": Run(_client_cache_given, _client_cache_check),
    "docs/worker.md[0]": Run(_worker_given, _worker_check),
}

NOT_RUNNABLE: dict[str, str] = {
    "docs/middleware.md[0]": "a FastAPI app: needs fastapi, an ASGI server and the "
    "user database `db` the example leaves to the reader",
    "docs/middleware.md[1]": "a Flask app: needs a WSGI server and requests",
    "docs/middleware.md[2]": "a Django project (settings module, myapp.models.User, "
    "a database)",
}


def test_every_block_is_classified() -> None:
    assert len(BLOCKS) >= 16  # the fence regex still finds the examples
    assert not set(RUNNABLE) & set(NOT_RUNNABLE)
    assert sorted(BLOCKS) == sorted([*RUNNABLE, *NOT_RUNNABLE])


@pytest.mark.parametrize("name", sorted(BLOCKS))
def test_block_compiles_and_its_imports_exist(name: str) -> None:
    block = BLOCKS[name]
    code = compile(block.code, block.name, "exec", flags=ASYNC_FLAGS, dont_inherit=True)
    assert code is not None
    for node in ast.walk(ast.parse(block.code)):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
            "ninja_redis"
        ):
            module = importlib.import_module(node.module or "")
            for alias in node.names:
                assert hasattr(module, alias.name), f"{node.module}.{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("ninja_redis"):
                    importlib.import_module(alias.name)


def _run_block(block: Block, env: Env, given: dict[str, Any]) -> dict[str, Any]:
    source, n = FROM_ENV.subn(
        lambda m: f'__docs_app__("{"AsyncLaravel" if m.group(1) else "Laravel"}")',
        block.code,
    )
    assert ("from_env(" in source) is False, "a from_env() call was not replaced"
    ns: dict[str, Any] = {"__name__": f"docs_example_{block.index}", **given}
    ns["__docs_app__"] = env.app
    code = compile(source, block.name, "exec", flags=ASYNC_FLAGS, dont_inherit=True)
    result = eval(code, ns)  # a coroutine when the block has top-level await
    if asyncio.iscoroutine(result):

        async def run_and_close() -> None:
            try:
                await result
            finally:
                for app in env.apps:
                    if isinstance(app, AsyncLaravel):
                        await app.aclose()

        asyncio.run(run_and_close())
    return ns


@pytest.mark.parametrize("name", sorted(RUNNABLE))
def test_block_runs(name: str, redis_url: str, prefix: str) -> None:
    block, run = BLOCKS[name], RUNNABLE[name]
    env = Env(redis_url, prefix)
    try:
        ns = _run_block(block, env, run.given(env))
        run.check(env, ns)
    finally:
        for app in env.apps:
            if isinstance(app, Laravel):
                app.close()


def test_php_serialize_intro_values() -> None:
    """docs/php-serialize.md[0] states its results in comments; they hold."""
    assert php.loads(b'a:2:{s:5:"theme";s:4:"dark";s:1:"n";i:1;}') == {
        "theme": "dark",
        "n": 1,
    }
    assert php.dumps({"theme": "dark", "n": 1}) == (
        b'a:2:{s:5:"theme";s:4:"dark";s:1:"n";i:1;}'
    )
    assert php.IMPLEMENTATION in ("c", "python")
