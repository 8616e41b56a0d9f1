"""Typed event attributes: the type a param has (declared, prefixed, or inferred from its first
value) and the coercion of a value to that type.

Dates are stored as fixed-width UTC ISO strings ("2026-03-29T11:30:00.000000+00:00") so that they
order correctly as text in SQL on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta

STRING, NUMBER, BOOLEAN, DATE, JSON = "string", "number", "boolean", "date", "json"
TYPES = (STRING, NUMBER, BOOLEAN, DATE, JSON)

# WonderPush-style name prefixes fix a param's type whatever its value.
PREFIX_TYPES = {
    "string_": STRING,
    "int_": NUMBER,
    "float_": NUMBER,
    "bool_": BOOLEAN,
    "date_": DATE,
    "object_": JSON,
}

_ISO_WITH_OFFSET = re.compile(
    r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|z|[+-]\d{2}:?\d{2})$"
)
_ISO_WITHOUT_OFFSET = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?$")
_UNIX_TEXT = re.compile(r"-?\d+(\.\d+)?")
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


def coerce(value, type_: str, *, integer: bool = False):
    """The value read as `type_`, or ValueError with the reason. None stays None."""
    if value is None:
        return None
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


def _to_date(value, integer: bool):
    try:
        return format_instant(parse_instant(value))
    except ValueError as exc:
        raise ValueError(f"expected a date: {exc}") from None


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


_COERCERS = {
    NUMBER: _to_number,
    BOOLEAN: _to_boolean,
    DATE: _to_date,
    STRING: _to_string,
    JSON: _to_json,
}


def _describe(value) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
