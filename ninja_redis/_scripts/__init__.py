"""Lua scripts, one ``.lua`` file each, read once.

Every file starts with its contract (``-- KEYS[1] ..., ARGV[1] ...; returns ...``). Scripts
are run with EVALSHA and fall back to EVAL/SCRIPT LOAD on ``NOSCRIPT`` (redis-py's
``register_script``), so each is sent in full at most once per server.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from importlib import resources

__all__ = ["Script", "load", "names", "script"]


@dataclass(frozen=True)
class Script:
    """One bundled Lua script: its text and the sha1 Redis knows it by."""

    name: str
    text: bytes
    sha: str


@cache
def script(name: str) -> Script:
    """The :class:`Script` of ``_scripts/<name>.lua`` (sha1 computed locally)."""
    text = load(name).encode("utf-8")
    return Script(name, text, hashlib.sha1(text).hexdigest())


@cache
def load(name: str) -> str:
    """The text of ``_scripts/<name>.lua``."""
    return resources.files(__name__).joinpath(f"{name}.lua").read_text(encoding="utf-8")


def names() -> list[str]:
    """Names of every bundled script."""
    return sorted(
        p.name[:-4]
        for p in resources.files(__name__).iterdir()
        if p.name.endswith(".lua")
    )
