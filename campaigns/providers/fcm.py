"""Firebase Cloud Messaging, HTTP v1 API: Android and iOS apps whose tokens FCM issued.

`POST {FCM_BASE_URL}/v1/projects/{project}/messages:send` with `Authorization: Bearer <token>`,
an OAuth2 access token for the app's service account: google-auth signs the JWT assertion with
the account's key and trades it at FCM_TOKEN_URL (always the setting, never the token_uri written
in the uploaded JSON). A process keeps one token per service account key, shared by its send
threads: one thread fetches it while the others wait, and it is reused until google-auth's
refresh margin before it expires (REFRESH_THRESHOLD, 3 min 45 s); a 401 drops it.

The message: title, body and image as the notification; the URL, the action buttons (`buttons`)
and `PushMessage.data` (the open token, the open-report URL, ...) as `data`, whose values FCM
wants as strings (others are sent as JSON text): the app opens `data.url` on a tap, shows the
buttons, and reports the open (with the button's id when one was tapped). TTL as `android.ttl`
and the APNs expiration; urgency "high" as Android HIGH and APNs priority 10, lower ones NORMAL
and 5 (Firebase's own correspondence); the topic as `collapse_key` and `apns-collapse-id`. A
message with an image or buttons is mutable on iOS (`mutable-content`), for the app's
notification service extension to add the image or register the buttons' category.
"""

from __future__ import annotations

import json
import threading
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import google.auth.exceptions
import google.auth.transport
import httpx
import orjson
from django.conf import settings
from google.oauth2 import service_account

from campaigns.credentials import FcmConfig
from campaigns.providers import mobile_http
from campaigns.providers.apns import apns_expiration, apns_priority
from campaigns.providers.base import Outcome, PushMessage, SendOutcome

if TYPE_CHECKING:
    from contacts.models import Device

SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
# FCM: "4096 bytes for most messages ... This includes both the keys and the values."
MAX_PAYLOAD_BYTES = 4096
SERVICE = "FCM"
RETRIED_ERRORS = ("QUOTA_EXCEEDED", "UNAVAILABLE", "INTERNAL")


def fcm_message(token: str, message: PushMessage, *, now: float | None = None) -> dict:
    """The `message` object of a v1 send request."""
    high = message.urgency == "high"
    notification = {"title": message.title, "body": message.body}
    android: dict[str, Any] = {"ttl": f"{message.ttl}s", "priority": "HIGH" if high else "NORMAL"}
    apns_headers = {
        "apns-priority": apns_priority(message.urgency),
        "apns-expiration": apns_expiration(message.ttl, now=now),
    }
    if message.topic:
        android["collapse_key"] = message.topic
        apns_headers["apns-collapse-id"] = message.topic
    apns: dict[str, Any] = {"headers": apns_headers}
    if message.image or message.buttons:
        # iOS shows the image, and registers the buttons' category, in the app's notification
        # service extension, which runs only for a mutable notification
        apns["payload"] = {"aps": {"mutable-content": 1}}
    if message.image:
        notification["image"] = message.image
        apns["fcm_options"] = {"image": message.image}
    return {
        "token": token,
        "notification": notification,
        "data": fcm_data(message),
        "android": android,
        "apns": apns,
    }


def fcm_data(message: PushMessage) -> dict[str, str]:
    """`data` as FCM takes it, string to string; the message's data wins over `url` and
    `buttons` (JSON text of [{"id", "title", "action", "url"?}], for the app to show)."""
    fields: dict[str, Any] = {"url": message.url} if message.url else {}
    if message.buttons:
        fields["buttons"] = [button.as_data() for button in message.buttons]
    fields.update(message.data)
    return {
        str(key): value if isinstance(value, str) else orjson.dumps(value).decode()
        for key, value in fields.items()
    }


def payload_size(message: PushMessage) -> int:
    data = fcm_data(message)
    texts = [message.title, message.body, *data, *data.values()]
    return sum(len(text.encode()) for text in texts)


class FcmProvider:
    """Sends to `device.token` (an FCM registration token). Safe to share across threads."""

    service = SERVICE

    def __init__(self, config: FcmConfig, *, timeout: float | None = None) -> None:
        self.config = config
        base = settings.FCM_BASE_URL.rstrip("/")
        self.url = f"{base}/v1/projects/{quote(config.project_id, safe='')}/messages:send"
        self.timeout = timeout or settings.PUSH_TIMEOUT_SECONDS
        self._token_error = ""
        try:
            self._tokens = access_tokens(config.service_account)
        except (ValueError, KeyError, TypeError) as exc:  # checked on upload: not expected
            # the exception's name only: its text could quote the key
            self._token_error = (
                f"the app's FCM service account key is unusable ({type(exc).__name__})"
            )

    def payload_too_large(self, message: PushMessage) -> str | None:
        size = payload_size(message)
        if size <= MAX_PAYLOAD_BYTES:
            return None
        return f"the message is {size} bytes of FCM payload; FCM allows at most {MAX_PAYLOAD_BYTES}"

    def send(self, device: Device, message: PushMessage) -> SendOutcome:
        if self._token_error:
            return SendOutcome(Outcome.FAILED, error=self._token_error)
        if error := self.payload_too_large(message):
            return SendOutcome(Outcome.FAILED, error=error)
        try:
            token = self._tokens.get(_TokenRequest(self.timeout))
        except google.auth.exceptions.GoogleAuthError as exc:
            return _token_outcome(exc)
        body = orjson.dumps({"message": fcm_message(device.token, message)})
        headers = {
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json; charset=UTF-8",
        }
        try:
            answer = mobile_http.post(self.url, content=body, headers=headers, timeout=self.timeout)
        except httpx.HTTPError as exc:
            return mobile_http.unreachable(SERVICE, exc)
        if answer.status == 401:  # revoked, or expired early: the next send fetches a new one
            self._tokens.forget(token)
        return response_outcome(answer, project_id=self.config.project_id)


def response_outcome(answer: mobile_http.Answer, *, project_id: str) -> SendOutcome:
    """Maps FCM's answer (https://firebase.google.com/docs/reference/fcm/rest/v1/ErrorCode)."""
    status = answer.status
    if status == 200:
        return SendOutcome(Outcome.SENT, status=status, answer=answer.detail())
    error = _error(answer)
    code = _fcm_error_code(error) or error.get("status", "")
    detail = f"{status} {code}: {error.get('message', '')}".strip(" :")
    if code == "UNREGISTERED" or (code == "INVALID_ARGUMENT" and _about_the_token(error)):
        return SendOutcome(Outcome.GONE, error=f"FCM token gone ({detail})", status=status)
    if code == "SENDER_ID_MISMATCH":
        why = f"the token belongs to another Firebase project than {project_id!r}"
        return _misconfigured(why, detail, status)
    if code == "THIRD_PARTY_AUTH_ERROR":
        why = "Firebase's APNs key or certificate was refused (the Firebase project's settings)"
        return _misconfigured(why, detail, status)
    if status in (401, 403):
        why = f"FCM refused the service account of {project_id!r}"
        return _misconfigured(why, detail, status)
    if code in RETRIED_ERRORS:
        return SendOutcome(Outcome.RETRY, answer.retry_after(), f"FCM busy ({detail})", status)
    if status == 400:
        return SendOutcome(
            Outcome.FAILED, error=f"FCM refused the message ({detail})", status=status
        )
    return mobile_http.busy_or_unexpected(SERVICE, answer)


def _misconfigured(why: str, detail: str, status: int) -> SendOutcome:
    error = f"{why}: check the app's FCM credentials ({detail})"
    return SendOutcome(Outcome.FAILED, error=error, status=status)


def _error(answer: mobile_http.Answer) -> dict:
    body = answer.json()
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else {}


def _fcm_error_code(error: dict) -> str:
    for detail in _details(error):
        if detail.get("@type", "").endswith("google.firebase.fcm.v1.FcmError"):
            return str(detail.get("errorCode", ""))
    return ""


def _about_the_token(error: dict) -> bool:
    """Whether an INVALID_ARGUMENT is about the registration token (then the device is gone)
    rather than the message: a field violation on message.token, or FCM's wording for it."""
    for detail in _details(error):
        for violation in detail.get("fieldViolations") or ():
            if isinstance(violation, dict) and violation.get("field") == "message.token":
                return True
    return "registration token" in str(error.get("message", "")).lower()


def _details(error: dict) -> list[dict]:
    details = error.get("details")
    return [d for d in details if isinstance(d, dict)] if isinstance(details, list) else []


def _token_outcome(exc: google.auth.exceptions.GoogleAuthError) -> SendOutcome:
    if isinstance(exc, google.auth.exceptions.TransportError):
        return SendOutcome(Outcome.RETRY, error=f"FCM's token service unreachable: {exc}")
    if getattr(exc, "retryable", False):
        return SendOutcome(Outcome.RETRY, error=f"FCM's token service busy: {exc}")
    error = (
        "Google refused the service account's token request (a deleted or disabled key?): "
        f"check the app's FCM credentials ({exc})"
    )
    return SendOutcome(Outcome.FAILED, error=error)


# Access tokens ---------------------------------------------------------------------------------


class AccessTokens:
    """One service account key's access token, shared by the threads that send with it."""

    def __init__(self, info: dict) -> None:
        info = {**info, "token_uri": settings.FCM_TOKEN_URL}
        self._credentials = service_account.Credentials.from_service_account_info(
            info, scopes=[SCOPE]
        )
        self._lock = threading.Lock()

    def get(self, request: google.auth.transport.Request) -> str:
        """The current token, fetched first if there is none or it is about to expire. Raises
        google.auth.exceptions.GoogleAuthError."""
        with self._lock:  # one fetch; the other threads wait for its token
            if not self._credentials.valid:
                self._credentials.refresh(request)
            return self._credentials.token

    def forget(self, token: str) -> None:
        with self._lock:
            if self._credentials.token == token:  # not one another thread fetched since
                self._credentials.token = None


# (token URL, client email, key id) -> its tokens; a race to create one only creates two
_access_tokens: dict[tuple[str, str, str], AccessTokens] = {}


def access_tokens(service_account_json: str) -> AccessTokens:
    info = json.loads(service_account_json)
    key = (settings.FCM_TOKEN_URL, info["client_email"], info["private_key_id"])
    tokens = _access_tokens.get(key)
    if tokens is None:
        if len(_access_tokens) > 1000:  # keys are few; this bounds replaced ones
            _access_tokens.clear()
        tokens = _access_tokens[key] = AccessTokens(info)
    return tokens


class _TokenRequest(google.auth.transport.Request):
    """google-auth's transport over mobile_http: no redirects, bounded."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout

    def __call__(self, url, method="GET", body=None, headers=None, timeout=None, **kwargs):
        if method != "POST":  # google-auth only posts to the token endpoint
            raise google.auth.exceptions.TransportError(f"unexpected {method} to {url}")
        try:
            answer = mobile_http.post(
                url, content=body or b"", headers=dict(headers or {}), timeout=self.timeout
            )
        except httpx.HTTPError as exc:
            raise google.auth.exceptions.TransportError(repr(exc)) from exc
        return _TokenResponse(answer)


class _TokenResponse(google.auth.transport.Response):
    def __init__(self, answer: mobile_http.Answer) -> None:
        self._answer = answer

    @property
    def status(self) -> int:
        return self._answer.status

    @property
    def headers(self):
        return self._answer.headers

    @property
    def data(self) -> bytes:
        return self._answer.body
