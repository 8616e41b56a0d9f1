"""The interface every push channel implements (web push today; FCM, APNs or email later).

The send task builds a `PushMessage`, asks the device's provider to `send` it and acts on the
`SendOutcome`: sent, gone (invalidate the device), retry (after `retry_after` or
`backoff_seconds(attempt)`, at most `MAX_ATTEMPTS` attempts) or failed (permanent).
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from contacts.models import Device

URGENCIES = ("very-low", "low", "normal", "high")  # RFC 8030 section 5.3
# RFC 8030 section 5.4: at most 32 characters of the URL-safe base64 alphabet.
TOPIC_RE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")

# Retries of temporary failures: attempt n waits a random time in [0, min(cap, base * 2**(n-1))]
# ("full jitter": retries of a failed broadcast spread out instead of arriving together).
MAX_ATTEMPTS = 8  # the first send plus 7 retries, about 18 minutes apart in total on average
BACKOFF_BASE_SECONDS = 10.0
BACKOFF_CAP_SECONDS = 900.0


@dataclass(frozen=True)
class PushButton:
    """An action button as the device gets it, its title and url rendered for the contact
    (campaigns/buttons.py has the campaign's shape). The event a track_event button records is
    not sent: the open report names the button, and Beacon records the event."""

    id: str
    title: str
    action: str  # "open_url" or "track_event"
    url: str = ""  # open_url only

    def as_data(self) -> dict[str, str]:
        """The button in the payloads' `buttons` (FCM, APNs, OneSignal's data)."""
        data = {"id": self.id, "title": self.title, "action": self.action}
        if self.url:
            data["url"] = self.url
        return data


@dataclass(frozen=True)
class PushMessage:
    """What a notification shows, and how the push service should treat it.

    `data` travels in the payload too (an open-tracking token, the open-report URL, ...);
    `buttons` are at most two action buttons, each provider sending them its own way.
    Raises ValueError for an urgency, topic or ttl the push protocol does not allow.
    """

    title: str
    body: str = ""
    url: str = ""
    icon: str = ""
    image: str = ""
    ttl: int = 86400  # seconds the push service keeps the message for an offline device
    urgency: str = "normal"
    topic: str | None = None  # a newer message with the same topic replaces an undelivered one
    data: dict[str, Any] = field(default_factory=dict)
    buttons: tuple[PushButton, ...] = ()

    def __post_init__(self) -> None:
        if self.urgency not in URGENCIES:
            raise ValueError(f"urgency must be one of {', '.join(URGENCIES)}")
        if self.topic is not None and not TOPIC_RE.match(self.topic):
            raise ValueError("topic must be 1 to 32 characters of A-Z, a-z, 0-9, '-' and '_'")
        if self.ttl < 0:
            raise ValueError("ttl must not be negative")


class Outcome(StrEnum):
    SENT = "sent"
    # the subscription no longer exists, or is one Beacon must not connect to (a non-public
    # address): invalidate the device, never retry
    GONE = "gone"
    RETRY = "retry"  # temporary: try again later
    LATER = "later"  # not sent, by Beacon's own rule (an email send rate): due again, no attempt
    FAILED = "failed"  # permanent for this message (too large, misconfigured, refused)


@dataclass(frozen=True)
class SendOutcome:
    kind: Outcome
    retry_after: float | None = None  # seconds the push service asked us to wait (RETRY only)
    error: str = ""
    status: int | None = None  # the HTTP status, when there was a response
    answer: str = ""  # what an accepting service answered, verbatim (a test push shows it)


class Provider(Protocol):
    service: str  # what the admin's pages call it ("FCM", "web push", ...)

    def send(self, device: Device, message: PushMessage) -> SendOutcome: ...

    def payload_too_large(self, message: PushMessage) -> str | None:
        """An error text if the message cannot be sent for its size, else None."""
        ...


def backoff_seconds(attempt: int) -> float:
    """The wait before retrying after failed attempt number `attempt` (1 for the first send)."""
    doublings = min(max(attempt - 1, 0), 32)  # past the cap anyway; keeps the float finite
    window = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2**doublings)
    return random.uniform(0, window)
