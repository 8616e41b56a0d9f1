"""Hypothesis strategies for the engine equivalence tests: data sets whose times crowd around
period boundaries, and condition trees (depth <= 3) using every condition, period and operator
that docs/segments.md allows for each type."""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import strategies as st

from tests.segments.helpers import EVENT_NAMES
from tests.segments.reference import (
    add_months,
    distance_km,
    local_midnight,
    minus_units,
    parse_instant,
    streak_period,
)

TIMEZONES = ("UTC", "Europe/Warsaw", "America/New_York")
# Evaluation times, all months before the tests run (ingest refuses events from the future):
NOWS = (
    datetime(2026, 6, 15, 10, 30, tzinfo=UTC),  # a Monday
    datetime(2026, 3, 30, 10, 30, tzinfo=UTC),  # the Monday after Warsaw's spring change
    datetime(2026, 3, 31, 22, 30, tzinfo=UTC),  # already April 1 in Warsaw; Feb 28 a month ago
    datetime(2026, 3, 1, 0, 15, tzinfo=UTC),  # still February 28 in New York
    datetime(2026, 3, 8, 7, 30, tzinfo=UTC),  # New York's spring change, that morning
    datetime(2026, 10, 26, 0, 30, tzinfo=UTC),  # Monday after Warsaw's 25-hour Sunday
    datetime(2026, 11, 2, 4, 30, tzinfo=UTC),  # Monday in UTC, Sunday night in New York
    datetime(2026, 1, 1, 0, 0, tzinfo=UTC),  # midnight, new year, a Thursday
)
USERS = ("u0", "u1", "u2", "anon")  # "anon" is sent with an anonymous id only
ALL_EVENT_NAMES = (*EVENT_NAMES, "@APP_OPEN")
NUMBERS = (0, 1, 2.5, -3, 5, 7, 10, 10.0, 100)
STRINGS = ("Books", "books", "book%s", "b_oks", "", "Bo", "ökologie", "x")
# validation refuses empty strings as operands
STRING_OPERANDS = (*filter(None, STRINGS), "ook", "B", "%", "_", "o%", "b_", "ö", "1", "abc", "red")
LEVELS = (1, 10, 2.5, "1", "10", "abc", "true", True, False)
# Arrays (string_tags, int_sizes: prefixed, declared as arrays): a single value is stored as an
# array of one; "40" is coerced to 40.
TAGS = ("sale", "Sale", "new", "sal", "x")
TAG_OPERANDS = (*TAGS, "ale", "none")
SIZES = (38, 39, 0, "40")
SIZE_OPERANDS = (38, 38.0, 39, 40, 40.5, 0, 41)
ARRAY_OPS = ("contains", "not_contains", "contains_any", "not_contains_any", "exists", "not_exists")
AGGREGATE_VALUES = (*NUMBERS, 12.5, 15, 20, 3.5, 1.5)
OFFSETS = (timedelta(0), timedelta(hours=2), timedelta(hours=-5), timedelta(hours=5, minutes=30))
# Locations (geoloc_home): a city and its suburbs, both sides of the 180th meridian, the pole.
PLACES = (
    (48.8566, 2.3522),
    (48.9362, 2.3574),
    (48.8049, 2.1204),
    (51.5074, -0.1278),
    (-17.0, 179.95),
    (-17.0, -179.95),
    (89.9, 180.0),
    (89.9, -45.0),
    (0.0, 0.0),
)
CENTRES = (*PLACES, (-17.0, -179.99), (89.95, 0.0), (-33.87, 151.21))
RADII = (1, 5, 8.5, 10, 15, 20, 50, 400, 1000, 5000, 25_000)
# The engine compares the haversine term, the reference the distance it gives: at a radius
# within rounding of a distance the two could part, so no radius comes within 1 m of one.
assert all(
    abs(distance_km(place, centre) - km) > 0.001
    for place in PLACES
    for centre in CENTRES
    for km in RADII
)
CIRCLES = st.builds(
    lambda centre, km: {"lat": centre[0], "lon": centre[1], "km": km},
    st.sampled_from(CENTRES),
    st.sampled_from(RADII),
)
RELATIVE_DAYS = st.builds(
    lambda amount, unit: {"amount": amount, "unit": unit},
    st.sampled_from((1, 2, 3, 7)),
    st.sampled_from(("day", "week", "month")),
)
UNITS = ("minute", "hour", "day", "week", "month")
AMOUNTS_OF_UNITS = (1, 2, 3, 7, 30)
CALENDAR_PERIODS = ("today", "yesterday", "this_week", "last_week", "this_month", "last_month")
OPS = ("=", "!=", ">", ">=", "<", "<=")
OPERATORS = {
    "number": (*OPS, "between", "in", "not_in", "exists", "not_exists"),
    "date": (*OPS, "between", "within_last", "within_next", "exists", "not_exists"),
    "string": (
        "=",
        "!=",
        "contains",
        "not_contains",
        "starts_with",
        "in",
        "not_in",
        "exists",
        "not_exists",
    ),
    "boolean": ("=", "!=", "exists", "not_exists"),
    "json": ("exists", "not_exists"),
    "geoloc": ("within", "not_within", "exists", "not_exists"),
    "string[]": ARRAY_OPS,
    "number[]": ARRAY_OPS,
}
EMAILS = ("ann@example.com", "bob@shop.io", "x_y@example.com")
EMAIL_OPERANDS = (
    *EMAILS,
    "Ann@Example.com",
    "BOB@SHOP.IO",
    "example",
    "EXAMPLE",
    "@Shop",
    "ANN",
    "x_",
    "X_Y",
    "zed",
)
CONTACT_STRINGS = {
    "email": EMAIL_OPERANDS,
    "phone": ("+48123", "+1555", "+48", "1555"),
    "external_id": ("u0", "u1", "U0", "u", "anon"),
    "country": ("PL", "US", "pl", "P"),
    "language": ("pl", "en", "PL", "e"),
    "timezone": ("Europe/Warsaw", "America/New_York", "Europe", "/"),
}
CUSTOM_VALUES = {
    "plan": ("Pro", "free", 5, True, None),
    "score": (7, 7.5, "7", True, 0, None),
    "beta": (True, False, "true", 1, None),
}
CUSTOM_OPERANDS = {
    "number": (0, 5, 7, 7.5, 7.0, 1, 10),
    "string": ("Pro", "free", "7", "true", "r", "P", "pro"),
}


def anchors(now: datetime, timezone_name: str) -> list[datetime]:
    """Instants where periods start or end for `now`, a microsecond either side, and a few
    ordinary times in between. Edges are also computed in UTC and with wall-clock day steps:
    where an engine reading the contract otherwise would cut."""
    edges = [now, now + timedelta(hours=5)]
    for zone in {timezone_name, "UTC"}:
        tz = zoneinfo.ZoneInfo(zone)
        edges += [minus_units(now, n, unit, tz) for n in AMOUNTS_OF_UNITS for unit in UNITS]
        edges += [now.astimezone(tz) - timedelta(days=n) for n in AMOUNTS_OF_UNITS]
        midnights = _midnights(now, tz)
        edges += midnights + [midnight + timedelta(hours=12) for midnight in midnights]
    points = set()
    for edge in edges:
        points |= {edge, edge - timedelta(microseconds=1), edge + timedelta(microseconds=1)}
    points |= {now - timedelta(days=days, hours=7) for days in (45, 100, 200, 400)}
    latest = now + timedelta(days=2)  # ingest refuses events more than 5 minutes ahead
    return sorted(p.astimezone(UTC) for p in points if p <= latest)


def _midnights(now: datetime, tz: zoneinfo.ZoneInfo) -> list[datetime]:
    """The starts of the days, weeks and months around `now` in `tz`."""
    today = now.astimezone(tz).date()
    monday = today - timedelta(days=today.weekday())
    first = today.replace(day=1)
    days = [today - timedelta(days=i) for i in range(-1, 10)]
    days += [monday - timedelta(weeks=i) for i in range(-1, 5)]
    days += [add_months(first, -i) for i in range(-1, 5)]
    return [local_midnight(day, tz) for day in days]


def rfc3339(moment: datetime, offset: timedelta, zulu: bool) -> str:
    written = moment.astimezone(timezone(offset)).isoformat()
    return written.replace("+00:00", "Z") if zulu else written


def day_texts(points: list[datetime]) -> list[str]:
    """Days "YYYY-MM-DD" around the points (a day either side of each), sorted."""
    days = {(point + timedelta(days=shift)).date() for point in points for shift in (-1, 0, 1)}
    return sorted(day.isoformat() for day in days)


def _location_text(place: tuple[float, float]):
    """A place as WonderPush's object or as "lat,lon" text (both stored as the object)."""
    lat, lon = place
    return st.sampled_from(({"lat": lat, "lon": lon}, f"{lat},{lon}"))


def instant_texts(points: list[datetime]):
    """An RFC 3339 text for one of `points`, in some offset."""
    return st.builds(rfc3339, st.sampled_from(points), st.sampled_from(OFFSETS), st.booleans())


# Data sets -------------------------------------------------------------------------------------


@dataclass
class ScenarioContact:
    email: str | None = None
    phone: str | None = None
    country: str = ""
    language: str = ""
    timezone: str = ""
    created_at: datetime | None = None
    custom_fields: dict = field(default_factory=dict)
    devices: list[tuple[str, bool, bool]] = field(default_factory=list)


@dataclass
class Scenario:
    timezone_name: str
    now: datetime
    points: list[datetime]
    events: list[tuple[str, str, datetime, dict]]  # (user, name, time, params)
    level_type: str  # the type "level" is declared with in the end (its values have several)
    contacts: dict[str, ScenarioContact]  # by user; "ghost" has no events

    def moments(self) -> list[datetime]:
        """The instants stored: event times, dates in params, contacts' creation times."""
        moments = {moment for _, _, moment, _ in self.events}
        # (a date-only "at" is stored at a midnight of the app: not an instant of the data)
        moments |= {parse_instant(p["at"]) for *_, p in self.events if p.get("at") is not None}
        moments.discard(None)
        return sorted(moments | {c.created_at for c in self.contacts.values()})


def _params(points, name: str):
    """Params of an event called `name`. "color" has a value only on views: for the other
    events no attribute is ever recorded (a null records none), so it is an unknown param."""
    color = st.sampled_from(("red", "Red", "ed")) if name == "view" else st.nothing()
    optional = {
        "color": color,
        "amount": st.sampled_from(NUMBERS),
        "category": st.sampled_from(STRINGS),
        "vip": st.booleans(),
        "at": st.one_of(instant_texts(points), st.sampled_from(day_texts(points))),
        "geoloc_home": st.sampled_from(PLACES).flatmap(_location_text),
        "meta": st.sampled_from([{"a": 1}, [1, 2], {}, []]),
        "level": st.sampled_from(LEVELS),
        "string_tags": st.one_of(
            st.lists(st.sampled_from(TAGS), max_size=3), st.sampled_from(TAGS)
        ),
        "int_sizes": st.lists(st.sampled_from(SIZES), max_size=3),
    }
    # any param may be sent as null, but "level" (whose type is always that of its value)
    nullable = {
        param: strategy if param == "level" else st.one_of(st.none(), strategy)
        for param, strategy in optional.items()
    }
    return st.fixed_dictionaries({}, optional=nullable)


def _times(points, now: datetime):
    """Mostly boundaries; else any second of the 400 days before now."""
    ordinary = st.integers(0, 400 * 24 * 3600).map(lambda s: now - timedelta(seconds=s))
    return st.one_of(st.sampled_from(points), st.sampled_from(points), ordinary)


def _contacts(points):
    device = st.tuples(st.sampled_from(("web", "android", "ios")), st.booleans(), st.booleans())
    custom = st.fixed_dictionaries(
        {}, optional={name: st.sampled_from(values) for name, values in CUSTOM_VALUES.items()}
    )
    return st.builds(
        ScenarioContact,
        email=st.one_of(st.none(), st.sampled_from(EMAILS)),
        phone=st.one_of(st.none(), st.sampled_from(("+48123", "+1555"))),
        country=st.sampled_from(("", "PL", "US")),
        language=st.sampled_from(("", "pl", "en")),
        timezone=st.sampled_from(("", "Europe/Warsaw", "America/New_York")),
        created_at=st.sampled_from(points),
        custom_fields=custom,
        devices=st.lists(device, max_size=2),
    )


@st.composite
def _habit(draw, now: datetime, timezone_name: str, points) -> list:
    """One event in each of the last few days, weeks or months (maybe with a gap): streaks."""
    user, name = draw(st.sampled_from(USERS)), draw(st.sampled_from(EVENT_NAMES))
    unit = draw(st.sampled_from(("day", "week", "month")))
    tz = zoneinfo.ZoneInfo(timezone_name)
    events = []
    for index in draw(st.lists(st.integers(0, 5), min_size=1, max_size=6, unique=True)):
        start, end = streak_period(unit, index, now=now, tz=tz)
        # the period's first or last microsecond, or a time in between
        moment = draw(
            st.sampled_from((start, end - timedelta(microseconds=1), start + (end - start) / 2))
        )
        if moment <= points[-1]:  # not in the future for ingest
            events.append((user, name, moment, draw(_params(points, name))))
    return events


@st.composite
def scenarios(draw) -> Scenario:
    timezone_name = draw(st.sampled_from(TIMEZONES))
    now = draw(st.sampled_from(NOWS))
    points = anchors(now, timezone_name)
    one_event = st.sampled_from(EVENT_NAMES).flatmap(
        lambda name: st.tuples(
            st.sampled_from(USERS), st.just(name), _times(points, now), _params(points, name)
        )
    )
    events = draw(st.lists(one_event, min_size=2, max_size=40))
    for _ in range(draw(st.integers(0, 3))):
        events += draw(_habit(now, timezone_name, points))
    if events and draw(st.booleans()):
        events.append(draw(st.sampled_from(events)))  # the same event again: stored once
    users = [*dict.fromkeys(user for user, *_ in events), "ghost"]
    return Scenario(
        timezone_name=timezone_name,
        now=now,
        points=points,
        events=events,
        level_type=draw(st.sampled_from(("number", "string", "boolean"))),
        contacts={user: draw(_contacts(points)) for user in users},
    )


# Condition trees -------------------------------------------------------------------------------


@st.composite
def _pick(draw, choices: list):
    """A value from one of `choices`, each strategy equally likely."""
    return draw(draw(st.sampled_from(choices)))


@st.composite
def _comparison(draw, type_: str, operand):
    """{"op": ..., "value": ...} for an operator allowed on `type_`."""
    op = draw(st.sampled_from(OPERATORS[type_]))
    if op in ("exists", "not_exists"):
        return {"op": op}
    if op in ("within", "not_within"):
        return {"op": op, "value": draw(CIRCLES)}
    if op in ("within_last", "within_next"):
        return {"op": op, "value": draw(RELATIVE_DAYS)}
    if op in ("in", "not_in", "contains_any", "not_contains_any"):
        return {"op": op, "value": draw(st.lists(operand, min_size=1, max_size=3))}
    if op == "between":
        return {"op": op, "value": [draw(operand), draw(operand)]}
    return {"op": op, "value": draw(operand)}


@st.composite
def _event_condition(draw, trees: Trees):
    name = draw(st.sampled_from(ALL_EVENT_NAMES))
    node = {"type": "event", "event": name}
    performed = draw(st.sampled_from((None, True, False)))
    if performed is not None:
        node["performed"] = performed
    if draw(st.booleans()):
        node["count"] = {"op": draw(st.sampled_from(OPS)), "value": draw(st.integers(0, 4))}
    if draw(st.booleans()):
        node["period"] = draw(trees.period)
    if where := draw(trees.where(name)):
        node["where"] = where
    if not name.startswith("@") and draw(st.integers(0, 3)) == 0:
        params = ["amount"] + (["level"] if trees.param_types["level"] == "number" else [])
        node["aggregate"] = {
            "fn": draw(st.sampled_from(("sum", "avg", "min", "max"))),
            "param": draw(st.sampled_from(params)),
            "op": draw(st.sampled_from(OPS)),
            "value": draw(st.sampled_from(AGGREGATE_VALUES)),
        }
    return node


@st.composite
def _streak_condition(draw, trees: Trees):
    name = draw(st.sampled_from(ALL_EVENT_NAMES))
    node = {
        "type": "streak",
        "event": name,
        "periods": draw(st.integers(1, 4)),
        "unit": draw(st.sampled_from(("day", "week", "month"))),
    }
    if where := draw(trees.where(name, max_size=1)):
        node["where"] = where
    return node


@st.composite
def _segment_condition(draw, trees: Trees):
    """A reference to one of the segments stored so far (an event condition while none is)."""
    if not trees.segment_ids:
        return draw(_event_condition(trees))
    return {"type": "segment", "segment": draw(st.sampled_from(trees.segment_ids))}


def _between(a: datetime, b: datetime, from_offset: tuple, to_offset: tuple) -> dict:
    """A between period from the earlier of two instants to the later; validation refuses a
    `to` that is not after `from`, so the same instant twice gives a 1 µs period."""
    start, end = sorted((a, b))
    end = max(end, start + timedelta(microseconds=1))
    return {
        "type": "between",
        "from": rfc3339(start, *from_offset),
        "to": rfc3339(end, *to_offset),
    }


DEVICE_FILTERS = [
    (platform, granted)
    for platform in (None, "web", "android", "ios")
    for granted in (None, True, False)
]


def _device_condition(device_filter: tuple) -> dict:
    platform, granted = device_filter
    node = {"type": "device"}
    if platform is not None:
        node["platform"] = platform
    if granted is not None:
        node["push_permission_granted"] = granted
    return node


class Trees:
    """Strategies for the trees valid for a scenario (its times, its types, its segments)."""

    def __init__(self, *, points: list[datetime], level_type: str, moments=(), segment_ids=()):
        """`moments` are the instants stored in the data (event times, dates in params,
        creation times): operands drawn among them hit boundaries exactly."""
        self.segment_ids = list(segment_ids)  # segments stored later may be added
        pools = [st.sampled_from(points)] + ([st.sampled_from(sorted(moments))] if moments else [])
        self.moment = st.one_of(pools)
        self.instants = st.builds(rfc3339, self.moment, st.sampled_from(OFFSETS), st.booleans())
        # A date operand may name a day, compared from midnight to midnight in the app's zone.
        self.dates = st.one_of(self.instants, st.sampled_from(day_texts(points)))
        self.param_types = {
            "amount": "number",
            "category": "string",
            "vip": "boolean",
            "at": "date",
            "meta": "json",
            "level": level_type,
            "geoloc_home": "geoloc",
            "string_tags": "string[]",
            "int_sizes": "number[]",
        }
        self.period = self._period()
        self.param_filters = {
            name: st.one_of(
                _comparison(type_, self.operand(type_)).map(lambda c, p=param: {"param": p, **c})
                for param, type_ in self._filter_types(name)
            )
            for name in EVENT_NAMES
        }
        # Weights by repetition: nested one_of and map flatten into their branches in
        # hypothesis, which would make the condition with the most variants crowd out the rest.
        self.leaf = _pick(
            [_event_condition(self)] * 4
            + [
                self._first_or_last(),
                _streak_condition(self),
                self._contact(),
                self._contact(),
                self._contact(),
                st.sampled_from(DEVICE_FILTERS).map(_device_condition),
                _segment_condition(self),
            ]
        )

    def tree(self, depth: int = 3):
        if depth <= 1:
            return self.leaf
        child = self.tree(depth - 1)
        and_or = st.builds(
            lambda kind, children: {"type": kind, "conditions": children},
            st.sampled_from(("and", "or")),
            st.lists(child, min_size=1, max_size=3),
        )
        negation = child.map(lambda node: {"type": "not", "condition": node})
        return _pick([self.leaf, self.leaf, and_or, negation])

    def where(self, name: str, max_size: int = 2):
        if name.startswith("@"):
            return st.just([])
        return st.lists(self.param_filters[name], max_size=max_size)

    def _filter_types(self, name: str) -> list[tuple[str, str]]:
        """(param, type) pairs to filter events called `name` on; an unknown param is typed by
        the filter's value, so it takes any of the three (an array of them with contains_any)."""
        types = list(self.param_types.items())
        if name == "view":
            return [*types, ("color", "string")]
        unknown = ("number", "string", "boolean", "string[]")
        return types + [("color", type_) for type_ in unknown]

    def operand(self, type_: str):
        if type_ == "string[]":
            return st.sampled_from(TAG_OPERANDS)
        if type_ == "number[]":
            return st.sampled_from(SIZE_OPERANDS)
        if type_ == "number":
            return st.sampled_from(NUMBERS)
        if type_ == "string":
            return st.sampled_from(STRING_OPERANDS)
        if type_ == "boolean":
            return st.booleans()
        return self.dates

    def _period(self):
        names = st.sampled_from(("lifetime", *CALENDAR_PERIODS))
        # the string "today" is shorthand for {"type": "today"}
        calendar = st.one_of(names.map(lambda k: {"type": k}), names)
        relative = st.builds(
            lambda kind, amount, unit: {"type": kind, "amount": amount, "unit": unit},
            st.sampled_from(("last", "older_than")),
            st.sampled_from(AMOUNTS_OF_UNITS),
            st.sampled_from(UNITS),
        )
        offset = st.tuples(st.sampled_from(OFFSETS), st.booleans())
        between = st.builds(_between, self.moment, self.moment, offset, offset)
        return st.one_of(calendar, relative, relative, between)

    def _first_or_last(self):
        def build(kind, name, period):
            node = {"type": kind, "event": name}
            return node if period is None else {**node, "period": period}

        return st.builds(
            build,
            st.sampled_from(("first_event", "last_event")),
            st.sampled_from(ALL_EVENT_NAMES),
            st.one_of(st.none(), self.period),
        )

    def _contact(self):
        strings = [
            _comparison("string", st.sampled_from(values)).map(lambda c, f=name: {"field": f, **c})
            for name, values in CONTACT_STRINGS.items()
        ]
        instants = [
            _comparison("date", self.instants).map(lambda c, f=name: {"field": f, **c})
            for name in ("created_at", "last_seen")
        ]
        # A custom field is typed by the filter's value: number, string or boolean.
        custom_operands = {
            "number": st.sampled_from(CUSTOM_OPERANDS["number"]),
            "string": st.sampled_from(CUSTOM_OPERANDS["string"]),
            "boolean": st.booleans(),
        }
        custom = [
            st.one_of(
                _comparison(type_, operand).map(lambda c, f=name: {"field": f"custom.{f}", **c})
                for type_, operand in custom_operands.items()
            )
            for name in (*CUSTOM_VALUES, "nope")
        ]
        fields = strings + instants + custom  # each field equally likely
        return _pick(fields).map(lambda c: {"type": "contact", **c})
