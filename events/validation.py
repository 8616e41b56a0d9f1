"""Lean validation of one tracking payload, and its field table.

The hot path validates up to 1000 events a request, so this is plain Python rather than a DRF
serializer per event (about 78 us each, see ../shared/FLOORS.md). Errors come back as
{"<field>": ["<reason>"]}, the shape of every 400 in the API.

INPUT_FIELDS is the one description of what a payload may hold: the published schema is built
from it (events/api/serializers.py), and tests/events/test_ingest_schema.py checks that this
module reads exactly these fields and refuses whatever the published schema refuses.

Limits, each answered by a 400 naming the field (a batch stores its other events):
- no top-level field but INPUT_FIELDS and the body credentials (KNOWN_FIELDS): an unknown one is
  named with the field it most likely means (`event` -> event_name, Segment's `userId` ->
  app_user_id, ...); on the common path this is one set difference. Customer.io's `name`,
  `data` and `timestamp` are aliases of event_name, params and event_time (InputField.alias_of):
  one of the two, a dict lookup each when absent;
- no string, key or value anywhere may hold NUL (\u0000): PostgreSQL's text and jsonb refuse it.
  The view scans the raw body once for the escape (a raw NUL is not valid JSON) and, when none is
  there, says so (`check_nul=False`): the common path walks no string for it;
- params and context nest objects and arrays at most MAX_DEPTH levels (the object itself is
  level 1): deeper, the fingerprint's and the insert's JSON encoding fail at 255;
- at most MAX_PARAMS params an event, each string in them (at any depth) at most
  MAX_STRING_BYTES bytes of UTF-8; context is bounded by the body only (1 MB an event);
- device_token: a token of at most MAX_TOKEN_LENGTH characters, or a web push subscription whose
  endpoint has at most MAX_ENDPOINT_LENGTH and whose keys at most MAX_PUSH_KEY_LENGTH;
- times (event_time or its alias timestamp, and date params): UTC offsets of at most 15:59,
  instants a day inside years 1-9999 in UTC (events/attributes.py).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import orjson

from common.locales import known_countries, known_languages, known_timezones
from contacts.push import push_endpoint_error
from events.attributes import parse_instant
from events.catalog import CLIENT_REPORTABLE
from events.client_builtins import client_builtin_errors

MAX_BATCH = 1000  # events a request of /api/v1/events/batch
MAX_NAME_LENGTH = 255
MAX_ID_LENGTH = 255
MAX_DEPTH = 32
# Mixpanel's limit of properties an event (Amplitude allows 1000): each new name is an attribute
# and a stats row, and 10,000 of them held a worker for 5 s.
MAX_PARAMS = 255
# A param is for targeting, not storage: 8 KB holds any id, URL or text worth comparing.
MAX_STRING_BYTES = 8192
# A character is 1 to 4 bytes of UTF-8: a string of at most a quarter of that needs no encoding.
_SHORT_STRING = MAX_STRING_BYTES // 4
# FCM tokens have about 160 characters, APNs tokens 64 hex digits, OneSignal ids 36; a web push
# subscription given as JSON text has its endpoint, keys and punctuation.
MAX_TOKEN_LENGTH = 4096
# Browsers' push services hand out endpoints of 150-400 characters; 2048 is the common URL cap.
MAX_ENDPOINT_LENGTH = 2048
# p256dh is a 65-byte key and auth 16 bytes, in base64url: 87 and 22 characters.
MAX_PUSH_KEY_LENGTH = 256
NUL = "\x00"
NUL_REASON = "must not contain NUL characters (\\u0000)"
MAX_FUTURE = timedelta(minutes=5)
FORBIDDEN_NAME_CHARACTERS = ("*", "+", "|")
PLATFORMS = ("android", "ios", "web")
# The services each platform's devices can be sent through (contacts.models.Device.PushProvider)
PUSH_PROVIDERS = {
    "web": ("webpush",),
    "android": ("fcm", "onesignal"),
    "ios": ("fcm", "apns", "onesignal"),
}
ALL_PUSH_PROVIDERS = ("webpush", "fcm", "apns", "onesignal")


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
    # Another tracker's name for the field `alias_of`, taken the same way: give one of the two
    # (both is a 400 naming the alias); null or "" is as absent.
    alias_of: str | None = None


INPUT_FIELDS = (
    InputField(
        "event_name",
        "string",
        required=True,
        max_length=MAX_NAME_LENGTH,
        help="No *, + or |; names starting with @ are reserved for built-in events, except "
        "@PRESENCE (time on a page: params start, end and duration, sent by the browser SDK)",
    ),
    InputField(
        "name",
        "string",
        max_length=MAX_NAME_LENGTH,
        alias_of="event_name",
        help="Customer.io's name for event_name, taken the same way (give one of the two)",
    ),
    InputField(
        "event_time", "instant", help="RFC 3339 with an offset, or Unix seconds; default: now"
    ),
    InputField(
        "timestamp",
        "instant",
        alias_of="event_time",
        help="Customer.io's name for event_time, taken the same way (give one of the two); "
        "an event older than the trigger age (72 hours) is stored but triggers no campaign",
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
        max_length=MAX_TOKEN_LENGTH,
        help="FCM/OneSignal token, or a web PushSubscription (object or its JSON text); "
        f"its endpoint at most {MAX_ENDPOINT_LENGTH} characters",
    ),
    InputField(
        "platform",
        "choice",
        choices=PLATFORMS,
        help="Required with a device_token; a web PushSubscription implies web",
    ),
    InputField(
        "push_provider",
        "choice",
        choices=ALL_PUSH_PROVIDERS,
        help="Who sends to the device_token: webpush (web), fcm (android, ios), apns (ios), "
        "onesignal (android, ios). Default: web push on the web, FCM on Android, the app's iOS "
        "provider on iOS",
    ),
    InputField(
        "installation_id",
        "identifier",
        max_length=MAX_ID_LENGTH,
        help="The app's own stable id for this install: a new device_token with a known "
        "installation_id replaces the installation's old token (token rotation) instead of "
        "adding a device",
    ),
    InputField("push_permission_granted", "boolean", default=False),
    InputField("timezone", "string", help="A known IANA timezone, e.g. Europe/Istanbul"),
    InputField("language", "string", help="ISO 639-1, e.g. tr"),
    InputField("country", "string", help="ISO 3166-1 alpha-2, e.g. TR"),
    InputField(
        "params",
        "object",
        max_length=MAX_PARAMS,
        help=f"Typed; used for targeting. At most {MAX_PARAMS} params, names of 1 to "
        f"{MAX_NAME_LENGTH} characters, strings of at most {MAX_STRING_BYTES} bytes (UTF-8), "
        f"nested at most {MAX_DEPTH} levels (params itself is the first)",
    ),
    InputField(
        "data",
        "object",
        max_length=MAX_PARAMS,
        alias_of="params",
        help="Customer.io's name for params, taken the same way (give one of the two)",
    ),
    InputField(
        "context",
        "object",
        help=f"Stored; never used for targeting. Nested at most {MAX_DEPTH} levels",
    ),
)
_ID_FIELDS = tuple(f.name for f in INPUT_FIELDS if f.kind == "identifier")
# alias -> the field it stands for (Customer.io's names)
ALIASES = {f.name: f.alias_of for f in INPUT_FIELDS if f.alias_of}
BODY_AUTH_FIELDS = ("api_key", "tenant_id")  # read by contacts.api.auth, not by the event
# Every top-level field a payload may hold: any other is refused (a misspelt or foreign name
# silently ignored would store an event without its time, user or params).
KNOWN_FIELDS = frozenset({f.name for f in INPUT_FIELDS} | set(BODY_AUTH_FIELDS))
# Other trackers' names for Beacon's fields (Customer.io, Segment, Mixpanel, Amplitude,
# WonderPush, OneSignal), suggested in the 400 of a payload written for them.
FOREIGN_FIELDS = {
    "event": "event_name",
    "event_type": "event_name",
    "type": "event_name",
    "properties": "params",
    "event_properties": "params",
    "custom": "params",
    "userId": "app_user_id",
    "user_id": "app_user_id",
    "customer_id": "app_user_id",
    "distinct_id": "app_user_id",
    "external_id": "app_user_id",
    "anonymousId": "anonymous_id",
    "messageId": "event_id",
    "insert_id": "event_id",
    "$insert_id": "event_id",
    "time": "event_time",
    "token": "device_token",
    "push_token": "device_token",
    "locale": "language",
    "tz": "timezone",
}
MAX_UNKNOWN_REPORTED = 20  # a suggestion each costs a fuzzy match: a flood of names gets a count


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
    push_provider: str | None = None
    installation_id: str | None = None
    push_permission_granted: bool = False
    timezone: str | None = None
    language: str | None = None
    country: str | None = None
    session_id: str = ""
    params: dict = field(default_factory=dict)
    context: dict = field(default_factory=dict)
    fingerprint: str = ""


def event_name_errors(name) -> list[str]:
    if not isinstance(name, str):
        return ["this field is required and must be a string"]
    if not name.strip():
        return ["must not be empty"]
    if len(name) > MAX_NAME_LENGTH:
        return [f"must be at most {MAX_NAME_LENGTH} characters"]
    if any(ch in name for ch in FORBIDDEN_NAME_CHARACTERS):
        return ["must not contain *, + or |"]
    if name.startswith("@") and name not in CLIENT_REPORTABLE:
        return [
            "names starting with @ are reserved for built-in events "
            f"(a client may send {', '.join(sorted(CLIENT_REPORTABLE))})"
        ]
    return []


def parse_event_payload(
    data, *, now: datetime, check_nul: bool = True
) -> tuple[EventInput | None, dict]:
    """Return (EventInput, {}) or (None, {"field": ["reason"]}). `check_nul=False` when the
    caller knows no string of `data` holds a NUL (its raw JSON had no \\u0000 escape)."""
    if not isinstance(data, dict):
        return None, {"non_field_errors": ["each event must be a JSON object"]}
    errors: dict[str, list[str]] = {}
    if unknown := data.keys() - KNOWN_FIELDS:
        errors.update(unknown_field_errors(unknown))
    name, name_key = data.get("event_name"), "event_name"
    if "name" in data:  # Customer.io's alias: one dict lookup when absent
        name, name_key = _aliased(data, "name", name, name_key, errors)
    if name_errors := event_name_errors(name):
        errors[name_key] = name_errors
    values = {"name": name, "occurred_at": _event_time(data, now, errors)}
    for key in _ID_FIELDS:
        values[key] = _identifier(data, key, errors)
    values.update(_device(data, errors))
    values["timezone"] = _code(data, "timezone", known_timezones(), "a known IANA timezone", errors)
    values["language"] = _code(
        data, "language", known_languages(), "an ISO 639-1 code", errors, str.lower
    )
    values["country"] = _code(
        data, "country", known_countries(), "an ISO 3166-1 alpha-2 code", errors, str.upper
    )
    params_key = "params"
    if "data" in data:  # Customer.io's alias
        _, params_key = _aliased(data, "data", data.get("params"), params_key, errors, ())
    if params := _object(data, params_key, errors):
        _check_params(params, errors, check_nul, params_key)
    if isinstance(name, str) and name in CLIENT_REPORTABLE:
        errors.update(client_builtin_errors(name, params or {}, now))
    if context := _object(data, "context", errors):
        _check_context(context, errors, check_nul)
    values["params"], values["context"] = params, context
    if check_nul:
        _check_nul(values, errors, name_key)
    if errors:
        return None, errors
    values["session_id"] = values["session_id"] or ""
    return EventInput(**values), {}


def unknown_field_errors(
    names,
    *,
    known: frozenset[str] = KNOWN_FIELDS,
    foreign: dict[str, str] = FOREIGN_FIELDS,
    otherwise: str = "unknown field; an event's own data goes in params",
) -> dict:
    """{"<name>": ["unknown field; did you mean <field>?"]} for each of `names` (sorted, at most
    MAX_UNKNOWN_REPORTED): the field another tracker's name stands for, else the closest known
    name (ignoring case), else `otherwise`."""
    candidates = {name.lower(): name for name in known}
    candidates.update((name.lower(), field) for name, field in foreign.items())
    errors = {}
    ordered = sorted(names)
    for name in ordered[:MAX_UNKNOWN_REPORTED]:
        match = foreign.get(name) or _closest(name, candidates)
        errors[name[:40]] = [f"unknown field; did you mean {match}?" if match else otherwise]
    if len(ordered) > MAX_UNKNOWN_REPORTED:
        more = len(ordered) - MAX_UNKNOWN_REPORTED
        errors["non_field_errors"] = [f"and {more} more unknown fields"]
    return errors


def _closest(name: str, candidates: dict[str, str]) -> str | None:
    # 0.75: "eventname" or "deviceToken" match, "amount" is not taken for "country"
    match = difflib.get_close_matches(name.lower(), candidates, n=1, cutoff=0.75)
    return candidates[match[0]] if match else None


def _aliased(data: dict, alias: str, value, key: str, errors: dict, blank=("",)) -> tuple:
    """(value, key) of a field or its alias: the alias's when only it is given (null, or a
    `blank` value, is not given); both given is an error named after the alias."""
    given = data[alias]
    if given is None or given in blank:
        return value, key
    if value is not None and value not in blank:
        errors[alias] = [f"give {key} or {alias}, not both"]
        return value, key
    return given, alias


def _event_time(data: dict, now: datetime, errors: dict) -> datetime:
    """event_time, or Customer.io's timestamp: one of them, parsed the same way."""
    key, raw = "event_time", data.get("event_time")
    alias = data.get("timestamp")
    if alias is not None and alias != "":
        if raw is not None and raw != "":
            errors["timestamp"] = ["give event_time or timestamp, not both"]
            return now
        key, raw = "timestamp", alias
    if raw is None or raw == "":
        return now
    try:
        moment = parse_instant(raw)
    except ValueError as exc:
        errors[key] = [str(exc)]
        return now
    if moment - now > MAX_FUTURE:
        errors[key] = ["is more than 5 minutes in the future"]
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
    values = {"device_token": None, "subscription": None, "platform": None, "push_provider": None}
    provider = data.get("push_provider")
    if provider not in (None, "") and provider not in ALL_PUSH_PROVIDERS:
        errors["push_provider"] = [f"must be one of {', '.join(ALL_PUSH_PROVIDERS)}"]
    elif provider:
        values["push_provider"] = provider
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
    if isinstance(token, str) and len(token) > MAX_TOKEN_LENGTH:
        errors["device_token"] = [f"must be at most {MAX_TOKEN_LENGTH} characters"]
        return values
    subscription = _web_push_subscription(token)
    if subscription is not None and (reason := _subscription_error(subscription)):
        errors["device_token"] = [f"the subscription's {reason}"]
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
    if values["push_provider"] and values["platform"]:
        _push_provider_check(values["push_provider"], values["platform"], errors)
    return values


def _push_provider_check(provider: str, platform: str, errors: dict) -> None:
    if provider not in PUSH_PROVIDERS[platform]:
        errors["push_provider"] = [
            f"{platform} devices are sent to through {' or '.join(PUSH_PROVIDERS[platform])}"
        ]


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


def _subscription_error(subscription: dict) -> str | None:
    endpoint, keys = subscription["endpoint"], subscription["keys"]
    if len(endpoint) > MAX_ENDPOINT_LENGTH:
        return f"endpoint must be at most {MAX_ENDPOINT_LENGTH} characters"
    if any(len(key) > MAX_PUSH_KEY_LENGTH for key in keys.values()):
        return f"keys must be at most {MAX_PUSH_KEY_LENGTH} characters each"
    if reason := push_endpoint_error(endpoint):
        return f"endpoint {reason}"
    return None


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


def _check_params(params: dict, errors: dict, check_nul: bool, field: str = "params") -> None:
    """Each param's name, and its value's strings and depth (see the module's limits); errors
    named after `field` (params, or its alias data)."""
    if len(params) > MAX_PARAMS:
        errors[field] = [f"at most {MAX_PARAMS} params an event"]
        return
    for key, value in params.items():
        if not key.strip() or len(key) > MAX_NAME_LENGTH:
            reason = f"a param name must be 1 to {MAX_NAME_LENGTH} characters"
        elif check_nul and NUL in key:
            reason = f"its name {NUL_REASON}"
        else:
            # _plain, inline: most values have nothing to check, and a call per param costs more.
            kind = value.__class__
            if kind is str:
                if not check_nul and len(value) <= _SHORT_STRING:
                    continue
            elif kind is not dict and kind is not list:
                continue
            if not (reason := _value_error(value, 2, True, check_nul)):
                continue
        errors[f"{field}.{key[:40]}"] = [reason]


def _check_context(context: dict, errors: dict, check_nul: bool) -> None:
    for key, value in context.items():
        if check_nul and NUL in key:
            reason = f"its name {NUL_REASON}"
        elif _plain(value, check_nul) or not (reason := _value_error(value, 2, False, check_nul)):
            continue
        errors[f"context.{key[:40]}"] = [reason]


def _plain(value, check_nul: bool) -> bool:
    """A value with nothing to check (most of them): a number, a boolean, a null, or a short
    string when no NUL can be there. Saves a call per value on the hot path."""
    kind = value.__class__
    if kind is str:
        return not check_nul and len(value) <= _SHORT_STRING
    return kind is not dict and kind is not list


def _value_error(value, depth: int, limit_strings: bool, check_nul: bool) -> str | None:
    """Why a JSON value at nesting level `depth` is refused, or None: the first NUL (when
    `check_nul`), string over MAX_STRING_BYTES (when `limit_strings`) or level past MAX_DEPTH.
    The walk stops at MAX_DEPTH, far inside Python's recursion limit."""
    kind = value.__class__
    if kind is str:
        if check_nul and NUL in value:
            return NUL_REASON
        if limit_strings and _too_long(value):
            return f"strings must be at most {MAX_STRING_BYTES} bytes (UTF-8)"
        return None
    if kind is not dict and kind is not list:
        return None
    if depth > MAX_DEPTH:
        return f"must not nest objects and arrays more than {MAX_DEPTH} levels deep"
    if kind is dict:
        for key, item in value.items():
            if check_nul and NUL in key:
                return NUL_REASON
            if limit_strings and _too_long(key):
                return f"strings must be at most {MAX_STRING_BYTES} bytes (UTF-8)"
            if reason := _value_error(item, depth + 1, limit_strings, check_nul):
                return reason
        return None
    for item in value:
        if reason := _value_error(item, depth + 1, limit_strings, check_nul):
            return reason
    return None


def _too_long(text: str) -> bool:
    return len(text) > _SHORT_STRING and len(text.encode()) > MAX_STRING_BYTES


def _check_nul(values: dict, errors: dict, name_key: str = "event_name") -> None:
    """The strings read outside params and context (whose walk checked their own)."""
    for key in ("name", *_ID_FIELDS, "device_token"):
        text = values.get(key)
        if isinstance(text, str) and NUL in text:
            errors.setdefault(name_key if key == "name" else key, [NUL_REASON])
    subscription = values.get("subscription")
    if subscription and any(NUL in key for key in subscription["keys"].values()):
        errors.setdefault("device_token", [NUL_REASON])
