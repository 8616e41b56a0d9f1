"""A reference evaluator for segment condition trees: plain Python over in-memory data, written
from docs/segments.md alone, to check the SQL engine against.

It favours being obviously right over being fast: each contact is judged on its own, condition
by condition, exactly as the contract words it.

Where the contract leaves a choice, the choice made here is marked "Reading:".
"""

from __future__ import annotations

import calendar
import math
import re
import zoneinfo
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

MICROSECOND = timedelta(microseconds=1)
# "last N units" / "older_than N units" step by an exact duration for these units ...
DURATION_UNITS = {
    "minute": timedelta(minutes=1),
    "hour": timedelta(hours=1),
    "day": timedelta(days=1),
    "week": timedelta(weeks=1),
}
# ... and by calendar months (in the app's timezone) for these.
MONTH_UNITS = {"month": 1, "year": 12}
CALENDAR_PERIODS = ("today", "yesterday", "this_week", "last_week", "this_month", "last_month")
NEGATIVE_TWINS = {
    "!=": "=",
    "not_contains": "contains",
    "not_contains_any": "contains_any",
    "not_in": "in",
    "not_within": "within",
}
STRING_CONTACT_FIELDS = ("email", "phone", "external_id", "country", "language", "timezone")
INSTANT_CONTACT_FIELDS = {"created_at": "created_at", "last_seen": "last_seen_at"}
EARTH_RADIUS_KM = 6371.0088  # the mean radius docs/segments.md names
DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class RefDevice:
    platform: str
    push_permission_granted: bool
    invalidated: bool = False


@dataclass
class RefContact:
    id: int
    email: str | None = None
    phone: str | None = None
    external_id: str | None = None
    country: str = ""
    language: str = ""
    timezone: str = ""
    created_at: datetime | None = None
    last_seen_at: datetime | None = None
    custom_fields: dict = field(default_factory=dict)
    devices: list[RefDevice] = field(default_factory=list)


@dataclass(frozen=True)
class RefEvent:
    contact_id: int
    name: str
    occurred_at: datetime
    params: dict = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class RefStats:
    """The per-contact stats of one event name, which outlive retention."""

    first_at: datetime
    last_at: datetime
    count: int
    # param -> every number it took in those events (lifetime aggregates read these)
    numbers: dict[str, list[float]] = field(default_factory=dict, hash=False, compare=False)


def evaluate(
    conditions: dict,
    *,
    contacts: list[RefContact],
    events: list[RefEvent],
    now: datetime,
    timezone_name: str,
    attribute_types: dict[tuple[str, str], str],
    segments: dict[int, dict],
    stats: dict[tuple[int, str], RefStats] | None = None,
) -> set[int]:
    """The ids of `contacts` matching `conditions` at `now`.

    `stats` maps (contact id, event name) to the per-contact stats; without it they are derived
    from `events` (which is what they are as long as no event was purged)."""
    evaluator = _Evaluator(
        events=events,
        now=now,
        tz=zoneinfo.ZoneInfo(timezone_name),
        attribute_types=attribute_types,
        segments=segments,
        stats=stats if stats is not None else stats_from_events(events),
    )
    return {contact.id for contact in contacts if evaluator.matches(conditions, contact)}


def stats_from_events(events: list[RefEvent]) -> dict[tuple[int, str], RefStats]:
    times: dict[tuple[int, str], list[datetime]] = defaultdict(list)
    numbers: dict[tuple[int, str], dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for event in events:
        times[(event.contact_id, event.name)].append(event.occurred_at)
        for param, value in event.params.items():
            if typed_value(value, "number") is not None:
                numbers[(event.contact_id, event.name)][param].append(value)
    return {
        key: RefStats(min(ts), max(ts), len(ts), dict(numbers[key])) for key, ts in times.items()
    }


# Periods ---------------------------------------------------------------------------------------


def period_contains(period, moment: datetime, *, now: datetime, tz: zoneinfo.ZoneInfo) -> bool:
    """Whether `moment` falls in the half-open interval [start, end) of `period`."""
    start, end = period_bounds(period, now=now, tz=tz)
    return (start is None or start <= moment) and (end is None or moment < end)


def period_bounds(period, *, now: datetime, tz: zoneinfo.ZoneInfo):
    """(start, end) of a period, either None for unbounded."""
    # The grammar names the calendar periods bare ("today"); the engine spells them
    # {"type": "today"}: both are read here.
    kind = period if isinstance(period, str) or period is None else period["type"]
    if kind is None or kind == "lifetime":
        return None, None
    if kind in CALENDAR_PERIODS:
        return _calendar_bounds(kind, now.astimezone(tz).date(), tz)
    if kind == "last":
        return minus_units(now, period["amount"], period["unit"], tz), now + MICROSECOND
    if kind == "older_than":
        return None, minus_units(now, period["amount"], period["unit"], tz)
    if kind == "between":
        return parse_instant(period["from"]), parse_instant(period["to"])
    raise ValueError(f"unknown period {period!r}")


def _calendar_bounds(name: str, today: date, tz: zoneinfo.ZoneInfo):
    monday = today - timedelta(days=today.weekday())
    first = today.replace(day=1)
    days = {
        "today": (today, today + timedelta(days=1)),
        "yesterday": (today - timedelta(days=1), today),
        "this_week": (monday, monday + timedelta(days=7)),
        "last_week": (monday - timedelta(days=7), monday),
        "this_month": (first, add_months(first, 1)),
        "last_month": (add_months(first, -1), first),
    }
    start, end = days[name]
    return local_midnight(start, tz), local_midnight(end, tz)


def local_midnight(day: date, tz: zoneinfo.ZoneInfo) -> datetime:
    return datetime.combine(day, time(), tzinfo=tz)


def add_months(day: date, months: int) -> date:
    """The same day `months` calendar months later, clamped to the month's last day."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last_day = calendar.monthrange(year, month + 1)[1]
    return day.replace(year=year, month=month + 1, day=min(day.day, last_day))


def minus_units(now: datetime, amount: int, unit: str, tz: zoneinfo.ZoneInfo) -> datetime:
    """`now` − `amount` `unit`s. Reading: days and weeks are exact durations (the contract asks
    for calendar arithmetic only for months); months step on the app's local calendar and keep
    the local time of day."""
    if unit in DURATION_UNITS:
        return now - amount * DURATION_UNITS[unit]
    local = now.astimezone(tz)
    day = add_months(local.date(), -amount * MONTH_UNITS[unit])
    return datetime.combine(day, local.timetz().replace(tzinfo=None), tzinfo=tz)


def streak_period(unit: str, index: int, *, now: datetime, tz: zoneinfo.ZoneInfo):
    """The `index`-th (1 = the latest) complete day, week or month before the current one."""
    today = now.astimezone(tz).date()
    if unit == "day":
        start = today - timedelta(days=index)
        end = start + timedelta(days=1)
    elif unit == "week":
        monday = today - timedelta(days=today.weekday())
        start = monday - timedelta(weeks=index)
        end = start + timedelta(weeks=1)
    elif unit == "month":
        first = today.replace(day=1)
        start, end = add_months(first, -index), add_months(first, -index + 1)
    else:
        raise ValueError(f"unknown streak unit {unit!r}")
    return local_midnight(start, tz), local_midnight(end, tz)


def parse_instant(value) -> datetime | None:
    """An RFC 3339 text as an aware datetime; None for anything else."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


# Typed values and the missing-value rule -------------------------------------------------------


def typed_value(value, type_: str | None):
    """`value` read as `type_`, or None when missing, null or of another JSON type. An array
    type ("string[]") reads a JSON array, whatever its elements (compare looks at them)."""
    if value is None:
        return None
    if type_.endswith("[]"):
        return value if isinstance(value, list) else None
    if type_ == "number":
        is_number = isinstance(value, int | float) and not isinstance(value, bool)
        return value if is_number else None
    if type_ == "string":
        return value if isinstance(value, str) else None
    if type_ == "boolean":
        return value if isinstance(value, bool) else None
    if type_ == "date":
        return parse_instant(value)
    if type_ == "json":
        return value
    if type_ == "geoloc":
        if not isinstance(value, dict):
            return None
        lat, lon = value.get("lat"), value.get("lon")
        numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (lat, lon))
        return (lat, lon) if numbers else None
    raise ValueError(f"unknown type {type_!r}")


def type_of_filter_value(value) -> str:
    """The type a custom contact field or an unknown param is read as, from the filter's value
    (or its items): a JSON boolean is boolean, a number is number, anything else string."""
    if isinstance(value, list):
        return type_of_filter_value(value[0]) if value else "string"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return "string"


def compare(actual, op: str, expected, type_: str, *, now=None, tz=None) -> bool:
    """A filter on an already typed value: None is missing. Negative operators are exactly the
    negation of their positive twin; positive ones are false on a missing value. `now` and the
    app's `tz` are for dates compared by day."""
    if op == "exists":
        return actual is not None
    if op == "not_exists":
        return actual is None
    if op in NEGATIVE_TWINS:
        return not compare(actual, NEGATIVE_TWINS[op], expected, type_, now=now, tz=tz)
    if actual is None:
        return False
    if op == "within":
        return distance_km(actual, (expected["lat"], expected["lon"])) <= expected["km"]
    if type_.endswith("[]"):  # contains / contains_any: an element of the type equals a value
        wanted = [expected] if op == "contains" else expected
        element_type = type_.removesuffix("[]")
        elements = [typed_value(item, element_type) for item in actual]
        return any(
            element is not None and element == _operand(value, element_type)
            for element in elements
            for value in wanted
        )
    if type_ == "date" and names_days(op, expected):
        return _by_day(actual, op, expected, now.astimezone(tz).date(), tz)
    if op == "in":
        return any(actual == _operand(item, type_) for item in expected)
    if op == "between":
        low, high = (_operand(item, type_) for item in expected)
        return low <= actual <= high
    if op == "contains":
        return expected in actual
    if op == "starts_with":
        return actual.startswith(expected)
    return _ORDERING[op](actual, _operand(expected, type_))


def _operand(value, type_: str):
    return parse_instant(value) if type_ == "date" else value


def distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance on the sphere of the Earth's mean radius, by the haversine formula
    in its textbook form (the engine compares the haversine term instead: docs/segments.md)."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    term = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(term)))


def names_days(op: str, expected) -> bool:
    if op in ("within_last", "within_next"):
        return True
    values = expected if isinstance(expected, list) else [expected]
    return any(isinstance(v, str) and DAY.match(v) for v in values)


def _by_day(actual: datetime, op: str, expected, today: date, tz) -> bool:
    """Reading: a day operand is the span from its midnight to the next in the app's timezone;
    "< D" is before the span, "<= D" before its end, ">" after it, "between" from the first
    span's start to the last one's end. An instant operand in the same filter is itself. The
    relative operators span whole days: within_next N units = today up to the day N units
    ahead, both included; within_last likewise backwards."""

    def span(value) -> tuple[datetime, datetime]:
        if DAY.match(value):
            day = date.fromisoformat(value)
            return local_midnight(day, tz), local_midnight(day + timedelta(days=1), tz)
        moment = parse_instant(value)
        return moment, moment + MICROSECOND

    if op in ("within_last", "within_next"):
        amount, unit = expected["amount"], expected["unit"]
        months = {"month": amount}.get(unit, 0)
        days = {"day": amount, "week": 7 * amount}.get(unit, 0)
        if op == "within_next":
            first, last = today, add_months(today, months) + timedelta(days=days)
        else:
            first, last = add_months(today, -months) - timedelta(days=days), today
        start, end = local_midnight(first, tz), local_midnight(last + timedelta(days=1), tz)
        return start <= actual < end
    if op == "between":
        return span(expected[0])[0] <= actual < span(expected[1])[1]
    start, end = span(expected)
    return {
        "=": start <= actual < end,
        "<": actual < start,
        "<=": actual < end,
        ">": actual >= end,
        ">=": actual >= start,
    }[op]


_ORDERING = {
    "=": lambda a, b: a == b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
}


# The evaluator ---------------------------------------------------------------------------------


class _Evaluator:
    def __init__(self, *, events, now, tz, attribute_types, segments, stats):
        self.now, self.tz = now, tz
        self.attribute_types = attribute_types
        self.segments = segments
        self.stats = stats
        self.events: dict[tuple[int, str], list[RefEvent]] = defaultdict(list)
        for event in events:
            self.events[(event.contact_id, event.name)].append(event)

    def matches(self, node: dict, contact: RefContact) -> bool:
        kind = node["type"]
        if kind == "and":
            return all(self.matches(child, contact) for child in node["conditions"])
        if kind == "or":
            return any(self.matches(child, contact) for child in node["conditions"])
        if kind == "not":
            return not self.matches(node["condition"], contact)
        return getattr(self, f"_{kind}")(node, contact)

    # Event conditions ---------------------------------------------------------------------------

    def _event(self, node: dict, contact: RefContact) -> bool:
        if node.get("performed", True) is False:
            return not self._event({**node, "performed": True}, contact)
        count = node.get("count") or {"op": ">=", "value": 1}
        aggregate = node.get("aggregate")
        period, where = node.get("period"), node.get("where") or []
        if _is_lifetime(period) and not where:  # from the stats, which outlive retention
            stats = self.stats.get((contact.id, node["event"]))
            if not compare(stats.count if stats else 0, count["op"], count["value"], "number"):
                return False
            if aggregate is None:
                return True
            values = stats.numbers.get(aggregate["param"], []) if stats else []
            return self._aggregate_holds(aggregate, values)
        counted = [
            event
            for event in self.events[(contact.id, node["event"])]
            if period_contains(period, event.occurred_at, now=self.now, tz=self.tz)
            and self._where_holds(where, event)
        ]
        if not compare(len(counted), count["op"], count["value"], "number"):
            return False
        if aggregate is None:
            return True
        values = [typed_value(event.params.get(aggregate["param"]), "number") for event in counted]
        return self._aggregate_holds(aggregate, [value for value in values if value is not None])

    def _aggregate_holds(self, aggregate: dict, values: list[float]) -> bool:
        """When no counted event has a number in the param, the aggregate is null and the
        condition does not hold, whatever the function (even sum)."""
        if not values:
            return False
        result = {
            "sum": sum,
            "avg": lambda vs: sum(vs) / len(vs),
            "min": min,
            "max": max,
        }[aggregate["fn"]](values)
        return compare(result, aggregate["op"], aggregate["value"], "number")

    def _where_holds(self, where: list[dict], event: RefEvent) -> bool:
        for param_filter in where:
            type_ = self.attribute_types.get((event.name, param_filter["param"]))
            if type_ is None and param_filter["op"] in ("within", "not_within"):
                type_ = "geoloc"  # an unknown param with a distance filter is a location
            elif type_ is None and param_filter["op"] in ("contains_any", "not_contains_any"):
                # Reading: an unknown param with an any-of filter is an array of the values' type
                type_ = type_of_filter_value(param_filter.get("value")) + "[]"
            elif type_ is None:  # an unknown param is typed by the filter value
                type_ = type_of_filter_value(param_filter.get("value"))
            actual = typed_value(event.params.get(param_filter["param"]), type_)
            expected = param_filter.get("value")
            if not compare(actual, param_filter["op"], expected, type_, now=self.now, tz=self.tz):
                return False
        return True

    def _first_event(self, node: dict, contact: RefContact) -> bool:
        stats = self.stats.get((contact.id, node["event"]))
        return stats is not None and self._in_period(node, stats.first_at)

    def _last_event(self, node: dict, contact: RefContact) -> bool:
        stats = self.stats.get((contact.id, node["event"]))
        return stats is not None and self._in_period(node, stats.last_at)

    def _in_period(self, node: dict, moment: datetime) -> bool:
        return period_contains(node.get("period", "lifetime"), moment, now=self.now, tz=self.tz)

    def _streak(self, node: dict, contact: RefContact) -> bool:
        where = node.get("where") or []
        matching = [
            event.occurred_at
            for event in self.events[(contact.id, node["event"])]
            if self._where_holds(where, event)
        ]
        for index in range(1, node["periods"] + 1):
            start, end = streak_period(node["unit"], index, now=self.now, tz=self.tz)
            if not any(start <= moment < end for moment in matching):
                return False
        return True

    # Contacts, devices, segments ----------------------------------------------------------------

    def _contact(self, node: dict, contact: RefContact) -> bool:
        name, op, value = node["field"], node["op"], node.get("value")
        if name in STRING_CONTACT_FIELDS:
            actual = getattr(contact, name) or None  # an empty string counts as missing
            if name == "email":
                actual, value = _lower(actual), _lower(value)
            return compare(actual, op, value, "string")
        if name in INSTANT_CONTACT_FIELDS:
            actual = getattr(contact, INSTANT_CONTACT_FIELDS[name])
            return compare(actual, op, value, "date", now=self.now, tz=self.tz)
        if name.startswith("custom."):
            raw = (contact.custom_fields or {}).get(name.removeprefix("custom."))
            if op in ("exists", "not_exists"):
                return compare(raw, op, value, "json")
            type_ = type_of_filter_value(value)
            return compare(typed_value(raw, type_), op, value, type_)
        raise ValueError(f"unknown contact field {name!r}")

    def _device(self, node: dict, contact: RefContact) -> bool:
        platform = node.get("platform")
        granted = node.get("push_permission_granted")
        return any(
            not device.invalidated
            and (platform is None or device.platform == platform)
            and (granted is None or device.push_permission_granted == granted)
            for device in contact.devices
        )

    def _segment(self, node: dict, contact: RefContact) -> bool:
        return self.matches(self.segments[node["segment"]], contact)


def _is_lifetime(period) -> bool:
    return period in (None, "lifetime") or period == {"type": "lifetime"}


def _lower(value):
    if isinstance(value, str):
        return value.lower()
    if isinstance(value, list):
        return [_lower(item) for item in value]
    return value


# Loading the same data from the database ------------------------------------------------------


def load_from_database(app) -> dict:
    """The keyword arguments of `evaluate` (all but `now`) for the data stored for `app`."""
    # Imported here: the evaluator above needs no Django at all.
    from contacts.models import Contact, Device
    from events.models import ContactEventStats, Event, EventAttribute
    from segments.models import Segment

    devices: dict[int, list[RefDevice]] = defaultdict(list)
    for device in Device.objects.filter(app=app).order_by("pk"):
        devices[device.contact_id].append(
            RefDevice(
                platform=device.platform,
                push_permission_granted=device.push_permission_granted,
                invalidated=device.invalidated_at is not None,
            )
        )
    contacts = [
        RefContact(
            id=c.pk,
            email=c.email,
            phone=c.phone,
            external_id=c.external_id,
            country=c.country,
            language=c.language,
            timezone=c.timezone,
            created_at=c.created_at,
            last_seen_at=c.last_seen_at,
            custom_fields=c.custom_fields or {},
            devices=devices[c.pk],
        )
        for c in Contact.objects.filter(app=app).order_by("pk")
    ]
    events = [
        RefEvent(
            contact_id=e.contact_id,
            name=e.event_type.name,
            occurred_at=e.occurred_at,
            params=e.params,
        )
        for e in Event.objects.filter(app=app).select_related("event_type").order_by("pk")
    ]
    # First, last and count as stored; the numbers as the events give them, so that a test
    # comparing the engine (which reads ContactParamStats) with this evaluator checks the
    # param stats ingest keeps.
    from_events = stats_from_events(events)
    stats = {
        (s.contact_id, s.event_type.name): RefStats(
            s.first_at,
            s.last_at,
            s.count,
            from_events[key].numbers
            if (key := (s.contact_id, s.event_type.name)) in from_events
            else {},
        )
        for s in ContactEventStats.objects.filter(contact__app=app).select_related("event_type")
    }
    attribute_types = {
        (a.event_type.name, a.name): a.type + ("[]" if a.is_array else "")
        for a in EventAttribute.objects.filter(event_type__app=app).select_related("event_type")
    }
    segments = dict(Segment.objects.filter(app=app).values_list("pk", "conditions"))
    return {
        "contacts": contacts,
        "events": events,
        "stats": stats,
        "timezone_name": app.timezone,
        "attribute_types": attribute_types,
        "segments": segments,
    }
