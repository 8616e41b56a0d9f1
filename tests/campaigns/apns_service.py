"""A local APNs for tests and benchmarks: HTTP/2 over TLS, as Apple's servers speak it.

A server on 127.0.0.1 (an ephemeral port) with a certificate made at start (`certificate_pem`:
what a client must trust; `client_tls_context()` trusts it), offering only h2 by
ALPN, speaking HTTP/2 with the h2 library. Like APNs it
1. wants `authorization: bearer <JWT>`: ES256, `kid` a key `signing_key()` made, `iss` that key's
   team, `iat` in the last hour (403 MissingProviderToken, InvalidProviderToken,
   ExpiredProviderToken);
2. checks the request: POST /3/device/<hex token> (400 BadDeviceToken), `apns-topic` one of the
   key's bundle ids (400 MissingTopic, DeviceTokenNotForTopic), `apns-push-type`,
   `apns-priority` 10, 5 or 1, `apns-expiration` a number, `apns-collapse-id` at most 64 bytes,
   a JSON body with "aps" of at most 4096 bytes (413 PayloadTooLarge);
3. records what arrived (`received()`, each with the connection it came on) and answers as told
   per device token (`answer(token, 410, "Unregistered")`), else 200 with an apns-id.
"""

from __future__ import annotations

import json
import re
import secrets
import select
import socket
import ssl
import string
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from ipaddress import IPv4Address
from pathlib import Path

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

MAX_PAYLOAD_BYTES = 4096
TOKEN_MAX_AGE_SECONDS = 3600
PATH = re.compile(r"^/3/device/(?P<token>[^/?]*)$")
DEVICE_TOKEN = re.compile(r"^[0-9a-fA-F]{64,200}$")
PUSH_TYPES = ("alert", "background", "voip", "complication", "fileprovider", "mdm", "liveactivity")


@dataclass(frozen=True)
class Received:
    token: str
    headers: dict[str, str]
    payload: dict | None
    claims: dict | None  # the verified provider token's claims
    provider_token: str
    status: int
    reason: str  # "" when sent
    connection: int  # the number of the connection it came on (1 for the first)
    at: float


@dataclass
class _Key:
    team_id: str
    public_key: ec.EllipticCurvePublicKey
    topics: tuple[str, ...]


@dataclass
class _Answer:
    status: int = 200
    reason: str = ""
    retry_after: str | None = None


class _Refused(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


def _apple_id() -> str:
    return "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(10))


class LocalApnsService:
    def __init__(self) -> None:
        self.certificate_pem, server_context = _tls()
        self._context = server_context
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self.url = f"https://127.0.0.1:{self._listener.getsockname()[1]}"
        self.connections = 0
        self._keys: dict[str, _Key] = {}
        self._answers: dict[str, _Answer] = {}
        self._received: list[Received] = []
        self._lock = threading.Condition()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._accepting = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self) -> LocalApnsService:
        self._accepting.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stopping.set()
        self._accepting.join()
        for thread in list(self._threads):
            thread.join(timeout=2)
        self._listener.close()

    # What tests set up ---------------------------------------------------------------------------

    def client_tls_context(self) -> ssl.SSLContext:
        """A client context that trusts this server's certificate."""
        return ssl.create_default_context(cadata=self.certificate_pem)

    def signing_key(self, *, bundle_id: str = "com.example.shop") -> dict:
        """A new token-based authentication key, as Apple's developer account hands it out:
        the .p8 file's PEM, its key id, the team id; pushes to `bundle_id` are allowed."""
        key, public_key = make_signing_key(bundle_id)
        self._keys[key["key_id"]] = _Key(key["team_id"], public_key, (bundle_id,))
        return key

    @staticmethod
    def device_token() -> str:
        return secrets.token_hex(32)

    def answer(
        self, token: str, status: int = 200, reason: str = "", *, retry_after: str | None = None
    ) -> None:
        """How to answer pushes to this device token from now on."""
        self._answers[token] = _Answer(status, reason, retry_after)

    def received(self) -> list[Received]:
        with self._lock:
            return list(self._received)

    # Serving -------------------------------------------------------------------------------------

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                sock, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self.connections += 1
                number = self.connections
            thread = threading.Thread(target=self._serve, args=(sock, number), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, sock: socket.socket, number: int) -> None:
        try:
            sock.settimeout(2)
            tls = self._context.wrap_socket(sock, server_side=True)
        except (OSError, ssl.SSLError):
            sock.close()
            return
        with tls:
            if tls.selected_alpn_protocol() != "h2":
                return  # APNs speaks HTTP/2 only
            tls.settimeout(10)
            _Connection(self, tls, number).run(self._stopping)

    def respond(self, headers: dict[str, str], body: bytes, number: int) -> tuple[int, dict, bytes]:
        """The answer to one request: status, extra headers, body."""
        match = PATH.match(headers.get(":path", ""))
        token = match["token"] if match else ""
        claims, payload, answer = None, None, _Answer()
        provider_token = headers.get("authorization", "").removeprefix("bearer ")
        try:
            if headers.get(":method") != "POST" or match is None:
                raise _Refused(404 if match is None else 405, "BadPath")
            claims = self._authenticate(headers.get("authorization", ""))
            payload = self._check(token, headers, body, claims)
            answer = self._answers.get(token, _Answer())
            status, reason = answer.status, answer.reason
        except _Refused as refused:
            status, reason = refused.status, refused.reason
        with self._lock:
            self._received.append(
                Received(
                    token,
                    headers,
                    payload,
                    claims,
                    provider_token,
                    status,
                    reason,
                    number,
                    time.time(),
                )
            )
            self._lock.notify_all()
        extra = {"apns-id": str(uuid.uuid4()).upper()}
        if answer.retry_after is not None:
            extra["retry-after"] = answer.retry_after
        if status == 200:
            return status, extra, b""
        error = {"reason": reason}
        if status == 410:
            error["timestamp"] = int(time.time() * 1000)
        return status, extra, json.dumps(error).encode()

    def _authenticate(self, authorization: str) -> dict:
        scheme, _, provider_token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not provider_token:
            raise _Refused(403, "MissingProviderToken")
        try:
            header = jwt.get_unverified_header(provider_token)
            key = self._keys.get(header.get("kid", ""))
            if key is None or header.get("alg") != "ES256":
                raise _Refused(403, "InvalidProviderToken")
            claims = jwt.decode(
                provider_token,
                key.public_key,
                algorithms=["ES256"],
                issuer=key.team_id,
                options={"require": ["iss", "iat"], "verify_iat": False},
            )
        except jwt.PyJWTError:
            raise _Refused(403, "InvalidProviderToken") from None
        age = time.time() - claims["iat"]
        if age > TOKEN_MAX_AGE_SECONDS:
            raise _Refused(403, "ExpiredProviderToken")
        if age < -60:
            raise _Refused(403, "InvalidProviderToken")
        return {**claims, "topics": key.topics}

    def _check(self, token: str, headers: dict, body: bytes, claims: dict) -> dict:
        if not DEVICE_TOKEN.match(token):
            raise _Refused(400, "BadDeviceToken")
        topic = headers.get("apns-topic")
        if not topic:
            raise _Refused(400, "MissingTopic")
        if topic not in claims.pop("topics"):
            raise _Refused(400, "DeviceTokenNotForTopic")
        if headers.get("apns-push-type", "alert") not in PUSH_TYPES:
            raise _Refused(400, "InvalidPushType")
        if headers.get("apns-priority", "10") not in ("10", "5", "1"):
            raise _Refused(400, "BadPriority")
        if not headers.get("apns-expiration", "0").isdigit():
            raise _Refused(400, "BadExpirationDate")
        if len(headers.get("apns-collapse-id", "").encode()) > 64:
            raise _Refused(400, "BadCollapseId")
        if not body:
            raise _Refused(400, "PayloadEmpty")
        if len(body) > MAX_PAYLOAD_BYTES:
            raise _Refused(413, "PayloadTooLarge")
        try:
            payload = json.loads(body)
        except ValueError:
            raise _Refused(400, "BadPayload") from None
        if not isinstance(payload, dict) or not isinstance(payload.get("aps"), dict):
            raise _Refused(400, "BadPayload")
        return payload


def make_signing_key(bundle_id: str = "com.example.shop") -> tuple[dict, ec.EllipticCurvePublicKey]:
    """An APNs key (the .p8 PEM, key id, team id, bundle id), known to no service."""
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    values = {"key_id": _apple_id(), "team_id": _apple_id(), "bundle_id": bundle_id}
    return {**values, "private_key": pem}, key.public_key()


class _Connection:
    """One client connection: HTTP/2 frames in, a response per finished request out."""

    def __init__(self, service: LocalApnsService, tls: ssl.SSLSocket, number: int) -> None:
        config = h2.config.H2Configuration(client_side=False, header_encoding="utf-8")
        self.service, self.tls, self.number = service, tls, number
        self.h2 = h2.connection.H2Connection(config=config)
        self.streams: dict[int, tuple[dict[str, str], bytearray]] = {}

    def run(self, stopping: threading.Event) -> None:
        self.h2.initiate_connection()
        self.tls.sendall(self.h2.data_to_send())
        while not stopping.is_set():
            # Waits in select, not in a socket timeout: a timeout is for a stuck peer only (one
            # that strikes inside sendall would lose what was half sent).
            if not self.tls.pending() and not select.select([self.tls], [], [], 0.05)[0]:
                continue
            try:
                data = self.tls.recv(65536)
            except (OSError, ssl.SSLError):
                return
            if not data:
                return
            try:
                events = self.h2.receive_data(data)
            except h2.exceptions.ProtocolError:
                return
            for event in events:
                self._on(event)
            try:
                self.tls.sendall(self.h2.data_to_send())
            except (OSError, ssl.SSLError):  # the client went away
                return

    def _on(self, event: h2.events.Event) -> None:
        if isinstance(event, h2.events.RequestReceived):
            self.streams[event.stream_id] = (dict(event.headers), bytearray())
        elif isinstance(event, h2.events.DataReceived):
            self.streams[event.stream_id][1].extend(event.data)
            self.h2.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
        elif isinstance(event, h2.events.StreamEnded):
            headers, body = self.streams.pop(event.stream_id)
            status, extra, answer = self.service.respond(headers, bytes(body), self.number)
            response = [(":status", str(status)), *extra.items()]
            if answer:
                response.append(("content-type", "application/json"))
            self.h2.send_headers(event.stream_id, response, end_stream=not answer)
            if answer:
                self.h2.send_data(event.stream_id, answer, end_stream=True)
        elif isinstance(event, h2.events.StreamReset):
            self.streams.pop(event.stream_id, None)


def _tls() -> tuple[str, ssl.SSLContext]:
    """A self-signed certificate for 127.0.0.1 and localhost, and a server context offering h2."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "apns.test")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(hours=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(IPv4Address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    pem = certificate.public_bytes(serialization.Encoding.PEM).decode()
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_alpn_protocols(["h2"])
    with tempfile.TemporaryDirectory() as folder:
        chain = Path(folder) / "server.pem"
        chain.write_text(private + pem)
        context.load_cert_chain(chain)
    return pem, context
