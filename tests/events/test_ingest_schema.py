"""One ingest schema: the published OpenAPI schema of the tracking API and the validation ingest
enforces (events/validation.py) say the same thing.

The input schema is built from the validator's field table, INPUT_FIELDS; these tests check that
the validator reads exactly those fields, refuses whatever the published schema refuses (type,
length, choices, required) and accepts every JSON type the schema publishes; and that real
responses of /api/v1/events and /api/v1/events/batch hold no key the output schema lacks.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import cache

import jsonschema
import pytest
from drf_spectacular.generators import SchemaGenerator

from events.validation import (
    INPUT_FIELDS,
    MAX_BATCH,
    MAX_ENDPOINT_LENGTH,
    MAX_PARAMS,
    MAX_TOKEN_LENGTH,
    parse_event_payload,
)

NOW = datetime(2026, 3, 29, 12, 0, tzinfo=UTC)
SUBSCRIPTION = {
    "endpoint": "https://fcm.googleapis.com/fcm/send/abc",
    "keys": {"p256dh": "BNcRd", "auth": "tBHI"},
}
BODY_AUTH = {"api_key", "tenant_id"}  # read by contacts.api.auth, not by the validator

LONG_ENDPOINT = SUBSCRIPTION["endpoint"] + "a" * MAX_ENDPOINT_LENGTH

# Values any field may be given; each one the validator accepts, the schema must accept too.
POOL = [
    None, "", " ", "x", "x" * 255, "x" * 256, 0, 12, 1.5, True, False, {}, {"a": 1}, [], ["x"],
    "android", "Europe/Istanbul", "tr", "TR", "2026-03-29T14:30:00+03:00", "1359389415",
    1359389415, SUBSCRIPTION, json.dumps(SUBSCRIPTION), {"endpoint": 1},
    # the limits of issue 15
    "x" * MAX_TOKEN_LENGTH, "x" * (MAX_TOKEN_LENGTH + 1), "a\x00b", {"a": "\x00"}, {"\x00": 1},
    {f"p{i}": i for i in range(MAX_PARAMS + 1)}, {**SUBSCRIPTION, "endpoint": LONG_ENDPOINT},
    {**SUBSCRIPTION, "keys": {"p256dh": "a" * 257, "auth": "b"}},
    {**SUBSCRIPTION, "keys": {"p256dh": "BNcRd", "auth": "\x00"}},
]  # fmt: skip

# Values the validator accepts, one at least of each JSON type the schema publishes per field.
ACCEPTED = {
    "event_name": ["purchase", "x" * 255],
    # last None: the payload of all fields gives event_name (both at once is refused)
    "name": ["purchase", "x" * 255, "", None],
    "event_time": [None, "", "2026-03-29T14:30:00+03:00", 1359389415, 1359389415.5],
    # last None: the payload of all fields gives event_time (both at once is refused)
    "timestamp": ["", "2026-03-29T14:30:00+03:00", 1359389415, 1359389415.5, None],
    "app_user_id": [None, "", "u1", "x" * 255, 42],
    "anonymous_id": [None, "", "a1", 42],
    "event_id": [None, "", "order-1", 42],
    "session_id": [None, "", "sess_abc", 42],
    "device_token": [
        None,
        "",
        "fcm-token",
        "x" * MAX_TOKEN_LENGTH,
        SUBSCRIPTION,
        json.dumps(SUBSCRIPTION),
    ],
    "platform": [None, "", "android", "ios", "web"],
    "push_provider": [None, "", "fcm", "apns", "onesignal", "webpush"],
    "installation_id": [None, "", "install-1", "x" * 255, 42],
    "push_permission_granted": [None, True, False],
    "timezone": [None, "", "Europe/Istanbul"],
    "language": [None, "", "tr"],
    "country": [None, "", "TR"],
    "params": [None, {}, {"amount": 49.99}, {f"p{i}": i for i in range(MAX_PARAMS)}],
    "data": [{}, {"price": "23.45"}, None],  # last None: the payload gives params
    "context": [None, {}, {"app_version": "2.1"}],
}


@cache
def components() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)["components"]["schemas"]


def json_schema(openapi: dict, *, strict: bool = False) -> dict:
    """An OpenAPI 3.0 schema as JSON Schema: $refs inlined, `nullable` as a null branch and,
    when strict, no undeclared keys in an object."""
    if "$ref" in openapi:
        return json_schema(components()[openapi["$ref"].rsplit("/", 1)[1]], strict=strict)
    schema = {}
    for key, value in openapi.items():
        if key == "properties":
            value = {name: json_schema(sub, strict=strict) for name, sub in value.items()}
        elif key in ("items", "additionalProperties") and isinstance(value, dict):
            value = json_schema(value, strict=strict)
        elif key in ("oneOf", "anyOf", "allOf"):
            value = [json_schema(sub, strict=strict) for sub in value]
        if key != "nullable":
            schema[key] = value
    if strict and "properties" in schema:
        schema.setdefault("additionalProperties", False)
    if openapi.get("nullable"):
        return {"anyOf": [schema, {"type": "null"}]}
    return schema


def published(name: str) -> dict:
    return json_schema(components()["EventInputRequest"]["properties"][name])


def schema_accepts(schema: dict, value) -> bool:
    return jsonschema.Draft7Validator(schema).is_valid(value)


def validator_accepts(name: str, value) -> bool:
    payload = {} if name in ("event_name", "name") else {"event_name": "x"}
    _, errors = parse_event_payload({**payload, name: value}, now=NOW)
    return not [key for key in errors if key == name or key.startswith(f"{name}.")]


def json_type(value) -> str:
    kinds = {bool: "boolean", int: "integer", float: "number", str: "string", dict: "object"}
    return "null" if value is None else kinds[type(value)]


def published_types(schema: dict) -> set[str]:
    types = set()
    if "type" in schema:
        types.add(schema["type"])
    if "enum" in schema and "type" not in schema:
        types |= {json_type(value) for value in schema["enum"]}
    for key in ("oneOf", "anyOf"):
        for sub in schema.get(key, []):
            types |= published_types(sub)
    return types


class RecordingDict(dict):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.read: set[str] = set()

    def get(self, key, default=None):
        self.read.add(key)
        return super().get(key, default)

    def __getitem__(self, key):
        self.read.add(key)
        return super().__getitem__(key)

    def __contains__(self, key):
        self.read.add(key)
        return super().__contains__(key)


def test_the_published_input_fields_are_the_validators_table():
    event = components()["EventInputRequest"]
    assert set(event["properties"]) - BODY_AUTH == {spec.name for spec in INPUT_FIELDS}
    # event_name, or Customer.io's alias of it
    assert "required" not in event
    assert event["anyOf"] == [{"required": ["event_name"]}, {"required": ["name"]}]
    assert [spec.name for spec in INPUT_FIELDS if spec.required] == ["event_name"]


def test_the_validator_reads_exactly_the_fields_of_its_table():
    payload = RecordingDict({spec.name: ACCEPTED[spec.name][-1] for spec in INPUT_FIELDS})
    event, errors = parse_event_payload(payload, now=NOW)
    assert errors == {} and event is not None
    assert payload.read == {spec.name for spec in INPUT_FIELDS}


@pytest.mark.parametrize("spec", INPUT_FIELDS, ids=lambda spec: spec.name)
def test_the_validator_refuses_what_the_published_schema_refuses(spec):
    schema = published(spec.name)
    wrongly_accepted = [
        value
        for value in POOL
        if validator_accepts(spec.name, value) and not schema_accepts(schema, value)
    ]
    assert wrongly_accepted == []


@pytest.mark.parametrize("spec", INPUT_FIELDS, ids=lambda spec: spec.name)
def test_every_published_type_of_a_field_is_accepted_by_the_validator(spec):
    schema = published(spec.name)
    for value in ACCEPTED[spec.name]:
        assert validator_accepts(spec.name, value), value
        assert schema_accepts(schema, value), value
    assert published_types(schema) <= {json_type(value) for value in ACCEPTED[spec.name]}


def test_the_published_limits_are_the_validators():
    """The other direction, for the limits of issue 15: the schema refuses just past each."""
    token = published("device_token")
    assert schema_accepts(token, "x" * MAX_TOKEN_LENGTH)
    assert not schema_accepts(token, "x" * (MAX_TOKEN_LENGTH + 1))
    assert not schema_accepts(token, {**SUBSCRIPTION, "endpoint": LONG_ENDPOINT})
    assert not schema_accepts(published("params"), {f"p{i}": i for i in range(MAX_PARAMS + 1)})
    for name in ("event_name", "app_user_id", "device_token"):
        assert not schema_accepts(published(name), "a\x00b"), name


def test_the_published_batch_holds_1_to_max_batch_events():
    events = json_schema(components()["EventBatchInputRequest"])["properties"]["events"]
    assert (events["minItems"], events["maxItems"]) == (1, MAX_BATCH)


def test_an_absent_required_field_is_refused_by_both():
    required = [spec.name for spec in INPUT_FIELDS if spec.required]
    _, errors = parse_event_payload({}, now=NOW)
    assert set(required) <= set(errors)
    assert not schema_accepts(json_schema(components()["EventInputRequest"]), {})


def assert_declared(response, component: str) -> None:
    assert response.status_code == 200, response.content
    jsonschema.validate(response.json(), json_schema(components()[component], strict=True))


def test_responses_of_one_event_hold_only_declared_keys(track):
    payload = {"event_name": "purchase", "anonymous_id": "anon-1", "event_id": "order-1"}
    assert_declared(track(**payload), "EventAccepted")
    assert_declared(track(**payload), "EventAccepted")  # the duplicate
    assert_declared(track(event_name="opened", app_user_id="u1"), "EventAccepted")


def test_responses_of_a_batch_hold_only_declared_keys(ingest_client):
    events = [
        {"event_name": "purchase", "anonymous_id": "anon-1", "event_id": "order-1"},
        {"event_name": "purchase", "anonymous_id": "anon-1", "event_id": "order-1"},
        {"event_name": "opened", "app_user_id": "u1"},
        {"event_name": "x" * 256},
    ]
    response = ingest_client.post("/api/v1/events/batch", {"events": events}, format="json")
    assert_declared(response, "EventBatchResult")
    items = response.json()["results"]
    assert [("error" in item, item.get("duplicate")) for item in items] == [
        (False, False),
        (False, True),
        (False, False),
        (True, None),
    ]
