"""The public API: ``__all__`` sorted and complete, sync/async twins alike, pure modules
free of redis/asyncio, generated code up to date, Lua scripts documented."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import ninja_redis
from ninja_redis import _scripts, exceptions

REPO = Path(__file__).resolve().parents[1]

#: Names the first release exports (tests fail if one disappears).
EXPECTED = {
    *("Laravel", "Cache", "Lock", "SessionStore", "Queue", "Worker"),
    *("AsyncLaravel", "AsyncCache", "AsyncLock", "AsyncSessionStore", "AsyncQueue"),
    *("AsyncWorker", "LaravelConfig", "KeySpace", "Encrypter", "LaravelCookies"),
    *("Session", "SessionConflict", "PhpJob", "PhpObject", "PhpEnum", "__version__"),
    *("RateLimiter", "AsyncRateLimiter"),
    *exceptions.__all__,
}

PURE = [
    "exceptions",
    "config",
    "keys",
    "php",
    "codec",
    "crypto",
    "payloads",
    "sessions",
    "_scripts",
    "_chains",
]


def test_all_is_sorted_and_unique() -> None:
    assert ninja_redis.__all__ == sorted(set(ninja_redis.__all__))


def test_every_name_in_all_is_importable() -> None:
    for name in ninja_redis.__all__:
        assert getattr(ninja_redis, name) is not None, name
    namespace: dict[str, object] = {}
    exec("from ninja_redis import *", namespace)
    assert set(ninja_redis.__all__) <= set(namespace)


def test_all_has_the_documented_names() -> None:
    missing = EXPECTED - set(ninja_redis.__all__)
    assert not missing, f"not exported from ninja_redis: {sorted(missing)}"


def test_every_exception_is_exported() -> None:
    for name in exceptions.__all__:
        assert getattr(ninja_redis, name) is getattr(exceptions, name)
    assert set(exceptions.__all__) <= set(ninja_redis.__all__)


def test_the_lazy_names_are_the_real_classes() -> None:
    from ninja_redis._async.app import AsyncLaravel
    from ninja_redis._sync.cache import Cache

    assert ninja_redis.AsyncLaravel is AsyncLaravel and ninja_redis.Cache is Cache
    assert set(dir(ninja_redis)) >= set(ninja_redis.__all__)
    with pytest.raises(AttributeError):
        ninja_redis.NoSuchThing  # noqa: B018


def test_version_is_a_version() -> None:
    assert re.fullmatch(r"\d+\.\d+\.\d+([a-z]+\d+)?", ninja_redis.__version__)


# ------------------------------------------------------------------- twins


def _twin_modules() -> list[str]:
    names = sorted(
        m.name for m in pkgutil.iter_modules([str(REPO / "ninja_redis" / "_async")])
    )
    return [n for n in names if n != "_backend"]


def _public_members(cls: type) -> dict[str, object]:
    return {
        n: m
        for n, m in inspect.getmembers(cls)
        if not n.startswith("_")
        or n in ("__enter__", "__exit__", "__aenter__", "__aexit__", "__init__")
    }


def _normalise(text: str) -> str:
    text = re.sub(r"\bAsync([A-Z]\w*)", r"\1", text)
    text = re.sub(r" at 0x[0-9a-f]+>", ">", text)  # per-module sentinel objects
    text = text.replace("redis.asyncio", "redis").replace("Awaitable[T] | T", "T")
    return text.replace("__aenter__", "__enter__").replace("__aexit__", "__exit__")


def _pairs() -> list[tuple[type, type]]:
    pairs = []
    for mod in _twin_modules():
        a = importlib.import_module(f"ninja_redis._async.{mod}")
        s = importlib.import_module(f"ninja_redis._sync.{mod}")
        for name, cls in vars(a).items():
            if (
                inspect.isclass(cls)
                and cls.__module__ == a.__name__
                and name.startswith("Async")
            ):
                twin = getattr(s, name[len("Async") :], None)
                assert twin is not None, (
                    f"{a.__name__}.{name} has no twin in {s.__name__}"
                )
                pairs.append((cls, twin))
    return pairs


def test_there_are_twins() -> None:
    names = {a.__name__ for a, _ in _pairs()}
    assert {
        "AsyncLaravel",
        "AsyncCache",
        "AsyncLock",
        "AsyncSessionStore",
        "AsyncQueue",
        "AsyncWorker",
    } <= names


@pytest.mark.parametrize("pair", _pairs(), ids=lambda p: p[0].__name__)
def test_twins_have_the_same_methods_and_signatures(pair: tuple[type, type]) -> None:
    async_cls, sync_cls = pair
    a = {_normalise(n): m for n, m in _public_members(async_cls).items()}
    s = _public_members(sync_cls)
    a.pop("aclose", None)  # becomes close
    if "close" in s and "close" not in a and hasattr(async_cls, "aclose"):
        a["close"] = async_cls.aclose
    assert sorted(a) == sorted(s), f"{async_cls.__name__} vs {sync_cls.__name__}"
    for name, member in a.items():
        twin = s[name]
        if callable(member) and callable(twin):
            try:
                sig_a, sig_s = inspect.signature(member), inspect.signature(twin)
            except (TypeError, ValueError):
                continue
            assert _normalise(str(sig_a)) == _normalise(str(sig_s)), (
                f"{sync_cls.__name__}.{name}"
            )
            if inspect.iscoroutinefunction(member):
                assert not inspect.iscoroutinefunction(twin), name


def test_exported_twins_match() -> None:
    for name in ninja_redis.__all__:
        if name.startswith("Async") and name[5:] in ninja_redis.__all__:
            a, s = getattr(ninja_redis, name), getattr(ninja_redis, name[5:])
            assert (a, s) in _pairs() or a.__name__ == "Async" + s.__name__, name


# ------------------------------------------------------------- pure modules

_BLOCKER = textwrap.dedent("""
    import importlib.abc, sys

    class Blocker(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in {"redis", "asyncio", "click"}:
                raise ImportError(f"pure module imported {name}")
            return None

    for mod in [m for m in sys.modules if m.split(".")[0] in {"redis", "asyncio"}]:
        del sys.modules[mod]
    sys.meta_path.insert(0, Blocker())
    import importlib
""")


@pytest.mark.parametrize("module", ["ninja_redis", *[f"ninja_redis.{m}" for m in PURE]])
def test_pure_modules_import_without_redis_or_asyncio(module: str) -> None:
    code = _BLOCKER + f"importlib.import_module({module!r})\n"
    if module == "ninja_redis.php":
        code += "import ninja_redis.php as p; assert p.loads(p.dumps([1, 'a'])) == [1, 'a']\n"
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_pure_modules_do_not_import_io_code() -> None:
    for mod in PURE:
        path = REPO / "ninja_redis" / mod
        files = (
            sorted(path.glob("*.py")) if path.is_dir() else [path.with_suffix(".py")]
        )
        for f in files:
            text = f.read_text(encoding="utf-8")
            bad = re.search(
                r"^\s*(import|from)\s+(redis|asyncio|click|\.+_a?sync|\.+cli)\b",
                text,
                re.M,
            )
            assert bad is None, f"{f.relative_to(REPO)}: {bad.group(0).strip()!r}"


def test_nothing_imports_the_cli() -> None:
    for f in (REPO / "ninja_redis").rglob("*.py"):
        if f.name in ("cli.py", "__main__.py"):
            continue
        text = f.read_text(encoding="utf-8")
        assert not re.search(r"^\s*(from \S*cli import|import \S*cli\b)", text, re.M), f


# ------------------------------------------------------- generated and Lua


def test_unasync_check_passes() -> None:
    proc = subprocess.run(
        [sys.executable, "scripts/unasync.py", "--check"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_every_lua_script_starts_with_its_contract() -> None:
    names = _scripts.names()
    assert names, "no Lua scripts found"
    for name in names:
        text = _scripts.load(name)
        head = []
        for line in text.splitlines():
            if not line.startswith("--"):
                break
            head.append(line)
        contract = " ".join(head)
        assert head, f"{name}.lua does not start with a -- comment"
        assert "KEYS[" in contract or "ARGV[" in contract, f"{name}.lua: no KEYS/ARGV"
        assert re.search(r"\breturns?\b", contract, re.I), f"{name}.lua: no 'returns'"
