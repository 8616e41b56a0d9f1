"""Segment's HTTP Tracking API messages as Beacon tracking payloads: pure functions, no HTTP.

The mapping is written down in docs/segment-spec.md. A message becomes one payload for
`events_ingest` (validated there, like any other), plus the profile traits an identify or a group
call sets; errors come back named by the message's own fields (`event`, `properties.price`,
`context.device.token`), so a Segment user can find what is wrong in what they sent.

Plain Python on purpose: /v1/batch translates up to 2,500 messages a request and must keep up
with Beacon's own batch endpoint (bench/ingest.py), so no serializer per message.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache

from common.locales import country_code, known_countries, known_languages, known_timezones
from events.attributes import parse_instant

MESSAGE_TYPES = ("track", "identify", "page", "screen", "alias", "group")
# Beacon's event for each call but track (whose event is the message's `event`). identify's is
# the one Beacon's browser SDK sends (campaigns/static/beacon/beacon.js).
EVENT_NAMES = {
    "identify": "user_identified",
    "page": "page_viewed",
    "screen": "screen_viewed",
    "alias": "user_aliased",
    "group": "group_joined",
}
GROUP_ID_FIELD = "group_id"  # the contact's custom field holding its group
GROUP_TRAIT_PREFIX = "group_"  # a group's trait `industry` is the custom field group_industry
DEVICE_PLATFORMS = ("android", "ios")  # what context.device.type may register a token for
INSTANT_SHAPE_REASON = "must be a time: RFC 3339 text (without NUL) or Unix seconds"

# Beacon's payload fields, as the message names them (for errors). The identity, the params
# and the time depend on the call, see _field_names.
_FIELD_NAMES = {
    "event_name": "event",
    "event_id": "messageId",
    "device_token": "context.device.token",
    "platform": "context.device.type",
    "push_provider": "context.device.type",
    "installation_id": "context.device.id",
    "session_id": "context.sessionId",
    "timezone": "context.timezone",
    "language": "context.locale",
}


@dataclass
class Translated:
    """One message: its tracking payload and the profile traits it sets, or its errors."""

    payload: dict | None = None
    traits: dict | None = None  # identify's traits, or group's as custom fields
    errors: dict | None = None
    field_names: dict | None = None  # payload field -> the message's (see `message_errors`)
    kind: str | None = None


def message_translate(
    message, *, kind: str | None, received_at: datetime, sent_at=None, batch_context=None
) -> Translated:
    """A Segment message as a Beacon payload. `kind`: the call of the endpoint (/v1/track...),
    or None in a batch, where each message says its `type`. `sent_at`: the batch's sentAt (a
    message's own wins). `batch_context`: a batch's context, merged under each message's."""
    if not isinstance(message, dict):
        return Translated(errors={"non_field_errors": ["each message must be a JSON object"]})
    kind = kind or message.get("type")
    if kind not in MESSAGE_TYPES:
        return Translated(errors={"type": [f"must be one of {', '.join(MESSAGE_TYPES)}"]})
    errors: dict[str, list[str]] = {}
    context = _context(message.get("context"), batch_context, errors)
    payload = _identity(message, kind, errors)
    names = _field_names(kind)
    payload["event_id"] = message.get("messageId")
    if (sent_at_own := message.get("sentAt")) is not None and not is_instant_shaped(sent_at_own):
        errors["sentAt"] = [INSTANT_SHAPE_REASON]
    if _event_time(message, payload, received_at, sent_at, errors) == "originalTimestamp":
        names = {**names, "event_time": "originalTimestamp"}
    traits = None
    if kind == "track":
        payload["event_name"] = message.get("event")
        payload["params"] = message.get("properties")
    elif kind in ("page", "screen"):
        payload["event_name"] = EVENT_NAMES[kind]
        payload["params"] = _viewed_params(message, errors)
    elif kind == "identify":
        payload["event_name"] = EVENT_NAMES[kind]
        traits = payload["params"] = _identify_traits(message, context, errors)
    elif kind == "alias":
        payload["event_name"] = EVENT_NAMES[kind]
        payload["params"] = {"previous_id": payload["anonymous_id"]}
    else:
        payload["event_name"] = EVENT_NAMES[kind]
        payload["params"], traits = _group(message, errors)
    if context:
        payload["context"] = context
        _from_context(context, payload, errors)
    if errors:
        return Translated(errors=errors)
    return Translated(payload=payload, traits=traits, field_names=names, kind=kind)


def message_errors(errors: dict, field_names: dict | None) -> dict:
    """Ingest's errors of a payload ({"params.price": [...]}) named by the message's fields
    ({"properties.price": [...]})."""
    names = field_names or _field_names("track")
    renamed = {}
    for key, reasons in errors.items():
        head, dot, rest = key.partition(".")
        if head == "params" and dot:
            renamed[f"{names['params']}.{rest}"] = reasons
        elif head.startswith("params["):
            renamed[names["params"] + head[len("params") :]] = reasons
        else:
            renamed[names.get(key, key)] = reasons
    return renamed


@cache
def _field_names(kind: str) -> dict:
    names = dict(_FIELD_NAMES)
    names["params"] = "traits" if kind in ("identify", "group") else "properties"
    names["app_user_id"] = "userId"
    names["anonymous_id"] = "previousId" if kind == "alias" else "anonymousId"
    names["event_time"] = "timestamp"
    return names


# Identity and time ------------------------------------------------------------------------------
def _identity(message: dict, kind: str, errors: dict) -> dict:
    user_id = message.get("userId")
    if kind == "alias":
        anonymous_id = message.get("previousId")
        if _blank(anonymous_id):
            errors["previousId"] = ["is required"]
        if _blank(user_id):
            errors["userId"] = ["is required"]
    else:
        anonymous_id = message.get("anonymousId")
        if _blank(user_id) and _blank(anonymous_id):
            errors["userId"] = ["userId or anonymousId is required"]
    return {"app_user_id": user_id, "anonymous_id": anonymous_id}


def is_instant_shaped(value) -> bool:
    """Text or a number, as Beacon's times are given (whether it parses is checked where the
    time is used)."""
    if isinstance(value, str):
        return "\x00" not in value
    return isinstance(value, int | float) and not isinstance(value, bool)


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _event_time(message, payload, received_at, sent_at, errors) -> str | None:
    """`timestamp` as given; else `originalTimestamp` corrected for the device's clock skew as
    Segment does: receivedAt - (sentAt - originalTimestamp); else now (ingest's default).
    Returns the field the time came from."""
    timestamp = message.get("timestamp")
    if timestamp not in (None, ""):
        payload["event_time"] = timestamp
        return "timestamp"
    original = message.get("originalTimestamp")
    if original in (None, ""):
        return None
    sent_at = message.get("sentAt", sent_at)
    try:
        moment = parse_instant(original)
    except ValueError as exc:
        errors["originalTimestamp"] = [str(exc)]
        return None
    if sent_at not in (None, ""):
        try:
            moment = received_at - (parse_instant(sent_at) - moment)
        except ValueError as exc:
            errors["sentAt"] = [str(exc)]
            return None
        except OverflowError:
            errors["sentAt"] = ["is too far from originalTimestamp"]
            return None
    payload["event_time"] = moment.isoformat()
    return "originalTimestamp"


# Params and traits ------------------------------------------------------------------------------
def _viewed_params(message: dict, errors: dict):
    """A page or screen's properties, with its `name` and `category` (these win)."""
    properties = message.get("properties")
    if properties is not None and not isinstance(properties, dict):
        return properties  # refused by validation as properties
    params = dict(properties or {})
    for key in ("name", "category"):
        value = message.get(key)
        if value is not None and not isinstance(value, str):
            errors[key] = ["must be a string"]
        elif value:
            params[key] = value
    return params


def _identify_traits(message: dict, context: dict | None, errors: dict) -> dict:
    """`traits`, over `context.traits` (where RudderStack's and some Segment libraries put
    them)."""
    traits = message.get("traits")
    if traits is not None and not isinstance(traits, dict):
        errors["traits"] = ["must be a JSON object"]
        return {}
    nested = context.get("traits") if context else None
    if isinstance(nested, dict) and nested:
        return {**nested, **(traits or {})}
    return traits or {}


def _group(message: dict, errors: dict) -> tuple[dict, dict]:
    """The group_joined event's params (the group's traits and its id), and the contact's
    custom fields: group_id and each trait as group_<name>."""
    group_id = message.get("groupId")
    if _blank(group_id) or isinstance(group_id, bool) or not isinstance(group_id, str | int):
        errors["groupId"] = ["is required: a string or a number"]
        return {}, {}
    traits = message.get("traits")
    if traits is not None and not isinstance(traits, dict):
        errors["traits"] = ["must be a JSON object"]
        return {}, {}
    traits = traits or {}
    fields = {GROUP_ID_FIELD: str(group_id)}
    fields.update((f"{GROUP_TRAIT_PREFIX}{key}", value) for key, value in traits.items())
    return {**traits, GROUP_ID_FIELD: str(group_id)}, fields


# Context ----------------------------------------------------------------------------------------
def _context(context, batch_context, errors: dict) -> dict | None:
    if context is not None and not isinstance(context, dict):
        errors["context"] = ["must be a JSON object"]
        return None
    if isinstance(batch_context, dict) and batch_context:
        return {**batch_context, **(context or {})}
    return context


def _from_context(context: dict, payload: dict, errors: dict) -> None:
    """The device, session, timezone, language and country a context tells. Values Beacon does
    not know (a timezone that is no IANA name, a locale of no ISO language) are left in context
    only: refusing the event for them would lose it for a detail."""
    device = context.get("device")
    if isinstance(device, dict) and not _blank(device.get("token")):
        payload["device_token"] = device["token"]
        kind = device.get("type")
        payload["platform"] = kind.lower() if isinstance(kind, str) else None
        if payload["platform"] not in DEVICE_PLATFORMS:
            errors["context.device.type"] = [
                f"must be {' or '.join(DEVICE_PLATFORMS)} with a context.device.token"
            ]
        # A push token exists once the app registered for notifications.
        payload["push_permission_granted"] = True
        if isinstance(device.get("id"), str | int) and not isinstance(device.get("id"), bool):
            payload["installation_id"] = device["id"]
    session = context.get("sessionId")
    if isinstance(session, str | int) and not isinstance(session, bool):
        payload["session_id"] = session
    timezone = context.get("timezone")
    if isinstance(timezone, str) and timezone in known_timezones():
        payload["timezone"] = timezone
    language, country = _locale(context.get("locale"))
    if language:
        payload["language"] = language
    location = context.get("location")
    if isinstance(location, dict) and (named := _country(location.get("country"))):
        country = named
    if country:
        payload["country"] = country


def _locale(locale) -> tuple[str | None, str | None]:
    """ "en-US" (or en_US) as ("en", "US"); parts Beacon does not know as None."""
    if not isinstance(locale, str):
        return None, None
    language, _, region = locale.replace("_", "-").partition("-")
    language = language.lower()
    region = region.partition("-")[0].upper()  # "zh-Hans-CN": a script is no country
    return (
        language if language in known_languages() else None,
        region if region in known_countries() else None,
    )


def _country(value) -> str | None:
    """An ISO 3166-1 alpha-2 code, or a country's name ("United States", as Segment's
    libraries send it)."""
    if not isinstance(value, str):
        return None
    return country_code(value)
