"""Opens: the service worker (or the app) reports a click with the delivery's open token (carried
in the push payload; it is the only credential a notification has) and, when an action button
was clicked, the button's id.

A track_event button's click also records the button's event on the contact through ingest, as
if the app had tracked it: typed params, the event type and attributes registered, the stats,
and the trigger marks of event-triggered campaigns (ingest's `events_stored` hook), so segments
and triggers see it like any tracked event.

An app may also report the open as an event it tracks (`deliveries_open_reported`, called after
ingest commits): Customer.io's `opened` with its CIO-Delivery-ID and CIO-Delivery-Token params,
or the catalog's `push_opened` with `delivery_id` and `token`. It opens the delivery as the
click report does, once whichever comes first.

The first open is activity of the contact: after 15 quiet minutes it starts a session, recorded
as @APP_OPEN with subtype direct (events/services/sessions.py).
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Sequence
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from campaigns.buttons import TRACK_EVENT, button_of
from campaigns.models import Delivery
from contacts.models import App
from events import catalog
from events.models import Event
from events.services.builtin import BuiltinEvent, events_record_builtin
from events.services.ingest import events_ingest
from events.services.sessions import session_start_by_click

# context.source of a button's event on the contact's timeline
BUTTON_EVENT_SOURCE = "notification_button"
# Events that report an open, by name: the params holding the delivery id and the token.
# Customer.io's token is the device's; push_opened's the open token of the push payload (then
# enough alone) or the device's.
OPEN_EVENTS = {
    "opened": ("CIO-Delivery-ID", "CIO-Delivery-Token"),
    "push_opened": ("delivery_id", "token"),
}
logger = logging.getLogger(__name__)


def delivery_open(*, token: str, button: str = "", now: datetime | None = None) -> Delivery | None:
    """Record the first open of the delivery with this token (with `button_id` when a button was
    clicked); None if no delivery has it. Reports after the first change nothing (a double
    click, a retried report), except that a track_event button's event is recorded once per
    delivery and button, whichever report comes first. ValidationError {"button": [...]} for
    an id that is not one of the campaign's buttons (nothing is recorded)."""
    now = now or timezone.now()
    pushes = Delivery.objects.exclude(channel=Delivery.Channel.EMAIL)  # emails: email_tracking
    delivery = pushes.select_related("campaign__app", "contact").filter(open_token=token).first()
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
            # The click starts a session (@APP_OPEN direct) after 15 quiet minutes, not 30.
            session = session_start_by_click(
                contact_id=delivery.contact_id,
                campaign_id=delivery.campaign_id,
                delivery_id=delivery.pk,
                at=now,
            )
            events = [event, session] if session else [event]
            events_record_builtin(app=delivery.campaign.app, events=events)
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
    # The contact is forced (no identity resolution; no session or last-seen change: the
    # click's session, if it starts one, is the open's @APP_OPEN direct).
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


def deliveries_open_reported(*, app: App, event_ids: Sequence[int]) -> None:
    """Open the deliveries that the app's just stored events report opened (OPEN_EVENTS): one of
    the app's deliveries whose open token, or whose device's token, is the event's token, at the
    event's time. Any other report (no such delivery, another app's, a wrong token) opens
    nothing; the event stays stored as any event. The open itself is `delivery_open`'s, so a
    repeat or the service worker's click report after it records nothing again."""
    reports = Event.objects.filter(
        app=app, pk__in=event_ids, event_type__name__in=OPEN_EVENTS
    ).values_list("event_type__name", "params", "occurred_at")
    for name, params, occurred_at in reports:
        id_param, token_param = OPEN_EVENTS[name]
        token = params.get(token_param)
        if not isinstance(token, str) or not token:
            continue
        delivery = _reported_delivery(app, _delivery_id(params.get(id_param)), token)
        if delivery is not None:
            delivery_open(token=delivery.open_token, now=occurred_at)


def _reported_delivery(app: App, delivery_id: int | None, token: str) -> Delivery | None:
    deliveries = Delivery.objects.filter(app=app).select_related("device")
    if delivery_id is None:  # only an open token names its delivery alone
        return deliveries.filter(open_token=token).first()
    delivery = deliveries.filter(pk=delivery_id).first()
    if delivery is None:
        return None
    known = [delivery.open_token, delivery.device.token if delivery.device else ""]
    # The open token is a credential: compared in constant time.
    return delivery if any(_same(token, value) for value in known if value) else None


def _delivery_id(value) -> int | None:
    """A delivery id as a number or as digits (the param's type is the app's first value's)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 19:
        return int(value)
    return None


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())
