"""OneSignal's REST API, for apps whose devices are OneSignal subscriptions.

`POST {ONESIGNAL_BASE_URL}/notifications` with `Authorization: Key <the app's REST API key>` and
one subscription id in `include_subscription_ids` ("target_channel": "push"). The message:
`headings`/`contents` in "en" (a message without a body shows its title as the content), `url`,
the image as `big_picture` (Android), `ios_attachments` and `chrome_web_image`, the action
buttons as OneSignal's `buttons` ([{"id", "text"}]) and in full in `data`, with the rest of
`PushMessage.data` (the open token, the open-report URL, ...), `ttl`, `priority` 10 for urgency
"high" and 5 below, the topic as `collapse_id` and, with the subscription, as the
`idempotency_key`: a retry after a lost answer does not notify twice.

OneSignal answers 200 even when it sent nothing: a subscription it does not know or that is
unsubscribed comes back in `errors` (`invalid_player_ids`, or "All included players are not
subscribed" with no notification id), which makes the device gone.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

import httpx
import orjson
from django.conf import settings

from campaigns.credentials import OneSignalConfig
from campaigns.providers import mobile_http
from campaigns.providers.base import Outcome, PushMessage, SendOutcome

if TYPE_CHECKING:
    from contacts.models import Device

# OneSignal: payloads are limited to 4096 bytes, "keep payloads under 3500 bytes", and the
# additional data to 2048.
MAX_PAYLOAD_BYTES = 3500
MAX_DATA_BYTES = 2048
MAX_TTL_SECONDS = 28 * 86400  # OneSignal's maximum
SERVICE = "OneSignal"
# A namespace of Beacon's own for the idempotency keys (uuid5 of the app, subscription, topic)
IDEMPOTENCY_NAMESPACE = uuid.UUID("7f6b0e4e-4d1c-5b8e-9a7e-0b3c1d2e4f50")
INVALID_ID_KEYS = ("invalid_player_ids", "invalid_subscription_ids")


def onesignal_notification(app_id: str, subscription_id: str, message: PushMessage) -> dict:
    notification: dict = {
        "app_id": app_id,
        "target_channel": "push",
        "include_subscription_ids": [subscription_id],
        **_texts(message),
        "ttl": min(message.ttl, MAX_TTL_SECONDS),
        "priority": 10 if message.urgency == "high" else 5,
    }
    if message.url:
        notification["url"] = message.url
    if message.image:
        notification["big_picture"] = message.image
        notification["ios_attachments"] = {"image": message.image}
        notification["chrome_web_image"] = message.image
    if message.buttons:
        notification["buttons"] = [{"id": b.id, "text": b.title} for b in message.buttons]
    if data := _data(message):
        notification["data"] = data
    if message.topic:
        notification["collapse_id"] = message.topic
        key = f"{app_id}:{subscription_id}:{message.topic}"
        notification["idempotency_key"] = str(uuid.uuid5(IDEMPOTENCY_NAMESPACE, key))
    return notification


def _data(message: PushMessage) -> dict:
    """The additional data: the buttons in full (OneSignal's own `buttons` have no url or
    action, and its SDK hands the app the tapped one's id), then `PushMessage.data`."""
    data = {}
    if message.buttons:
        data["buttons"] = [button.as_data() for button in message.buttons]
    return {**data, **message.data}


def _texts(message: PushMessage) -> dict:
    if not message.body:
        return {"contents": {"en": message.title}}
    return {"headings": {"en": message.title}, "contents": {"en": message.body}}


class OneSignalProvider:
    """Sends to `device.token` (a OneSignal subscription id). Safe to share across threads."""

    service = SERVICE

    def __init__(self, config: OneSignalConfig, *, timeout: float | None = None) -> None:
        self.config = config
        self.url = settings.ONESIGNAL_BASE_URL.rstrip("/") + "/notifications"
        self.timeout = timeout or settings.PUSH_TIMEOUT_SECONDS

    def payload_too_large(self, message: PushMessage) -> str | None:
        data = len(orjson.dumps(_data(message)))
        if data > MAX_DATA_BYTES:
            return f"the message's data is {data} bytes of JSON; OneSignal allows {MAX_DATA_BYTES}"
        shown = {**_texts(message), "url": message.url, "image": message.image}
        if message.buttons:
            shown["buttons"] = [{"id": b.id, "text": b.title} for b in message.buttons]
        size = data + len(orjson.dumps(shown))
        if size > MAX_PAYLOAD_BYTES:
            return f"the message is {size} bytes of JSON; OneSignal takes {MAX_PAYLOAD_BYTES}"
        return None

    def send(self, device: Device, message: PushMessage) -> SendOutcome:
        try:
            subscription_id = str(uuid.UUID(device.token))
        except ValueError:  # what OneSignal would refuse, without a request
            return SendOutcome(Outcome.GONE, error="not a OneSignal subscription id")
        if error := self.payload_too_large(message):
            return SendOutcome(Outcome.FAILED, error=error)
        body = orjson.dumps(onesignal_notification(self.config.app_id, subscription_id, message))
        headers = {
            "Authorization": f"Key {self.config.api_key}",
            "Content-Type": "application/json; charset=utf-8",
            "Accept": "application/json",
        }
        try:
            answer = mobile_http.post(self.url, content=body, headers=headers, timeout=self.timeout)
        except httpx.HTTPError as exc:
            return mobile_http.unreachable(SERVICE, exc)
        return response_outcome(answer, subscription_id=subscription_id)


def response_outcome(answer: mobile_http.Answer, *, subscription_id: str) -> SendOutcome:
    status = answer.status
    body = answer.json()
    body = body if isinstance(body, dict) else {}
    errors = body.get("errors")
    detail = f"{status}: {orjson.dumps(errors).decode()}" if errors else answer.detail()
    if status == 200:
        if _invalid(errors, subscription_id) or (not body.get("id") and errors):
            error = f"OneSignal subscription gone ({detail})"
            return SendOutcome(Outcome.GONE, error=error, status=status)
        if not body.get("id"):
            error = f"OneSignal created no notification ({detail})"
            return SendOutcome(Outcome.FAILED, error=error, status=status)
        return SendOutcome(Outcome.SENT, status=status, answer=answer.detail())
    if status in (401, 403):
        why = "OneSignal refused the REST API key: check the app's OneSignal credentials"
        return SendOutcome(Outcome.FAILED, error=f"{why} ({detail})", status=status)
    if status == 400:
        why = "OneSignal refused the notification (an app id it does not know?)"
        return SendOutcome(Outcome.FAILED, error=f"{why} ({detail})", status=status)
    return mobile_http.busy_or_unexpected(SERVICE, answer)


def _invalid(errors: object, subscription_id: str) -> bool:
    """Whether OneSignal's `errors` name the subscription as invalid."""
    if not isinstance(errors, dict):
        return False
    return any(
        isinstance(ids := errors.get(key), list) and subscription_id in ids
        for key in INVALID_ID_KEYS
    )
