"""Paths to ../shared (spec, golden fixtures) and small helpers to read the fixtures.

The fixtures are loaded from the shared folder beside the repository, never copied into
it. ``NINJA_REDIS_SHARED`` points elsewhere when needed.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("NINJA_REDIS_SHARED", REPO.parent / "shared")).resolve()
FIXTURES = SHARED / "fixtures"
VERSIONS = ("10.50.3", "11.56.0", "12.67.0", "13.26.1")


def fixture_dirs() -> list[Path]:
    """Every ``laravel-X.Y.Z`` fixture directory (fails loudly if none is found)."""
    dirs = sorted(p for p in FIXTURES.glob("laravel-*") if p.is_dir())
    if not dirs:
        raise RuntimeError(
            f"no golden fixtures under {FIXTURES}: check out ../shared beside the repo "
            "or set NINJA_REDIS_SHARED"
        )
    return dirs


@cache
def load_fixture(version: str, scenario: str) -> dict[str, Any]:
    """The parsed ``<scenario>.json`` of one Laravel version (e.g. ``"12.67.0"``)."""
    path = FIXTURES / f"laravel-{version}" / f"{scenario}.json"
    with path.open(encoding="utf-8") as fh:
        data: dict[str, Any] = json.load(fh)
    return data


def iter_fixtures() -> Iterator[tuple[str, str, dict[str, Any]]]:
    """Yield ``(version, scenario, data)`` for every fixture file."""
    for d in fixture_dirs():
        version = d.name.removeprefix("laravel-")
        for f in sorted(d.glob("*.json")):
            yield version, f.stem, load_fixture(version, f.stem)


def raw(blob: dict[str, Any]) -> bytes:
    """The bytes of a fixture byte string ``{"b64", "len", "text"?}``."""
    data = base64.b64decode(blob["b64"])
    assert len(data) == blob["len"]
    return data


def dump_keys(
    data: dict[str, Any], db: int | None = None
) -> dict[bytes, dict[str, Any]]:
    """``final_dump`` keys of a fixture as ``{full_key: entry}`` (optionally one db)."""
    out: dict[bytes, dict[str, Any]] = {}
    for dbdump in data["final_dump"]:
        if db is not None and dbdump["db"] != db:
            continue
        for entry in dbdump["keys"]:
            out[raw(entry["key"])] = entry
    return out
