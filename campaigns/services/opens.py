"""Opens: the service worker (or the app) reports a click with the delivery's open token (carried
in the push payload; it is the only credential a notification has) and, when an action button
was clicked, the button's id.

A track_event button's click also records the button's event on the contact through ingest, as
if the app had tracked it: typed params, the event type and attributes registered, the stats,
and the trigger marks of event-triggered campaigns (ingest's `events_stored` hook), so segments
and triggers see it like any tracked event.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from campaigns.buttons import TRACK_EVENT, button_of
from campaigns.models import Delivery
from events import catalog
from events.services.builtin import BuiltinEvent, events_record_builtin
from events.services.ingest import events_ingest

# context.source of a button's event on the contact's timeline
BUTTON_EVENT_SOURCE = "notification_button"
logger = logging.getLogger(__name__)


def delivery_open(*, token: str, button: str = "", now: datetime | None = None) -> Delivery | None:
    """Record the first open of the delivery with this token (with `button_id` when a button was
    clicked); None if no delivery has it. Reports after the first change nothing (a double
    click, a retried report), except that a track_event button's event is recorded once per
    delivery and button, whichever report comes first. ValidationError {"button": [...]} for
    an id that is not one of the campaign's buttons (nothing is recorded)."""
    now = now or timezone.now()
    delivery = (
        Delivery.objects.select_related("campaign__app", "contact").filter(open_token=token).first()
    )
    if delivery is None:
        return None
    clicked = _button(delivery, button)
    with transaction.atomic():
        first = Delivery.objects.filter(pk=delivery.pk, opened_at__isnull=True).update(
            opened_at=now
        )
        if first:
            params = {"campaign_id": delivery.campaign_id, "delivery_id": delivery.pk}
            if clicked:
                params["button_id"] = clicked["id"]
            event = BuiltinEvent(
                contact_id=delivery.contact_id,
                name=catalog.NOTIFICATION_OPENED,
                params=params,
                occurred_at=now,
                key=str(delivery.pk),
            )
            events_record_builtin(app=delivery.campaign.app, events=[event])
    if clicked and clicked["action"] == TRACK_EVENT:
        # Ingest's own transaction, after the open's: should it fail, the report fails and its
        # retry records the event (the open, already recorded, is not recorded again).
        _track_button_event(delivery, clicked, now)
    delivery.refresh_from_db(fields=["opened_at"])
    return delivery


def _button(delivery: Delivery, button_id: str) -> dict | None:
    if not button_id:
        return None
    button = button_of(delivery.campaign.buttons, button_id)
    if button is None:
        raise ValidationError({"button": [f"{button_id!r} is not a button of this notification"]})
    return button


def _track_button_event(delivery: Delivery, button: dict, now: datetime) -> None:
    """Record the button's event on the delivery's contact. Its event_id makes it one event per
    delivery and button: a retried report, or a second click, is a duplicate ingest skips."""
    payload = {
        "event_name": button["event"],
        "event_id": f"beacon:button:{delivery.pk}:{button['id']}",
        "params": {"campaign_id": delivery.campaign_id, "delivery_id": delivery.pk},
        "context": {"source": BUTTON_EVENT_SOURCE, "button_id": button["id"]},
    }
    # The contact is forced (no identity resolution; no session or last-seen change, as for
    # the open itself, which is Beacon's record rather than the app's activity).
    [result] = events_ingest(
        app=delivery.campaign.app, payloads=[payload], contact=delivery.contact, received_at=now
    )
    if result.errors:  # the name was checked when the campaign was saved: not expected
        logger.warning(
            "opens: button %r of campaign %s could not record %r: %s",
            button["id"],
            delivery.campaign_id,
            button["event"],
            result.errors,
        )
