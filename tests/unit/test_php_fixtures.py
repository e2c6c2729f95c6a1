"""Every PHP serialize() blob in the golden fixtures round-trips byte for byte.

Blobs are found by trying: ``output.input.value.serialize``, results of gets,
``$b64`` values, and every Redis value/member/field of the dumps that parses as PHP
serialize() data, recursively (session values are ``s:N:"a:...";`` whose inner
string is serialized again; queue payload JSON ``data.command`` is a serialized job).
"""

from __future__ import annotations

import base64
import json
from types import ModuleType
from typing import Any

import pytest

from ninja_redis.exceptions import UnserializeError
from ninja_redis.php import PhpObject, PhpRef, _pure
from tests._shared import fixture_dirs

try:
    from ninja_redis.php import _speedups
except ImportError:  # pragma: no cover - CI always builds it
    _speedups = None


@pytest.fixture(params=["python", "c"])
def impl(request: pytest.FixtureRequest) -> ModuleType:
    if request.param == "c":
        if _speedups is None:
            pytest.skip(
                "!!! C accelerator ninja_redis.php._speedups is NOT BUILT; "
                "run `pip install -e .` with a C compiler !!!"
            )
        return _speedups
    return _pure


def _walk_json(node: Any, out: set[bytes]) -> None:
    if isinstance(node, dict):
        if "b64" in node and "len" in node and isinstance(node["b64"], str):
            out.add(base64.b64decode(node["b64"]))
        for key, value in node.items():
            if key == "$b64" and isinstance(value, str):
                out.add(base64.b64decode(value))
            else:
                _walk_json(value, out)
    elif isinstance(node, list):
        for item in node:
            _walk_json(item, out)
    elif isinstance(node, str):
        out.add(node.encode("utf-8", "surrogatepass"))


def _walk_value(value: Any, out: set[bytes]) -> None:
    stack = [value]
    seen: set[int] = set()
    while stack:
        v = stack.pop()
        if id(v) in seen:
            continue
        seen.add(id(v))
        if isinstance(v, str):
            out.add(v.encode("utf-8"))
        elif isinstance(v, bytes):
            out.add(v)
        elif isinstance(v, (list, tuple)):
            stack.extend(v)
        elif isinstance(v, dict):
            stack.extend(v.values())
        elif isinstance(v, PhpObject):
            stack.extend(v.properties.values())
        elif isinstance(v, PhpRef):
            stack.append(v.value)


def _collect() -> list[bytes]:
    candidates: set[bytes] = set()
    for d in fixture_dirs():
        for f in sorted(d.glob("*.json")):
            _walk_json(json.loads(f.read_text(encoding="utf-8")), candidates)
    blobs: set[bytes] = set()
    tried: set[bytes] = set()
    todo = list(candidates)
    while todo:
        data = todo.pop()
        if data in tried or len(data) < 2:
            continue
        tried.add(data)
        nested: set[bytes] = set()
        try:
            value = _pure.loads(data, strict=True)
        except UnserializeError:
            try:
                _walk_json(json.loads(data), nested)  # queue payloads, JSON sessions
            except ValueError:
                pass
        else:
            blobs.add(data)
            _walk_value(value, nested)
        todo.extend(nested - tried)
    return sorted(blobs)


BLOBS = _collect()


def test_fixture_blobs_found() -> None:
    # 174 distinct blobs in the 4 versions: values, sessions, job commands, Carbon
    assert len(BLOBS) >= 170, len(BLOBS)
    assert any(b.startswith(b"O:25:") and b"dumpDateProperties" in b for b in BLOBS)
    assert any(b"Carbon" in b for b in BLOBS)
    assert any(b.startswith(b"E:") for b in BLOBS)
    assert any(b.startswith(b"s:") and b"_token" in b for b in BLOBS)  # sessions


def test_fixture_blobs_round_trip(impl: ModuleType) -> None:
    failures = []
    for data in BLOBS:
        try:
            again = impl.dumps(impl.loads(data, strict=True))
        except Exception as exc:  # collect all failures, report a few
            failures.append((data[:120], repr(exc)))
            continue
        if again != data:
            failures.append((data[:120], again[:120]))
    assert not failures, f"{len(failures)} of {len(BLOBS)} blobs differ: {failures[:5]}"


def test_fixture_blobs_same_in_both_implementations() -> None:
    if _speedups is None:
        pytest.skip("!!! C accelerator ninja_redis.php._speedups is NOT BUILT !!!")
    for data in BLOBS:
        assert repr(_speedups.loads(data)) == repr(_pure.loads(data))
