"""API input fields and filters that refuse, with a 400 naming the field, what would otherwise
reach the database and fail there (HTTP 500), and whose OpenAPI schema says exactly what they take.

- JSON values (`NulFreeJSONField`): no string or key anywhere may hold NUL (\\u0000): PostgreSQL's
  text and jsonb refuse it.
- Instants (`InstantField`; `InstantFilter` in query filters): RFC 3339 with an offset of at
  most 15:59 (what PostgreSQL takes; RFC 3339 allows 23:59), and inside years 1-9999 once in UTC
  (Python's and PostgreSQL's calendars). The pattern in the schema says the same, so a
  schema-valid value is accepted and any other refused.
- Times of day (`ClockTimeField`): "HH:MM" or "HH:MM:SS", no offset (RFC 3339's `format: time`
  requires one, and a campaign's quiet hours are in each contact's own timezone).
- True/false filters (`StrictBooleanFilter`): exactly "true" or "false" (django-filter's
  BooleanFilter ignores any other value and so returns everything for a typo).
- Ids in filters (`IdFilter`): a whole number; an unknown one matches nothing.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import django_filters
from django import forms
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

NUL = "\x00"
NUL_REASON = "must not contain NUL characters (\\u0000)"
# The largest value of a PositiveIntegerField (or IntegerField) on every database we support,
# and of a BigAutoField id.
INT32_MAX = 2**31 - 1
ID_MAX = 2**63 - 1

_YEAR = r"(000[1-9]|00[1-9]\d|0[1-9]\d{2}|[1-9]\d{3})"
_DATE = _YEAR + r"-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])"
_CLOCK = r"([01]\d|2[0-3]):[0-5]\d"
INSTANT_PATTERN = rf"^{_DATE}T{_CLOCK}:[0-5]\d(\.\d{{1,6}})?(Z|[+-](0\d|1[0-5]):[0-5]\d)$"
INSTANT_HELP = (
    "RFC 3339 with Z or an offset of at most ±15:59, e.g. 2026-03-01T09:00:00Z; years 1-9999 in UTC"
)
CLOCK_TIME_PATTERN = rf"^{_CLOCK}(:[0-5]\d(\.\d{{1,6}})?)?$"
_INSTANT = re.compile(INSTANT_PATTERN)
_CLOCK_TIME = re.compile(CLOCK_TIME_PATTERN)


def nul_path(value, path: str = "") -> str | None:
    """Where the first NUL character in a JSON value is ("" for the value itself, else a dotted
    path like "params.sku" or "tags.2"), or None if there is none."""
    if isinstance(value, str):
        return path if NUL in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            inner = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and NUL in key:  # named with the NUL escaped
                return inner.replace(NUL, "\\u0000")
            found = nul_path(item, inner)
            if found is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = nul_path(item, f"{path}.{index}" if path else str(index))
            if found is not None:
                return found
    return None


def refuse_nul(value) -> None:
    """A DRF ValidationError if any string or key of the JSON value holds a NUL character."""
    path = nul_path(value)
    if path is not None:
        raise serializers.ValidationError(f"{path}: {NUL_REASON}" if path else NUL_REASON)


class NulFreeJSONField(serializers.JSONField):
    """Any JSON value without NUL characters (PostgreSQL's jsonb can't hold them)."""

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        refuse_nul(value)
        return value


@extend_schema_field({"type": "object", "additionalProperties": True})
class NulFreeDictField(NulFreeJSONField):
    """A JSON object without NUL characters."""

    default_error_messages = {"not_a_dict": 'expected an object but got "{input_type}"'}

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if not isinstance(value, dict):
            self.fail("not_a_dict", input_type=type(value).__name__)
        return value


@extend_schema_field({"type": "string", "pattern": CLOCK_TIME_PATTERN, "example": "22:00"})
class ClockTimeField(serializers.TimeField):
    """A time of day as "HH:MM" or "HH:MM:SS", without an offset."""

    default_error_messages = {"invalid": "must be a time of day as HH:MM or HH:MM:SS"}

    def to_internal_value(self, value):
        if not isinstance(value, str) or not _CLOCK_TIME.match(value):
            self.fail("invalid")
        return super().to_internal_value(value)


def parse_instant(text: str) -> datetime:
    """An RFC 3339 instant (INSTANT_PATTERN) in UTC; ValueError with the reason if it isn't one."""
    if not _INSTANT.match(text):
        raise ValueError(INSTANT_HELP)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError("not a valid date and time") from None
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # before year 1 or after year 9999 once in UTC
        raise ValueError("must be between 0001-01-01 and 9999-12-31 in UTC") from None


@extend_schema_field({"type": "string", "format": "date-time", "pattern": INSTANT_PATTERN})
class InstantField(serializers.DateTimeField):
    """An RFC 3339 instant (see INSTANT_PATTERN), stored and answered in UTC."""

    def to_internal_value(self, value):
        if not isinstance(value, str):
            self.fail("invalid", format=INSTANT_HELP)
        try:
            return parse_instant(value)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from None


class InstantFormField(forms.CharField):
    def to_python(self, value):
        text = super().to_python(value)
        if text in self.empty_values:
            return None
        try:
            return parse_instant(text)
        except ValueError as exc:
            raise forms.ValidationError(str(exc), code="invalid") from None


@extend_schema_field(
    {
        "type": "string",
        "format": "date-time",
        "pattern": INSTANT_PATTERN,
        "description": INSTANT_HELP,
    }
)
class InstantFilter(django_filters.Filter):
    """Filters a date-time field by an RFC 3339 instant (see INSTANT_PATTERN)."""

    field_class = InstantFormField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("help_text", INSTANT_HELP)
        super().__init__(*args, **kwargs)


@extend_schema_field(OpenApiTypes.BOOL)
class StrictBooleanFilter(django_filters.TypedChoiceFilter):
    """Exactly "true" or "false"; any other value is a 400."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("choices", [("true", "true"), ("false", "false")])
        kwargs.setdefault("coerce", lambda value: value == "true")
        super().__init__(*args, **kwargs)


@extend_schema_field({"type": "integer", "minimum": 1, "maximum": ID_MAX})
class IdFilter(django_filters.NumberFilter):
    """A whole number from 1 to 2^63-1 (NumberFilter would accept 1.5; a foreign key's lookup
    doesn't take a number past 64 bits)."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", ID_MAX)
        super().__init__(*args, **kwargs)


class StrictFilterSet(django_filters.FilterSet):
    """Refuses an empty value (`?platform=`) for a filter that isn't text: django-filter would
    ignore it, where the schema says what such a value is and "" isn't one."""

    def is_valid(self) -> bool:
        form = self.form
        form.full_clean()  # first: add_error adds to the errors it found
        for name, filter_ in self.filters.items():
            if self.data.get(name) == "" and not isinstance(filter_, django_filters.CharFilter):
                form.add_error(name, "must not be empty")
        return super().is_valid()


def json_type_error(field: serializers.Field, value) -> str | None:
    """Why a JSON value can't be the field's type, None if it can. DRF coerces what the schema
    refuses (1 or "true" for a boolean, 12 for a string, "12" for an integer)."""
    if value is None:
        return None
    if isinstance(field, serializers.BooleanField):
        return None if isinstance(value, bool) else "must be true or false"
    if isinstance(field, serializers.IntegerField):
        return None if _is_number(value) else "must be an integer"
    if isinstance(field, serializers.FloatField | serializers.DecimalField):
        return None if _is_number(value) else "must be a number"
    textual = isinstance(field, serializers.CharField) or (
        isinstance(field, serializers.ChoiceField)
        and all(isinstance(choice, str) for choice in field.choices)
    )
    return "must be a string" if textual and not isinstance(value, str) else None


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class JsonTypesMixin:
    """For input serializers of JSON bodies: each field's value must have the JSON type the schema
    gives it, or the request answers 400 naming the field."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            errors = {}
            for name, field in self.fields.items():
                if not field.read_only and name in data:
                    reason = json_type_error(field, data[name])
                    if reason:
                        errors[name] = [reason]
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)
