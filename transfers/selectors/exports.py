"""Reads for exports: a segment's members, an app's contacts, and an app's events of a period, as
rows in pages of PAGE_SIZE, for a stream of any length in constant memory.

Why keyset pages (`WHERE id > last ORDER BY id LIMIT n`, one short query each) rather than one
query read through a server-side cursor: a download runs as slowly as its client reads, and a
cursor must live inside a transaction, so a slow or stalled client would hold a transaction open
on PostgreSQL for as long (keeping vacuum from cleaning the tables ingest writes all day, and an
idle-in-transaction timeout would cut the download), and on SQLite a read transaction that keeps
the WAL from being checkpointed. Each page here is its own autocommitted statement on an index
(the primary key; the membership's (segment, contact) constraint; events' occurred_at), so
nothing is held between pages and the cost per page stays the same at any offset.

What that gives up: the export is not one snapshot. A row written while it runs appears if its
key is past the last page read; a row deleted before its page is read is left out. For exports
of live data (segments refresh, contacts arrive) that is what a reader expects anyway.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q, QuerySet
from django.utils import timezone

from contacts.models import App, Contact
from events.models import Event, EventType
from segments.models import Segment, SegmentMembership

PAGE_SIZE = 2000

CONTACT_FIELDS = [
    "id",
    "external_id",
    "anonymous_id",
    "email",
    "email_status",
    "phone",
    "timezone",
    "language",
    "country",
    "created_at",
    "first_seen_at",
    "last_seen_at",
    "custom_fields",
]
MEMBER_FIELDS = [*CONTACT_FIELDS, "entered_at"]
EVENT_FIELDS = [
    "id",
    "event",
    "occurred_at",
    "received_at",
    "contact_id",
    "contact_external_id",
    "session_id",
    "params",
    "context",
]
# The columns read for each field, in the same order.
_CONTACT_COLUMNS = ["pk", *CONTACT_FIELDS[1:]]
_MEMBER_COLUMNS = ["contact_id", *(f"contact__{name}" for name in CONTACT_FIELDS[1:]), "entered_at"]
_EVENT_COLUMNS = [
    "pk",
    "event_type__name",
    "occurred_at",
    "received_at",
    "contact_id",
    "contact__external_id",
    "session_id",
    "params",
    "context",
]


@dataclass(frozen=True)
class ExportRows:
    """What an export writes: its field names, its rows as tuples in pages, and the stem of its
    file's name (`shop-contacts-20261203-1455`)."""

    fields: list[str]
    pages: Iterator[list[tuple]]
    stem: str


def contact_export_rows(*, app: App, page_size: int = PAGE_SIZE) -> ExportRows:
    """The app's contacts, by id."""
    contacts = Contact.objects.filter(app=app).values_list(*_CONTACT_COLUMNS)
    pages = _pages_by_id(contacts, key="pk", page_size=page_size)
    return ExportRows(CONTACT_FIELDS, pages, f"{app.tenant_id}-contacts-{_stamp()}")


def segment_member_export_rows(*, segment: Segment, page_size: int = PAGE_SIZE) -> ExportRows:
    """The segment's stored members (as of its last computation) with their contact's fields,
    by contact id: the membership's (segment, contact) constraint is the index each page reads,
    and a refresh that re-inserts memberships moves no member past the pages already read."""
    members = SegmentMembership.objects.filter(segment=segment).values_list(*_MEMBER_COLUMNS)
    pages = _pages_by_id(members, key="contact_id", page_size=page_size)
    stem = f"{segment.app.tenant_id}-segment-{segment.pk}-{_stamp()}"
    return ExportRows(MEMBER_FIELDS, pages, stem)


def event_export_rows(
    *,
    app: App,
    start: datetime,
    end: datetime,
    event_type: EventType | None = None,
    page_size: int = PAGE_SIZE,
) -> ExportRows:
    """The app's events with start <= occurred_at < end (of one type if given), oldest first.
    Paged by (occurred_at, id) rather than id alone: the period is a range of the occurred_at
    index (or of (event_type, occurred_at) for one type), and an id order would make each page
    read and sort the whole period again."""
    events = Event.objects.filter(app=app, occurred_at__gte=start, occurred_at__lt=end)
    if event_type is not None:
        events = events.filter(event_type=event_type)
    pages = _event_pages(events.values_list(*_EVENT_COLUMNS), page_size=page_size)
    name = f"-{event_type.name}" if event_type is not None else ""
    stem = f"{app.tenant_id}-events{name}-{start:%Y%m%d-%H%M%S}-{end:%Y%m%d-%H%M%S}"
    return ExportRows(EVENT_FIELDS, pages, stem)


def event_type_named(*, app: App, name: str) -> EventType | None:
    return EventType.objects.filter(app=app, name=name).first()


def _pages_by_id(rows: QuerySet, *, key: str, page_size: int) -> Iterator[list[tuple]]:
    """Pages of `rows` in `key` order, the key being each row's first column."""
    last = None
    while True:
        after = rows if last is None else rows.filter(**{f"{key}__gt": last})
        page = list(after.order_by(key)[:page_size])
        if page:
            yield page
        if len(page) < page_size:
            return
        last = page[-1][0]


def _event_pages(rows: QuerySet, *, page_size: int) -> Iterator[list[tuple]]:
    """Pages of event rows (id, name, occurred_at, ...) in (occurred_at, id) order."""
    position = None
    while True:
        after = rows
        if position is not None:
            moment, event_id = position
            # The >= alone is a range of the index; the OR then skips the ties already read.
            after = rows.filter(occurred_at__gte=moment).filter(
                Q(occurred_at__gt=moment) | Q(pk__gt=event_id)
            )
        page = list(after.order_by("occurred_at", "pk")[:page_size])
        if page:
            yield page
        if len(page) < page_size:
            return
        position = (page[-1][2], page[-1][0])


def _stamp() -> str:
    return f"{timezone.now():%Y%m%d-%H%M%S}"


def segment_among(*, apps: QuerySet[App], segment_id: int) -> Segment | None:
    """The segment if it belongs to one of `apps` (the admin's: those the user may see)."""
    return Segment.objects.filter(pk=segment_id, app__in=apps).select_related("app").first()
