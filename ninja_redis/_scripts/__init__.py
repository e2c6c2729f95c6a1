"""Lua scripts, one ``.lua`` file each, read once.

Every file starts with its contract (``-- KEYS[1] ..., ARGV[1] ...; returns ...``). Scripts
are run with EVALSHA and fall back to EVAL/SCRIPT LOAD on ``NOSCRIPT`` (redis-py's
``register_script``), so each is sent in full at most once per server.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

__all__ = ["load", "names"]


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
