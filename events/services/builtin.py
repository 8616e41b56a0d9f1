"""Recording Beacon's own events (@NOTIFICATION_SENT, @OPT_OUT of an invalidated device, ...)
for contacts Beacon already knows: no validation, identity or device work, just the rows the
ingest pipeline would write (events, per-contact stats) in a few set-based statements, so that a
broadcast can record thousands of them cheaply.

They are stored, told to the in-transaction subscribers (events/hooks.py) and announced like any
event, so segments and campaign triggers can use them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

import orjson
from django.db import transaction
from django.utils import timezone

from common.db.executor import pipeline
from contacts.models import App
from events.hooks import StoredEvent, events_stored
from events.models import Event, EventType
from events.services import bulk_sql
from events.services.event_types import event_types_seen
from events.services.stats import EventStats
from events.signals import events_ingested


@dataclass(frozen=True)
class BuiltinEvent:
    contact_id: int
    name: str  # an @ name from events.catalog
    params: dict
    occurred_at: datetime
    key: str  # what makes it unique: the same key twice stores one event (retries)


def events_record_builtin(*, app: App, events: list[BuiltinEvent]) -> int:
    """Store the events (skipping keys already stored); return how many were new."""
    if not events:
        return 0
    now = timezone.now()
    unique = {(event.name, event.key): event for event in events}.values()
    with transaction.atomic():
        types = _event_types(app, {event.name for event in unique}, now)
        rows = {_fingerprint(app, event): (event, types[event.name].pk) for event in unique}
        with pipeline():  # the writes after the INSERT travel with the block's closing sync
            inserted = bulk_sql.insert_events(
                [_row(app, fp, event, type_id, now) for fp, (event, type_id) in rows.items()]
            )
            stored = [(event_id, rows[fingerprint][0]) for event_id, fingerprint, *_ in inserted]
            _write_stats(stored, types)
            events_stored(app.pk, [StoredEvent(i, c, t) for i, _, c, t in inserted], now)
        if stored:
            payload = {
                "app": app,
                "event_ids": [event_id for event_id, _ in stored],
                "contact_ids": sorted({event.contact_id for _, event in stored}),
                "event_type_names": sorted({event.name for _, event in stored}),
            }
            transaction.on_commit(
                lambda: events_ingested.send(sender=Event, **payload), robust=True
            )
    return len(stored)


def _event_types(app: App, names: set[str], now: datetime) -> dict[str, EventType]:
    types = {t.name: t for t in EventType.objects.filter(app=app, name__in=names)}
    missing = names - set(types)
    if missing:
        EventType.objects.bulk_create(
            [
                EventType(app=app, name=n, is_system=True, first_seen_at=now, last_seen_at=now)
                for n in sorted(missing)
            ],
            ignore_conflicts=True,  # a concurrent recorder may register the same name
        )
        types = {t.name: t for t in EventType.objects.filter(app=app, name__in=names)}
    # as ingest does: the catalog's built-ins show when they last happened, and ingest reads
    # whether the app ever sent a push from @NOTIFICATION_SENT's (events/services/sessions.py)
    event_types_seen(types=types.values(), now=now)
    return types


def _fingerprint(app: App, event: BuiltinEvent) -> str:
    return hashlib.sha256(f"{app.pk}\x1f{event.name}\x1f{event.key}".encode()).hexdigest()


def _row(app: App, fingerprint: str, event: BuiltinEvent, type_id: int, now: datetime) -> tuple:
    return (
        app.pk,
        event.contact_id,
        type_id,
        event.occurred_at,
        now,
        orjson.dumps(event.params).decode(),
        "{}",
        "",
        fingerprint,
    )


def _write_stats(stored, types) -> None:
    stats = EventStats()
    for _, event in stored:
        stats.add(event.contact_id, types[event.name].pk, event.occurred_at, event.params)
    stats.write()
