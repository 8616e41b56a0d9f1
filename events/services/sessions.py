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

from common.db.dialect import dialect
from common.db.executor import Read, read_together
from common.db.rows import from_row, select_list
from contacts.services.activity import contact_session_start
from events import catalog
from events.models import ContactEventStats
from events.services.builtin import BuiltinEvent

SESSION_GAP = timedelta(minutes=30)
CLICK_SESSION_GAP = timedelta(minutes=15)
INFLUENCE_WINDOW = timedelta(hours=3)


def session_subtypes(
    *, notification_type_id: int | None, starts: list[tuple[int | None, datetime]]
) -> list[str]:
    """The subtype (influenced or natural) of each session start (contact id, when; a contact
    not stored yet has been sent nothing). `notification_type_id`: the app's @NOTIFICATION_SENT
    event type, None if it has none (it never sent a push: every session is natural, and
    nothing is read). Otherwise one SELECT for the stored contacts."""
    contact_ids = {c for c, _ in starts if c is not None}
    last_sent = (
        _last_notification_sent(notification_type_id, contact_ids)
        if notification_type_id is not None and contact_ids
        else {}
    )
    return [
        catalog.APP_OPEN_INFLUENCED
        if (sent := last_sent.get(contact_id)) is not None
        and timedelta(0) <= at - sent <= INFLUENCE_WINDOW
        else catalog.APP_OPEN_NATURAL
        for contact_id, at in starts
    ]


def _last_notification_sent(type_id: int, contact_ids: Iterable[int]) -> dict[int, datetime]:
    # Raw SQL as ingest's other reads (its text the same whatever the ids, a prepared statement
    # on PostgreSQL): the ORM's compilation of this query was a fifth of a single tracked event's
    # instructions when its session started (bench/instructions.py, docs/performance.md). By
    # the type's id (ingest's schema read has it): no join.
    condition, params = dialect().any_of("s.contact_id", "bigint", sorted(contact_ids))
    sql = (
        f"SELECT {select_list(ContactEventStats, 's')} FROM {ContactEventStats._meta.db_table} s "
        f"WHERE s.event_type_id = %s AND {condition}"
    )
    return read_together(Read(sql, [type_id, *params], _last_at_by_contact))[0]


def _last_at_by_contact(rows: list[tuple]) -> dict[int, datetime]:
    stats = (from_row(ContactEventStats, row) for row in rows)
    return {row.contact_id: row.last_at for row in stats}


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
