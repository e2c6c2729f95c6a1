"""Connecting like a Laravel app does: TLS (rediss://), ACL users, renamed commands."""

from __future__ import annotations

import datetime as dt
import ipaddress
from pathlib import Path

import pytest
import redis.asyncio as redis
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ninja_redis._async import _backend
from ninja_redis._async.app import AsyncLaravel
from ninja_redis.config import LaravelConfig
from tests.conftest import RedisServer, RedisServerFactory, free_port


def _self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture(scope="module")
def tls_server(
    redis_server_factory: RedisServerFactory, tmp_path_factory: pytest.TempPathFactory
) -> tuple[RedisServer, int, Path]:
    cert, key = _self_signed(tmp_path_factory.mktemp("tls"))
    tls_port = free_port()
    server = redis_server_factory(
        [
            f"tls-port {tls_port}",
            f'tls-cert-file "{cert}"',
            f'tls-key-file "{key}"',
            f'tls-ca-cert-file "{cert}"',
            "tls-auth-clients no",
            'rename-command KEYS ""',
            'rename-command CONFIG ""',
            'rename-command FLUSHALL ""',
            "user default off",
            "user app on >s3cret ~* &* +@all",
        ],
        username="app",
        password="s3cret",
    )
    return server, tls_port, cert


async def test_rediss_url_with_acl_user(
    tls_server: tuple[RedisServer, int, Path],
) -> None:
    server, tls_port, cert = tls_server
    app = AsyncLaravel.from_url(
        f"rediss://app:s3cret@127.0.0.1:{tls_port}/0",
        laravel_version=12,
        client_options={"ssl_ca_certs": str(cert)},
    )
    async with app:
        client = app.connection("default")
        assert await client.ping()
        await client.set(app.keys.cache("tls"), b"1")
        # The cache connection is db 1 on the same server, through TLS as well.
        assert await app.connection("cache").ping()
        info = await client.connection_pool.get_connection()
        try:
            assert type(info).__name__ == "SSLConnection"
        finally:
            await client.connection_pool.release(info)


async def test_wrong_password_is_redis_error(
    tls_server: tuple[RedisServer, int, Path],
) -> None:
    _, tls_port, cert = tls_server
    app = AsyncLaravel.from_url(
        f"rediss://app:wrong@127.0.0.1:{tls_port}/0",
        client_options={"ssl_ca_certs": str(cert)},
    )
    async with app:
        with pytest.raises(redis.AuthenticationError):
            await app.connection().ping()
    # The refused TLS connection is closed with a close_notify exchange that, on a
    # loaded machine, can outlive aclose(): let it finish before this test's event loop
    # closes, or its socket is reported unclosed (ResourceWarning) in a later test.
    await _backend.sleep(0.5)


async def test_connections_on_one_server_share_nothing_but_settings(
    redis_url: str,
) -> None:
    app = AsyncLaravel.from_url(redis_url, laravel_version=11)
    async with app:
        default, cache = app.connection("default"), app.connection("cache")
        assert default is not cache
        assert default.connection_pool.connection_kwargs["db"] == 0
        assert cache.connection_pool.connection_kwargs["db"] == 1
        # Same server and db under another name: one client.
        assert app.connection(None) is default


async def test_from_client_uses_the_given_client(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    app = AsyncLaravel.from_client(
        client, LaravelConfig.from_mapping({}, laravel_version=10)
    )
    assert app.connection("default") is client
    assert app.connection("cache") is client
    await app.aclose()
    assert await client.ping()  # not closed: the caller owns it
    await client.aclose()
