"""POST /api/v1/events and /api/v1/events/batch: acceptance, errors, auth, de-duplication."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from rest_framework.test import APIClient

from campaigns.models import Delivery
from campaigns.services.triggers import trigger_marks_process
from contacts.models import Contact, Device
from events.models import ContactEventStats, Event, EventType
from tests.campaigns.factories import active_campaign, subscribe

SMARTAPPPUSH_EXAMPLE = {
    "tenant_id": "shop",
    "app_user_id": "user_123",
    "event_name": "purchase_completed",
    "event_time": "2026-03-29T14:30:00+03:00",
    "device_token": "fcm_or_onesignal_device_token",
    "platform": "android",
    "push_permission_granted": True,
    "timezone": "Europe/Istanbul",
    "language": "tr",
    "country": "TR",
    "session_id": "sess_abc123",
    "params": {"product_id": "SKU-9001", "amount": 49.99, "currency": "USD"},
}


def client_events(**filters):
    return Event.objects.exclude(event_type__name__startswith="@").filter(**filters)


def test_smartapppush_example_is_accepted_with_body_auth(app, ingest_key):
    payload = {**SMARTAPPPUSH_EXAMPLE, "api_key": ingest_key}
    response = APIClient().post("/api/v1/events", payload, format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert len(body["fingerprint"]) == 64 and int(body["fingerprint"], 16) >= 0
    assert body["duplicate"] is False
    contact = Contact.objects.get(pk=body["contact_id"])
    assert (contact.external_id, contact.source, contact.country) == ("user_123", "event", "TR")
    assert (contact.timezone, contact.language) == ("Europe/Istanbul", "tr")
    event = client_events().get()
    assert event.occurred_at == datetime(2026, 3, 29, 11, 30, tzinfo=UTC)
    assert event.params == {"product_id": "SKU-9001", "amount": 49.99, "currency": "USD"}
    assert event.session_id == "sess_abc123"
    device = Device.objects.get(contact=contact)
    assert (device.platform, device.push_permission_granted) == ("android", True)


def test_event_time_defaults_to_time_received(track):
    before = datetime.now(UTC)
    assert track(event_name="app_opened", app_user_id="u1").status_code == 200
    assert before <= client_events().get().occurred_at <= datetime.now(UTC)


def test_unix_seconds_event_time_is_accepted(track):
    assert track(event_name="x", app_user_id="u1", event_time=1359389415).status_code == 200
    assert client_events().get().occurred_at == datetime.fromtimestamp(1359389415, tz=UTC)


def test_customer_io_timestamp_is_the_event_time(track):
    assert track(event_name="x", app_user_id="u1", timestamp=1359389415).status_code == 200
    assert client_events().get().occurred_at == datetime.fromtimestamp(1359389415, tz=UTC)
    assert track(event_name="y", timestamp="2026-03-29T14:30:00+03:00").status_code == 200
    assert client_events(event_type__name="y").get().occurred_at == datetime(
        2026, 3, 29, 11, 30, tzinfo=UTC
    )


@pytest.mark.parametrize(
    ("timestamp", "reason"),
    [
        ("yesterday", "RFC 3339"),
        ("2026-03-29T14:30:00", "offset"),
        (True, ""),
        ({"seconds": 1}, ""),
        ("{ahead}", "future"),
    ],
)
def test_a_bad_timestamp_is_a_400_naming_it(track, timestamp, reason):
    if timestamp == "{ahead}":
        timestamp = int((datetime.now(UTC) + timedelta(minutes=6)).timestamp())
    response = track(event_name="x", timestamp=timestamp)
    assert response.status_code == 400
    assert reason in " ".join(response.json()["detail"]["timestamp"])
    assert "event_time" not in response.json()["detail"]
    assert not client_events().exists()


def test_event_time_and_timestamp_together_are_a_400(track):
    response = track(event_name="x", event_time=1359389415, timestamp=1359389415)
    assert response.status_code == 400
    assert response.json()["detail"] == {"timestamp": ["give event_time or timestamp, not both"]}
    # an empty one is absent, as for any optional field
    assert track(event_name="x", event_time="", timestamp=1359389415).status_code == 200
    assert track(event_name="y", event_time=1359389415, timestamp=None).status_code == 200


@pytest.mark.parametrize(
    ("age", "triggers"), [(timedelta(days=4), False), (timedelta(hours=1), True)]
)
def test_a_backfilled_timestamp_older_than_72_hours_triggers_no_campaign(
    app, track, settings, age, triggers
):
    """Customer.io's rule: only events within 72 hours can trigger campaigns."""
    settings.TRIGGER_MAX_AGE_HOURS = 72
    subscribe(app, "ann")
    campaign = active_campaign(app)
    at = int((datetime.now(UTC) - age).timestamp())
    response = track(event_name="purchase_completed", app_user_id="ann", timestamp=at)
    assert response.status_code == 200
    trigger_marks_process()
    assert client_events(event_type__name="purchase_completed").get().occurred_at == (
        datetime.fromtimestamp(at, tz=UTC)
    )
    assert Delivery.objects.filter(campaign=campaign).exists() is triggers


def test_context_is_stored_apart_from_params(track):
    track(event_name="x", app_user_id="u1", params={"a": 1}, context={"app_version": "2.1"})
    event = client_events().get()
    assert (event.params, event.context) == ({"a": 1}, {"app_version": "2.1"})


@pytest.mark.parametrize(
    ("payload", "field", "reason"),
    [
        ({}, "event_name", "required"),
        ({"event_name": ""}, "event_name", "empty"),
        ({"event_name": "   "}, "event_name", "empty"),
        ({"event_name": "a*b"}, "event_name", "*, + or |"),
        ({"event_name": "a+b"}, "event_name", "*, + or |"),
        ({"event_name": "a|b"}, "event_name", "*, + or |"),
        ({"event_name": "x" * 256}, "event_name", "at most 255"),
        ({"event_name": "@APP_OPEN"}, "event_name", "reserved"),
        ({"event_name": "x", "platform": "windows"}, "platform", "android, ios, web"),
        ({"event_name": "x", "timezone": "Mars/Olympus"}, "timezone", "IANA"),
        ({"event_name": "x", "language": "xx"}, "language", "ISO 639-1"),
        ({"event_name": "x", "country": "XX"}, "country", "ISO 3166-1"),
        ({"event_name": "x", "event_time": "2026-03-29T14:30:00"}, "event_time", "offset"),
        ({"event_name": "x", "event_time": "yesterday"}, "event_time", "RFC 3339"),
        ({"event_name": "x", "params": [1, 2]}, "params", "object"),
        ({"event_name": "x", "params": "a=1"}, "params", "object"),
        ({"event_name": "x", "context": 5}, "context", "object"),
        ({"event_name": "x", "push_permission_granted": "yes"}, "push_permission_granted", "true"),
        ({"event_name": "x", "device_token": "t"}, "platform", "required"),
        ({"event_name": "x", "device_token": {"endpoint": 1}}, "device_token", "subscription"),
        ({"event_name": "x", "app_user_id": {"id": 1}}, "app_user_id", "string"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(track, payload, field, reason):
    response = track(**payload)
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "validation"
    assert reason in " ".join(body["detail"][field])
    assert not client_events().exists()


def test_time_more_than_five_minutes_ahead_is_refused(track):
    ahead = datetime.now(UTC) + timedelta(minutes=6)
    response = track(event_name="x", event_time=ahead.isoformat())
    assert response.status_code == 400
    assert "future" in response.json()["detail"]["event_time"][0]
    slightly_ahead = datetime.now(UTC) + timedelta(minutes=4)
    assert track(event_name="x", event_time=slightly_ahead.isoformat()).status_code == 200


def test_old_events_are_stored_as_backfill(track):
    old = datetime(2020, 1, 1, tzinfo=UTC)
    assert track(event_name="x", app_user_id="u", event_time=old.isoformat()).status_code == 200
    assert client_events().get().occurred_at == old


def test_invalid_json_is_a_400(ingest_client):
    response = ingest_client.post("/api/v1/events", b"{nope", content_type="application/json")
    assert response.status_code == 400
    assert "JSON" in response.json()["detail"]["body"][0]


def test_body_over_one_megabyte_is_a_413(ingest_client):
    payload = {"event_name": "x", "context": {"blob": "a" * 1_000_100}}
    response = ingest_client.post("/api/v1/events", payload, format="json")
    assert response.status_code == 413
    assert response.json()["error"] == "too_large"


def test_missing_or_unknown_key_is_a_401(app, ingest_key):
    anonymous = APIClient()
    assert anonymous.post("/api/v1/events", {"event_name": "x"}, format="json").status_code == 401
    anonymous.credentials(HTTP_AUTHORIZATION="Bearer bk_ingest_wrong")
    response = anonymous.post("/api/v1/events", {"event_name": "x"}, format="json")
    assert response.status_code == 401
    assert response.json()["error"] == "authentication"
    body = {"event_name": "x", "api_key": ingest_key, "tenant_id": "another-tenant"}
    assert APIClient().post("/api/v1/events", body, format="json").status_code == 401


def test_same_event_id_twice_is_stored_once(track):
    first = track(event_name="purchase", app_user_id="u1", event_id="order-1").json()
    second = track(event_name="purchase", app_user_id="u1", event_id="order-1").json()
    assert second == {**first, "duplicate": True}
    assert client_events().count() == 1
    assert ContactEventStats.objects.get(event_type__name="purchase").count == 1


def test_same_content_retried_is_a_duplicate_but_other_content_is_not(track):
    payload = {
        "event_name": "x",
        "app_user_id": "u1",
        "event_time": "2026-01-01T10:00:00Z",
        "params": {"a": 1},
    }
    first = track(**payload).json()
    assert track(**payload).json() == {**first, "duplicate": True}
    changed = track(**{**payload, "params": {"a": 2}}).json()
    assert changed["duplicate"] is False and changed["fingerprint"] != first["fingerprint"]
    assert client_events().count() == 2


def test_fingerprint_is_per_app(track, other_app):
    from contacts.services.apps import api_key_create

    _, other_key = api_key_create(app=other_app, name="k", scope="ingest")
    first = track(event_name="x", event_id="e1").json()
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Bearer {other_key}")
    response = other.post("/api/v1/events", {"event_name": "x", "event_id": "e1"}, format="json")
    assert response.json()["duplicate"] is False
    assert response.json()["fingerprint"] != first["fingerprint"]


def test_new_event_names_are_discovered(track, app):
    assert not EventType.objects.filter(app=app, name="level_up").exists()
    track(event_name="level_up", app_user_id="u1")
    event_type = EventType.objects.get(app=app, name="level_up")
    assert event_type.is_system is False and event_type.last_seen_at is not None


def test_system_catalog_is_preloaded(app):
    names = set(EventType.objects.filter(app=app).values_list("name", flat=True))
    assert len(names) >= 65
    assert {"purchase_completed", "onboarding_skipped", "permission_denied", "@APP_OPEN"} <= names
    purchase = EventType.objects.get(app=app, name="purchase_completed")
    assert purchase.category == "E-Commerce" and "order_id" in purchase.suggested_params


def test_batch_stores_valid_items_and_reports_invalid_ones(ingest_client):
    events = [
        {"event_name": "a", "app_user_id": "u1"},
        {"event_name": "b*", "app_user_id": "u1"},
        {"event_name": "c", "app_user_id": "u2", "event_id": "same"},
        {"event_name": "c", "app_user_id": "u2", "event_id": "same"},
        "not an object",
    ]
    response = ingest_client.post("/api/v1/events/batch", {"events": events}, format="json")
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["index"] for r in results] == [0, 1, 2, 3, 4]
    assert results[0]["duplicate"] is False and len(results[0]["fingerprint"]) == 64
    assert "event_name" in results[1]["error"]["detail"]
    assert results[3]["duplicate"] is True
    assert results[3]["fingerprint"] == results[2]["fingerprint"]
    assert results[3]["contact_id"] == results[2]["contact_id"]
    assert "error" in results[4]
    assert sorted(client_events().values_list("event_type__name", flat=True)) == ["a", "c"]


def test_batch_replayed_stores_nothing_new(ingest_client):
    events = [{"event_name": "x", "app_user_id": f"u{i}", "event_id": str(i)} for i in range(20)]
    first = ingest_client.post("/api/v1/events/batch", {"events": events}, format="json").json()
    again = ingest_client.post("/api/v1/events/batch", {"events": events}, format="json").json()
    assert all(r["duplicate"] for r in again["results"])
    assert [r["fingerprint"] for r in again["results"]] == [
        r["fingerprint"] for r in first["results"]
    ]
    assert client_events().count() == 20
    assert Event.objects.filter(event_type__name="@APP_OPEN").count() == 20


@pytest.mark.parametrize("events", [[], None, "x", [{"event_name": "x"}] * 1001])
def test_batch_shape_errors_are_400(ingest_client, events):
    response = ingest_client.post("/api/v1/events/batch", {"events": events}, format="json")
    assert response.status_code == 400
    assert "events" in response.json()["detail"]


def test_ingest_key_cannot_read_contacts(ingest_client, track):
    track(event_name="x", app_user_id="u1")
    response = ingest_client.get("/api/v1/contacts")
    assert response.status_code == 403
    assert response.json()["error"] == "permission"


def test_stats_track_first_last_and_count(track):
    for day in (5, 1, 9):
        track(event_name="x", app_user_id="u1", event_time=f"2026-01-0{day}T12:00:00Z")
    stats = ContactEventStats.objects.get(event_type__name="x")
    assert stats.count == 3
    assert stats.first_at == datetime(2026, 1, 1, 12, tzinfo=UTC)
    assert stats.last_at == datetime(2026, 1, 9, 12, tzinfo=UTC)


def test_single_event_answers_quickly(track):
    """Guards against an accidental N+1 on the hot path: a handful of queries per event (13 here:
    the new attribute "a" and its number's param stats each add one; on PostgreSQL the writes
    travel in one pipelined round trip)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    track(event_name="x", app_user_id="u1")
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        assert track(event_name="x", app_user_id="u1", params={"a": 1}).status_code == 200
    assert len(queries) <= 13, [q["sql"] for q in queries]
    assert time.perf_counter() - started < 1
