"""Apple Push Notification service, directly: iOS apps that do not send through FCM.

`POST {APNS_BASE_URL or APNS_SANDBOX_BASE_URL}/3/device/<token>` over HTTP/2 (APNs speaks
nothing else), authenticated with a provider token: an ES256 JWT with the .p8 key's id as `kid`,
the team id as `iss` and its issue time as `iat`. Apple refuses tokens older than an hour and
answers 429 TooManyProviderTokenUpdates to one renewed more often than every 20 minutes, so a
process signs one per key and reuses it for JWT_REUSE_SECONDS, shared by its send threads.

Headers: `apns-topic` (the bundle id), `apns-push-type: alert`, `apns-expiration` from the TTL,
`apns-priority` 10 for urgency "high" and 5 below (as FCM maps them), `apns-collapse-id` from the
topic. Payload: {"aps": {"alert": {"title", "body"}, "mutable-content": 1 with an image or
buttons}, "url", "image", "buttons" ([{"id", "title", "action", "url"?}], which the app shows as
actions), then `PushMessage.data` (the open token, the open-report URL, ...); at most 4096 bytes.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from typing import TYPE_CHECKING

import httpx
import jwt
import orjson
from cryptography.hazmat.primitives import serialization
from django.conf import settings

from campaigns.credentials import ApnsConfig
from campaigns.providers import mobile_http
from campaigns.providers.base import Outcome, PushMessage, SendOutcome

if TYPE_CHECKING:
    from contacts.models import Device

MAX_PAYLOAD_BYTES = 4096  # for alert notifications
JWT_REUSE_SECONDS = 50 * 60  # Apple: renew between every 20 and every 60 minutes
# A device token is 32 bytes, sent as hex; Apple says it may grow, so up to 100 bytes here.
DEVICE_TOKEN_RE = re.compile(r"^[0-9A-Fa-f]{64,200}$")
SERVICE = "APNs"
GONE_REASONS = ("Unregistered", "ExpiredToken", "BadDeviceToken")


def apns_expiration(ttl: int, *, now: float | None = None) -> str:
    """A UNIX time; 0 means "now or never", as a TTL of 0 does."""
    return str(int(now or time.time()) + ttl) if ttl else "0"


def apns_priority(urgency: str) -> str:
    return "10" if urgency == "high" else "5"


def apns_payload(message: PushMessage) -> bytes:
    alert = {"title": message.title}
    if message.body:
        alert["body"] = message.body
    aps: dict = {"alert": alert}
    payload: dict = {}
    if message.url:
        payload["url"] = message.url
    if message.image:
        payload["image"] = message.image
    if message.buttons:
        payload["buttons"] = [button.as_data() for button in message.buttons]
    if message.image or message.buttons:
        # the app's notification service extension adds the image and registers the buttons'
        # category; it runs only for a mutable notification
        aps["mutable-content"] = 1
    payload.update((key, value) for key, value in message.data.items() if key != "aps")
    return orjson.dumps({"aps": aps, **payload})


class ApnsProvider:
    """Sends to `device.token` (an APNs device token, hex). Safe to share across threads."""

    service = SERVICE

    def __init__(self, config: ApnsConfig, *, timeout: float | None = None) -> None:
        self.config = config
        base = settings.APNS_SANDBOX_BASE_URL if config.sandbox else settings.APNS_BASE_URL
        self.base = base.rstrip("/")
        self.timeout = timeout or settings.PUSH_TIMEOUT_SECONDS
        self._key_error = ""
        try:
            self._tokens = provider_tokens(config)
        except (ValueError, TypeError) as exc:  # checked on upload: not expected
            # the exception's name only: its text could quote the key
            self._key_error = f"the app's APNs .p8 key is unusable ({type(exc).__name__})"

    def payload_too_large(self, message: PushMessage) -> str | None:
        size = len(apns_payload(message))
        if size <= MAX_PAYLOAD_BYTES:
            return None
        return f"the APNs payload is {size} bytes of JSON; APNs allows at most {MAX_PAYLOAD_BYTES}"

    def send(self, device: Device, message: PushMessage) -> SendOutcome:
        if self._key_error:
            return SendOutcome(Outcome.FAILED, error=self._key_error)
        if not DEVICE_TOKEN_RE.match(device.token):
            # what APNs would answer (400 BadDeviceToken), without a request
            return SendOutcome(Outcome.GONE, error="not an APNs device token (BadDeviceToken)")
        payload = apns_payload(message)
        if len(payload) > MAX_PAYLOAD_BYTES:
            return SendOutcome(Outcome.FAILED, error=self.payload_too_large(message))
        token = self._tokens.get()
        try:
            answer = mobile_http.post(
                f"{self.base}/3/device/{device.token}",
                content=payload,
                headers=self._headers(token, message),
                timeout=self.timeout,
            )
        except httpx.HTTPError as exc:
            return mobile_http.unreachable(SERVICE, exc)
        outcome = response_outcome(answer, self.config)
        if answer.status == 403:  # the next send signs afresh (an expired or refused token)
            self._tokens.forget(token)
        return outcome

    def _headers(self, token: str, message: PushMessage) -> dict[str, str]:
        headers = {
            "authorization": f"bearer {token}",
            "apns-topic": self.config.bundle_id,
            "apns-push-type": "alert",
            "apns-expiration": apns_expiration(message.ttl),
            "apns-priority": apns_priority(message.urgency),
            "content-type": "application/json",
        }
        if message.topic:
            headers["apns-collapse-id"] = message.topic
        return headers


def response_outcome(answer: mobile_http.Answer, config: ApnsConfig) -> SendOutcome:
    """Maps APNs' answer: a status and, on error, {"reason": ...} (Apple's "Handling
    notification responses from APNs")."""
    status = answer.status
    if status == 200:
        accepted = f"200 apns-id: {answer.headers.get('apns-id', '')}".strip(" :")
        return SendOutcome(Outcome.SENT, status=status, answer=accepted)
    body = answer.json()
    reason = str(body.get("reason", "")) if isinstance(body, dict) else ""
    detail = f"{status} {reason}".strip()
    if status == 410 or (status == 400 and reason in GONE_REASONS):
        # BadDeviceToken is also what a sandbox token gets from production (and the reverse):
        # after a wrong environment is chosen, devices are invalidated until they register again.
        error = f"APNs device token gone ({detail}; environment: {_environment(config)})"
        return SendOutcome(Outcome.GONE, error=error, status=status)
    if status == 403:
        why = "APNs refused the provider token"
        if reason == "ExpiredProviderToken":
            why += " as expired (is this server's clock right?)"
        error = (
            f"{why}: check the app's APNs key id ({config.key_id}), team id ({config.team_id}) "
            f"and .p8 key ({detail})"
        )
        return SendOutcome(Outcome.FAILED, error=error, status=status)
    if status == 400 and reason in ("DeviceTokenNotForTopic", "TopicDisallowed", "BadTopic"):
        error = (
            f"the token is not for bundle id {config.bundle_id!r}: check the app's APNs "
            f"credentials ({detail})"
        )
        return SendOutcome(Outcome.FAILED, error=error, status=status)
    if status in (400, 413):
        error = f"APNs refused the notification ({detail})"
        return SendOutcome(Outcome.FAILED, error=error, status=status)
    return mobile_http.busy_or_unexpected(SERVICE, answer)


def _environment(config: ApnsConfig) -> str:
    return "sandbox" if config.sandbox else "production"


# Provider tokens ---------------------------------------------------------------------------------


class ProviderTokens:
    """One .p8 key's signed provider token, shared by the threads that send with it."""

    def __init__(self, config: ApnsConfig) -> None:
        self._key = serialization.load_pem_private_key(config.private_key.encode(), None)
        self._team_id, self._key_id = config.team_id, config.key_id
        self._lock = threading.Lock()
        self._token, self._issued_at = "", 0.0

    def get(self) -> str:
        now = time.time()
        with self._lock:
            if not self._token or now - self._issued_at >= JWT_REUSE_SECONDS:
                claims = {"iss": self._team_id, "iat": int(now)}
                headers = {"kid": self._key_id}
                self._token = jwt.encode(claims, self._key, algorithm="ES256", headers=headers)
                self._issued_at = now
            return self._token

    def forget(self, token: str) -> None:
        with self._lock:
            if self._token == token:
                self._token = ""


# (team id, key id, key digest) -> its tokens; a race to create one only creates two
_provider_tokens: dict[tuple[str, str, str], ProviderTokens] = {}


def provider_tokens(config: ApnsConfig) -> ProviderTokens:
    digest = hashlib.sha256(config.private_key.encode()).hexdigest()
    key = (config.team_id, config.key_id, digest)
    tokens = _provider_tokens.get(key)
    if tokens is None:
        if len(_provider_tokens) > 1000:  # keys are few; this bounds replaced ones
            _provider_tokens.clear()
        tokens = _provider_tokens[key] = ProviderTokens(config)
    return tokens
