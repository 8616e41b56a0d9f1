"""An insight's time window and buckets, on the app's clock (App.timezone).

A rolling period is the last buckets up to now, the current one (partial) included: "last 7
days by day" is today and the six days before, from midnight; "last 24 hours by hour" the
current hour and the 23 before. Their count is the period over the bucket's length, rounded up
(30 days by week: 5 weeks, from a Monday). A from – to range runs from the first date's midnight
to the end of the last date; its first and last buckets may be partial (a week from Monday).

Buckets are keyed by their start as a naive local time, as the database truncates them
(events.selectors.event_aggregates): on the night the clocks go back, the two 01:00 hours are
one bucket, as they are in SQL.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

ROLLING = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}
STEP = {"hour": timedelta(hours=1), "day": timedelta(days=1), "week": timedelta(weeks=1)}
MAX_POINTS = 800  # a chart wider than this says nothing more: choose a coarser granularity
# A range's edges and its buckets' are datetimes in every timezone (and in UTC) only inside these
# days: a week's bucket may start six days before the range and end a week after the last.
FIRST_DAY, LAST_DAY = date(1, 1, 2), date(9999, 12, 24)


@dataclass(frozen=True)
class Window:
    start: datetime  # aware, included
    end: datetime  # aware, excluded
    slots: list[datetime]  # each bucket's start, naive, on the app's clock


def window_get(
    *,
    period: str,
    granularity: str,
    tz: tzinfo,
    now: datetime,
    date_from: date | None = None,
    date_to: date | None = None,
) -> Window:
    if period == "range":
        start, end = _midnight(date_from, tz), _midnight(date_to + timedelta(days=1), tz)
        first = _bucket_start(start, granularity, tz)
        last = _bucket_start(end - timedelta(microseconds=1), granularity, tz)
    else:
        count = max(1, math.ceil(ROLLING[period] / STEP[granularity]))
        last = _bucket_start(now, granularity, tz)
        first = start = _back(last, count - 1, granularity, tz)
        end = now
    return Window(start=start, end=end, slots=_slots(first, last, granularity, tz))


def range_errors(
    *, granularity: str, date_from: date | None, date_to: date | None
) -> dict[str, list[str]]:
    """Why a from – to range can't be charted by `granularity` (one of STEP), named by field
    ("date_from", "date_to", "granularity"); empty if it can."""
    dates = {"date_from": date_from, "date_to": date_to}
    if date_from is None or date_to is None:
        required = ["is required for a from – to range"]
        return {name: required for name, value in dates.items() if value is None}
    outside = [f"must be between {FIRST_DAY} and {LAST_DAY}"]
    if errors := {name: outside for name, day in dates.items() if not FIRST_DAY <= day <= LAST_DAY}:
        return errors
    if date_from > date_to:
        return {"date_to": ["is before the start date"]}
    if points_count(granularity=granularity, date_from=date_from, date_to=date_to) > MAX_POINTS:
        return {"granularity": [f"gives more than {MAX_POINTS} points: choose a coarser one"]}
    return {}


def points_count(*, granularity: str, date_from: date, date_to: date) -> int:
    """At most how many buckets a from – to range has, without listing them (a range of a
    century by hour is refused at once): by week, the first may start before the range."""
    days = (date_to - date_from).days + 1
    return math.ceil(days * timedelta(days=1) / STEP[granularity]) + (granularity == "week")


def _midnight(day: date, tz: tzinfo) -> datetime:
    return datetime.combine(day, time(), tzinfo=tz)


def _bucket_start(moment: datetime, granularity: str, tz: tzinfo) -> datetime:
    local = moment.astimezone(tz)
    if granularity == "hour":
        return local.replace(minute=0, second=0, microsecond=0)
    if granularity == "day":
        return _midnight(local.date(), tz)
    return _midnight(local.date() - timedelta(days=local.weekday()), tz)


def _back(last: datetime, count: int, granularity: str, tz: tzinfo) -> datetime:
    if granularity == "hour":  # real hours, so a day with a clock change still has 24
        return (last.astimezone(UTC) - count * STEP["hour"]).astimezone(tz)
    return _midnight(last.date() - count * STEP[granularity], tz)


def _next(moment: datetime, granularity: str, tz: tzinfo) -> datetime:
    if granularity == "hour":
        return _bucket_start(moment.astimezone(UTC) + STEP["hour"], "hour", tz)
    return _midnight(moment.date() + STEP[granularity], tz)


def _slots(first: datetime, last: datetime, granularity: str, tz: tzinfo) -> list[datetime]:
    slots, moment = {}, first
    while moment <= last:
        slots.setdefault(moment.replace(tzinfo=None), None)
        moment = _next(moment, granularity, tz)
    return list(slots)
