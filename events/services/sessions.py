"""Sessions (@APP_OPEN), as WonderPush defines them.

A session starts when a contact is active after SESSION_GAP without activity (ingest), or clicks
a notification after CLICK_SESSION_GAP without (`session_start_by_click`, called by the open).
@APP_OPEN's subtype says how it started:
- direct: by the click on a notification (the open records it, with campaign_id and delivery_id);
- influenced: within INFLUENCE_WINDOW after a @NOTIFICATION_SENT to the contact, read from its
  per-contact stats (the last one sent; a session that starts before the last send, an event
  sent late, is natural even if an earlier send would have influenced it);
- natural: otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from contacts.services.activity import contact_session_start
from events import catalog
from events.models import ContactEventStats
from events.services.builtin import BuiltinEvent

SESSION_GAP = timedelta(minutes=30)
CLICK_SESSION_GAP = timedelta(minutes=15)
INFLUENCE_WINDOW = timedelta(hours=3)


def session_subtypes(*, app_id: int, starts: list[tuple[int | None, datetime]]) -> list[str]:
    """The subtype (influenced or natural) of each session start (contact id, when; a contact
    not stored yet has been sent nothing): one SELECT for the stored contacts, none without."""
    last_sent = _last_notification_sent(app_id, {c for c, _ in starts if c is not None})
    return [
        catalog.APP_OPEN_INFLUENCED
        if (sent := last_sent.get(contact_id)) is not None
        and timedelta(0) <= at - sent <= INFLUENCE_WINDOW
        else catalog.APP_OPEN_NATURAL
        for contact_id, at in starts
    ]


def _last_notification_sent(app_id: int, contact_ids: Iterable[int]) -> dict[int, datetime]:
    contact_ids = sorted(contact_ids)
    if not contact_ids:
        return {}
    return dict(
        ContactEventStats.objects.filter(
            event_type__app_id=app_id,
            event_type__name=catalog.NOTIFICATION_SENT,
            contact_id__in=contact_ids,
        ).values_list("contact_id", "last_at")
    )


def session_start_by_click(
    *, contact_id: int, campaign_id: int, delivery_id: int, at: datetime
) -> BuiltinEvent | None:
    """The @APP_OPEN (direct) a notification click at `at` starts, moving the contact's
    last-seen time to it; None when the contact was active in the CLICK_SESSION_GAP before.
    The caller records it (events_record_builtin) in the transaction of this call."""
    if not contact_session_start(contact_id=contact_id, at=at, gap=CLICK_SESSION_GAP):
        return None
    return BuiltinEvent(
        contact_id=contact_id,
        name=catalog.APP_OPEN,
        params={
            "subtype": catalog.APP_OPEN_DIRECT,
            "campaign_id": campaign_id,
            "delivery_id": delivery_id,
        },
        occurred_at=at,
        key=f"click:{delivery_id}",
    )
