"""Time windows of the condition grammar as half-open UTC intervals [start, end).

Calendar periods (today, weeks, months, streak periods) use the app's timezone; weeks are ISO
weeks (Monday first); month steps are calendar months. See docs/segments.md.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta

Interval = tuple[datetime | None, datetime | None]

UNITS = ("minute", "hour", "day", "week", "month")
STREAK_UNITS = ("day", "week", "month")
CALENDAR_PERIODS = ("today", "yesterday", "this_week", "last_week", "this_month", "last_month")
PERIOD_TYPES = ("lifetime", *CALENDAR_PERIODS, "last", "older_than", "between")
_ONE_MICROSECOND = timedelta(microseconds=1)
_ONE_DAY = timedelta(days=1)
DAY_TEXT = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# Date filters relative to today, by day in the app's timezone: {"amount": N, "unit": U}.
RELATIVE_DATE_OPERATORS = ("within_last", "within_next")
RELATIVE_DATE_UNITS = ("day", "week", "month")
# A date filter that names days compares the value with instants (date_bounds): "range" is
# [start, end), "not_range" NOT of it.
DAY_OPERATORS = {
    "=": "range",
    "!=": "not_range",
    "<": "<",
    "<=": "<",
    ">": ">=",
    ">=": ">=",
    "between": "range",
    "within_last": "range",
    "within_next": "range",
}


def _midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)


def _period_start(day: date, unit: str) -> date:
    """The first day of the calendar `unit` (day, week, month) containing `day`."""
    if unit == "week":
        return day - timedelta(days=day.weekday())
    if unit == "month":
        return day.replace(day=1)
    return day


def _step(unit: str, amount: int):
    if unit == "month":
        return relativedelta(months=amount)
    return timedelta(**{f"{unit}s": amount})


def calendar_interval(unit: str, offset: int, now: datetime, tz: ZoneInfo) -> Interval:
    """The calendar `unit` `offset` periods before the current one (0 = current)."""
    first = _period_start(now.astimezone(tz).date(), unit) - _step(unit, offset)
    return _midnight(first, tz), _midnight(first + _step(unit, 1), tz)


def _minus(now: datetime, amount: int, unit: str, tz: ZoneInfo) -> datetime:
    if unit == "month":  # calendar months on the app's wall clock
        return (now.astimezone(tz) - relativedelta(months=amount)).astimezone(UTC)
    return now - _step(unit, amount)


def period_interval(period: dict | str | None, now: datetime, tz: ZoneInfo) -> Interval:
    period = normalize_period(period)
    kind = period["type"]
    if kind == "lifetime":
        return None, None
    if kind in CALENDAR_PERIODS:
        unit = {"today": "day", "yesterday": "day"}.get(kind) or kind.split("_")[1]
        offset = 1 if kind in ("yesterday", "last_week", "last_month") else 0
        return calendar_interval(unit, offset, now, tz)
    if kind == "last":
        return _minus(now, period["amount"], period["unit"], tz), now + _ONE_MICROSECOND
    if kind == "older_than":
        return None, _minus(now, period["amount"], period["unit"], tz)
    return parse_instant_text(period["from"]), parse_instant_text(period["to"])


def period_bounded(period: dict | str | None) -> tuple[bool, bool]:
    """Whether `period_interval` gives the period a start and an end: that depends on the
    period's type only, never on `now`, so compiled SQL can leave the bounds open."""
    kind = normalize_period(period)["type"]
    return kind not in ("lifetime", "older_than"), kind != "lifetime"


def normalize_period(period: dict | str | None) -> dict:
    """A period object; "today" is shorthand for {"type": "today"}, no period is lifetime."""
    if period is None:
        return {"type": "lifetime"}
    return {"type": period} if isinstance(period, str) else period


def streak_intervals(periods: int, unit: str, now: datetime, tz: ZoneInfo) -> list[Interval]:
    """The `periods` complete calendar periods before the current one, oldest first."""
    return [calendar_interval(unit, offset, now, tz) for offset in range(periods, 0, -1)]


def parse_instant_text(value: str) -> datetime:
    return datetime.fromisoformat(value).astimezone(UTC)


def names_days(op: str, value) -> bool:
    """Whether a date filter compares by days: a relative operator, or a "YYYY-MM-DD" operand."""
    if op in RELATIVE_DATE_OPERATORS:
        return True
    values = value if isinstance(value, list) else [value]
    return any(isinstance(v, str) and DAY_TEXT.match(v) for v in values)


def date_bounds(op: str, value, now: datetime, tz: ZoneInfo) -> list[datetime]:
    """The instants a date filter naming days compares with (DAY_OPERATORS[op] says how).

    A day "D" is [midnight D, midnight D+1) in the app's timezone, an instant T the point
    [T, T + 1 µs) (stored dates have microseconds): "= D" is within the day, "< D" before its
    start, "<= D" before its end, "between [A, B]" from A's start to B's end. within_next N
    units: from today's start to the end of the day N units ahead; within_last N units: from
    the start of the day N units back to the end of today."""
    if op in RELATIVE_DATE_OPERATORS:
        today = now.astimezone(tz).date()
        step = _step(value["unit"], value["amount"])
        if op == "within_next":
            return [_midnight(today, tz), _midnight(today + step + _ONE_DAY, tz)]
        return [_midnight(today - step, tz), _midnight(today + _ONE_DAY, tz)]
    if op == "between":
        return [_start(value[0], tz), _end(value[1], tz)]
    if op in ("=", "!="):
        return [_start(value, tz), _end(value, tz)]
    return [_end(value, tz) if op in ("<=", ">") else _start(value, tz)]


def _start(value: str, tz: ZoneInfo) -> datetime:
    if DAY_TEXT.match(value):
        return _midnight(date.fromisoformat(value), tz)
    return parse_instant_text(value)


def _end(value: str, tz: ZoneInfo) -> datetime:
    if DAY_TEXT.match(value):
        return _midnight(date.fromisoformat(value) + _ONE_DAY, tz)
    return parse_instant_text(value) + _ONE_MICROSECOND
