"""Running the PHP drivers in ``tests/interop/php/`` (real PHP, Debian's Laravel 8.83).

Every driver reads JSON on stdin and prints JSON on stdout; the batch drivers answer a
list of ``{"ok": bool, "result": …}``, one per command.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

DRIVERS = Path(__file__).parent / "php"


def run_driver(
    name: str, stdin: Any, env: Mapping[str, str], *args: str, timeout: float = 25
) -> Any:
    """``php DRIVERS/name args…`` with ``stdin`` as JSON and ``env`` added to this
    process's environment; the parsed stdout (a failing exit shows PHP's stderr)."""
    proc = subprocess.run(
        ["php", str(DRIVERS / name), *args],
        input=json.dumps(stdin).encode(),
        capture_output=True,
        timeout=timeout,
        env={**os.environ, **env},
        check=False,
    )
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    return json.loads(proc.stdout)


def run_batch(
    name: str, commands: list[list[Any]], env: Mapping[str, str], *args: str
) -> list[dict[str, Any]]:
    """A batch driver's answers to ``commands``, each checked to be ``ok``."""
    items: list[dict[str, Any]] = run_driver(name, commands, env, *args)
    assert len(items) == len(commands), items
    for item in items:
        assert item["ok"], item
    return items


def cache_env(port: int, prefix: str, **extra: str) -> dict[str, str]:
    """The environment of ``cache.php`` / ``rate_limiter.php`` (8.x cache prefix)."""
    return {
        "REDIS_HOST": "127.0.0.1",
        "REDIS_PORT": str(port),
        "REDIS_PREFIX": prefix,
        "CACHE_PREFIX": "laravel_cache",
        **extra,
    }
