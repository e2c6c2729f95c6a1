"""Blocking twin of ``ninja_redis/_async/_backend.py`` (hand-written, not generated)."""

from __future__ import annotations

import time

__all__ = ["monotonic", "sleep", "wall_time"]


def sleep(seconds: float) -> None:
    """Sleep (blocking)."""
    time.sleep(seconds)


def monotonic() -> float:
    """A monotonic clock in seconds (for deadlines)."""
    return time.monotonic()


def wall_time() -> float:
    """Unix time in seconds (for TTL scores, ``availableAt``, ``createdAt``)."""
    return time.time()
