"""parse_payload's fast type check accepts exactly what the detailed checks accept."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ninja_redis import payloads
from ninja_redis.exceptions import JobPayloadError

BASE: dict[str, Any] = {
    "uuid": "u",
    "displayName": "App\\Jobs\\X",
    "job": "Illuminate\\Queue\\CallQueuedHandler@call",
    "maxTries": None,
    "maxExceptions": None,
    "failOnTimeout": False,
    "backoff": None,
    "timeout": None,
    "retryUntil": None,
    "data": {"commandName": "App\\Jobs\\X", "command": 'O:1:"X":0:{}'},
    "id": "abc",
    "attempts": 0,
}
VARIANTS: list[dict[str, Any]] = [
    {},
    {"attempts": 1.0},
    {"attempts": True},
    {"attempts": "1"},
    {"maxTries": 3},
    {"maxTries": 3.0},
    {"maxTries": "3"},
    {"maxTries": True},
    {"timeout": 1.5},
    {"retryUntil": 1.2345678901235e16},
    {"createdAt": "x"},
    {"uuid": 5},
    {"displayName": None},
    {"id": 5},
    {"id": True},
    {"id": 1.5},
    {"backoff": "1,5,10"},
    {"backoff": [1, 5]},
    {"backoff": 3},
    {"backoff": False},
    {"backoff": {"a": 1}},
    {"job": ""},
    {"job": 5},
    {"job": "App\\Handlers\\Foo@bar", "data": [1, 2]},
    {"data": {"commandName": "X"}},
    {"data": {"commandName": "X", "command": 5}},
    {"data": []},
]


def _outcome(raw: bytes, fast: bool, monkeypatch: pytest.MonkeyPatch) -> Any:
    with monkeypatch.context() as m:
        if not fast:
            m.setattr(payloads, "_looks_plain", lambda payload: False)
        try:
            return ("ok", payloads.parse_payload(raw).payload)
        except JobPayloadError as exc:
            return ("error", str(exc))


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: json.dumps(v)[:40])
def test_fast_and_detailed_checks_agree(
    variant: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = json.dumps({**BASE, **variant}).encode()
    assert _outcome(raw, True, monkeypatch) == _outcome(raw, False, monkeypatch)


def test_missing_attempts_still_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    body = {k: v for k, v in BASE.items() if k != "attempts"}
    raw = json.dumps(body).encode()
    with pytest.raises(JobPayloadError, match="attempts"):
        payloads.parse_payload(raw)
    assert payloads.parse_payload(raw, require_attempts=False).attempts == 0


@pytest.mark.parametrize(
    "raw", [b"", b"[]", b"\xff{}", b"{", b"null", b'"x"', "{}".encode("utf-16")]
)
def test_not_json_objects_are_payload_errors(raw: bytes) -> None:
    with pytest.raises(JobPayloadError):
        payloads.parse_payload(raw)
