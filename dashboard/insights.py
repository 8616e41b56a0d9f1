"""Reads of insights (the dashboard's saved charts): each chart's figures in one statement of
events' selector, with the param reads of the segment engine (the same JSON type guard) and a
segment's members as a subquery of segments' selector, so events imports neither."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.db.models import QuerySet

from contacts.models import App
from dashboard.models import Insight
from dashboard.periods import window_get
from events.selectors import BucketAggregate, event_aggregates
from segments.conditions.predicates import JsonValue
from segments.selectors import segment_member_ids

OTHER = "other"
LABELS = {"hour": "%H:%M", "day": "%d %b", "week": "%d %b"}


@dataclass
class _Stats:
    """What the measures are computed from; buckets and groups add up exactly (an average is
    a sum over a count, not an average of averages)."""

    events: int = 0
    values: int = 0
    total: float = 0
    minimum: float | None = None
    maximum: float | None = None

    def add(self, row: BucketAggregate) -> None:
        self.events += row.events
        self.values += row.values
        self.total += row.total
        if row.minimum is not None:
            self.minimum = row.minimum if self.minimum is None else min(self.minimum, row.minimum)
        if row.maximum is not None:
            self.maximum = row.maximum if self.maximum is None else max(self.maximum, row.maximum)

    def measure(self, measure: str) -> float | None:
        """The figure; None for an average, min or max of no value (not a misleading 0)."""
        if measure == Insight.Measure.COUNT:
            return self.events
        if measure == Insight.Measure.SUM:
            return self.total
        if measure == Insight.Measure.AVG:
            return self.total / self.values if self.values else None
        return self.minimum if measure == Insight.Measure.MIN else self.maximum


def insight_list(*, app: App) -> QuerySet[Insight]:
    return Insight.objects.filter(app=app).order_by("position", "id")


def insight_get(*, app: App, insight_id: int) -> Insight | None:
    """With what its chart reads: the app's timezone, the event type's name, the segment."""
    insights = Insight.objects.filter(app=app, pk=insight_id)
    return insights.select_related("app", "event_type", "segment").first()


def insight_data(
    *,
    insight: Insight,
    now: datetime,
    date_from: date | None = None,
    date_to: date | None = None,
    granularity: str | None = None,
) -> dict:
    """The chart and figure of `insight` at `now`: labels and each bucket's start (on the app's
    clock, naive), one series per split value (or one in all) with a figure per bucket, and the
    period's figure. `date_from` and `date_to` chart it over that range instead of its period,
    `granularity` by other buckets (the caller checks them: periods.range_errors)."""
    tz = ZoneInfo(insight.app.timezone)
    granularity = granularity or insight.granularity
    if date_from is None:
        period, date_from, date_to = insight.period, insight.date_from, insight.date_to
    else:
        period = Insight.Period.RANGE
    window = window_get(
        period=period,
        granularity=granularity,
        tz=tz,
        now=now,
        date_from=date_from,
        date_to=date_to,
    )
    rows = event_aggregates(
        event_type_id=insight.event_type_id,
        start=window.start,
        end=window.end,
        bucket=granularity,
        tz=tz,
        value=JsonValue("params", insight.param, "number") if insight.param else None,
        split=JsonValue("params", insight.split_param, "string") if insight.split_param else None,
        top=insight.top_n,
        rank_by="total" if insight.measure == Insight.Measure.SUM else "events",
        contacts=segment_member_ids(segment=insight.segment) if insight.segment_id else None,
    )
    overall, per_group = _Stats(), {}
    index = {slot: n for n, slot in enumerate(window.slots)}
    for row in rows:
        overall.add(row)
        buckets = per_group.setdefault(row.group, [_Stats() for _ in window.slots])
        buckets[index[row.bucket]].add(row)
    return {
        "labels": [slot.strftime(LABELS[granularity]) for slot in window.slots],
        "buckets": [slot.isoformat() for slot in window.slots],
        "series": _series(insight, per_group, len(window.slots)),
        "total": overall.measure(insight.measure),
        "kind": "bar" if insight.measure in ("count", "sum") else "line",
        "timezone": insight.app.timezone,
    }


def _series(insight: Insight, per_group: dict, width: int) -> list[dict]:
    """Split: the top values by the ranking of the query (sum for a sum, else events), then
    "other"; no split: one series named after the measure."""
    if not insight.split_param:
        buckets = per_group.get(None) or [_Stats() for _ in range(width)]
        return [{"name": measure_label(insight), "values": _values(insight, buckets)}]
    rank = "total" if insight.measure == Insight.Measure.SUM else "events"
    named = [group for group in per_group if group is not None]
    named.sort(key=lambda group: (-sum(getattr(s, rank) for s in per_group[group]), group))
    series = [{"name": name, "values": _values(insight, per_group[name])} for name in named]
    if None in per_group:
        series.append({"name": OTHER, "values": _values(insight, per_group[None])})
    return series


def _values(insight: Insight, buckets: list[_Stats]) -> list[float | None]:
    return [stats.measure(insight.measure) for stats in buckets]


def measure_label(insight: Insight) -> str:
    if insight.measure == Insight.Measure.COUNT:
        return insight.event_type.name
    names = {"sum": "Sum", "avg": "Average", "min": "Minimum", "max": "Maximum"}
    return f"{names[insight.measure]} of {insight.param}"


def insight_describe(insight: Insight) -> str:
    """One line under the chart's title: what it counts, over what, split and restricted how."""
    parts = [f"{measure_label(insight)} ({insight.event_type.name})"]
    if insight.period == Insight.Period.RANGE:
        parts.append(f"{insight.date_from:%d %b %Y} – {insight.date_to:%d %b %Y}")
    else:
        parts.append(insight.get_period_display().lower())
    parts.append(f"{insight.get_granularity_display().lower()} ({insight.app.timezone})")
    if insight.split_param:
        parts.append(f"split by {insight.split_param} (top {insight.top_n})")
    if insight.segment_id:
        parts.append(f"members of {insight.segment.name}")
    return " · ".join(parts)


def insights_on_dashboard(*, apps: QuerySet[App], now: datetime) -> list[dict]:
    """The saved insights of `apps` placed on the dashboard, in their order, with their data:
    one query for the list, one per chart."""
    insights = (
        Insight.objects.filter(app__in=apps, on_dashboard=True)
        .select_related("app", "event_type", "segment")
        .order_by("app__name", "position", "id")
    )
    return [
        {
            "insight": insight,
            "description": insight_describe(insight),
            "data": insight_data(insight=insight, now=now),
        }
        for insight in insights
    ]
