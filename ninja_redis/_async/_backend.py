"""The few primitives that differ between asyncio and blocking code.

``ninja_redis/_sync/_backend.py`` is the hand-written twin with the same names.
"""

from __future__ import annotations

import asyncio
import time

__all__ = ["monotonic", "sleep", "wall_time"]


async def sleep(seconds: float) -> None:
    """Sleep without blocking the event loop."""
    await asyncio.sleep(seconds)


def monotonic() -> float:
    """A monotonic clock in seconds (for deadlines)."""
    return time.monotonic()


def wall_time() -> float:
    """Unix time in seconds (for TTL scores, ``availableAt``, ``createdAt``)."""
    return time.time()
