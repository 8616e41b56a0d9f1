"""Inputs that used to end in a 500 (or store what breaks later reads), issue 15: each is now a 400
naming the field, and inside a batch an error of that item alone, the others stored."""

from __future__ import annotations

import sys

import pytest

from contacts.models import Contact, Device
from events.attributes import parse_instant
from events.models import ContactParamStats, Event
from events.services.ingest import events_ingest
from events.validation import (
    MAX_DEPTH,
    MAX_ENDPOINT_LENGTH,
    MAX_PARAMS,
    MAX_STRING_BYTES,
    MAX_TOKEN_LENGTH,
    parse_event_payload,
)

NUL = "\x00"
ENDPOINT = "https://fcm.googleapis.com/fcm/send/abc"
KEYS = {"p256dh": "BNcRd", "auth": "tBHI"}


def stored(**filters):
    return Event.objects.exclude(event_type__name__startswith="@").filter(**filters)


def accepted(response) -> None:
    assert response.status_code == 200, response.content


def refused(response, field: str, reason: str = "") -> None:
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["error"] == "validation"
    assert field in body["detail"], body["detail"]
    assert reason in " ".join(body["detail"][field])


def nested(levels: int, leaf=1):
    """`levels` objects, one inside the other, around `leaf`."""
    value = leaf
    for _ in range(levels):
        value = {"a": value}
    return value


def batch(ingest_client, events: list) -> list[dict]:
    response = ingest_client.post("/api/v1/events/batch", {"events": events}, format="json")
    assert response.status_code == 200, response.content
    return response.json()["results"]


# NUL characters ---------------------------------------------------------------------------------

NUL_CASES = [
    ({"event_name": f"a{NUL}b"}, "event_name"),
    ({"app_user_id": f"u{NUL}"}, "app_user_id"),
    ({"anonymous_id": f"{NUL}"}, "anonymous_id"),
    ({"event_id": f"e{NUL}1"}, "event_id"),
    ({"session_id": f"s{NUL}"}, "session_id"),
    ({"device_token": f"tok{NUL}en", "platform": "android"}, "device_token"),
    ({"device_token": {"endpoint": ENDPOINT + NUL, "keys": KEYS}}, "device_token"),
    ({"device_token": {"endpoint": ENDPOINT, "keys": {**KEYS, "auth": NUL}}}, "device_token"),
    ({"params": {"note": f"a{NUL}"}}, "params.note"),
    ({"params": {f"no{NUL}te": "a"}}, f"params.no{NUL}te"),
    ({"params": {"cart": {"items": [{"sku": f"A{NUL}"}]}}}, "params.cart"),
    ({"params": {"cart": {f"it{NUL}ems": 1}}}, "params.cart"),
    ({"params": {"tags": ["a", NUL]}}, "params.tags"),
    ({"context": {"ua": f"Mozilla{NUL}"}}, "context.ua"),
    ({"context": {f"u{NUL}a": "Mozilla"}}, f"context.u{NUL}a"),
    ({"context": {"device": {"os": [f"{NUL}"]}}}, "context.device"),
]


@pytest.mark.parametrize(("payload", "field"), NUL_CASES, ids=lambda v: str(v)[:40])
def test_a_nul_character_anywhere_is_a_400_naming_the_field(track, payload, field):
    response = track(**{"event_name": "x", "app_user_id": "u1", **payload})
    refused(response, field, "NUL")
    assert not stored().exists()
    assert not Device.objects.exists()


def test_a_batch_stores_its_events_beside_the_ones_holding_nul(ingest_client):
    events = [
        {"event_name": "ok", "app_user_id": "u1"},
        *[{"event_name": "x", "app_user_id": "u2", **payload} for payload, _ in NUL_CASES],
        {"event_name": "ok", "app_user_id": "u3"},
    ]
    results = batch(ingest_client, events)
    assert "fingerprint" in results[0] and "fingerprint" in results[-1]
    for (_, field), result in zip(NUL_CASES, results[1:-1], strict=True):
        assert field in result["error"]["detail"], result
    assert sorted(stored().values_list("contact__external_id", flat=True)) == ["u1", "u3"]


def test_an_escaped_backslash_before_u0000_is_plain_text(ingest_client):
    """The byte search for the escape is only a pre-filter: `\\\\u0000` in JSON is a backslash
    followed by "u0000", six harmless characters."""
    body = b'{"event_name": "x", "app_user_id": "u1", "params": {"path": "C:\\\\u0000"}}'
    response = ingest_client.post("/api/v1/events", body, content_type="application/json")
    assert response.status_code == 200, response.content
    assert stored().get().params == {"path": "C:\\u0000"}


def test_the_service_checks_nul_unless_told_the_body_has_none(app):
    payload = {"event_name": "x", "params": {"a": NUL}}
    [result] = events_ingest(app=app, payloads=[payload])
    assert "params.a" in result.errors
    _, errors = parse_event_payload(payload, now=parse_instant(0), check_nul=False)
    assert errors == {}  # what the view's scan of the body vouches for


# Times ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event_time", "reason"),
    [
        ("2026-01-01T00:00:00+16:00", "offset"),
        ("2026-01-01T00:00:00-16:00", "offset"),
        ("2026-01-01T00:00:00+23:59", "offset"),
        ("0001-01-01T00:30:00+01:00", "0001-01-02"),
        ("0001-01-01T00:00:00Z", "0001-01-02"),
        (-62135596800, "0001-01-02"),  # 0001-01-01T00:00:00Z in Unix seconds
        (-1e300, "0001-01-02"),
        ("-99999999999999999999", "0001-01-02"),
    ],
)
def test_an_event_time_out_of_range_is_a_400(track, event_time, reason):
    refused(track(event_name="x", app_user_id="u1", event_time=event_time), "event_time", reason)
    assert not stored().exists()


def test_offsets_up_to_15_59_are_accepted_and_stored_in_utc(track):
    accepted(track(event_name="x", app_user_id="u1", event_time="2026-01-01T20:00:00+15:59"))
    accepted(track(event_name="y", app_user_id="u1", event_time="2026-01-01T00:00:00-15:59"))
    times = dict(stored().values_list("event_type__name", "occurred_at"))
    assert [t.isoformat() for t in (times["x"], times["y"])] == [
        "2026-01-01T04:01:00+00:00",
        "2026-01-01T15:59:00+00:00",
    ]


def test_a_refused_bc_time_leaves_the_contact_list_readable(track, admin_client):
    track(event_name="x", app_user_id="u1", event_time="0001-01-01T00:30:00+01:00")
    accepted(track(event_name="x", app_user_id="u1"))
    response = admin_client.get("/api/v1/contacts")
    assert response.status_code == 200, response.content
    assert [c["external_id"] for c in response.json()["results"]] == ["u1"]


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("9999-12-31T23:59:59-14:00", "9999-12-30"),
        ("0001-01-01T00:30:00+01:00", "0001-01-02"),
        ("2026-01-01T00:00:00+16:00", "offset"),
        (1e300, "9999-12-30"),
        ("99999999999999999999", "9999-12-30"),
    ],
)
def test_a_date_param_out_of_range_is_a_400(track, value, reason):
    response = track(event_name="x", app_user_id="u1", params={"date_due": value})
    refused(response, "params.date_due", reason)
    assert not stored().exists()


def test_instants_beyond_a_double_or_the_calendar_are_value_errors():
    for value in (10**400, -(10**400), float("nan"), float("inf"), "9" * 400):
        with pytest.raises(ValueError, match="0001-01-02"):
            parse_instant(value)


# Depth ------------------------------------------------------------------------------------------


def test_params_and_context_may_nest_32_levels(track):
    deepest = nested(MAX_DEPTH - 1)  # params itself is the first level
    accepted(track(event_name="x", app_user_id="u1", params={"a": deepest}))
    accepted(track(event_name="y", app_user_id="u1", context={"a": deepest}))
    assert stored().count() == 2


@pytest.mark.parametrize("levels", [MAX_DEPTH, 300, 1000])
@pytest.mark.parametrize("field", ["params", "context"])
def test_deeper_nesting_is_a_400(ingest_client, field, levels):
    # JSON text: Python's encoder would recurse too deep; orjson's parser takes 1024 levels.
    deep = '{"a":' * levels + "1" + "}" * levels
    body = f'{{"event_name": "x", "app_user_id": "u1", "{field}": {{"a": {deep}}}}}'
    response = ingest_client.post("/api/v1/events", body, content_type="application/json")
    refused(response, f"{field}.a", "32 levels")
    assert not stored().exists()


def test_arrays_count_as_levels_too(track):
    value = 1
    for _ in range(MAX_DEPTH):
        value = [value]
    refused(track(event_name="x", params={"a": value}), "params.a", "32 levels")


def test_a_batch_stores_its_events_beside_one_nested_too_deep(ingest_client):
    events = [
        {"event_name": "ok", "app_user_id": "u1"},
        {"event_name": "x", "app_user_id": "u2", "params": {"a": nested(300)}},
        {"event_name": "ok", "app_user_id": "u3"},
    ]
    results = batch(ingest_client, events)
    assert "32 levels" in results[1]["error"]["detail"]["params.a"][0]
    assert stored().count() == 2


# Number params and their per-contact sums -------------------------------------------------------


def totals(param: str = "amount") -> list[float]:
    return list(ContactParamStats.objects.filter(param=param).values_list("total", flat=True))


def test_a_sum_past_the_largest_double_saturates_and_the_contact_stays_writable(track):
    big = 1.7e308
    for _ in range(3):
        response = track(event_name="buy", app_user_id="u1", params={"amount": big})
        assert response.status_code == 200, response.content
    assert totals() == [sys.float_info.max]
    accepted(track(event_name="buy", app_user_id="u1", params={"amount": -big}))
    assert totals() == [sys.float_info.max - big]  # it comes back from the bound
    accepted(track(event_name="buy", app_user_id="u1", params={"amount": 1}))
    stats = ContactParamStats.objects.get(param="amount")
    assert (stats.count, stats.minimum, stats.maximum) == (5, -big, big)
    assert stored().count() == 5


def test_negative_sums_saturate_too(track):
    for _ in range(2):
        accepted(track(event_name="buy", app_user_id="u1", params={"amount": -1.7e308}))
    assert totals() == [-sys.float_info.max]


def test_a_sum_that_overflows_within_one_batch_saturates(ingest_client):
    events = [
        {"event_name": "buy", "app_user_id": "u1", "params": {"amount": 1.7e308}, "event_id": i}
        for i in range(1, 4)
    ]
    assert all("fingerprint" in r for r in batch(ingest_client, events))
    assert totals() == [sys.float_info.max]
    assert all("fingerprint" in r for r in batch(ingest_client, [{**events[0], "event_id": 9}]))
    assert totals() == [sys.float_info.max]


def test_merged_contacts_saturate_their_sums(track):
    track(event_name="buy", app_user_id="u1", params={"amount": 1.7e308})
    track(event_name="buy", anonymous_id="anon", params={"amount": 1.7e308})
    response = track(event_name="login", app_user_id="u1", anonymous_id="anon")
    assert response.status_code == 200, response.content
    assert Contact.objects.count() == 1
    assert totals() == [sys.float_info.max]
    accepted(track(event_name="buy", app_user_id="u1", params={"amount": 5}))


@pytest.mark.parametrize("value", [1e20, -1e20, "123456789012345678901234567890", 2**64])
def test_an_int_param_beyond_64_bits_is_a_400(track, value):
    refused(track(event_name="x", params={"int_qty": value}), "params.int_qty", "64 bits")
    assert not stored().exists()


def test_a_number_beyond_64_bits_given_as_text_is_stored_as_a_float(track, app):
    from events.services.event_types import event_attribute_declare

    event_type = app.event_types.get(name="purchase_completed")
    event_attribute_declare(event_type=event_type, name="amount", type_="number")
    text = "123456789012345678901234567890"
    accepted(track(event_name="purchase_completed", app_user_id="u1", params={"amount": text}))
    amount = Event.objects.get(event_type=event_type).params["amount"]
    assert float(amount) == float(text)  # PostgreSQL's jsonb reads it back as an int


# Sizes ------------------------------------------------------------------------------------------


def test_a_device_token_may_have_4096_characters(track):
    token = "t" * MAX_TOKEN_LENGTH
    accepted(track(event_name="x", device_token=token, platform="android"))
    response = track(event_name="x", device_token=token + "t", platform="android")
    refused(response, "device_token", "4096")
    assert Device.objects.get().token == token


def test_a_web_push_endpoint_may_have_2048_characters(track):
    endpoint = ENDPOINT + "a" * (MAX_ENDPOINT_LENGTH - len(ENDPOINT))
    accepted(track(event_name="x", device_token={"endpoint": endpoint, "keys": KEYS}))
    longer = {"endpoint": endpoint + "a", "keys": KEYS}
    refused(track(event_name="x", device_token=longer), "device_token", "2048")
    long_key = {"endpoint": ENDPOINT, "keys": {**KEYS, "auth": "a" * 257}}
    refused(track(event_name="x", device_token=long_key), "device_token", "256")
    assert Device.objects.get().token == endpoint


def test_an_event_may_have_255_params(track):
    params = {f"p{i}": i for i in range(MAX_PARAMS)}
    accepted(track(event_name="x", app_user_id="u1", params=params))
    response = track(event_name="x", app_user_id="u1", params={**params, "one_more": 1})
    refused(response, "params", "255")
    assert stored().count() == 1


def test_a_string_in_params_may_have_8192_bytes(track):
    accepted(track(event_name="x", params={"a": "a" * MAX_STRING_BYTES}))
    refused(track(event_name="x", params={"a": "a" * (MAX_STRING_BYTES + 1)}), "params.a", "8192")
    # bytes of UTF-8, not characters: "é" is two
    refused(track(event_name="x", params={"a": "é" * 4097}), "params.a", "8192")
    refused(track(event_name="x", params={"a": {"b": ["a" * 9000]}}), "params.a", "8192")
    assert stored().count() == 1


def test_context_strings_are_bounded_by_the_body_only(track):
    accepted(track(event_name="x", context={"trace": "a" * 100_000}))


# Unknown top-level fields ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "meant"),
    [
        ("eventname", "event_name"),
        ("EventName", "event_name"),
        ("event", "event_name"),  # Segment, Mixpanel
        ("properties", "params"),  # Segment
        ("param", "params"),
        ("userId", "app_user_id"),
        ("user_id", "app_user_id"),
        ("customer_id", "app_user_id"),
        ("anonymousId", "anonymous_id"),
        ("messageId", "event_id"),
        ("deviceToken", "device_token"),
        ("time", "event_time"),
        ("apikey", "api_key"),
    ],
)
def test_an_unknown_field_is_a_400_suggesting_the_right_one(track, field, meant):
    response = track(event_name="x", **{field: "1"})
    assert response.status_code == 400
    assert response.json()["detail"] == {field: [f"unknown field; did you mean {meant}?"]}
    assert not stored().exists()


def test_an_unknown_field_like_no_other_says_where_data_goes(track):
    response = track(event_name="x", amount=49.99)
    assert response.json()["detail"] == {
        "amount": ["unknown field; an event's own data goes in params"]
    }


def test_a_customer_io_body_needs_only_its_customer_id_renamed(track):
    # name, data and timestamp are Customer.io's aliases (tests/events/test_customerio_compat.py)
    body = {"name": "purchase", "data": {"amount": 49.99}, "customer_id": "u1", "timestamp": 1}
    detail = track(**body).json()["detail"]
    assert detail == {"customer_id": ["unknown field; did you mean app_user_id?"]}


def test_a_flood_of_unknown_fields_is_reported_in_part(track):
    response = track(event_name="x", **{f"field_{i:05d}": i for i in range(5000)})
    detail = response.json()["detail"]
    assert response.status_code == 400 and len(detail) == 21
    assert detail["non_field_errors"] == ["and 4980 more unknown fields"]
    assert "field_00000" in detail


def test_the_smartapppush_body_and_every_known_field_are_accepted(app, ingest_key):
    from rest_framework.test import APIClient

    body = {
        "tenant_id": "shop",
        "api_key": ingest_key,
        "app_user_id": "user_123",
        "anonymous_id": "anon-1",
        "event_name": "purchase_completed",
        "event_time": "2026-03-29T14:30:00+03:00",
        "event_id": "order-1",
        "device_token": "fcm_or_onesignal_device_token",
        "platform": "android",
        "push_provider": "fcm",
        "installation_id": "install-1",
        "push_permission_granted": True,
        "timezone": "Europe/Istanbul",
        "language": "tr",
        "country": "TR",
        "session_id": "sess_abc123",
        "params": {"amount": 49.99},
        "context": {"app_version": "2.1"},
    }
    accepted(APIClient().post("/api/v1/events", body, format="json"))
    body.pop("event_time")
    accepted(APIClient().post("/api/v1/events", {**body, "timestamp": 1359389415}, format="json"))


def test_a_batch_reports_each_events_unknown_fields_at_its_index(ingest_client):
    events = [
        {"event_name": "a", "app_user_id": "u1"},
        {"event_name": "b", "userId": "u1", "properties": {"x": 1}},
        {"event_name": "c", "app_user_id": "u1", "api_key": "ignored in a batch item"},
    ]
    results = batch(ingest_client, events)
    assert "fingerprint" in results[0] and "fingerprint" in results[2]
    assert results[1]["error"]["detail"] == {
        "properties": ["unknown field; did you mean params?"],
        "userId": ["unknown field; did you mean app_user_id?"],
    }
    assert sorted(stored().values_list("event_type__name", flat=True)) == ["a", "c"]


def test_a_batch_with_unknown_fields_of_its_own_is_a_400(ingest_client):
    response = ingest_client.post(
        "/api/v1/events/batch", {"batch": [{"event_name": "a"}]}, format="json"
    )
    refused(response, "batch", "did you mean events?")
    response = ingest_client.post(
        "/api/v1/events/batch", {"events": [{"event_name": "a"}], "sentAt": 1}, format="json"
    )
    assert response.json()["detail"] == {"sentAt": ["unknown field"]}
    assert not stored().exists()


# Body credentials -------------------------------------------------------------------------------


@pytest.mark.parametrize("tenant_id", [5, True, ["shop"], {"id": "shop"}])
def test_a_tenant_id_other_than_text_is_a_400(app, ingest_key, tenant_id):
    from rest_framework.test import APIClient

    body = {"event_name": "x", "api_key": ingest_key, "tenant_id": tenant_id}
    refused(APIClient().post("/api/v1/events", body, format="json"), "tenant_id", "string")
    batch_body = {"events": [{"event_name": "x"}], "api_key": ingest_key, "tenant_id": tenant_id}
    response = APIClient().post("/api/v1/events/batch", batch_body, format="json")
    refused(response, "tenant_id", "string")
    assert not stored().exists()


def test_a_text_tenant_id_still_authenticates(app, ingest_key):
    from rest_framework.test import APIClient

    body = {"event_name": "x", "api_key": ingest_key, "tenant_id": "shop"}
    assert APIClient().post("/api/v1/events", body, format="json").status_code == 200
    body["tenant_id"] = "other"
    assert APIClient().post("/api/v1/events", body, format="json").status_code == 401


# Whatever validation misses -----------------------------------------------------------------


@pytest.fixture
def poison(monkeypatch):
    """The database refuses any event whose params hold "poison" (a DataError, as PostgreSQL's
    for a value it can't store)."""
    from django.db import DataError

    from events.services import bulk_sql

    insert = bulk_sql.insert_events

    def refusing(rows):
        if any("poison" in row[5] for row in rows):
            raise DataError("value out of range: poison")
        return insert(rows)

    monkeypatch.setattr(bulk_sql, "insert_events", refusing)


def test_a_value_the_database_refuses_fails_its_event_alone(ingest_client, poison):
    events = [{"event_name": "ok", "app_user_id": f"u{i}", "params": {"i": i}} for i in range(7)]
    events[4]["params"] = {"note": "poison"}
    results = batch(ingest_client, events)
    assert results[4]["error"]["detail"] == {
        "non_field_errors": ["the database refused a value: value out of range: poison"]
    }
    assert [i for i, r in enumerate(results) if "fingerprint" in r] == [0, 1, 2, 3, 5, 6]
    assert sorted(stored().values_list("params__i", flat=True)) == [0, 1, 2, 3, 5, 6]


def test_a_single_event_the_database_refuses_is_a_400(track, poison):
    refused(track(event_name="x", params={"note": "poison"}), "non_field_errors", "refused")
    assert not stored().exists()


def test_a_nul_that_slipped_past_validation_fails_its_event_alone(ingest_client, monkeypatch):
    """Validation's NUL check turned off: PostgreSQL refuses the NUL and only its event fails;
    SQLite stores it (which is why validation refuses NUL on both)."""
    from django.db import connection

    from events.services import ingest

    parse = ingest.parse_event_payload
    monkeypatch.setattr(
        ingest, "parse_event_payload", lambda data, **kw: parse(data, **{**kw, "check_nul": False})
    )
    events = [
        {"event_name": "ok", "app_user_id": "u1"},
        {"event_name": "x", "app_user_id": "u2", "params": {"a": NUL}},
        {"event_name": "ok", "app_user_id": "u3"},
    ]
    results = batch(ingest_client, events)
    if connection.vendor == "postgresql":
        assert "non_field_errors" in results[1]["error"]["detail"]
        assert stored().count() == 2
    else:
        assert "error" not in results[1]
        assert stored().count() == 3
