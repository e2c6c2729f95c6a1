"""Shared fixtures: private redis-server processes, per-test key prefixes, PHP detection.

Tests never touch the machine's shared Redis: a session fixture starts its own
``redis-server`` on a free port (``--save "" --appendonly no``), waits for PING and stops it
at the end. ``redis_server_factory`` starts more servers with any config a test needs
(ACL users, renamed commands, AOF, maxmemory). ``NINJA_REDIS_TEST_URL`` points the default
fixture at an existing server instead. ``redis_cluster`` starts a 3-master Redis Cluster
(``cluster``-marked tests; ``NINJA_REDIS_TEST_CLUSTER_URL`` names an existing one). Without
``redis-server`` the suite fails with an install hint rather than skipping.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis

REDIS_SERVER = os.environ.get("NINJA_REDIS_SERVER_BIN") or shutil.which("redis-server")
PHP = shutil.which("php")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class RedisServer:
    """A redis-server process started for the tests."""

    port: int
    dir: Path
    process: subprocess.Popen[bytes] | None
    password: str | None = None
    username: str | None = None
    config: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        auth = ""
        if self.password:
            auth = f"{self.username or ''}:{self.password}@"
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def client(self, db: int = 0, **kw: object) -> redis.Redis:
        return redis.Redis(
            host="127.0.0.1",
            port=self.port,
            db=db,
            username=self.username,
            password=self.password,
            **kw,  # type: ignore[arg-type]
        )

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)

    def kill(self) -> None:
        """SIGKILL the server (fault tests)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)

    def restart(self) -> None:
        """Start the server again on the same port and directory (same config)."""
        self.stop()
        self.process = _spawn(self.port, self.dir, self.config)
        _wait_ready(self)


def _spawn(port: int, workdir: Path, config: list[str]) -> subprocess.Popen[bytes]:
    if not REDIS_SERVER:
        pytest.fail(
            "redis-server not found: install it (Debian: apt-get install redis-server) "
            "or set NINJA_REDIS_TEST_URL to a server the tests may use",
            pytrace=False,
        )
    conf = workdir / "redis.conf"
    lines = [
        f"port {port}",
        "bind 127.0.0.1",
        f'dir "{workdir}"',
        'save ""',
        "appendonly no",
        "daemonize no",
        f'logfile "{workdir / "redis.log"}"',
        "protected-mode no",
    ]
    # Later lines override earlier ones (e.g. "appendonly yes").
    conf.write_text("\n".join(lines + config) + "\n")
    return subprocess.Popen(
        [REDIS_SERVER, str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def _wait_ready(server: RedisServer, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if server.process is not None and server.process.poll() is not None:
            log = server.dir / "redis.log"
            text = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            pytest.fail(
                f"redis-server exited with {server.process.returncode}:\n{text}",
                pytrace=False,
            )
        try:
            c = server.client(socket_timeout=1)
            if c.ping():
                c.close()
                return
        except redis.exceptions.ConnectionError as exc:
            last = exc
        except redis.exceptions.ResponseError as exc:
            if "LOADING" in str(exc):
                last = exc
            else:
                raise
        time.sleep(0.02)
    raise RuntimeError(
        f"redis-server on port {server.port} did not answer PING: {last}"
    )


class RedisServerFactory:
    """Starts redis-servers with extra config lines; all are stopped at session end."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.servers: list[RedisServer] = []

    def __call__(
        self,
        config: list[str] | None = None,
        *,
        password: str | None = None,
        username: str | None = None,
    ) -> RedisServer:
        port = free_port()
        workdir = Path(tempfile.mkdtemp(prefix=f"redis-{port}-", dir=self.base))
        lines = list(config or [])
        if password and not username:
            lines.append(f"requirepass {password}")
        server = RedisServer(
            port=port,
            dir=workdir,
            process=None,
            password=password,
            username=username,
            config=lines,
        )
        server.process = _spawn(port, workdir, lines)
        self.servers.append(server)
        _wait_ready(server)
        return server

    def stop_all(self) -> None:
        for server in self.servers:
            server.stop()


@pytest.fixture(scope="session")
def redis_server_factory(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[RedisServerFactory]:
    base = tmp_path_factory.mktemp("redis")
    factory = RedisServerFactory(base)
    try:
        yield factory
    finally:
        factory.stop_all()


# The hash slots of each master, split as ``redis-cli --cluster create`` splits them.
CLUSTER_SLOTS = ((0, 5460), (5461, 10922), (10923, 16383))


@dataclass
class RedisClusterServers:
    """A Redis Cluster for the tests: three masters without replicas (``nodes`` is
    empty when ``NINJA_REDIS_TEST_CLUSTER_URL`` names an existing cluster)."""

    host: str
    port: int
    nodes: list[RedisServer] = field(default_factory=list)
    password: str | None = None

    @property
    def url(self) -> str:
        """URL of the seed node (the first master)."""
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}{self.host}:{self.port}/0"

    def client(self, **kw: object) -> redis.RedisCluster:
        """A plain redis-py cluster client (bytes replies) for looking at raw keys."""
        return redis.RedisCluster(
            host=self.host,
            port=self.port,
            password=self.password,
            **kw,  # type: ignore[arg-type]
        )

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()


def _cluster_info(client: redis.Redis) -> dict[str, str]:
    text = client.execute_command("CLUSTER", "INFO")
    if isinstance(text, bytes):
        text = text.decode()
    return dict(line.split(":", 1) for line in str(text).splitlines() if ":" in line)


def _form_cluster(nodes: list[RedisServer], timeout: float = 20.0) -> None:
    """Assign the slots, introduce the nodes to each other and wait until every node
    reports ``cluster_state:ok`` with all masters known (what ``redis-cli --cluster
    create --cluster-yes`` does, through redis-py)."""
    clients = [n.client(socket_timeout=5) for n in nodes]
    try:
        for i, (c, (first, last)) in enumerate(
            zip(clients, CLUSTER_SLOTS, strict=True)
        ):
            c.execute_command("CLUSTER", "ADDSLOTSRANGE", first, last)  # Redis 7+
            # distinct epochs, so the nodes need no epoch-collision round
            c.execute_command("CLUSTER", "SET-CONFIG-EPOCH", i + 1)
        # every node meets every other one (no waiting for gossip to spread them);
        # CLUSTER MEET ip port [bus-port]: the bus port is not port + 10000 here
        for i, c in enumerate(clients):
            for node in nodes[i + 1 :]:
                bus = [
                    x.split()[1] for x in node.config if x.startswith("cluster-port")
                ]
                c.execute_command("CLUSTER", "MEET", "127.0.0.1", node.port, *bus)
        deadline = time.monotonic() + timeout
        while True:
            infos = [_cluster_info(c) for c in clients]
            if all(
                i.get("cluster_state") == "ok"
                and i.get("cluster_known_nodes") == str(len(nodes))
                and i.get("cluster_slots_assigned") == "16384"
                for i in infos
            ):
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"the test cluster did not converge: {infos}")
            time.sleep(0.05)
    finally:
        for c in clients:
            c.close()


@pytest.fixture(scope="session")
def redis_cluster(
    redis_server_factory: RedisServerFactory,
) -> Iterator[RedisClusterServers]:
    """A 3-master Redis Cluster (no replicas) of ``redis-server --cluster-enabled yes``
    processes on free ports, started on first use and stopped at the end of the session.

    ``NINJA_REDIS_TEST_CLUSTER_URL`` (a seed node's URL) uses an existing cluster instead
    (the tests write under their own prefixes, and one of them sends ``FLUSHDB``).
    """
    url = os.environ.get("NINJA_REDIS_TEST_CLUSTER_URL")
    if url:
        from urllib.parse import urlsplit

        parts = urlsplit(url)
        yield RedisClusterServers(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 6379,
            password=parts.password,
        )
        return
    nodes: list[RedisServer] = []
    cluster = RedisClusterServers(host="127.0.0.1", port=0, nodes=nodes)
    try:
        for _ in CLUSTER_SLOTS:
            nodes.append(
                redis_server_factory(
                    [
                        "cluster-enabled yes",
                        "cluster-config-file nodes.conf",
                        "cluster-node-timeout 5000",
                        # the bus port must be free too (port + 10000 may not exist)
                        f"cluster-port {free_port()}",
                    ]
                )
            )
        cluster.port = nodes[0].port
        _form_cluster(nodes)
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def redis_server(redis_server_factory: RedisServerFactory) -> RedisServer | None:
    """The default private server (``None`` when ``NINJA_REDIS_TEST_URL`` is used)."""
    if os.environ.get("NINJA_REDIS_TEST_URL"):
        return None
    return redis_server_factory()


@pytest.fixture(scope="session")
def redis_url(redis_server: RedisServer | None) -> str:
    """URL of the default test server (db 0)."""
    if redis_server is None:
        return os.environ["NINJA_REDIS_TEST_URL"]
    return redis_server.url


@pytest.fixture(scope="session")
def redis_port(redis_url: str) -> int:
    from urllib.parse import urlsplit

    return urlsplit(redis_url).port or 6379


@pytest.fixture
def prefix() -> str:
    """A fresh connection prefix per test, so tests never collide (``pytest -n``)."""
    return f"t{uuid.uuid4().hex[:10]}:"


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    """A plain redis-py client (db 0) for looking at raw bytes."""
    client = redis.Redis.from_url(redis_url)
    try:
        yield client
    finally:
        client.close()


def pytest_collection_modifyitems(
    config: pytest.Config, items: list[pytest.Item]
) -> None:
    """Skip ``php`` tests, with the reason, where no php binary exists."""
    if PHP:
        return
    if os.environ.get("CI"):
        # In CI a missing PHP peer is a broken setup, never a silent skip.
        raise pytest.UsageError(
            "php is not installed but CI must run the PHP interop tests"
        )
    skip = pytest.mark.skip(
        reason="php not installed (Debian: apt-get install php-cli php-redis php-igbinary "
        "php-msgpack); CI installs it"
    )
    for item in items:
        if "php" in item.keywords or "laravel" in item.keywords:
            item.add_marker(skip)
