"""What happens after an email is sent: opens (the pixel), clicks (the tracked links), the
unsubscribe page and the one-click header, and bounces (the mail server's refusal at send time,
or an ESP's report). The delivery's token (in every link of its email) is the only credential:
whoever has the email may unsubscribe its recipient, as with any unsubscribe link.

Each first happens once: the delivery's `opened_at`, `clicked_at`, `unsubscribed_at` and
`bounced_at` are set by conditional UPDATEs, and each first records its built-in event
(@EMAIL_OPENED, @EMAIL_CLICKED with the url, @EMAIL_UNSUBSCRIBED, @EMAIL_BOUNCED) on the
contact's timeline, where segments and triggers see them. A click also counts as an open (images are
often blocked). Clicks after the first still redirect but record nothing: the stats count
people who clicked, not clicks."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from campaigns.models import Delivery
from contacts.models import Contact
from contacts.services.email_subscription import contact_email_status_set
from events import catalog
from events.services.builtin import BuiltinEvent, events_record_builtin

EmailStatus = Contact.EmailStatus


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


def email_bounced(*, row: Delivery, reason: str, now: datetime) -> BuiltinEvent:
    """The address of a delivery was refused for good: mark the contact bounced (no more emails)
    and the delivery; return the @EMAIL_BOUNCED event for the caller to record (in its
    transaction, with the claim's other events)."""
    contact_email_status_set(
        contact_id=row.contact_id, status=EmailStatus.BOUNCED, via="bounce", at=now
    )
    _first(row, "bounced_at", now)
    return _event(row, catalog.EMAIL_BOUNCED, {"reason": reason[:200]}, now)


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
