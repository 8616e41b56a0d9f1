"""Lean validation of one tracking payload, and its field table.

The hot path validates up to 1000 events a request, so this is plain Python rather than a DRF
serializer per event (about 78 us each, see ../shared/FLOORS.md). Errors come back as
{"<field>": ["<reason>"]}, the shape of every 400 in the API.

INPUT_FIELDS is the one description of what a payload may hold: the published schema is built
from it (events/api/serializers.py), and tests/events/test_ingest_schema.py checks that this
module reads exactly these fields and refuses whatever the published schema refuses.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache

import orjson
import pycountry

from contacts.push import push_endpoint_error
from events.attributes import parse_instant

MAX_NAME_LENGTH = 255
MAX_ID_LENGTH = 255
MAX_FUTURE = timedelta(minutes=5)
FORBIDDEN_NAME_CHARACTERS = ("*", "+", "|")
PLATFORMS = ("android", "ios", "web")


@dataclass(frozen=True)
class InputField:
    """One field of a tracking payload. `kind` is its JSON shape: "string", "identifier" (a
    string or an integer, kept as text), "instant" (RFC 3339 text or Unix seconds), "boolean",
    "choice", "token" (a string or a web push subscription object) or "object". An optional
    field may be null (absent); one whose value may be text may also be "" (absent)."""

    name: str
    kind: str
    required: bool = False
    max_length: int | None = None
    choices: tuple[str, ...] = ()
    default: bool | None = None  # what an absent (or null) value means, if not "nothing"
    help: str = ""


INPUT_FIELDS = (
    InputField(
        "event_name",
        "string",
        required=True,
        max_length=MAX_NAME_LENGTH,
        help="No *, + or |; names starting with @ are reserved for built-in events",
    ),
    InputField(
        "event_time", "instant", help="RFC 3339 with an offset, or Unix seconds; default: now"
    ),
    InputField(
        "app_user_id", "identifier", max_length=MAX_ID_LENGTH, help="Your user id (external id)"
    ),
    InputField("anonymous_id", "identifier", max_length=MAX_ID_LENGTH),
    InputField(
        "event_id",
        "identifier",
        max_length=MAX_ID_LENGTH,
        help="Your id, used for de-duplication",
    ),
    InputField("session_id", "identifier", max_length=MAX_ID_LENGTH),
    InputField(
        "device_token",
        "token",
        help="FCM/OneSignal token, or a web PushSubscription (object or its JSON text)",
    ),
    InputField(
        "platform",
        "choice",
        choices=PLATFORMS,
        help="Required with a device_token; a web PushSubscription implies web",
    ),
    InputField("push_permission_granted", "boolean", default=False),
    InputField("timezone", "string", help="A known IANA timezone, e.g. Europe/Istanbul"),
    InputField("language", "string", help="ISO 639-1, e.g. tr"),
    InputField("country", "string", help="ISO 3166-1 alpha-2, e.g. TR"),
    InputField(
        "params",
        "object",
        help="Typed; used for targeting. Names of 1 to 255 characters",
    ),
    InputField("context", "object", help="Stored; never used for targeting"),
)
_ID_FIELDS = tuple(f.name for f in INPUT_FIELDS if f.kind == "identifier")


@dataclass
class EventInput:
    """A validated tracking payload; params are still untyped (typing needs the app's schema)."""

    name: str
    occurred_at: datetime
    app_user_id: str | None = None
    anonymous_id: str | None = None
    event_id: str | None = None
    device_token: str | None = None
    subscription: dict | None = None
    platform: str | None = None
    push_permission_granted: bool = False
    timezone: str | None = None
    language: str | None = None
    country: str | None = None
    session_id: str = ""
    params: dict = field(default_factory=dict)
    context: dict = field(default_factory=dict)
    fingerprint: str = ""


@cache
def _timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


@cache
def _languages() -> frozenset[str]:
    return frozenset(lang.alpha_2 for lang in pycountry.languages if hasattr(lang, "alpha_2"))


@cache
def _countries() -> frozenset[str]:
    return frozenset(country.alpha_2 for country in pycountry.countries)


def event_name_errors(name) -> list[str]:
    if not isinstance(name, str):
        return ["this field is required and must be a string"]
    if not name.strip():
        return ["must not be empty"]
    if len(name) > MAX_NAME_LENGTH:
        return [f"must be at most {MAX_NAME_LENGTH} characters"]
    if any(ch in name for ch in FORBIDDEN_NAME_CHARACTERS):
        return ["must not contain *, + or |"]
    if name.startswith("@"):
        return ["names starting with @ are reserved for built-in events"]
    return []


def parse_event_payload(data, *, now: datetime) -> tuple[EventInput | None, dict]:
    """Return (EventInput, {}) or (None, {"field": ["reason"]})."""
    if not isinstance(data, dict):
        return None, {"non_field_errors": ["each event must be a JSON object"]}
    errors: dict[str, list[str]] = {}
    name = data.get("event_name")
    if name_errors := event_name_errors(name):
        errors["event_name"] = name_errors
    values = {"name": name, "occurred_at": _event_time(data.get("event_time"), now, errors)}
    for key in _ID_FIELDS:
        values[key] = _identifier(data, key, errors)
    values.update(_device(data, errors))
    values["timezone"] = _code(data, "timezone", _timezones(), "a known IANA timezone", errors)
    values["language"] = _code(
        data, "language", _languages(), "an ISO 639-1 code", errors, str.lower
    )
    values["country"] = _code(
        data, "country", _countries(), "an ISO 3166-1 alpha-2 code", errors, str.upper
    )
    values["params"] = _object(data, "params", errors)
    for key in values["params"]:
        if not key.strip() or len(key) > MAX_NAME_LENGTH:
            errors[f"params.{key[:40]}"] = [
                f"a param name must be 1 to {MAX_NAME_LENGTH} characters"
            ]
    values["context"] = _object(data, "context", errors)
    if errors:
        return None, errors
    values["session_id"] = values["session_id"] or ""
    return EventInput(**values), {}


def _event_time(raw, now: datetime, errors: dict) -> datetime:
    if raw is None or raw == "":
        return now
    try:
        moment = parse_instant(raw)
    except ValueError as exc:
        errors["event_time"] = [str(exc)]
        return now
    if moment - now > MAX_FUTURE:
        errors["event_time"] = ["is more than 5 minutes in the future"]
    return moment


def _identifier(data: dict, key: str, errors: dict) -> str | None:
    raw = data.get(key)
    if raw is None or raw == "":
        return None
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        errors[key] = ["must be a string"]
        return None
    text = str(raw).strip()
    if len(text) > MAX_ID_LENGTH:
        errors[key] = [f"must be at most {MAX_ID_LENGTH} characters"]
        return None
    return text or None


def _device(data: dict, errors: dict) -> dict:
    values = {"device_token": None, "subscription": None, "platform": None}
    granted = data.get("push_permission_granted", False)
    if granted is None:
        granted = False
    if not isinstance(granted, bool):
        errors["push_permission_granted"] = ["must be true or false"]
    values["push_permission_granted"] = granted is True
    platform = data.get("platform")
    if platform not in (None, ""):
        if platform not in PLATFORMS:
            errors["platform"] = [f"must be one of {', '.join(PLATFORMS)}"]
        else:
            values["platform"] = platform
    token = data.get("device_token")
    if token in (None, ""):
        return values
    subscription = _web_push_subscription(token)
    if subscription is not None and (reason := push_endpoint_error(subscription["endpoint"])):
        errors["device_token"] = [f"the subscription's endpoint {reason}"]
    elif subscription is not None:
        values["device_token"] = subscription["endpoint"]
        values["subscription"] = subscription
        values["platform"] = values["platform"] or "web"
    elif isinstance(token, str) and not token.lstrip().startswith("{"):
        values["device_token"] = token.strip()
    else:
        errors["device_token"] = [
            "must be a token string or a web push subscription "
            '{"endpoint": ..., "keys": {"p256dh": ..., "auth": ...}}'
        ]
    if values["device_token"] and not values["platform"] and "platform" not in errors:
        errors["platform"] = ["is required with a device_token"]
    return values


def _web_push_subscription(token) -> dict | None:
    """A PushSubscription's JSON, given as an object or as its JSON string, else None."""
    if isinstance(token, str) and token.lstrip().startswith("{"):
        try:
            token = orjson.loads(token)
        except orjson.JSONDecodeError:
            return None
    if not isinstance(token, dict):
        return None
    endpoint, keys = token.get("endpoint"), token.get("keys")
    if not isinstance(endpoint, str) or not endpoint.startswith(("https://", "http://")):
        return None
    if not isinstance(keys, dict) or not all(
        isinstance(keys.get(k), str) for k in ("p256dh", "auth")
    ):
        return None
    return {"endpoint": endpoint, "keys": {"p256dh": keys["p256dh"], "auth": keys["auth"]}}


def _code(data: dict, key: str, known, what: str, errors: dict, normalize=None) -> str | None:
    raw = data.get(key)
    if raw in (None, ""):
        return None
    value = normalize(raw) if isinstance(raw, str) and normalize else raw
    if not isinstance(value, str) or value not in known:
        errors[key] = [f"{raw!r} is not {what}"]
        return None
    return value


def _object(data: dict, key: str, errors: dict) -> dict:
    raw = data.get(key)
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        errors[key] = ["must be a JSON object"]
        return {}
    return raw
