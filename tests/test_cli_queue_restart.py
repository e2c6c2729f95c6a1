"""``ninja-redis queue restart``: what ``php artisan queue:restart`` writes, and a running
ninja_redis worker stops on it (tests/interop/test_worker_lifecycle_live.py checks the
bytes against Laravel's own cache store)."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from ninja_redis import cli
from ninja_redis._sync.app import Laravel
from ninja_redis.config import LaravelConfig


@pytest.mark.parametrize("version", ["8.83", "12.67"])
def test_queue_restart_signal_stops_a_running_worker(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    redis_url: str,
    prefix: str,
    version: str,
) -> None:
    for var in list(os.environ):
        if var.startswith(("REDIS_", "CACHE_", "APP_", "LARAVEL_")):
            monkeypatch.delenv(var)
    monkeypatch.setenv("REDIS_PREFIX", prefix)
    monkeypatch.chdir(tmp_path)  # no .env
    base, db = redis_url.rsplit("/", 1)
    config = LaravelConfig.from_env(
        None,
        laravel_version=version,
        environ={**os.environ, "REDIS_URL": base, "REDIS_DB": db},
    )
    with Laravel(config) as app:
        worker = app.worker(
            ["default"], sleep=0.02, handle_signals=False, interruption_poll_interval=0
        )
        results: list[Any] = []
        thread = threading.Thread(
            target=lambda: results.append(worker.run(max_time=10))
        )
        thread.start()
        time.sleep(0.3)
        assert thread.is_alive()
        before = int(time.time())
        argv = ["--url", redis_url, "--laravel-version", version, "queue", "restart"]
        assert cli.main(argv) == 0
        assert capsys.readouterr().out.strip() == "Broadcasting queue restart signal."
        thread.join(10)
        assert not thread.is_alive() and results[0].reason == "restart"
        raw = app.connection(config.cache_connection).get(app.keys.queue_restart())
        assert raw is not None and before <= int(raw) <= int(time.time())
        assert app.cache.get("illuminate:queue:restart") == raw.decode()  # as in PHP
