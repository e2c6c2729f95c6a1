"""ninja_redis: read and write a Laravel application's Redis data from Python, byte for byte."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
