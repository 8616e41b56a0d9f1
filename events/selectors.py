"""Reads on events and event types."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Literal

from django.conf import settings
from django.db import connection, transaction
from django.db.models import (
    CharField,
    Count,
    Expression,
    IntegerField,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
)
from django.db.models.functions import Cast, Coalesce, Trunc, TruncHour

from common.db.dialect import dialect
from contacts.models import App, Contact
from events.models import ContactEventStats, Event, EventType

# Built-in events (@APP_OPEN, @NOTIFICATION_SENT, ...), Beacon's to record: theirs alone are
# the names that start with it (events/validation.py refuses it from clients but for the few
# built-ins a client may report).
BUILT_IN_PREFIX = "@"


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
    built_in: bool = True,
) -> TimelinePage:
    """A page of `contact_event_list`, by keyset: the `size` events just older than the cursor
    `before`, or just newer than `after`, or the newest. Each page reads `size` + 1 rows along
    the (contact, -occurred_at) index however long the history is, where OFFSET would read every
    row of the pages before. An unreadable cursor reads as none (the newest page).
    `built_in=False` leaves out Beacon's own @ events, unless `event_name` asks for one."""
    events = contact_event_list(contact=contact)
    if not (built_in or event_name):
        events = events.exclude(event_type__name__startswith=BUILT_IN_PREFIX)
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
    *, apps: QuerySet[App], now: datetime, hours: int = 24, built_in: bool = True
) -> tuple[list[datetime], dict[str, list[int]]]:
    """The apps' events per hour and event name, over the `hours` hours up to `now` (the first
    hour starts on the hour, so the window is a little shorter than `hours`); without Beacon's
    own @ events if `built_in` is False (they are not counted at all, not merely hidden).

    One GROUP BY in SQL over an indexed range: per event type, `(event_type, occurred_at)` of
    the event_type_time index; TruncHour is vendor SQL on SQLite and PostgreSQL alike."""
    first = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=hours - 1)
    slots = [first + timedelta(hours=n) for n in range(hours)]
    types = EventType.objects.filter(app__in=apps)
    if not built_in:
        types = types.exclude(name__startswith=BUILT_IN_PREFIX)
    names = dict(types.values_list("pk", "name"))
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


@dataclass(frozen=True)
class BucketAggregate:
    """The events of one time bucket (and one split value): how many, and the count, sum, min
    and max of the values read as numbers (`values` counts the events that had one)."""

    bucket: datetime  # the bucket's start, naive, in the time zone asked for
    group: str | None  # a top split value; None: no split, or every other value
    events: int
    values: int
    total: float
    minimum: float | None
    maximum: float | None


def event_aggregates(
    *,
    event_type_id: int,
    start: datetime,
    end: datetime,
    bucket: Literal["hour", "day", "week"],
    tz: tzinfo,
    value: Expression | None = None,
    split: Expression | None = None,
    top: int = 5,
    rank_by: Literal["events", "total"] = "events",
    contacts: QuerySet | None = None,
) -> list[BucketAggregate]:
    """The events of one type from `start` (included) to `end` (excluded), grouped by time
    bucket (hours, days or weeks from Monday, of the clock in `tz`), in one statement.

    `value` and `split` are expressions over the event row supplied by the caller (params read
    with a type guard: a value of another JSON type reads as NULL, so it is left out of the
    aggregates, and an event without a split value counts as "other"). With `split`, the `top`
    values with the most events (or the highest `total`) keep their own rows; the rest are added
    up in rows of group None. `contacts` (a queryset of contact ids) keeps only their events.

    The range is read from the event_type_time index (event_type, occurred_at, ...), so the scan
    is bounded by the type and period. The bucket is Django's Trunc (its vendor SQL on both
    databases), cast to text: "YYYY-MM-DD HH:MM:SS" on both, parsed the same way here."""
    events = Event.objects.filter(
        event_type_id=event_type_id, occurred_at__gte=start, occurred_at__lt=end
    )
    if contacts is not None:
        events = events.filter(contact_id__in=contacts)
    events = events.annotate(b=Cast(Trunc("occurred_at", bucket, tzinfo=tz), CharField()))
    keys = ["b"]
    if split is not None:
        events, keys = events.annotate(g=split), ["b", "g"]
    measures = {"n": Count("*")}
    if value is not None:
        measures.update(nv=Count(value), s=Sum(value), mn=Min(value), mx=Max(value))
    grouped = events.values(*keys).annotate(**measures).order_by()
    if split is None:
        rows = [(r["b"], None, *_measures(r)) for r in grouped]
    else:
        by_total = rank_by == "total" and value is not None
        rows = _top_groups(grouped, top=top, rank="s" if by_total else "n")
    return [
        BucketAggregate(
            bucket=datetime.fromisoformat(b),
            group=group,
            # PostgreSQL's SUM of counts is numeric (a Decimal): sums of the groups past the top
            events=int(n),
            values=int(nv or 0),
            total=float(s or 0),
            minimum=mn,
            maximum=mx,
        )
        for b, group, n, nv, s, mn, mx in rows
    ]


def _measures(row: dict) -> tuple:
    return row["n"], row.get("nv"), row.get("s"), row.get("mn"), row.get("mx")


def _top_groups(grouped: QuerySet, *, top: int, rank: str) -> list[tuple]:
    """Rows (bucket, group, n, nv, s, mn, mx) of `grouped` (one row per bucket and split value)
    with the values past the `top` ranked by `rank` merged into group NULL, in SQL: only about
    buckets x (top + 1) rows travel, whatever the number of distinct values. Window functions
    and CTEs read the same on PostgreSQL and SQLite; ties rank by value, for a stable answer."""
    sql, params = grouped.query.sql_with_params()
    has_values = "s" in grouped.query.annotations
    numbers = "SUM(nv), SUM(s), MIN(mn), MAX(mx)" if has_values else "NULL, NULL, NULL, NULL"
    statement = (
        f"WITH grouped AS ({sql}), ranked AS ("
        f"SELECT g, ROW_NUMBER() OVER (ORDER BY SUM({rank}) DESC, g) AS place "
        "FROM grouped WHERE g IS NOT NULL GROUP BY g) "
        f"SELECT grouped.b, ranked.g, SUM(n), {numbers} FROM grouped "
        "LEFT JOIN ranked ON ranked.g = grouped.g AND ranked.place <= %s "
        "GROUP BY grouped.b, ranked.g"
    )
    with transaction.atomic(), connection.cursor() as cursor:
        if setting := dialect().wide_grouping_sql:  # until the transaction ends
            cursor.execute(setting)
        cursor.execute(statement, [*params, top])
        return cursor.fetchall()


def _subquery_count(queryset: QuerySet) -> Coalesce:
    return Coalesce(Subquery(queryset, output_field=IntegerField()), 0)
