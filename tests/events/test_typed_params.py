"""Typed attributes: prefixes, declarations with coercion, discovery from the first value."""

from __future__ import annotations

import pytest

from events.models import Event, EventAttribute, EventType
from events.services.event_types import event_attribute_declare


def stored_params(name="x"):
    return Event.objects.get(event_type__name=name).params


def attribute_type(name, event="x"):
    return EventAttribute.objects.get(event_type__name=event, name=name).type


def test_undeclared_attributes_take_the_type_of_their_first_value(track):
    params = {
        "amount": 9.5,
        "count": 3,
        "vip": True,
        "at": "2026-01-02T03:04:05+02:00",
        "cart": {"items": 2},
        "tags": ["a"],
        "note": "hi",
        "day": "2026-01-02",
    }
    assert track(event_name="x", app_user_id="u", params=params).status_code == 200
    assert {n: attribute_type(n) for n in params} == {
        "amount": "number",
        "count": "number",
        "vip": "boolean",
        "at": "date",
        "cart": "json",
        "tags": "json",
        "note": "string",
        "day": "string",
    }
    assert not EventAttribute.objects.filter(declared=True).exists()


def test_dates_are_stored_as_comparable_utc_text(track):
    track(event_name="x", app_user_id="u", params={"date_at": "2026-01-02T03:04:05+02:00"})
    assert stored_params()["date_at"] == "2026-01-02T01:04:05.000000+00:00"


def test_prefixed_params_have_their_prefix_type(track):
    params = {
        "string_zip": 12345,
        "float_price": "49.99",
        "int_qty": "3",
        "bool_gift": "true",
        "date_due": 0,
        "object_meta": [1],
    }
    assert track(event_name="x", app_user_id="u", params=params).status_code == 200
    assert stored_params() == {
        "string_zip": "12345",
        "float_price": 49.99,
        "int_qty": 3,
        "bool_gift": True,
        "date_due": "1970-01-01T00:00:00.000000+00:00",
        "object_meta": [1],
    }


def test_declared_number_attribute_coerces_strings(track, app):
    event_type = EventType.objects.get(app=app, name="purchase_completed")
    event_attribute_declare(event_type=event_type, name="amount", type_="number")
    track(event_name="purchase_completed", app_user_id="u", params={"amount": "39"})
    assert stored_params("purchase_completed") == {"amount": 39}


@pytest.mark.parametrize(
    ("type_", "value", "reason"),
    [
        ("number", "abc", "expected a number"),
        ("boolean", "maybe", "expected a boolean"),
        ("date", "2026-01-01T10:00:00", "offset"),
        ("string", {"a": 1}, "expected a string"),
        ("number", True, "expected a number"),
    ],
)
def test_value_that_cannot_be_read_as_the_declared_type_is_a_400(track, app, type_, value, reason):
    event_type = EventType.objects.get(app=app, name="purchase_completed")
    event_attribute_declare(event_type=event_type, name="p", type_=type_)
    response = track(event_name="purchase_completed", app_user_id="u", params={"p": value})
    assert response.status_code == 400
    assert reason in response.json()["detail"]["params.p"][0]
    assert not Event.objects.filter(event_type__name="purchase_completed").exists()


def test_discovered_type_holds_for_later_values(track):
    track(event_name="x", app_user_id="u", params={"n": 1})
    assert track(event_name="x", app_user_id="u", params={"n": "2"}).status_code == 200
    response = track(event_name="x", app_user_id="u", params={"n": "two"})
    assert response.status_code == 400 and "params.n" in response.json()["detail"]


def test_int_prefix_refuses_fractions(track):
    response = track(event_name="x", params={"int_qty": 1.5})
    assert (
        response.status_code == 400 and "integer" in response.json()["detail"]["params.int_qty"][0]
    )


def test_rejected_event_does_not_register_its_attributes(track):
    track(event_name="x", params={"int_qty": 1.5, "fresh": "value"})
    assert not EventAttribute.objects.filter(name="fresh").exists()


def test_null_values_are_kept_without_fixing_a_type(track):
    track(event_name="x", app_user_id="u", params={"maybe": None})
    assert stored_params() == {"maybe": None}
    assert not EventAttribute.objects.filter(name="maybe").exists()
