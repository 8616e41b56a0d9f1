"""Reads on events and event types."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce, TruncHour

from contacts.models import App, Contact
from events.models import ContactEventStats, Event, EventType


def contact_event_list(*, contact: Contact) -> QuerySet[Event]:
    """A contact's timeline, newest first (the id breaks ties between events of the same time)."""
    return (
        Event.objects.filter(app_id=contact.app_id, contact=contact)
        .select_related("event_type")
        .order_by("-occurred_at", "-id")
    )


@dataclass
class TimelinePage:
    """One page of a contact's timeline and the cursors of its neighbours (None: no more)."""

    events: list[Event]
    newer: str | None
    older: str | None


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def contact_timeline_page(
    *,
    contact: Contact,
    event_name: str = "",
    before: str = "",
    after: str = "",
    size: int = 25,
) -> TimelinePage:
    """A page of `contact_event_list`, by keyset: the `size` events just older than the cursor
    `before`, or just newer than `after`, or the newest. Each page reads `size` + 1 rows along
    the (contact, -occurred_at) index however long the history is, where OFFSET would read every
    row of the pages before. An unreadable cursor reads as none (the newest page)."""
    events = contact_event_list(contact=contact)
    if event_name:
        # The per-contact statistics say at once whether the contact ever did it (else the
        # scan below would read the whole history to find nothing).
        done = ContactEventStats.objects.filter(contact=contact, event_type__name=event_name)
        event_type_id = done.values_list("event_type_id", flat=True).first()
        if event_type_id is None:
            return TimelinePage(events=[], newer=None, older=None)
        events = events.filter(event_type_id=event_type_id)
    newer_than = _cursor_position(after)
    if newer_than is not None:
        rows = list(_past(events.reverse(), newer_than, newer=True)[: size + 1])
        if rows:  # else nothing is newer: the newest page
            return _page(rows[:size][::-1], newer=len(rows) > size, older=True)
    older_than = _cursor_position(before)
    if older_than is not None:
        events = _past(events, older_than, newer=False)
    rows = list(events[: size + 1])
    return _page(rows[:size], newer=older_than is not None and bool(rows), older=len(rows) > size)


def timeline_cursor(event: Event) -> str:
    """The position of an event in a timeline: "<microseconds since 1970>.<id>"."""
    return f"{(event.occurred_at - _EPOCH) // _MICROSECOND}.{event.pk}"


def _cursor_position(cursor: str) -> tuple[datetime, int] | None:
    micros, _, event_id = cursor.partition(".")
    if not (micros.isdigit() and event_id.isdigit()):
        return None
    try:
        return _EPOCH + int(micros) * _MICROSECOND, int(event_id)
    except OverflowError:
        return None


def _past(events: QuerySet[Event], position: tuple[datetime, int], *, newer: bool) -> QuerySet:
    """The events beyond `position` in the (occurred_at, id) order, towards newer or older. The
    first bound alone is what an index range scan can use; the second breaks ties."""
    moment, event_id = position
    if newer:
        return events.filter(occurred_at__gte=moment).filter(
            Q(occurred_at__gt=moment) | Q(pk__gt=event_id)
        )
    return events.filter(occurred_at__lte=moment).filter(
        Q(occurred_at__lt=moment) | Q(pk__lt=event_id)
    )


def _page(rows: list[Event], *, newer: bool, older: bool) -> TimelinePage:
    return TimelinePage(
        events=rows,
        newer=timeline_cursor(rows[0]) if newer and rows else None,
        older=timeline_cursor(rows[-1]) if older and rows else None,
    )


def event_type_list(*, app: App) -> QuerySet[EventType]:
    """The app's event types with their attributes and, from the per-contact stats (which outlive
    retention), how many events ever happened and how many contacts did them."""
    stats = ContactEventStats.objects.filter(event_type=OuterRef("pk")).order_by()
    per_type = stats.values("event_type")
    return (
        EventType.objects.filter(app=app)
        .annotate(
            event_count=_subquery_count(per_type.annotate(total=Sum("count")).values("total")),
            contact_count=_subquery_count(per_type.annotate(total=Count("pk")).values("total")),
        )
        .prefetch_related("attributes")
        .order_by("name")
    )


def event_type_get(*, app: App, event_type_id: int) -> EventType | None:
    return event_type_list(app=app).filter(pk=event_type_id).first()


def event_type_segmentation_usage(*, app: App) -> dict[str, int]:
    """How many of the app's event types are enabled for segmentation, and the cap."""
    enabled = EventType.objects.filter(app=app, segmentation_enabled=True).count()
    return {
        "segmentation_enabled_count": enabled,
        "segmentation_limit": settings.SEGMENTATION_MAX_EVENTS,
    }


def segmentation_usage_per_app(*, apps: QuerySet[App]) -> list[dict]:
    """For each app, by name: how many of its event types are enabled for segmentation, the cap,
    and whether it is reached; one query for all the apps."""
    enabled = dict(
        EventType.objects.filter(app__in=apps, segmentation_enabled=True)
        .values("app")
        .annotate(n=Count("pk"))
        .values_list("app", "n")
        .order_by()
    )
    limit = settings.SEGMENTATION_MAX_EVENTS
    usage = []
    for app in apps.order_by("name"):
        count = enabled.get(app.pk, 0)
        usage.append({"app": app, "enabled": count, "limit": limit, "at_limit": count >= limit})
    return usage


def events_per_hour(
    *, apps: QuerySet[App], now: datetime, hours: int = 24
) -> tuple[list[datetime], dict[str, list[int]]]:
    """The apps' events per hour and event name, over the `hours` hours up to `now` (the first
    hour starts on the hour, so the window is a little shorter than `hours`).

    One GROUP BY in SQL over an indexed range: per event type, `(event_type, occurred_at)` of
    the event_type_time index; TruncHour is vendor SQL on SQLite and PostgreSQL alike."""
    first = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=hours - 1)
    slots = [first + timedelta(hours=n) for n in range(hours)]
    names = dict(EventType.objects.filter(app__in=apps).values_list("pk", "name"))
    rows = (
        Event.objects.filter(
            event_type_id__in=list(names), occurred_at__gte=first, occurred_at__lte=now
        )
        .annotate(hour=TruncHour("occurred_at"))
        .values("event_type_id", "hour")
        .annotate(n=Count("*"))
        .order_by()
    )
    index = {slot: n for n, slot in enumerate(slots)}
    counts: dict[str, list[int]] = {}
    for row in rows:  # several apps' types of one name add up
        per_hour = counts.setdefault(names[row["event_type_id"]], [0] * hours)
        per_hour[index[row["hour"]]] += row["n"]
    return slots, counts


def top_series(counts: dict[str, list[int]], *, top: int) -> dict[str, list[int]]:
    """The `top` names with the most events, then the rest summed as "other"."""
    totals = Counter({name: sum(per_hour) for name, per_hour in counts.items()})
    kept = [name for name, _ in totals.most_common(top)]
    series = {name: counts[name] for name in kept}
    rest = [per_hour for name, per_hour in counts.items() if name not in series]
    if rest:
        series["other"] = [sum(column) for column in zip(*rest, strict=True)]
    return series


def _subquery_count(queryset: QuerySet) -> Coalesce:
    return Coalesce(Subquery(queryset, output_field=IntegerField()), 0)
