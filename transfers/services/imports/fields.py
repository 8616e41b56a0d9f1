"""What an import's rows may hold, and how a CSV row becomes a profile or a tracking payload.

A CSV column maps to a Beacon field by name: a contact's `external_id`, `email`, ..., or
`custom.<name>`; an event's `event_name`, `event_time`, ..., `params.<name>` or `context.<name>`.
CSV cells are text, so a custom field or param is a string unless its mapping names a type:
`params.price:number`, `custom.vip:boolean` (`:text` is the default). The type is the mapping's,
never guessed from a cell, so that "007" stays "007" in one row and in the next. An empty cell
is an absent value (the contact's field is left as it is; the event has no such param).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from django.core.exceptions import ValidationError

CONTACT_FIELDS = (
    "external_id",
    "email",
    "phone",
    "timezone",
    "language",
    "country",
    "email_status",
)
EVENT_FIELDS = (
    "event_name",
    "event_time",
    "app_user_id",
    "anonymous_id",
    "event_id",
    "session_id",
    "device_token",
    "platform",
    "push_provider",
    "installation_id",
    "push_permission_granted",
    "timezone",
    "language",
    "country",
)
# A column's field needs: contacts are upserted by the customer's id; a historical event without
# its time would be stamped "now" (and could trigger campaigns), and its content fingerprint
# would differ at each re-import, so the same file imported twice would store it twice.
REQUIRED = {"contacts": ("external_id",), "events": ("event_name", "event_time")}
PREFIXES = {"contacts": ("custom",), "events": ("params", "context")}
TYPES = ("text", "number", "boolean")
BOOLEAN_FIELDS = {"push_permission_granted"}
# Other names a header may use for a field (compared lower-case, with _ for spaces and dashes).
ALIASES = {
    "contacts": {
        "id": "external_id",
        "user_id": "external_id",
        "userid": "external_id",
        "customer_id": "external_id",
        "app_user_id": "external_id",
        "e_mail": "email",
        "email_address": "email",
        "phone_number": "phone",
        "mobile": "phone",
        "tz": "timezone",
        "locale": "language",
        "lang": "language",
    },
    "events": {
        "name": "event_name",
        "event": "event_name",
        "time": "event_time",
        "timestamp": "event_time",
        "occurred_at": "event_time",
        "user_id": "app_user_id",
        "userid": "app_user_id",
        "external_id": "app_user_id",
        "customer_id": "app_user_id",
        "anonymousid": "anonymous_id",
        "message_id": "event_id",
        "messageid": "event_id",
        "tz": "timezone",
        "locale": "language",
    },
}
_TRUE, _FALSE = {"true", "1", "yes", "y", "t"}, {"false", "0", "no", "n", "f"}
_INTEGER = re.compile(r"[+-]?\d+")


@dataclass(frozen=True)
class Target:
    """Where a column goes: `field` (a top-level one), or `prefix` + `name` (custom.x)."""

    field: str
    prefix: str = ""
    type: str = "text"

    @property
    def label(self) -> str:
        return f"{self.prefix}.{self.field}" if self.prefix else self.field


def fields_for(kind: str) -> tuple[str, ...]:
    return CONTACT_FIELDS if kind == "contacts" else EVENT_FIELDS


def target_parse(kind: str, text: str) -> Target:
    """`email`, `custom.plan`, `params.price:number`; a ValueError says what is wrong."""
    spec, _, type_ = text.strip().partition(":")
    type_ = type_.strip() or "text"
    if type_ not in TYPES:
        raise ValueError(f"{text!r}: the type must be one of {', '.join(TYPES)}")
    prefix, dot, name = spec.partition(".")
    if dot:
        if prefix not in PREFIXES[kind] or not name:
            allowed = ", ".join(f"{p}.<name>" for p in PREFIXES[kind])
            raise ValueError(f"{text!r}: a named field of a {kind} import is {allowed}")
        return Target(field=name, prefix=prefix, type=type_)
    if spec not in fields_for(kind):
        raise ValueError(f"{text!r} is not a field of a {kind} import")
    if type_ != "text":
        raise ValueError(f"{text!r}: only custom fields and params take a type")
    return Target(field=spec)


def mapping_clean(kind: str, columns: list[str], mapping: dict[str, str]) -> dict[str, Target]:
    """The mapping's targets by column, checked as a whole: known columns, each field at most
    once, the kind's required fields present. Raises a ValidationError naming the columns."""
    errors: dict[str, list[str]] = {}
    targets: dict[str, Target] = {}
    for column, text in mapping.items():
        if not text or not text.strip():
            continue  # not imported
        if column not in columns:
            errors.setdefault(column, []).append("no such column in the file")
            continue
        try:
            targets[column] = target_parse(kind, text)
        except ValueError as exc:
            errors.setdefault(column, []).append(str(exc))
    seen: dict[str, str] = {}
    for column, target in targets.items():
        key = f"{target.prefix}.{target.field}" if target.prefix else target.field
        if key in seen:
            errors.setdefault(column, []).append(f"{key} is already the column {seen[key]!r}'s")
        seen.setdefault(key, column)
    if missing := [f for f in REQUIRED[kind] if f not in seen]:
        errors.setdefault("mapping", []).append(f"map a column to {', '.join(missing)}")
    if errors:
        raise ValidationError(errors)
    return targets


def mapping_guess(kind: str, columns: list[str]) -> dict[str, str]:
    """A first mapping from the header's names: a field of the kind, an alias of one, else a
    custom field (contacts) or a param (events) of that name, as text."""
    fields, guessed, taken = fields_for(kind), {}, set()
    for column in columns:
        key = re.sub(r"[\s-]+", "_", column.strip().lower())
        field = key if key in fields else ALIASES[kind].get(key)
        if field and field not in taken:
            guessed[column] = field
            taken.add(field)
        elif column.strip():
            guessed[column] = f"{PREFIXES[kind][0]}.{column.strip()}"
        else:
            guessed[column] = ""
    return guessed


def mapping_choices(kind: str, column: str) -> list[tuple[str, str]]:
    """What a column may be mapped to on the admin's mapping page."""
    name = column.strip()
    named = [
        (f"{prefix}.{name}" + _suffix(type_), f"{prefix}.{name} ({type_})")
        for prefix in PREFIXES[kind]
        for type_ in TYPES
        if name and not (prefix == "context" and type_ != "text")
    ]
    return [("", "(not imported)"), *[(f, f) for f in fields_for(kind)], *named]


def _suffix(type_: str) -> str:
    return "" if type_ == "text" else f":{type_}"


def row_record(kind: str, targets: dict[str, Target], cells: dict[str, str]) -> dict:
    """A CSV row (cells by column) as a profile (contacts) or a tracking payload (events).
    Raises a ValidationError naming the field whose cell cannot be read as its type."""
    record: dict = {}
    nested: dict[str, dict] = {}
    for column, target in targets.items():
        text = cells.get(column, "")
        if text == "":
            continue
        value = _typed(target, text)
        if target.prefix:
            nested.setdefault(target.prefix, {})[target.field] = value
        else:
            record[target.field] = value
    if kind == "contacts":
        if "custom" in nested:
            record["custom_fields"] = nested["custom"]
    else:
        record.update(nested)
    return record


def _typed(target: Target, text: str):
    type_ = "boolean" if target.field in BOOLEAN_FIELDS and not target.prefix else target.type
    if type_ == "number":
        try:
            number = int(text) if _INTEGER.fullmatch(text.strip()) else float(text)
        except ValueError:
            number = math.nan
        if not math.isfinite(number):
            raise ValidationError({target.label: [f"{text[:40]!r} is not a number"]})
        return number
    if type_ == "boolean":
        lowered = text.strip().lower()
        if lowered in _TRUE or lowered in _FALSE:
            return lowered in _TRUE
        raise ValidationError({target.label: [f"{text[:40]!r} is not true or false"]})
    return text
