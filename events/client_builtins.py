"""The built-in events a client may report itself (catalog.CLIENT_REPORTABLE), and the checks of
their params: every other name starting with @ is Beacon's to record.

@PRESENCE (the browser SDK's time on a page) carries `start` and `end` (instants) and `duration`
(seconds). Segments sum the durations ("spent more than 10 minutes this week"), so a presence
must be a real interval of the past whose duration is its length: start <= end, end at most
MAX_FUTURE ahead of the server's clock (as for event_time), duration >= 0 and within
DURATION_TOLERANCE of end - start (the SDK computes all three from one clock; the tolerance
absorbs rounding and a date's text precision).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from events import catalog
from events.attributes import parse_instant

MAX_FUTURE = timedelta(minutes=5)
DURATION_TOLERANCE = 2.0  # seconds


def client_builtin_errors(name: str, params: dict, now: datetime) -> dict[str, list[str]]:
    """{"params.<name>": [reason]} for the params of a client-reported built-in event."""
    if name == catalog.PRESENCE:
        return _presence_errors(params, now)
    return {}


def _presence_errors(params: dict, now: datetime) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    start = _instant(params, "start", errors)
    end = _instant(params, "end", errors)
    duration = params.get("duration")
    if isinstance(duration, bool) or not isinstance(duration, int | float):
        errors["params.duration"] = ["is required and must be a number of seconds"]
        duration = None
    elif duration < 0:
        errors["params.duration"] = ["must not be negative"]
        duration = None
    if end is not None and end - now > MAX_FUTURE:
        errors["params.end"] = ["is more than 5 minutes in the future"]
    if start is None or end is None:
        return errors
    if start > end:
        errors["params.start"] = ["must not be after end"]
    elif duration is not None:
        length = (end - start).total_seconds()
        if abs(duration - length) > DURATION_TOLERANCE:
            errors["params.duration"] = [
                f"must be end - start ({length:g} s) within {DURATION_TOLERANCE:g} s"
            ]
    return errors


def _instant(params: dict, key: str, errors: dict) -> datetime | None:
    if params.get(key) in (None, ""):
        errors[f"params.{key}"] = ["is required: an RFC 3339 time with an offset"]
        return None
    try:
        return parse_instant(params[key])
    except ValueError as exc:
        errors[f"params.{key}"] = [str(exc)]
        return None
