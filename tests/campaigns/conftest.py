"""Fixtures for campaigns: a local push service to send web pushes to, an https endpoint,
and VAPID keys."""

from __future__ import annotations

import ssl
import tempfile
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from campaigns.providers import connections
from campaigns.vapid import VapidKeys, vapid_keys_cache_clear
from tests.campaigns.credential_fixtures import (  # noqa: F401 (fixtures)
    account,
    apple_key,
    encryption_key,
    fresh_credentials_cache,
)
from tests.campaigns.mobile_fixtures import (  # noqa: F401 (fixtures)
    apns,
    fcm,
    fresh_providers,
    mobile_app,
    onesignal,
)
from tests.campaigns.push_service import LocalPushService, b64encode


@pytest.fixture
def push_service(settings):
    """A running LocalPushService; its http://127.0.0.1 endpoints are allowed while it runs."""
    settings.WEBPUSH_ALLOW_HTTP_LOCALHOST = True
    with LocalPushService() as service:
        yield service


@pytest.fixture
def vapid() -> VapidKeys:
    """A VAPID key pair of the test's own (not the one in var/)."""
    private = ec.generate_private_key(ec.SECP256R1())
    public = private.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    raw_private = private.private_numbers().private_value.to_bytes(32, "big")
    return VapidKeys(b64encode(public), b64encode(raw_private), "mailto:ops@example.com")


@pytest.fixture
def fresh_vapid_cache():
    """A process that has not read the stored VAPID key pair yet (as after a restart)."""
    vapid_keys_cache_clear()
    yield
    vapid_keys_cache_clear()


@pytest.fixture
def environment_vapid_keys(settings, vapid) -> VapidKeys:
    """VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY set (to `vapid`'s pair)."""
    settings.VAPID_PUBLIC_KEY, settings.VAPID_PRIVATE_KEY = vapid.public_key, vapid.private_key
    return vapid


@dataclass
class TlsPushEndpoint:
    port: int
    received: list[tuple[str, dict[str, str]]]


@pytest.fixture
def tls_push_endpoint(monkeypatch):
    """An https endpoint on 127.0.0.1 with a certificate for push.test and localhost, which the
    transport trusts (its CA store is replaced) unless a test puts the system's back."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "push.test")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("push.test"), x509.DNSName("localhost")]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    pem = certificate.public_bytes(serialization.Encoding.PEM)
    received = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            received.append((self.path, dict(self.headers)))
            self.send_response(201)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format, *args):
            pass

    with tempfile.TemporaryDirectory() as folder:
        chain = Path(folder) / "server.pem"
        private = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        chain.write_bytes(private + pem)
        server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server_context.load_cert_chain(chain)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = server_context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setattr(
        connections, "_tls_context", lambda: ssl.create_default_context(cadata=pem.decode())
    )
    yield TlsPushEndpoint(server.server_address[1], received)
    server.shutdown()
    server.server_close()


@pytest.fixture
def forget_connections():
    connections.forget()  # read the environment's proxies afresh
    yield
    connections.forget()
