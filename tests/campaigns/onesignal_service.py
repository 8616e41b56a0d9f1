"""A local OneSignal for tests and benchmarks: the REST API's create-notification endpoint.

An HTTP server on 127.0.0.1 (an ephemeral port) that, like api.onesignal.com,
1. at POST /notifications wants `Authorization: Key <the REST API key of the body's app_id>`
   (403 otherwise) and a notification it can send (400 {"errors": [...]}): a known app_id,
   "target_channel": "push", `include_subscription_ids` of UUIDs, `contents` with "en",
   an integer `ttl` and `priority`, `data` an object, `buttons` a list of {"id", "text"},
   `idempotency_key` a UUID;
2. answers as told per subscription (`answer(id, "invalid")`: 200 with the id in
   `errors.invalid_player_ids`; "unsubscribed": 200, no notification id and "All included players
   are not subscribed"; or any status, with Retry-After), else 200 {"id": ...};
3. creates one notification per idempotency key: a repeated key answers the first id again and is
   recorded with `duplicate=True`;
4. records what arrived (`received()`).
"""

from __future__ import annotations

import json
import secrets
import threading
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    notification: dict | None
    status: int
    error: str
    duplicate: bool  # a repeated idempotency key: no second notification
    at: float

    @property
    def subscription_ids(self) -> list[str]:
        return (self.notification or {}).get("include_subscription_ids", [])


@dataclass
class _Answer:
    kind: str = ""  # "", "invalid", "unsubscribed"
    status: int = 200
    errors: list | None = None
    retry_after: str | None = None


class _Refused(Exception):
    def __init__(self, status: int, error: str) -> None:
        super().__init__(error)
        self.status = status


class LocalOneSignalService:
    def __init__(self) -> None:
        self._apps: dict[str, str] = {}  # app id -> REST API key
        self._answers: dict[str, _Answer] = {}
        self._created: dict[str, str] = {}  # idempotency key -> notification id
        self._received: list[Received] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.service = self
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self) -> LocalOneSignalService:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def app(self) -> dict:
        """A new OneSignal app: its id and REST API key."""
        app_id, api_key = str(uuid.uuid4()), f"os_v2_app_{secrets.token_urlsafe(40)}"
        self._apps[app_id] = api_key
        return {"app_id": app_id, "api_key": api_key}

    @staticmethod
    def subscription() -> str:
        return str(uuid.uuid4())

    def answer(
        self,
        subscription_id: str,
        kind: str = "",
        *,
        status: int = 200,
        errors: list | None = None,
        retry_after: str | None = None,
    ) -> None:
        """How to answer notifications to this subscription: "" (sent), "invalid",
        "unsubscribed", or `status` with `errors`."""
        self._answers[subscription_id] = _Answer(kind, status, errors, retry_after)

    def received(self) -> list[Received]:
        with self._lock:
            return list(self._received)

    def handle(self, request: _Handler, body: bytes) -> None:
        headers = {name.lower(): value for name, value in request.headers.items()}
        notification, duplicate, answer = None, False, _Answer()
        try:
            notification = self._notification(body)
            self._authenticate(headers.get("authorization", ""), notification["app_id"])
            [subscription_id] = notification["include_subscription_ids"]
            answer = self._answers.get(subscription_id, _Answer())
            status, reply, error = self._reply(subscription_id, answer)
            if status == 200 and reply.get("id"):
                key = notification.get("idempotency_key") or str(uuid.uuid4())
                with self._lock:
                    duplicate = key in self._created
                    reply["id"] = self._created.setdefault(key, reply["id"])
        except _Refused as refused:
            status, reply, error = refused.status, {"errors": [str(refused)]}, str(refused)
        with self._lock:
            self._received.append(
                Received(headers, notification, status, error, duplicate, time.time())
            )
        request.reply(status, reply, retry_after=answer.retry_after)

    def _reply(self, subscription_id: str, answer: _Answer) -> tuple[int, dict, str]:
        if answer.kind == "invalid":
            errors = {"invalid_player_ids": [subscription_id]}
            return 200, {"id": "", "errors": errors}, "invalid_player_ids"
        if answer.kind == "unsubscribed":
            errors = ["All included players are not subscribed"]
            return 200, {"id": "", "errors": errors}, errors[0]
        if answer.status != 200:
            errors = answer.errors or ["as told"]
            return answer.status, {"errors": errors}, errors[0]
        return 200, {"id": str(uuid.uuid4()), "external_id": None}, ""

    def _authenticate(self, authorization: str, app_id: str) -> None:
        scheme, _, key = authorization.partition(" ")
        if scheme != "Key" or self._apps.get(app_id) != key:
            raise _Refused(403, "Access denied.  Please include an 'Authorization: Key ...' header")

    def _notification(self, body: bytes) -> dict:
        try:
            notification = json.loads(body)
        except ValueError:
            raise _Refused(400, "Invalid JSON") from None
        if notification.get("app_id") not in self._apps:
            raise _Refused(400, "app_id not found. You may be missing a Content-Type header.")
        ids = notification.get("include_subscription_ids")
        checks = [
            (notification.get("target_channel") == "push", "target_channel must be push"),
            (isinstance(ids, list) and len(ids) == 1 and _uuids(ids), "bad subscription ids"),
            (isinstance(notification.get("contents", {}).get("en"), str), "contents needs en"),
            (isinstance(notification.get("ttl", 0), int), "ttl must be an integer"),
            (isinstance(notification.get("priority", 5), int), "priority must be an integer"),
            (isinstance(notification.get("data", {}), dict), "data must be an object"),
            (_buttons(notification.get("buttons", [])), "buttons must be [{id, text}]"),
            (_uuids([notification.get("idempotency_key") or str(uuid.uuid4())]), "bad key"),
        ]
        for valid, error in checks:
            if not valid:
                raise _Refused(400, error)
        return notification


def _buttons(buttons) -> bool:
    """OneSignal's action buttons: each an id and a text (and an optional icon)."""
    return isinstance(buttons, list) and all(
        isinstance(b, dict)
        and set(b) <= {"id", "text", "icon"}
        and all(isinstance(b.get(key), str) and b[key] for key in ("id", "text"))
        for b in buttons
    )


def _uuids(values: list) -> bool:
    try:
        return all(str(uuid.UUID(value)) == value for value in values)
    except (ValueError, TypeError, AttributeError):
        return False


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 60

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if urlsplit(self.path).path != "/notifications":
            self.reply(404, {"errors": ["not found"]})
        else:
            self.server.service.handle(self, body)

    def reply(self, status: int, body: dict, *, retry_after: str | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        if retry_after is not None:
            self.send_header("Retry-After", retry_after)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format, *args) -> None:
        pass
