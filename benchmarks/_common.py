"""What every benchmark shares: a private ``redis-server`` on a free port.

The benchmarks are run as scripts (``python benchmarks/cache.py``), so this module is
imported as ``_common`` from the benchmarks folder.
"""

from __future__ import annotations

import argparse
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class Server:
    """The Redis a benchmark talks to: its URL (db 0) and, for a private server, the
    process id (to read its CPU time)."""

    url: str
    pid: int | None = None


def free_port() -> int:
    """A TCP port nobody listens on right now (127.0.0.1)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def redis_server(url: str | None) -> Iterator[Server]:
    """``url`` itself when given; otherwise a private ``redis-server`` (no RDB, no AOF,
    in a temporary directory) on a free port, stopped on exit."""
    if url:
        yield Server(url)
        return
    binary = shutil.which("redis-server")
    if not binary:
        sys.exit("redis-server not found: install it or pass --url")
    port = free_port()
    with tempfile.TemporaryDirectory() as workdir:
        proc = subprocess.Popen(
            [binary, "--port", str(port), "--save", "", "--appendonly", "no"]
            + ["--dir", workdir],
            stdout=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 10
            while True:
                try:
                    with socket.create_connection(("127.0.0.1", port), 0.2) as c:
                        c.sendall(b"PING\r\n")
                        if c.recv(16).startswith(b"+PONG"):
                            break
                except OSError:
                    pass
                if time.monotonic() > deadline or proc.poll() is not None:
                    sys.exit(f"redis-server did not start on port {port}")
                time.sleep(0.05)
            yield Server(f"redis://127.0.0.1:{port}/0", proc.pid)
        finally:
            proc.terminate()
            proc.wait(10)


@contextmanager
def busy_cpus(count: int) -> Iterator[None]:
    """``count`` processes that spin for the duration (``--busy N``).

    On a virtual machine an idle vCPU is halted and every blocking round trip then pays
    the wake-up (here ~60 µs of the ~70 µs a loopback GET takes); with a CPU kept busy
    the same GET takes ~7 µs and the clients' own CPU per round trip decides. Both
    regimes are real (an idle and a loaded server): run the benchmarks in both.
    """
    procs = [
        subprocess.Popen([sys.executable, "-c", "while True: pass"])
        for _ in range(max(0, count))
    ]
    try:
        time.sleep(0.2 if procs else 0)
        yield
    finally:
        for proc in procs:
            proc.kill()
            proc.wait(10)


def add_common_args(parser: argparse.ArgumentParser) -> None:
    """``--url`` (an existing Redis instead of a private one) and ``--busy N`` (see
    :func:`busy_cpus`), accepted by every benchmark so ``make bench BENCH_ARGS=...``
    can pass them to all."""
    parser.add_argument("--url", default=None, help="use this Redis (db 0)")
    parser.add_argument(
        "--busy", type=int, default=0, help="spinning processes (see busy_cpus)"
    )
