"""Request and response shapes of the tracking API.

The ingest views validate with events.validation (plain Python, for speed); these serializers
describe the same contract for the OpenAPI schema and validate nothing themselves. The input
fields are built from events.validation.INPUT_FIELDS, the table ingest enforces, so the published
schema cannot drift from it; tests/events/test_ingest_schema.py checks real responses against the
output shapes.
"""

from __future__ import annotations

from django.core.validators import MaxLengthValidator, RegexValidator
from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from events.validation import (
    ALIASES,
    INPUT_FIELDS,
    MAX_BATCH,
    MAX_ENDPOINT_LENGTH,
    MAX_PUSH_KEY_LENGTH,
    InputField,
)

# No NUL (\u0000) in any string (events/validation.py); as an ECMA and a Python pattern alike.
NO_NUL = r"^[^\u0000]*$"
_KEY = {"type": "string", "maxLength": MAX_PUSH_KEY_LENGTH, "pattern": NO_NUL}
_SUBSCRIPTION = {
    "type": "object",
    "properties": {
        "endpoint": {
            "type": "string",
            "format": "uri",
            "maxLength": MAX_ENDPOINT_LENGTH,
            "pattern": NO_NUL,
        },
        "keys": {
            "type": "object",
            "properties": {"p256dh": _KEY, "auth": _KEY},
            "required": ["p256dh", "auth"],
        },
    },
    "required": ["endpoint", "keys"],
}


def _any_of(spec: InputField) -> dict | None:
    """The OpenAPI schema of the kinds that take more than one JSON type (None: the field's own)."""
    text = {"type": "string", "maxLength": spec.max_length, "pattern": NO_NUL}
    if spec.kind == "identifier":
        return {"oneOf": [text, {"type": "integer"}]}
    if spec.kind == "instant":
        return {"oneOf": [{"type": "string"}, {"type": "number"}]}
    if spec.kind == "token":
        return {"oneOf": [text, _SUBSCRIPTION]}
    return None


def _published(spec: InputField) -> serializers.Field:
    options = {"required": spec.required, "help_text": spec.help or None}
    if not spec.required:
        options["allow_null"] = True
    if spec.default is not None:
        options["default"] = spec.default
    if spec.kind == "boolean":
        return serializers.BooleanField(**options)
    if spec.kind == "object":
        if spec.max_length:  # published as maxProperties
            options["validators"] = [MaxLengthValidator(spec.max_length)]
        return serializers.DictField(**options)
    if not spec.required:
        options["allow_blank"] = True
    if spec.kind == "choice":
        return serializers.ChoiceField(choices=list(spec.choices), **options)
    if spec.required:  # a pattern on an optional text field would publish a oneOf with ""
        options["validators"] = [RegexValidator(NO_NUL)]
    field = serializers.CharField(max_length=spec.max_length, **options)
    if (schema := _any_of(spec)) is not None:
        extend_schema_field(schema)(field)
    return field


class EventInputSerializer(serializers.Serializer):
    """One event, and the key if it is not in the Authorization header. Any other field is
    refused, with the field it most likely means (`event`: event_name, `properties`: params,
    ...). Customer.io's `name`, `data` and `timestamp` stand for event_name, params and
    event_time (one of each pair)."""

    # The event's fields are events.validation.INPUT_FIELDS (get_fields); these two are read by
    # contacts.api.auth, not by the event's validation (and refused unless text).
    tenant_id = serializers.CharField(required=False, help_text="With api_key: body auth")
    api_key = serializers.CharField(required=False, help_text="Instead of the Bearer header")

    def get_fields(self) -> dict:
        return {**{spec.name: _published(spec) for spec in INPUT_FIELDS}, **super().get_fields()}


class EventBatchInputSerializer(serializers.Serializer):
    """Events, each stored or refused on its own, and the key if it is not in the header. An
    event's unknown field is its error in `results`; the batch's own, a 400."""

    # Items are any JSON: one that is not a valid EventInput is not a bad request but gets its
    # error in `results` while the others are stored (a poison event must not block a sender).
    events = serializers.ListField(
        child=serializers.JSONField(),
        min_length=1,
        max_length=MAX_BATCH,
        help_text=(
            f"1 to {MAX_BATCH} events, each an EventInput as POST /api/v1/events takes (without "
            "the key): an invalid one gets its error in `results`, the others are stored"
        ),
    )
    tenant_id = serializers.CharField(required=False, help_text="With api_key: body auth")
    api_key = serializers.CharField(required=False, help_text="Instead of the Bearer header")


class ClosedEventInputScheme(OpenApiSerializerExtension):
    """Publishes that the tracking API refuses any field it doesn't know (a 400 naming it):
    `additionalProperties: false`. This class only, not its subclasses: the test-event tool's
    body takes the fields it names and leaves the others."""

    target_class = EventInputSerializer

    def map_serializer(self, auto_schema, direction) -> dict:
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        return {**_required_or_alias(schema), "additionalProperties": False}


def _required_or_alias(schema: dict) -> dict:
    """A required field that has an alias (event_name, Customer.io's name) is required as
    either: `anyOf` a `required` of each."""
    aliased = {field: [field] for field in schema.get("required", []) if field in _ALIAS_NAMES}
    if not aliased:
        return schema
    for alias, field in ALIASES.items():
        if field in aliased:
            aliased[field].append(alias)
    required = [name for name in schema["required"] if name not in aliased]
    schema = {key: value for key, value in schema.items() if key != "required"}
    if required:
        schema["required"] = required
    # One field with aliases (event_name) today; more would need an allOf of these.
    [names] = aliased.values()
    return {**schema, "anyOf": [{"required": [name]} for name in names]}


_ALIAS_NAMES = frozenset(ALIASES.values())


class ClosedEventBatchInputScheme(ClosedEventInputScheme):
    target_class = EventBatchInputSerializer


class EventAcceptedSerializer(serializers.Serializer):
    fingerprint = serializers.CharField(help_text="SHA-256, 64 hex characters")
    duplicate = serializers.BooleanField()
    contact_id = serializers.IntegerField()
    anonymous_id = serializers.CharField(allow_null=True)


class ValidationErrorSerializer(serializers.Serializer):
    error = serializers.ChoiceField(choices=["validation"])
    detail = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text='{"<field>": ["<reason>", ...]}',
    )


class BatchItemSerializer(serializers.Serializer):
    """One per event, in request order: the fields of an accepted event, or `error`."""

    index = serializers.IntegerField()
    fingerprint = serializers.CharField(required=False, help_text="SHA-256, 64 hex characters")
    duplicate = serializers.BooleanField(required=False)
    contact_id = serializers.IntegerField(required=False)
    anonymous_id = serializers.CharField(required=False, allow_null=True)
    error = ValidationErrorSerializer(required=False)


class EventBatchResultSerializer(serializers.Serializer):
    results = BatchItemSerializer(many=True)


def accepted_payload(result) -> dict:
    return {
        "fingerprint": result.fingerprint,
        "duplicate": result.duplicate,
        "contact_id": result.contact_id,
        "anonymous_id": result.anonymous_id,
    }


def batch_item_payload(result) -> dict:
    if result.errors:
        return {"index": result.index, "error": {"error": "validation", "detail": result.errors}}
    return {"index": result.index, **accepted_payload(result)}
