"""What happens after an email is sent: opens (the pixel), clicks (the tracked links), the
unsubscribe page and the one-click header, and bounces (the mail server's refusal at send time,
or an ESP's report). The delivery's token (in every link of its email) is the only credential:
whoever has the email may unsubscribe its recipient, as with any unsubscribe link.

Each first happens once: the delivery's `opened_at`, `clicked_at`, `unsubscribed_at` and
`bounced_at` are set by conditional UPDATEs, and each first records its built-in event
(@EMAIL_OPENED, @EMAIL_CLICKED with the url, @EMAIL_UNSUBSCRIBED, @EMAIL_BOUNCED) on the
contact's timeline, where segments and triggers see them. A click also counts as an open (images are
often blocked). Clicks after the first still redirect but record nothing: the stats count
people who clicked, not clicks.

An ESP's reports (django-anymail's tracking webhooks, campaigns/handlers.py) take the same paths:
`email_esp_event` finds the delivery an ESP reports on and applies its delivery, bounce,
complaint, unsubscribe, open or click, each once."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from anymail.signals import AnymailTrackingEvent, EventType, RejectReason
from django.db import transaction
from django.utils import timezone

from campaigns.models import Delivery
from contacts.models import Contact
from contacts.services.email_subscription import contact_email_status_set
from events import catalog
from events.services.builtin import BuiltinEvent, events_record_builtin

EmailStatus = Contact.EmailStatus
logger = logging.getLogger(__name__)


def email_delivery_get(*, token: str) -> Delivery | None:
    """The email delivery with this token (its contact and campaign's app loaded), or None."""
    return (
        Delivery.objects.select_related("campaign__app", "contact")
        .filter(open_token=token, channel=Delivery.Channel.EMAIL)
        .first()
    )


def email_open(*, delivery: Delivery, now: datetime | None = None) -> bool:
    """Record the first open; True if this was it."""
    now = now or timezone.now()
    with transaction.atomic():
        first = _first(delivery, "opened_at", now)
        if first:
            _record(delivery, catalog.EMAIL_OPENED, {}, now)
    return first


def email_click(*, delivery: Delivery, url: str, now: datetime | None = None) -> bool:
    """Record the first click (and the open, if the pixel did not); True if this was it."""
    now = now or timezone.now()
    with transaction.atomic():
        events = []
        if _first(delivery, "opened_at", now):
            events.append(_event(delivery, catalog.EMAIL_OPENED, {}, now))
        first = _first(delivery, "clicked_at", now)
        if first:
            events.append(_event(delivery, catalog.EMAIL_CLICKED, {"url": url[:2000]}, now))
        if events:
            events_record_builtin(app=delivery.campaign.app, events=events)
    return first


def email_unsubscribe(*, delivery: Delivery, via: str, now: datetime | None = None) -> bool:
    """Unsubscribe the delivery's contact from emails (`via`: "link" or "one-click"); True if
    it was subscribed. The delivery that led to it is marked, for its campaign's stats."""
    now = now or timezone.now()
    with transaction.atomic():
        changed = contact_email_status_set(
            contact_id=delivery.contact_id,
            status=EmailStatus.UNSUBSCRIBED,
            via=via,
            at=now,
            self_service=True,
        )
        if changed:
            _first(delivery, "unsubscribed_at", now)
            _record(delivery, catalog.EMAIL_UNSUBSCRIBED, {"subtype": via}, now)
    return changed


def email_resubscribe(*, delivery: Delivery, now: datetime | None = None) -> bool:
    """Subscribe again a contact who unsubscribed (never one whose address bounced or who
    complained: contacts/services/email_subscription.py); True if it did."""
    return contact_email_status_set(
        contact_id=delivery.contact_id,
        status=EmailStatus.SUBSCRIBED,
        via="link",
        at=now or timezone.now(),
        self_service=True,
    )


def email_complained(*, delivery: Delivery, now: datetime | None = None) -> bool:
    """The recipient marked the email as spam (an ESP's complaint report): no more emails to the
    contact, whatever its status was, and never again through a resubscribe link; the delivery
    counts as an unsubscribe of its campaign (@EMAIL_UNSUBSCRIBED, subtype "complaint"). True
    if the contact had not complained yet."""
    now = now or timezone.now()
    with transaction.atomic():
        changed = contact_email_status_set(
            contact_id=delivery.contact_id, status=EmailStatus.COMPLAINED, via="complaint", at=now
        )
        if changed:
            _first(delivery, "unsubscribed_at", now)
            _record(delivery, catalog.EMAIL_UNSUBSCRIBED, {"subtype": "complaint"}, now)
    return changed


def email_bounced(*, row: Delivery, reason: str, now: datetime) -> BuiltinEvent:
    """The address of a delivery was refused for good: mark the contact bounced (no more emails)
    and the delivery; return the @EMAIL_BOUNCED event for the caller to record (in its
    transaction, with the claim's other events)."""
    contact_email_status_set(
        contact_id=row.contact_id, status=EmailStatus.BOUNCED, via="bounce", at=now
    )
    _first(row, "bounced_at", now)
    return _event(row, catalog.EMAIL_BOUNCED, {"reason": reason[:200]}, now)


# An ESP's reports ----------------------------------------------------------------------------
# Refusals that say the address itself is unusable (bad, bounced before, or on the ESP's
# suppression list after a complaint or an unsubscribe). The others (a blocked sender domain,
# the ESP's policy, a message it could not build) are no fault of the contact's: they are logged
# for the operator and change no contact.
ADDRESS_REFUSALS = {
    RejectReason.INVALID,
    RejectReason.BOUNCED,
    RejectReason.TIMED_OUT,
    RejectReason.SPAM,
    RejectReason.UNSUBSCRIBED,
}
# ESPs whose "bounced" also reports soft bounces (a full mailbox, a temporary block), told apart
# only by their own fields (anymail keeps them in `esp_event`): a soft bounce must not stop
# emails to the address for good. The others report them as "deferred".
SOFT_BOUNCES: dict[str, Callable[[dict], bool]] = {
    "Amazon SES": lambda raw: raw.get("bounce", {}).get("bounceType") != "Permanent",
    "Brevo": lambda raw: raw.get("event") == "soft_bounce",
    "MailerSend": lambda raw: raw.get("data", {}).get("type") == "soft_bounced",
    "Mailjet": lambda raw: not raw.get("hard_bounce", True),
    "Mandrill": lambda raw: raw.get("event") == "soft_bounce",
    "Postmark": lambda raw: raw.get("Type") == "SoftBounce",
    "Resend": lambda raw: raw.get("data", {}).get("bounce", {}).get("type") == "Transient",
    "SendGrid": lambda raw: raw.get("type") == "blocked",
    "SendinBlue": lambda raw: raw.get("event") == "soft_bounce",
    # bounce classes 10 (invalid recipient) and 30 (no such recipient) are the hard ones
    "SparkPost": lambda raw: (
        raw.get("msys", {}).get("message_event", {}).get("bounce_class") not in ("10", "30")
    ),
}


def email_esp_event(*, event: AnymailTrackingEvent, esp_name: str) -> bool:
    """Apply an ESP's report on one of Beacon's emails (django-anymail's normalized tracking
    event) to its delivery; True if it changed anything.

    1. The delivery: the `delivery_id` Beacon sent in the message's metadata (ESPs echo it), else
       the ESP's message id recorded at send time; none, or one sent to another address than the
       report names (another application's email on the same ESP account), and it is ignored.
    2. delivered: the delivery's `delivered_at`; a hard bounce, or a refusal of the address: the
       send-time bounce (the contact bounced, @EMAIL_BOUNCED); a complaint: `email_complained`;
       an unsubscribe through the ESP: as by the one-click header (subtype "esp"); an open or a
       click: as by the pixel or a tracked link. Soft bounces and deferrals are only logged (the
       ESP tries again), the other reports ignored.

    Each applies once per delivery, so a report posted again (ESPs retry) changes nothing."""
    delivery = _esp_delivery(event)
    if delivery is None:
        return False
    now = event.timestamp or timezone.now()
    kind = event.event_type
    if kind == EventType.DELIVERED:
        return _first(delivery, "delivered_at", now)
    if kind == EventType.OPENED:
        return email_open(delivery=delivery, now=now)
    if kind == EventType.CLICKED:
        return email_click(delivery=delivery, url=event.click_url or "", now=now)
    if kind == EventType.COMPLAINED:
        return email_complained(delivery=delivery, now=now)
    if kind == EventType.UNSUBSCRIBED:
        return email_unsubscribe(delivery=delivery, via="esp", now=now)
    if _address_refused(event, esp_name):
        return _esp_bounce(delivery, _esp_reason(event, esp_name), now)
    if kind in (EventType.BOUNCED, EventType.DEFERRED):  # the ESP tries again
        logger.info("email: delivery %s: %s", delivery.pk, _esp_reason(event, esp_name))
    elif kind in (EventType.REJECTED, EventType.FAILED):  # the sender's or the message's fault
        logger.warning("email: delivery %s: %s", delivery.pk, _esp_reason(event, esp_name))
    return False


def _esp_delivery(event: AnymailTrackingEvent) -> Delivery | None:
    emails = Delivery.objects.select_related("campaign__app").filter(channel=Delivery.Channel.EMAIL)
    delivery_id = str((event.metadata or {}).get("delivery_id", ""))
    if delivery_id.isdigit():
        delivery = emails.filter(pk=int(delivery_id)).first()
    elif event.message_id:
        delivery = emails.filter(message_id=str(event.message_id)).first()
    else:
        return None
    recipient = (event.recipient or "").lower()
    if delivery is not None and recipient and delivery.address:
        if recipient != delivery.address.lower():
            return None  # the same id, another email: not one of ours
    return delivery


def _address_refused(event: AnymailTrackingEvent, esp_name: str) -> bool:
    """A hard bounce, or the ESP's refusal to send to this address."""
    if event.event_type == EventType.BOUNCED:
        soft = SOFT_BOUNCES.get(esp_name)
        return soft is None or not soft(event.esp_event or {})
    return event.event_type == EventType.REJECTED and event.reject_reason in ADDRESS_REFUSALS


def _esp_reason(event: AnymailTrackingEvent, esp_name: str) -> str:
    detail = " ".join(str(event.mta_response or event.description or "").split())
    reason = f"{esp_name} {event.event_type}"
    if event.reject_reason:
        reason += f" ({event.reject_reason})"
    return f"{reason}: {detail}" if detail else reason


def _esp_bounce(delivery: Delivery, reason: str, now: datetime) -> bool:
    """The send-time bounce, for a delivery that was sent: it stays sent."""
    with transaction.atomic():
        bounced = email_bounced(row=delivery, reason=reason, now=now)
        return events_record_builtin(app=delivery.campaign.app, events=[bounced]) == 1


def _first(delivery: Delivery, field: str, now: datetime) -> bool:
    updated = Delivery.objects.filter(pk=delivery.pk, **{f"{field}__isnull": True}).update(
        **{field: now}
    )
    return updated == 1


def _event(delivery: Delivery, name: str, params: dict, now: datetime) -> BuiltinEvent:
    return BuiltinEvent(
        contact_id=delivery.contact_id,
        name=name,
        params={"campaign_id": delivery.campaign_id, "delivery_id": delivery.pk, **params},
        occurred_at=now,
        key=f"{delivery.pk}:{name}",
    )


def _record(delivery: Delivery, name: str, params: dict, now: datetime) -> None:
    events_record_builtin(app=delivery.campaign.app, events=[_event(delivery, name, params, now)])
