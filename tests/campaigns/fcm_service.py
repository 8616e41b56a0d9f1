"""A local FCM for tests and benchmarks: Google's OAuth2 token endpoint and FCM's HTTP v1 send.

An HTTP server on 127.0.0.1 (an ephemeral port) that, like Google,
1. at /token trades a service account's JWT assertion (the RFC 7523 jwt-bearer grant) for an
   access token: an RS256 signature valid for the public key of an account `service_account()`
   made, `kid` that key's id, `iss` the account's email, `aud` Google's token URL, FCM's scope,
   `exp` at most an hour after `iat` and still ahead; 400 invalid_grant otherwise;
2. at /v1/projects/<project>/messages:send wants `Authorization: Bearer <a token it issued for an
   account of that project, not expired>` (401 UNAUTHENTICATED, 403 PERMISSION_DENIED) and checks
   the message as FCM does (400 INVALID_ARGUMENT naming the field): a token, string data values,
   `android.ttl` as "<seconds>s", `android.priority` NORMAL or HIGH, string APNs headers;
3. records what arrived (`received()`, `token_requests`) and answers as told: per registration
   token (`answer(token, "UNREGISTERED")`, any name of ERRORS), or at the token endpoint
   (`answer_tokens(503)`).

    with LocalFcmService() as fcm:           # tests use a fixture that also sets FCM_BASE_URL
        account = fcm.service_account()      # the JSON key a Firebase console downloads
        fcm.answer("token-1", "QUOTA_EXCEEDED", retry_after="7")
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

GOOGLE_TOKEN_URL = "https://oauth2.googleapis.com/token"  # the `aud` Google wants, wherever posted
SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
SEND_PATH = re.compile(r"^/v1/projects/(?P<project>[^/]+)/messages:send$")
TTL = re.compile(r"^\d+(\.\d{1,9})?s$")
FCM_ERROR = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
BAD_REQUEST = "type.googleapis.com/google.rpc.BadRequest"

# name -> (HTTP status, google.rpc status, FcmError code, message), as FCM answers them
ERRORS = {
    "UNREGISTERED": (404, "NOT_FOUND", "UNREGISTERED", "Requested entity was not found."),
    "INVALID_TOKEN": (
        400,
        "INVALID_ARGUMENT",
        "INVALID_ARGUMENT",
        "The registration token is not a valid FCM registration token",
    ),
    "SENDER_ID_MISMATCH": (403, "PERMISSION_DENIED", "SENDER_ID_MISMATCH", "SenderId mismatch"),
    "QUOTA_EXCEEDED": (
        429,
        "RESOURCE_EXHAUSTED",
        "QUOTA_EXCEEDED",
        "Quota exceeded for quota metric 'Messages'.",
    ),
    "UNAVAILABLE": (503, "UNAVAILABLE", "UNAVAILABLE", "The service is currently unavailable."),
    "INTERNAL": (500, "INTERNAL", "INTERNAL", "Internal error encountered."),
    "THIRD_PARTY_AUTH_ERROR": (
        401,
        "UNAUTHENTICATED",
        "THIRD_PARTY_AUTH_ERROR",
        "Auth error from APNS or Web Push Service",
    ),
}


@dataclass(frozen=True)
class Received:
    project: str
    token: str | None  # the registration token addressed
    headers: dict[str, str]
    message: dict | None  # the request's `message`
    status: int
    error: str  # FCM's error status or code, "" when sent
    at: float


@dataclass
class _Account:
    project_id: str
    client_email: str
    public_key: rsa.RSAPublicKey


@dataclass
class _Answer:
    error: str = ""
    retry_after: str | None = None


@dataclass
class _TokenAnswer:
    status: int = 200
    error: str = "invalid_grant"


@dataclass
class _Issued:
    project_id: str
    expires_at: float


@dataclass
class TokenRequest:
    client_email: str
    claims: dict
    status: int
    at: float = field(default_factory=time.time)


class _Refused(Exception):
    def __init__(self, status: int, rpc_status: str, message: str, field_name: str = "") -> None:
        super().__init__(message)
        self.status, self.rpc_status, self.field_name = status, rpc_status, field_name


class LocalFcmService:
    def __init__(self, *, token_lifetime: int = 3600) -> None:
        self.token_lifetime = token_lifetime  # the expires_in of the access tokens it issues
        self.token_requests: list[TokenRequest] = []
        self._accounts: dict[str, _Account] = {}  # private key id -> account
        self._issued: dict[str, _Issued] = {}  # access token -> for whom, until when
        self._answers: dict[str, _Answer] = {}
        self._token_answer = _TokenAnswer()
        self._received: list[Received] = []
        self._lock = threading.Condition()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.service = self
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self.token_url = f"{self.url}/token"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self) -> LocalFcmService:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    # What tests set up ---------------------------------------------------------------------------

    def service_account(self, project_id: str = "beacon-test") -> dict:
        """A new service account's JSON key, as the Firebase console downloads it."""
        info, public_key = make_service_account(project_id)
        self._accounts[info["private_key_id"]] = _Account(
            project_id, info["client_email"], public_key
        )
        return info

    def answer(self, token: str, error: str = "", *, retry_after: str | None = None) -> None:
        """How to answer sends to this registration token: "" (sent) or a name of ERRORS."""
        if error and error not in ERRORS:
            raise ValueError(f"unknown error {error!r}")
        self._answers[token] = _Answer(error, retry_after)

    def answer_tokens(self, status: int = 200, error: str = "invalid_grant") -> None:
        """How the token endpoint answers from now on (its OAuth2 `error` when not 200)."""
        self._token_answer = _TokenAnswer(status, error)

    def expire_tokens(self) -> None:
        """Every access token issued so far stops being accepted (as after a revocation)."""
        with self._lock:
            for issued in self._issued.values():
                issued.expires_at = 0.0

    def received(self) -> list[Received]:
        with self._lock:
            return list(self._received)

    # Serving -------------------------------------------------------------------------------------

    def handle_token(self, request: _Handler, body: bytes) -> None:
        form = {name: values[0] for name, values in parse_qs(body.decode()).items()}
        answer = self._token_answer
        if answer.status != 200:
            request.reply(answer.status, {"error": answer.error, "error_description": "as told"})
            return
        try:
            if form.get("grant_type") != JWT_BEARER:
                raise ValueError(f"grant_type {form.get('grant_type')!r}")
            account, claims = self._verify_assertion(form.get("assertion", ""))
        except (ValueError, jwt.PyJWTError) as exc:
            with self._lock:
                self.token_requests.append(TokenRequest("", {}, 400))
            request.reply(400, {"error": "invalid_grant", "error_description": str(exc)})
            return
        token = f"ya29.{secrets.token_urlsafe(32)}"
        with self._lock:
            self._issued[token] = _Issued(account.project_id, time.time() + self.token_lifetime)
            self.token_requests.append(TokenRequest(account.client_email, claims, 200))
        request.reply(
            200, {"access_token": token, "expires_in": self.token_lifetime, "token_type": "Bearer"}
        )

    def _verify_assertion(self, assertion: str) -> tuple[_Account, dict]:
        account = self._accounts.get(jwt.get_unverified_header(assertion).get("kid", ""))
        if account is None:
            raise ValueError("no such key id")
        claims = jwt.decode(
            assertion,
            account.public_key,
            algorithms=["RS256"],
            audience=GOOGLE_TOKEN_URL,
            issuer=account.client_email,
            options={"require": ["iss", "aud", "iat", "exp", "scope"]},
        )
        if SCOPE not in claims["scope"].split():
            raise ValueError(f"scope {claims['scope']!r} lacks {SCOPE}")
        if claims["exp"] - claims["iat"] > 3600:
            raise ValueError("an assertion lives at most an hour")
        return account, claims

    def handle_send(self, request: _Handler, body: bytes) -> None:
        project = SEND_PATH.match(urlsplit(request.path).path)["project"]
        headers = {name.lower(): value for name, value in request.headers.items()}
        message = token = None
        answer = _Answer()
        try:
            self._authenticate(headers.get("authorization", ""), project)
            message = self._message(body)
            token = message["token"]
            answer = self._answers.get(token, _Answer())
            if answer.error:
                status, rpc_status, code, text = ERRORS[answer.error]
                raise _Refused(status, rpc_status, text, code)
            status, error = 200, ""
        except _Refused as refused:
            status, error = refused.status, refused.field_name or refused.rpc_status
            request.reply(status, _error_body(refused), retry_after=answer.retry_after)
        else:
            name = f"projects/{project}/messages/0:{secrets.randbelow(10**16)}"
            request.reply(200, {"name": name})
        with self._lock:
            self._received.append(
                Received(project, token, headers, message, status, error, time.time())
            )
            self._lock.notify_all()

    def _authenticate(self, authorization: str, project: str) -> None:
        scheme, _, token = authorization.partition(" ")
        with self._lock:
            issued = self._issued.get(token) if scheme == "Bearer" else None
        if issued is None or issued.expires_at <= time.time():
            message = "Request had invalid authentication credentials."
            raise _Refused(401, "UNAUTHENTICATED", message)
        if issued.project_id != project:
            raise _Refused(403, "PERMISSION_DENIED", f"Permission denied on project {project}.")

    def _message(self, body: bytes) -> dict:
        try:
            message = json.loads(body)["message"]
        except (ValueError, KeyError, TypeError):
            raise _Refused(400, "INVALID_ARGUMENT", "Invalid JSON payload received.") from None
        if not isinstance(message.get("token"), str) or not message["token"]:
            raise _Refused(400, "INVALID_ARGUMENT", "Recipient of the message is not set.")
        checks = [
            ("message.data", all(isinstance(v, str) for v in message.get("data", {}).values())),
            ("message.notification", _strings(message.get("notification", {}))),
            ("message.android.ttl", TTL.match(message.get("android", {}).get("ttl", "0s"))),
            (
                "message.android.priority",
                message.get("android", {}).get("priority", "NORMAL") in ("NORMAL", "HIGH"),
            ),
            ("message.apns.headers", _strings(message.get("apns", {}).get("headers", {}))),
        ]
        for name, valid in checks:
            if not valid:
                raise _Refused(400, "INVALID_ARGUMENT", f"Invalid value at '{name}'", name)
        return message


def make_service_account(project_id: str = "beacon-test") -> tuple[dict, rsa.RSAPublicKey]:
    """A service account's JSON key (and its public key), known to no service."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    email = f"firebase-adminsdk-{secrets.token_hex(3)}@{project_id}.iam.gserviceaccount.com"
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    info = {
        "type": "service_account",
        "project_id": project_id,
        "private_key_id": secrets.token_hex(20),
        "private_key": pem,
        "client_email": email,
        "client_id": str(secrets.randbelow(10**21)),
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": GOOGLE_TOKEN_URL,  # the provider must post to FCM_TOKEN_URL instead
    }
    return info, key.public_key()


def _strings(values: dict) -> bool:
    return isinstance(values, dict) and all(isinstance(v, str) for v in values.values())


def _error_body(refused: _Refused) -> dict:
    details = []
    if refused.field_name.startswith("message."):
        violation = {"field": refused.field_name, "description": str(refused)}
        details.append({"@type": BAD_REQUEST, "fieldViolations": [violation]})
    elif refused.field_name:  # an FCM error code
        details.append({"@type": FCM_ERROR, "errorCode": refused.field_name})
    error = {"code": refused.status, "message": str(refused), "status": refused.rpc_status}
    return {"error": {**error, "details": details}}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 60

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        service = self.server.service
        path = urlsplit(self.path).path
        if path == "/token":
            service.handle_token(self, body)
        elif SEND_PATH.match(path):
            service.handle_send(self, body)
        else:
            self.reply(404, {"error": {"code": 404, "status": "NOT_FOUND"}})

    def reply(self, status: int, body: dict, *, retry_after: str | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        if retry_after is not None:
            self.send_header("Retry-After", retry_after)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format, *args) -> None:
        pass
