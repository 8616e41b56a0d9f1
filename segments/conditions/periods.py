"""Time windows of the condition grammar as half-open UTC intervals [start, end).

Calendar periods (today, weeks, months, streak periods) use the app's timezone; weeks are ISO
weeks (Monday first); month steps are calendar months. See docs/segments.md.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta

Interval = tuple[datetime | None, datetime | None]

UNITS = ("minute", "hour", "day", "week", "month")
STREAK_UNITS = ("day", "week", "month")
CALENDAR_PERIODS = ("today", "yesterday", "this_week", "last_week", "this_month", "last_month")
PERIOD_TYPES = ("lifetime", *CALENDAR_PERIODS, "last", "older_than", "between")
_ONE_MICROSECOND = timedelta(microseconds=1)


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
