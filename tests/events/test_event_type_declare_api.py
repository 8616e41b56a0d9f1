"""POST /api/v1/event-types: an event type declared before its first event, with its attributes'
types, which the first event of that name then takes."""

from __future__ import annotations

import pytest

from events.attributes import TYPES
from events.models import Event, EventType

URL = "/api/v1/event-types"


def declare(client, **body):
    return client.post(URL, body, format="json")


@pytest.fixture
def send(track):
    def post(**payload):
        response = track(**{"app_user_id": "u1", **payload})
        assert response.status_code == 200, response.json()
        return Event.objects.get(fingerprint=response.json()["fingerprint"])

    return post


def test_a_declared_event_type_is_answered_as_get_shows_it(admin_client, app):
    response = declare(
        admin_client,
        name="order_shipped",
        description="  The parcel left the warehouse ",
        attributes=[{"name": "amount", "type": "number"}, {"name": "carrier", "type": "string"}],
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body == admin_client.get(f"{URL}/{body['id']}").json()
    assert body["name"] == "order_shipped"
    assert body["description"] == "The parcel left the warehouse"
    assert [(a["name"], a["type"], a["declared"]) for a in body["attributes"]] == [
        ("amount", "number", True),
        ("carrier", "string", True),
    ]
    assert (body["is_system"], body["first_seen_at"], body["event_count"]) == (False, None, 0)
    assert body["segmentation_enabled"] is False


def test_a_declared_type_is_not_enabled_nor_counted_against_the_cap(admin_client, app):
    before = admin_client.get(URL).json()["segmentation_enabled_count"]
    declare(admin_client, name="order_shipped")
    assert EventType.objects.get(app=app, name="order_shipped").segmentation_enabled is False
    assert admin_client.get(URL).json()["segmentation_enabled_count"] == before


def test_the_first_event_takes_the_declared_types(admin_client, app, send):
    attributes = [{"name": "amount", "type": "number"}, {"name": "paid_at", "type": "date"}]
    assert declare(admin_client, name="order_paid", attributes=attributes).status_code == 201
    # Undeclared, "39" would be a string and 1772359200 a number.
    event = send(event_name="order_paid", params={"amount": "39", "paid_at": 1772359200})
    assert event.params == {"amount": 39, "paid_at": "2026-03-01T10:00:00.000000+00:00"}
    event_type = EventType.objects.get(app=app, name="order_paid")
    assert event.event_type_id == event_type.pk and event_type.first_seen_at is not None
    assert {(a.name, a.type, a.declared) for a in event_type.attributes.all()} == {
        ("amount", "number", True),
        ("paid_at", "date", True),
    }


def test_the_first_event_is_refused_for_a_value_that_does_not_fit(admin_client, track):
    declare(admin_client, name="order_paid", attributes=[{"name": "amount", "type": "number"}])
    response = track(app_user_id="u1", event_name="order_paid", params={"amount": "a lot"})
    assert response.status_code == 400
    assert list(response.json()["detail"]) == ["params.amount"]


def test_an_array_attribute_is_declared_with_is_array(admin_client, app):
    attributes = [{"name": "tags", "type": "string", "is_array": True}]
    response = declare(admin_client, name="post_tagged", attributes=attributes)
    assert response.status_code == 201, response.json()
    [attribute] = response.json()["attributes"]
    assert (attribute["name"], attribute["type"], attribute["is_array"]) == ("tags", "string", True)


def test_without_attributes_and_description(admin_client, app):
    response = declare(admin_client, name="wishlist_shared")
    assert response.status_code == 201, response.json()
    assert (response.json()["description"], response.json()["attributes"]) == ("", [])


def test_the_same_name_in_another_app_is_free(admin_client, other_admin_client, other_app):
    assert declare(admin_client, name="order_shipped").status_code == 201
    assert declare(other_admin_client, name="order_shipped").status_code == 201
    assert EventType.objects.filter(name="order_shipped").count() == 2


@pytest.mark.parametrize(
    ("body", "field", "reason"),
    [
        ({"name": "a*b"}, "name", "must not contain *, + or |"),
        ({"name": "  "}, "name", "must not be empty"),
        ({"name": "@custom"}, "name", "names starting with @ are reserved for built-in events"),
        ({"name": "logged_in"}, "name", "an event type named logged_in already exists"),
        ({"name": "x" * 256}, "name", "Ensure this field has no more than 255 characters."),
        ({}, "name", "This field is required."),
        (
            {"name": "e", "attributes": [{"name": "amount", "type": "integer"}]},
            "attributes.0.type",
            f"must be one of {', '.join(TYPES)}",
        ),
        (
            {"name": "e", "attributes": [{"name": "a", "type": "number"}] * 2},
            "attributes.1.name",
            "a is declared twice",
        ),
        (
            {"name": "e", "attributes": [{"name": "", "type": "number"}]},
            "attributes.0.name",
            "must be a string of 1 to 255 characters",
        ),
        (
            {"name": "e", "attributes": [{"name": "a"}]},
            "attributes.0",
            "must be an object with a name, a type and optionally is_array",
        ),
        (
            {"name": "e", "attributes": [{"name": "a", "type": "json", "is_array": True}]},
            "attributes.0.is_array",
            "an array holds",
        ),
        (
            {"name": "e", "attributes": [{"name": "a", "type": "number", "is_array": "yes"}]},
            "attributes.0.is_array",
            "must be true or false",
        ),
        (
            {"name": "e", "attributes": [{"name": "ignore_a", "type": "number"}]},
            "attributes.0.name",
            "never typed",
        ),
        ({"name": "e", "attributes": {"a": "number"}}, "attributes", "must be a list"),
        ({"name": "e", "attributes": {}}, "attributes", "must be a list"),
        ({"name": "e", "attributes": ""}, "attributes", "must be a list"),
        ({"name": "e", "description": 3}, "description", "must be a string"),
        ({"name": "e\x00"}, "name", "Null characters are not allowed."),
        (
            {"name": "e", "attributes": [{"name": "a\x00", "type": "number"}]},
            "attributes",
            "must not contain NUL",
        ),
    ],
)
def test_a_bad_declaration_is_a_400_naming_the_field(admin_client, app, body, field, reason):
    names_before = set(EventType.objects.filter(app=app).values_list("name", flat=True))
    response = declare(admin_client, **body)
    assert response.status_code == 400, response.json()
    detail = response.json()["detail"]
    assert list(detail) == [field], detail
    assert reason in " ".join(detail[field])
    assert set(EventType.objects.filter(app=app).values_list("name", flat=True)) == names_before


def test_a_name_taken_by_an_event_sent_before_is_a_400(admin_client, send):
    send(event_name="coupon_used")
    response = declare(admin_client, name="coupon_used")
    assert response.status_code == 400
    assert response.json()["detail"] == {"name": ["an event type named coupon_used already exists"]}


def test_an_ingest_key_may_not_declare(ingest_client, app):
    response = declare(ingest_client, name="order_shipped")
    assert response.status_code == 403
    assert response.json()["error"] == "permission"
    assert not EventType.objects.filter(app=app, name="order_shipped").exists()
