"""Reads on events and event types."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery, Sum
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
