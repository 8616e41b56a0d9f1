"""Inputs of the admin API that used to end in HTTP 500 (issue 15), mostly on PostgreSQL, and the
schema's own rules: each answers 400 naming the field (or 404 in the error shape), and a
schema-valid value is taken."""

from __future__ import annotations

import pytest

from tests.campaigns.factories import active_campaign, subscribe, track

NUL = "\x00"


@pytest.fixture
def contact_id(app):
    return track(app, "ann", "purchase_completed", amount=3)


@pytest.fixture
def campaign(app):
    return active_campaign(app, name="Welcome")


def refused(response, field: str) -> None:
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["error"] == "validation"
    assert field in body["detail"], body


# NUL characters (PostgreSQL's text and jsonb refuse them) ------------------------------------


@pytest.mark.parametrize(
    "custom_fields", [{"plan": f"pro{NUL}"}, {f"pl{NUL}an": "pro"}, {"a": {"b": [NUL]}}]
)
def test_nul_in_custom_fields_is_refused(admin_client, contact_id, custom_fields):
    response = admin_client.patch(
        f"/api/v1/contacts/{contact_id}", {"custom_fields": custom_fields}, format="json"
    )
    refused(response, "custom_fields")


def test_nul_in_a_trigger_filter_is_refused(admin_client):
    body = {
        "name": "N",
        "kind": "event",
        "title": "Hi",
        "trigger_event": "purchase_completed",
        "trigger_where": [{"param": "sku", "op": "eq", "value": f"A{NUL}"}],
    }
    refused(admin_client.post("/api/v1/campaigns", body, format="json"), "trigger_where")


@pytest.mark.parametrize("action", ["test", "preview"])
def test_nul_in_sample_event_params_is_refused(admin_client, app, campaign, action):
    contact = subscribe(app, "bob")
    response = admin_client.post(
        f"/api/v1/campaigns/{campaign.pk}/{action}",
        {"contact_id": contact.pk, "event_params": {"sku": f"A{NUL}"}},
        format="json",
    )
    refused(response, "event_params")


@pytest.mark.parametrize("path", ["/api/v1/segments/preview", "/api/v1/segments"])
def test_nul_in_a_condition_value_is_refused(admin_client, path):
    conditions = {"type": "contact", "field": "email", "op": "eq", "value": f"a{NUL}@b.c"}
    response = admin_client.post(path, {"name": "S", "conditions": conditions}, format="json")
    refused(response, "conditions")


def test_nul_in_a_tag_is_refused(admin_client):
    body = {"name": "S", "tags": [f"t{NUL}"], "conditions": {"type": "device"}}
    refused(admin_client.post("/api/v1/segments", body, format="json"), "tags")


def test_nul_in_a_text_filter_is_refused(admin_client):
    refused(admin_client.get("/api/v1/contacts", {"email": f"a{NUL}@b.c"}), "email")


# Instants in filters ---------------------------------------------------------------------------

BAD_INSTANTS = [
    "2026-03-01T09:00:00+16:00",  # PostgreSQL takes offsets up to 15:59
    "2026-03-01T09:00:00-23:59",
    "0001-01-01T00:30:00+01:00",  # year 0 in UTC
    "9999-12-31T23:59:59-14:00",  # year 10000 in UTC
    "2026-03-01T09:00:00",  # no offset
    "2026-03-01",
    "",
]


@pytest.mark.parametrize("value", BAD_INSTANTS)
@pytest.mark.parametrize("name", ["seen_after", "seen_before"])
def test_contact_date_filters_refuse_what_the_database_cannot_take(
    admin_client, contact_id, name, value
):
    refused(admin_client.get("/api/v1/contacts", {name: value}), name)


@pytest.mark.parametrize("value", BAD_INSTANTS)
@pytest.mark.parametrize("name", ["after", "before"])
def test_timeline_date_filters_refuse_what_the_database_cannot_take(
    admin_client, contact_id, name, value
):
    refused(admin_client.get(f"/api/v1/contacts/{contact_id}/events", {name: value}), name)


@pytest.mark.parametrize(
    "value", ["2026-03-01T09:00:00+15:59", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59.5-00:00"]
)
def test_date_filters_take_any_instant_of_the_schema(admin_client, contact_id, value):
    assert admin_client.get("/api/v1/contacts", {"seen_after": value}).status_code == 200
    timeline = admin_client.get(f"/api/v1/contacts/{contact_id}/events", {"before": value})
    assert timeline.status_code == 200


# Numbers, types and pages ----------------------------------------------------------------------


@pytest.mark.parametrize("field", ["reentry_hours", "ttl_seconds", "delay_seconds"])
def test_campaign_integers_past_the_column_are_refused(admin_client, field):
    body = {"name": "N", "kind": "event", "title": "Hi", "trigger_event": "x", field: 2**31}
    refused(admin_client.post("/api/v1/campaigns", body, format="json"), field)


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/v1/contacts/{contact}", {"phone": 5}, "phone"),
        ("/api/v1/campaigns", {"name": "N", "kind": "event", "title": 1}, "title"),
        (
            "/api/v1/campaigns",
            {"name": "N", "kind": "x", "recheck_audience": 1},
            "recheck_audience",
        ),
        ("/api/v1/campaigns", {"name": "N", "kind": "event", "ttl_seconds": "60"}, "ttl_seconds"),
        ("/api/v1/push/policy", {"daily_cap": "3"}, "daily_cap"),
    ],
)
def test_json_values_of_the_wrong_type_are_refused(admin_client, contact_id, path, body, field):
    url = path.format(contact=contact_id)
    send = admin_client.put if "policy" in url else admin_client.post
    if "contacts" in url:
        send = admin_client.patch
    refused(send(url, body, format="json"), field)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"page_size": "AAA"}, "page_size"),
        ({"page_size": "0"}, "page_size"),
        ({"page": "0"}, "page"),
        ({"page": "last"}, "page"),
        ({"push_reachable": "1"}, "push_reachable"),
        ({"push_reachable": ""}, "push_reachable"),
        ({"segment": str(2**64)}, "segment"),
        ({"platform": ""}, "platform"),
    ],
)
def test_query_values_outside_the_schema_are_refused(admin_client, contact_id, query, field):
    refused(admin_client.get("/api/v1/contacts", query), field)


def test_a_page_size_over_the_cap_is_capped(admin_client, contact_id):
    response = admin_client.get("/api/v1/contacts", {"page_size": "100000"})
    assert response.status_code == 200


def test_delivery_filters_take_any_id_and_strict_booleans(admin_client, campaign):
    url = f"/api/v1/campaigns/{campaign.pk}/deliveries"
    assert admin_client.get(url, {"contact_id": 99, "is_test": "true"}).status_code == 200
    refused(admin_client.get(url, {"contact_id": -(2**80)}), "contact_id")
    refused(admin_client.get(url, {"is_test": "1"}), "is_test")


# Quiet hours, deletes, unknown addresses -------------------------------------------------------


def test_quiet_hours_are_times_of_day_without_offset(admin_client, campaign):
    url = f"/api/v1/campaigns/{campaign.pk}"
    response = admin_client.patch(
        url, {"quiet_start": "22:00", "quiet_end": "07:30:15"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert (response.json()["quiet_start"], response.json()["quiet_end"]) == (
        "22:00:00",
        "07:30:15",
    )
    refused(admin_client.patch(url, {"quiet_start": "22:00+01:00"}, format="json"), "quiet_start")


def test_deleting_a_segment_a_campaign_uses_is_refused(admin_client, app):
    segment = admin_client.post(
        "/api/v1/segments", {"name": "S", "conditions": {"type": "device"}}, format="json"
    ).json()
    active_campaign(app, name="Uses it", audience_segment_id=segment["id"])
    refused(admin_client.delete(f"/api/v1/segments/{segment['id']}"), "segment")


@pytest.mark.parametrize("path", ["/api/v1/contacts/abc", "/api/v1/campaigns/1.5/stats", "/api/v2"])
def test_unknown_api_addresses_answer_404_in_the_error_shape(admin_client, path):
    response = admin_client.get(path)
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"
