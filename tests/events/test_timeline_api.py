"""A contact's timeline (GET /api/v1/contacts/{id}/events) and sending an event for a contact
(POST to the same address)."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from contacts.models import Device
from events.models import Event


@pytest.fixture
def send(track):
    """Track an event; return the response body."""

    def post(**payload):
        response = track(**{"app_user_id": "u1", **payload})
        assert response.status_code == 200, response.json()
        return response.json()

    return post


@pytest.fixture
def contact_id(send):
    return send(event_name="signed_up", event_time="2026-03-01T09:00:00Z")["contact_id"]


def timeline(client, contact_id: int, **query) -> dict:
    response = client.get(f"/api/v1/contacts/{contact_id}/events", query)
    assert response.status_code == 200, response.json()
    return response.json()


def names(body: dict) -> list[str]:
    return [item["event"] for item in body["results"]]


def test_timeline_is_newest_first_and_ties_go_to_the_later_event(admin_client, send):
    send(event_name="a", event_time="2026-03-01T10:00:00Z")
    send(event_name="b", event_time="2026-03-01T10:10:00Z")
    send(event_name="c", event_time="2026-03-01T10:05:00Z")
    send(event_name="d", event_time="2026-03-01T10:10:00Z")
    contact_id = send(event_name="e", event_time="2026-03-01T09:59:00Z")["contact_id"]
    # @APP_OPEN is the built-in event of the session the first event opened.
    assert names(timeline(admin_client, contact_id)) == ["d", "b", "c", "a", "@APP_OPEN", "e"]


def test_timeline_items_show_the_recorded_event(admin_client, send):
    sent = send(
        event_name="purchase_completed",
        event_time="2026-03-29T14:30:00+03:00",
        session_id="sess-1",
        params={"amount": 49.99, "currency": "USD"},
        context={"app_version": "2.1"},
    )
    item = timeline(admin_client, sent["contact_id"])["results"][0]
    assert item["event"] == "purchase_completed"
    assert item["occurred_at"] == "2026-03-29T11:30:00Z"
    assert item["params"] == {"amount": 49.99, "currency": "USD"}
    assert item["context"] == {"app_version": "2.1"}
    assert item["session_id"] == "sess-1"
    assert item["fingerprint"] == sent["fingerprint"]
    assert (
        item["received_at"] and item["id"] == Event.objects.get(fingerprint=sent["fingerprint"]).pk
    )


def test_timeline_shows_only_that_contacts_events(admin_client, send, contact_id):
    send(app_user_id="someone-else", event_name="not_mine")
    assert "not_mine" not in names(timeline(admin_client, contact_id))
    assert names(timeline(admin_client, contact_id)) == ["signed_up", "@APP_OPEN"]


def test_timeline_is_paginated(admin_client, send, contact_id):
    for minute in range(1, 5):
        send(event_name=f"step_{minute}", event_time=f"2026-03-01T09:0{minute}:00Z")
    first = timeline(admin_client, contact_id, page_size=2)
    assert first["count"] == 6 and names(first) == ["step_4", "step_3"]
    last = timeline(admin_client, contact_id, page_size=2, page=3)
    assert names(last) == ["signed_up", "@APP_OPEN"] and last["next"] is None


def test_timeline_filters_by_event_name(admin_client, send, contact_id):
    send(event_name="viewed", event_time="2026-03-01T09:01:00Z")
    send(event_name="viewed", event_time="2026-03-01T09:02:00Z")
    body = timeline(admin_client, contact_id, event="viewed")
    assert body["count"] == 2 and set(names(body)) == {"viewed"}


def test_timeline_filters_by_time(admin_client, send, contact_id):
    send(event_name="early", event_time="2026-03-01T09:10:00Z")
    send(event_name="late", event_time="2026-03-01T09:20:00Z")
    assert names(timeline(admin_client, contact_id, after="2026-03-01T09:10:00Z")) == [
        "late",
        "early",
    ]
    assert names(timeline(admin_client, contact_id, before="2026-03-01T09:10:00Z")) == [
        "signed_up",
        "@APP_OPEN",
    ]
    between = timeline(
        admin_client, contact_id, after="2026-03-01T09:05:00Z", before="2026-03-01T09:15:00Z"
    )
    assert names(between) == ["early"]


@pytest.mark.parametrize(("name", "value"), [("after", "soon"), ("before", "2026-02-30T00:00Z")])
def test_a_bad_timeline_filter_is_a_400_naming_it(admin_client, contact_id, name, value):
    response = admin_client.get(f"/api/v1/contacts/{contact_id}/events", {name: value})
    assert response.status_code == 400
    assert list(response.json()["detail"]) == [name]


def test_timeline_of_an_unknown_contact_is_a_404(admin_client, app):
    assert admin_client.get("/api/v1/contacts/424242/events").status_code == 404


# Sending an event for a contact -------------------------------------------------------------


def send_for(client, contact_id: int, **data):
    return client.post(f"/api/v1/contacts/{contact_id}/events", data, format="json")


def test_an_event_sent_for_a_contact_is_recorded_for_it(admin_client, contact_id):
    response = send_for(
        admin_client,
        contact_id,
        event_name="cart_abandoned",
        params={"cart_total": 120.5},
        event_time="2026-03-02T08:00:00Z",
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["contact_id"] == contact_id and body["duplicate"] is False
    event = Event.objects.get(fingerprint=body["fingerprint"])
    assert (event.contact_id, event.event_type.name) == (contact_id, "cart_abandoned")
    assert event.params == {"cart_total": 120.5}
    assert names(timeline(admin_client, contact_id))[0] == "cart_abandoned"


def test_an_event_sent_for_a_contact_ignores_identifiers_and_devices_in_the_body(
    admin_client, send, contact_id
):
    other = send(app_user_id="u2", event_name="signed_up")["contact_id"]
    response = send_for(
        admin_client,
        contact_id,
        event_name="tested",
        app_user_id="u2",
        device_token="sneaky-token",
        platform="android",
    )
    assert response.status_code == 200
    assert response.json()["contact_id"] == contact_id != other
    assert not Device.objects.filter(token="sneaky-token").exists()


def test_sending_the_same_event_twice_reports_a_duplicate(admin_client, contact_id):
    data = {"event_name": "tested", "event_time": "2026-03-02T08:00:00Z"}
    first = send_for(admin_client, contact_id, **data).json()
    second = send_for(admin_client, contact_id, **data).json()
    assert second["duplicate"] is True and second["fingerprint"] == first["fingerprint"]
    assert Event.objects.filter(event_type__name="tested").count() == 1


def test_the_same_test_event_for_two_contacts_is_recorded_for_each(admin_client, send):
    first = send(app_user_id="a", event_name="signed_up")["contact_id"]
    second = send(app_user_id="b", event_name="signed_up")["contact_id"]
    data = {"event_name": "tested", "event_time": "2026-03-02T08:00:00Z"}
    bodies = [send_for(admin_client, c, **data).json() for c in (first, second)]
    assert [body["contact_id"] for body in bodies] == [first, second]
    assert Event.objects.filter(event_type__name="tested", contact_id=second).exists()


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"params": {"a": 1}}, "event_name"),
        ({"event_name": "@OPT_IN"}, "event_name"),
        ({"event_name": "x", "params": ["a"]}, "params"),
        ({"event_name": "x", "event_time": "2026-03-02 08:00"}, "event_time"),
        ({"event_name": "x", "event_time": "2999-01-01T00:00:00Z"}, "event_time"),
    ],
)
def test_an_invalid_event_for_a_contact_is_a_400_naming_the_field(
    admin_client, contact_id, data, field
):
    response = send_for(admin_client, contact_id, **data)
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "validation" and field in body["detail"]
    assert names(timeline(admin_client, contact_id)) == ["signed_up", "@APP_OPEN"]


def test_an_event_body_that_is_not_an_object_is_a_400(admin_client, contact_id):
    response = admin_client.post(f"/api/v1/contacts/{contact_id}/events", [1], format="json")
    assert response.status_code == 400
    assert response.json()["detail"] == {"body": ["must be a JSON object"]}


def test_sending_an_event_for_an_unknown_contact_is_a_404(admin_client, app):
    response = send_for(admin_client, 424242, event_name="tested")
    assert response.status_code == 404
    assert not Event.objects.filter(event_type__name="tested").exists()


@pytest.mark.parametrize("method", ["get", "post"])
def test_timeline_refuses_ingest_keys_and_anonymous_callers(ingest_client, contact_id, method):
    url = f"/api/v1/contacts/{contact_id}/events"
    data = {"event_name": "tested"}
    assert getattr(ingest_client, method)(url, data, format="json").status_code == 403
    assert getattr(APIClient(), method)(url, data, format="json").status_code == 401
    assert not Event.objects.filter(event_type__name="tested").exists()
