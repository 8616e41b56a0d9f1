"""Typed event attributes: the type a param has (declared, prefixed, or inferred from its first
value) and the coercion of a value to that type.

Dates are stored as fixed-width UTC ISO strings ("2026-03-29T11:30:00.000000+00:00") so that they
order correctly as text in SQL on SQLite and PostgreSQL alike. A date-only value ("2026-12-24")
is stored as the start of that day in the app's timezone (see `_to_date`). Locations (`geoloc_`)
are stored as {"lat": ..., "lon": ...} in degrees.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

STRING, NUMBER, BOOLEAN, DATE, JSON = "string", "number", "boolean", "date", "json"
GEOLOC = "geoloc"
TYPES = (STRING, NUMBER, BOOLEAN, DATE, JSON, GEOLOC)

# WonderPush-style name prefixes fix a param's type whatever its value (docs/events.md).
PREFIX_TYPES = {
    "string_": STRING,
    "byte_": NUMBER,
    "short_": NUMBER,
    "int_": NUMBER,
    "long_": NUMBER,
    "float_": NUMBER,
    "double_": NUMBER,
    "bool_": BOOLEAN,
    "date_": DATE,
    "object_": JSON,
    "geoloc_": GEOLOC,
}

# The integer prefixes, as (lowest, highest). int_ keeps the 64 bits Beacon always took (WonderPush
# says 32): narrowing it would start refusing whole events that senders have sent all along.
INTEGER_RANGES = {
    "byte_": (-(2**7), 2**7 - 1),
    "short_": (-(2**15), 2**15 - 1),
    "int_": (-(2**63), 2**63 - 1),
    "long_": (-(2**63), 2**63 - 1),
}
# A param named ignore_... is stored as sent and never typed, counted or used in conditions.
IGNORED_PREFIX = "ignore_"
# The types an attribute may hold an array of (a json value has any shape already).
ARRAY_TYPES = (STRING, NUMBER, BOOLEAN, DATE)

_ISO_WITH_OFFSET = re.compile(
    r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|z|[+-]\d{2}:?\d{2})$"
)
_ISO_WITHOUT_OFFSET = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?$")
_UNIX_TEXT = re.compile(r"-?\d+(\.\d+)?")
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# "48.8566,2.3522" (latitude first, as maps print it), spaces allowed around the comma.
_LAT_LON_TEXT = re.compile(r"^\s*([-+]?\d+(?:\.\d+)?)\s*,\s*([-+]?\d+(?:\.\d+)?)\s*$")
# PostgreSQL's timestamptz takes offsets up to 15:59 (RFC 3339 allows 23:59; none is in use).
MAX_UTC_OFFSET = timedelta(hours=15, minutes=59)
_MIN_UTC_OFFSET = -MAX_UTC_OFFSET
# Instants a day inside years 1-9999 of UTC: Python, PostgreSQL's readers and every page can show
# them at any UTC offset (an instant of 0001-01-01 in UTC is a BC date in America).
EARLIEST = datetime(1, 1, 2, tzinfo=UTC)
LATEST = datetime(9999, 12, 30, 23, 59, 59, 999999, tzinfo=UTC)
_RANGE = "must be between 0001-01-02 and 9999-12-30 in UTC"
# Integers are stored as JSON numbers that orjson writes and PostgreSQL's readers take: 64 bits.
INT64 = 2**63
_TRUE_WORDS = {"true", "1", "yes", "on"}
_FALSE_WORDS = {"false", "0", "no", "off"}


def prefix_type(name: str) -> str | None:
    for prefix, type_ in PREFIX_TYPES.items():
        if name.startswith(prefix):
            return type_
    return None


def infer_type(value) -> str | None:
    """The type an undeclared, unprefixed attribute takes from its first value (None: unknown)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return BOOLEAN
    if isinstance(value, int | float):
        return NUMBER
    if isinstance(value, dict | list):
        return JSON
    if isinstance(value, str) and _ISO_WITH_OFFSET.match(value):
        return DATE
    return STRING


def format_instant(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def parse_instant(value) -> datetime:
    """An RFC 3339 string with an offset of at most 15:59, or Unix seconds, as an aware datetime
    (the offset it was given, UTC for seconds) between EARLIEST and LATEST; else ValueError."""
    if isinstance(value, bool):
        raise ValueError("expected an RFC 3339 time with an offset or Unix seconds")
    if isinstance(value, int | float):
        return _from_unix(value)
    if isinstance(value, str):
        return _parse_text_instant(value.strip())
    raise ValueError("expected an RFC 3339 time with an offset or Unix seconds")


def _parse_text_instant(text: str) -> datetime:
    if _UNIX_TEXT.fullmatch(text):
        return _from_unix(float(text))
    if not _ISO_WITH_OFFSET.match(text):
        if _ISO_WITHOUT_OFFSET.match(text):
            raise ValueError("time has no timezone offset (add Z or +HH:MM)")
        raise ValueError("expected an RFC 3339 time with an offset or Unix seconds")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError("not a valid date and time") from None
    if not _MIN_UTC_OFFSET <= moment.utcoffset() <= MAX_UTC_OFFSET:
        raise ValueError("the UTC offset must be at most 15:59 either way")
    # With offsets of at most 15:59, only the first and the last year can be out of range.
    return moment if 1 < moment.year < 9999 else _in_range(moment)


def _from_unix(seconds: float) -> datetime:
    try:
        moment = datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):  # NaN, infinite, or past the calendar
        raise ValueError(_RANGE) from None
    return moment if 1 < moment.year < 9999 else _in_range(moment)


def _in_range(moment: datetime) -> datetime:
    try:
        in_utc = moment.astimezone(UTC)
    except OverflowError:  # before year 1 or after 9999 once in UTC
        raise ValueError(_RANGE) from None
    if not EARLIEST <= in_utc <= LATEST:
        raise ValueError(_RANGE)
    return moment


def coerce(value, type_: str, *, integer: bool = False, timezone: ZoneInfo = UTC):
    """The value read as `type_`, or ValueError with the reason. None stays None. `timezone`
    is the app's: the day a date-only value names starts at its midnight there."""
    if value is None:
        return None
    if type_ == DATE:
        return _to_date(value, timezone)
    return _COERCERS[type_](value, integer)


def _to_number(value, integer: bool):
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"expected a number, got {_describe(value)}")
    if isinstance(value, str):
        text = value.strip()
        try:
            value = int(text)
        except ValueError:
            try:
                value = float(text)
            except ValueError:
                raise ValueError(f"expected a number, got {_describe(value)}") from None
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("expected a finite number")
    if integer:
        if isinstance(value, float) and not value.is_integer():
            raise ValueError(f"expected an integer, got {value}")
        value = int(value)
        if not -INT64 <= value < INT64:
            raise ValueError("expected an integer of at most 64 bits")
        return value
    if isinstance(value, int) and not -INT64 <= value < INT64:
        return _as_float(value)  # as orjson reads a JSON integer beyond 64 bits
    return value


def _as_float(value: int) -> float:
    try:
        return float(value)
    except OverflowError:
        raise ValueError("expected a finite number") from None


def _to_boolean(value, integer: bool):
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE_WORDS:
            return True
        if word in _FALSE_WORDS:
            return False
    raise ValueError(f"expected a boolean, got {_describe(value)}")


def _to_date(value, timezone: ZoneInfo):
    """A date-only value ("2026-12-24", a scheduled delivery) is stored as the first instant of
    that day in the app's timezone: every date then stays one fixed-width UTC text that orders
    as time, so the operators, the SQL and the mix of dated and timed values of one attribute
    are unchanged, and a condition naming a day (docs/segments.md) compares from that day's
    midnight to the next one in the same timezone. The day is fixed when the event is stored: a
    later change of the app's timezone does not move it."""
    try:
        if isinstance(value, str) and _DATE_ONLY.match(value.strip()):
            return format_instant(day_start(value.strip(), timezone))
        return format_instant(parse_instant(value))
    except ValueError as exc:
        raise ValueError(f"expected a date: {exc}") from None


def day_start(text: str, timezone: ZoneInfo) -> datetime:
    """The first instant of the day "YYYY-MM-DD" in `timezone` (ValueError: no such day)."""
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise ValueError("not a valid date") from None
    # As periods.py's midnights: with fold=0, a day whose midnight the clocks skip starts at
    # the change, and one whose midnight comes twice at the first.
    return _in_range(datetime(day.year, day.month, day.day, tzinfo=timezone))


def _to_string(value, integer: bool):
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    raise ValueError(f"expected a string, got {_describe(value)}")


def _to_json(value, integer: bool):
    return value


_GEOLOC_SHAPE = 'expected a location: {"lat": 48.85, "lon": 2.35} or "48.85,2.35"'


def _to_geoloc(value, integer: bool) -> dict:
    """{"lat": ..., "lon": ...} in degrees (WonderPush's object), or "lat,lon" text."""
    if isinstance(value, dict) and set(value) == {"lat", "lon"}:
        lat, lon = _degrees(value["lat"], "lat"), _degrees(value["lon"], "lon")
    elif isinstance(value, str) and (match := _LAT_LON_TEXT.match(value)):
        lat, lon = float(match[1]), float(match[2])
    else:
        raise ValueError(f"{_GEOLOC_SHAPE}, got {_describe(value)}")
    if not -90 <= lat <= 90:
        raise ValueError(f"lat must be between -90 and 90, got {lat}")
    if not -180 <= lon <= 180:
        raise ValueError(f"lon must be between -180 and 180, got {lon}")
    return {"lat": lat, "lon": lon}


def _degrees(value, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{key} must be a number of degrees, got {_describe(value)}")
    if not math.isfinite(value):
        raise ValueError(f"{key} must be a finite number")
    return float(value)


_COERCERS = {
    NUMBER: _to_number,
    BOOLEAN: _to_boolean,
    STRING: _to_string,
    JSON: _to_json,
    GEOLOC: _to_geoloc,
}


def _describe(value) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
