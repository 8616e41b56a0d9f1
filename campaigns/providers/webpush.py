"""Web push (RFC 8030 protocol, RFC 8291 encryption, RFC 8292 VAPID) through pywebpush.

pywebpush's defaults are unsafe for a sender: TTL 0 (the push service drops the message unless
the browser is online at that instant) and no timeout (a stuck push service blocks a worker
forever), and `webpush()` writes `aud`/`exp` into the claims dict it is given. So this module
builds its own VAPID headers (one signature per push service origin, reused for an hour: signing
was a tenth of a send's CPU), encrypts with `WebPusher.encode`, and posts with an explicit TTL and
timeout over urllib3's keep-alive pools (campaigns/providers/connections.py; requests on top of
urllib3 cost a fifth of a send's CPU more).
"""

from __future__ import annotations

import binascii
import email.utils
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import orjson
from django.conf import settings
from py_vapid import VapidException
from pywebpush import WebPusher, WebPushException
from urllib3.exceptions import HTTPError

from campaigns.providers import connections
from campaigns.providers.base import Outcome, PushButton, PushMessage, SendOutcome
from campaigns.vapid import VapidKeys, vapid_keys
from contacts.push import push_endpoint_form_error, push_endpoint_host_error

if TYPE_CHECKING:
    from contacts.models import Device

# RFC 8030 section 7.2: a push service must accept 4096 bytes of (encrypted) body; more may be
# refused with 413. An aes128gcm body (RFC 8188) is a header, then records of at most rs bytes:
#   header = salt 16 + rs 4 + key id length 1 + key id 65 (the sender's P-256 point) = 86 bytes;
#   record = plaintext + 1 padding delimiter + 16 GCM tag (http_ece uses rs=4096, so one record
#            holds up to 4079 bytes of plaintext and any payload below fits in one).
# Hence 4096 - 86 - 1 - 16 = 3993 bytes of plaintext, the figure RFC 8291 section 4 gives;
# tests/campaigns/test_webpush_provider.py checks it against http_ece's output.
MAX_BODY_BYTES = 4096
MAX_PLAINTEXT_BYTES = MAX_BODY_BYTES - 86 - 1 - 16

VAPID_EXPIRY_SECONDS = 12 * 3600  # RFC 8292: at most 24 hours ahead
# A signed VAPID header is reused for this long, so it always has 11 of its 12 hours left.
VAPID_REUSE_SECONDS = 3600
RETRY_AFTER_MAX_SECONDS = 3600.0  # a Retry-After further out than this is clamped to it

CONTENT_ENCODING = "aes128gcm"  # RFC 8291 (pywebpush's default; "aesgcm" is the old draft)
SENT_STATUSES = (200, 201, 202)
GONE_STATUSES = (404, 410)


def encode_payload(message: PushMessage) -> bytes:
    """The JSON the service worker receives; keys of `message.data` come last and win.

    Buttons go as `actions`, the Notification API's own [{"action": id, "title"}] that the
    worker passes to showNotification, each open_url button with its `url` beside (the API
    ignores members it does not know): the worker opens it when that action is clicked."""
    fields = {
        "title": message.title,
        "body": message.body,
        "url": message.url,
        "icon": message.icon,
        "image": message.image,
    }
    if message.buttons:
        fields["actions"] = [_action(button) for button in message.buttons]
    return orjson.dumps({**fields, **message.data})


def _action(button: PushButton) -> dict[str, str]:
    action = {"action": button.id, "title": button.title}
    if button.url:
        action["url"] = button.url
    return action


def _size_error(payload: bytes) -> str | None:
    if len(payload) <= MAX_PLAINTEXT_BYTES:
        return None
    return (
        f"the push payload is {len(payload)} bytes of JSON; web push allows at most "
        f"{MAX_PLAINTEXT_BYTES} ({MAX_BODY_BYTES} once encrypted)"
    )


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delay in seconds, or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        seconds = float(value)
    else:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:  # HTTP dates are GMT
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return min(max(seconds, 0.0), RETRY_AFTER_MAX_SECONDS)


class WebPushProvider:
    """Sends to `device.subscription` (a PushSubscription's JSON). Safe to share across threads."""

    service = "web push"

    def __init__(self, keys: VapidKeys | None = None, *, timeout: float | None = None) -> None:
        self.keys = keys or vapid_keys()
        # for connecting, and again for each wait on the response
        self.timeout = timeout or settings.PUSH_TIMEOUT_SECONDS
        self._signer = self.keys.signer()  # parsed once; signing keeps no state
        # push service origin -> (reuse until, signed headers); a race only signs twice
        self._vapid: dict[str, tuple[float, dict[str, str]]] = {}

    def payload_too_large(self, message: PushMessage) -> str | None:
        return _size_error(encode_payload(message))

    def send(self, device: Device, message: PushMessage) -> SendOutcome:
        subscription = device.subscription if isinstance(device.subscription, dict) else {}
        endpoint = subscription.get("endpoint")
        payload = encode_payload(message)
        if reason := push_endpoint_form_error(endpoint):
            return SendOutcome(Outcome.FAILED, error=f"the subscription's endpoint {reason}")
        if reason := push_endpoint_host_error(endpoint):
            return _refused(f"the subscription's endpoint {reason}")
        if error := _size_error(payload):
            return SendOutcome(Outcome.FAILED, error=error)
        try:
            body = WebPusher(subscription).encode(payload, CONTENT_ENCODING)["body"]
            headers = self._headers(endpoint, message)
        except (WebPushException, VapidException, ValueError, TypeError, binascii.Error) as exc:
            # pywebpush and cryptography reject malformed subscription keys this way
            return SendOutcome(Outcome.FAILED, error=f"invalid subscription or VAPID key: {exc}")
        try:
            answer = connections.post(endpoint, body=body, headers=headers, timeout=self.timeout)
        except connections.ProxyNotSupported as exc:
            return SendOutcome(Outcome.FAILED, error=f"push request failed: {exc}")
        except connections.AddressRefused as exc:
            return _refused(f"the subscription's endpoint is not on a public address: {exc}")
        except (OSError, HTTPError) as exc:
            # refused, reset, timed out, a name that does not resolve, TLS, a garbled answer
            return SendOutcome(Outcome.RETRY, error=f"push service unreachable: {exc}")
        return response_outcome(answer)

    def _headers(self, endpoint: str, message: PushMessage) -> dict[str, str]:
        parts = urlsplit(endpoint)
        headers = {**self._vapid_headers(f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}")}
        headers["Content-Encoding"] = CONTENT_ENCODING
        headers["TTL"] = str(message.ttl)
        headers["Urgency"] = message.urgency
        if message.topic:
            headers["Topic"] = message.topic
        return headers

    def _vapid_headers(self, audience: str) -> dict[str, str]:
        """The signed VAPID headers for a push service origin (RFC 8292's `aud`)."""
        now = time.time()
        reuse_until, headers = self._vapid.get(audience, (0.0, {}))
        if reuse_until <= now:
            # A new claims dict each time: the signer must not see another origin's claims.
            claims = {
                "sub": self.keys.subject,
                "aud": audience,
                "exp": int(now) + VAPID_EXPIRY_SECONDS,
            }
            headers = self._signer.sign(claims)
            if len(self._vapid) > 10_000:  # origins are few; this bounds a flood of odd ones
                self._vapid.clear()
            self._vapid[audience] = (now + VAPID_REUSE_SECONDS, headers)
        return headers


def _refused(error: str) -> SendOutcome:
    """An endpoint Beacon must never connect to (server-side request forgery, contacts/push.py):
    the device is as good as gone (invalidated, never sent to again) and nothing was sent."""
    return SendOutcome(Outcome.GONE, error=f"refused: {error}")


def response_outcome(answer: connections.Answer) -> SendOutcome:
    """Maps the push service's answer (RFC 8030 section 5, and what FCM and Mozilla send)."""
    status = answer.status
    if status in SENT_STATUSES:
        return SendOutcome(Outcome.SENT, status=status, answer=f"{status} {answer.reason}".strip())
    text = answer.body[:200].decode("utf-8", "replace")
    detail = f"{status} {answer.reason}: {text}".strip(" :")
    if 300 <= status < 400:
        error = f"the push service answered with a redirect ({detail})"
        return SendOutcome(Outcome.FAILED, error=error, status=status)
    if status in GONE_STATUSES:
        return SendOutcome(Outcome.GONE, error=f"subscription gone ({detail})", status=status)
    if status == 413:
        error = f"the push service refused the payload as too large ({detail})"
        return SendOutcome(Outcome.FAILED, error=error, status=status)
    if status in (408, 429) or status >= 500:
        retry_after = parse_retry_after(answer.headers.get("Retry-After"))
        return SendOutcome(Outcome.RETRY, retry_after, f"push service busy ({detail})", status)
    if status in (400, 401, 403):
        error = f"the push service refused the request; check the VAPID keys and subject ({detail})"
        return SendOutcome(Outcome.FAILED, error=error, status=status)
    return SendOutcome(Outcome.FAILED, error=f"unexpected answer ({detail})", status=status)
