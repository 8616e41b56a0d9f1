"""A local push service for tests and benchmarks: the endpoint side of RFC 8030 web push.

An HTTP server on 127.0.0.1 (an ephemeral port) that, like a browser vendor's push service,
1. refuses a body over 4096 bytes with 413 and a request without TTL with 400;
2. checks the VAPID header `Authorization: vapid t=<JWT>, k=<public key>` (RFC 8292): an ES256
   signature valid for k, `aud` equal to the endpoint's origin, `exp` in the future and at most
   24 hours ahead, a `sub`; 401 otherwise;
3. decrypts the aes128gcm body (RFC 8291) with http_ece, using the subscription's private key and
   auth secret that `subscription()` made as a browser would; 400 if that fails;
4. records what arrived (`received()`, `wait_for()`) and answers as told for that endpoint
   (`answer()`): 201 by default, or any status, with Retry-After, or after hanging a while.

    with LocalPushService() as service:      # tests use the `push_service` fixture
        subscription = service.subscription()  # {"endpoint": ..., "keys": {"p256dh", "auth"}}
        service.answer(subscription, 429, retry_after="7")

`LocalPushService(verify=False)` skips steps 2 and 3 (a benchmark that measures the sender,
not this server's decryption) and records only what arrived when.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import http_ece
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

MAX_BODY_BYTES = 4096
MAX_VAPID_EXPIRY_SECONDS = 24 * 3600


@dataclass(frozen=True)
class Received:
    endpoint: str
    status: int  # what the service answered
    headers: dict[str, str]
    payload: dict | None  # the decrypted JSON (None when refused, or not verifying)
    claims: dict | None  # the verified VAPID JWT claims
    error: str  # why the request was refused, "" if it was not
    at: float  # time.time() on arrival
    client_port: int  # the sender's side of the connection (the same one if kept alive)

    @property
    def ttl(self) -> int | None:
        value = self.headers.get("ttl")
        return int(value) if value is not None else None

    @property
    def urgency(self) -> str | None:
        return self.headers.get("urgency")

    @property
    def topic(self) -> str | None:
        return self.headers.get("topic")


@dataclass
class _Subscriber:
    private_key: ec.EllipticCurvePrivateKey
    auth_secret: bytes
    status: int = 201
    retry_after: str | None = None
    hang: float = 0.0


class _Refused(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


def b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def verify_vapid(authorization: str, origin: str, *, now: float | None = None) -> dict:
    """The claims of a valid `vapid t=..., k=...` header for `origin`; raises _Refused."""
    scheme, _, params = authorization.partition(" ")
    if scheme.lower() != "vapid":
        raise _Refused(401, "Authorization is not 'vapid t=..., k=...'")
    fields = dict(part.strip().split("=", 1) for part in params.split(",") if "=" in part)
    try:
        header, claims, signature = fields["t"].split(".")
        public_key = ec.EllipticCurvePublicKey.from_encoded_point(
            ec.SECP256R1(), b64decode(fields["k"])
        )
        if json.loads(b64decode(header)).get("alg") != "ES256":
            raise _Refused(401, "the VAPID JWT is not ES256")
        raw = b64decode(signature)  # JWS ES256: r and s, 32 bytes each (not DER)
        der = encode_dss_signature(int.from_bytes(raw[:32]), int.from_bytes(raw[32:]))
        public_key.verify(der, f"{header}.{claims}".encode(), ec.ECDSA(hashes.SHA256()))
        claims = json.loads(b64decode(claims))
    except (KeyError, ValueError, InvalidSignature) as exc:
        raise _Refused(401, f"invalid VAPID token or key: {exc!r}") from exc
    now = time.time() if now is None else now
    if claims.get("aud") != origin:
        raise _Refused(401, f"VAPID aud {claims.get('aud')!r} is not {origin!r}")
    exp = claims.get("exp")
    if not isinstance(exp, int) or not now < exp <= now + MAX_VAPID_EXPIRY_SECONDS:
        raise _Refused(401, f"VAPID exp {exp!r} is not within the next 24 hours")
    if not claims.get("sub"):
        raise _Refused(401, "VAPID claims have no sub")
    return claims


class LocalPushService:
    def __init__(self, *, verify: bool = True) -> None:
        self.verify = verify
        self._subscribers: dict[str, _Subscriber] = {}
        self._received: list[Received] = []
        self._arrived = threading.Condition()
        self._stopping = threading.Event()
        self._server = _Server(self)
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        # Polls for shutdown every 50 ms (the default 0.5 s would slow every test's teardown).
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def start(self) -> LocalPushService:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # ends hangs
        self._server.shutdown()
        for connection in list(self._server.connections):  # idle keep-alive connections
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._server.server_close()
        self._thread.join()

    def __enter__(self) -> LocalPushService:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def subscription(self, *, host: str = "127.0.0.1") -> dict:
        """A new PushSubscription JSON, with keys made as a browser makes them.

        host="localhost" gives the same server under another origin (another VAPID aud)."""
        private_key = ec.generate_private_key(ec.SECP256R1())
        auth_secret = os.urandom(16)
        path = f"/push/{uuid.uuid4().hex}"
        self._subscribers[path] = _Subscriber(private_key, auth_secret)
        public = private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {
            "endpoint": f"http://{host}:{self.port}{path}",
            "keys": {"p256dh": b64encode(public), "auth": b64encode(auth_secret)},
        }

    def answer(
        self,
        subscription: dict | str,
        status: int = 201,
        *,
        retry_after: str | None = None,
        hang: float = 0.0,
    ) -> None:
        """How to answer pushes to this subscription (dict or endpoint) from now on; `hang`
        waits that many seconds before answering (the service stops waiting when stopped)."""
        subscriber = self._subscribers[_path(subscription)]
        subscriber.status, subscriber.retry_after, subscriber.hang = status, retry_after, hang

    def received(self, subscription: dict | str | None = None) -> list[Received]:
        with self._arrived:
            messages = list(self._received)
        if subscription is None:
            return messages
        path = _path(subscription)
        return [message for message in messages if urlsplit(message.endpoint).path == path]

    def wait_for(self, count: int, *, timeout: float = 10.0) -> list[Received]:
        """Everything received, once at least `count` requests have arrived."""
        with self._arrived:
            if not self._arrived.wait_for(lambda: len(self._received) >= count, timeout):
                raise TimeoutError(f"{len(self._received)} of {count} pushes arrived")
            return list(self._received)

    def handle(self, request: _Handler, body: bytes) -> None:
        at = time.time()
        path = urlsplit(request.path).path
        headers = {name.lower(): value for name, value in request.headers.items()}
        subscriber = self._subscribers.get(path)
        payload = claims = None
        try:
            if subscriber is None:
                raise _Refused(404, "no such subscription")
            if self.verify:
                claims, payload = self._check(subscriber, headers, body)
            status, error = subscriber.status, ""
        except _Refused as refused:
            status, error = refused.status, str(refused)
        endpoint = f"http://{headers.get('host', '')}{path}"
        with self._arrived:
            self._received.append(
                Received(
                    endpoint, status, headers, payload, claims, error, at, request.client_address[1]
                )
            )
            self._arrived.notify_all()
        if subscriber and not error and subscriber.hang:
            self._stopping.wait(subscriber.hang)
        self._respond(request, status, error, subscriber.retry_after if subscriber else None)

    def _check(self, subscriber: _Subscriber, headers: dict, body: bytes) -> tuple[dict, dict]:
        if len(body) > MAX_BODY_BYTES:
            raise _Refused(413, f"body of {len(body)} bytes exceeds {MAX_BODY_BYTES}")
        if not headers.get("ttl", "").isdigit():
            raise _Refused(400, "TTL header missing or invalid")
        if headers.get("content-encoding") != "aes128gcm":
            raise _Refused(400, "Content-Encoding is not aes128gcm")
        origin = f"http://{headers.get('host', '')}"
        claims = verify_vapid(headers.get("authorization", ""), origin)
        try:
            plaintext = http_ece.decrypt(
                body,
                private_key=subscriber.private_key,
                auth_secret=subscriber.auth_secret,
                version="aes128gcm",
            )
            return claims, json.loads(plaintext)
        except (http_ece.ECEException, ValueError) as exc:
            raise _Refused(400, f"cannot decrypt the payload: {exc!r}") from exc

    def _respond(self, request: _Handler, status: int, error: str, retry_after: str | None):
        body = error.encode()
        try:
            request.send_response(status)
            if retry_after is not None:
                request.send_header("Retry-After", retry_after)
            request.send_header("Content-Length", str(len(body)))
            request.end_headers()
            request.wfile.write(body)
        except OSError:  # the sender gave up waiting (a hang)
            request.close_connection = True


def _path(subscription: dict | str) -> str:
    endpoint = subscription["endpoint"] if isinstance(subscription, dict) else subscription
    return urlsplit(endpoint).path


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real push services offer
    timeout = 60  # an idle connection's thread ends after this
    server: _Server

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.service.handle(self, body)

    def log_message(self, format, *args) -> None:
        pass  # tests assert on received(); no noise on stderr


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # a broadcast opens many connections at once

    def __init__(self, service: LocalPushService) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.service = service
        self.connections: set[socket.socket] = set()

    def process_request(self, request, client_address) -> None:
        self.connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request) -> None:
        self.connections.discard(request)
        super().shutdown_request(request)
