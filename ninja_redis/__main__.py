"""``python -m ninja_redis``: the ``ninja-redis`` command (see :mod:`ninja_redis.cli`)."""

from __future__ import annotations

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
