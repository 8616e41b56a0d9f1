"""GET /api/v1/contacts (filters, pagination), GET/PATCH/DELETE /api/v1/contacts/{id}."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from contacts.models import Contact, Device
from events.models import ContactEventStats, Event

WEB_SUBSCRIPTION = {
    "endpoint": "https://push.example.com/send/secret-endpoint-id",
    "keys": {"p256dh": "public-key-material", "auth": "auth-secret"},
}


@pytest.fixture
def contact_of(track):
    """Track an event and return the id of the contact it was recorded for."""

    def send(**payload):
        response = track(**{"event_name": "app_opened", **payload})
        assert response.status_code == 200, response.json()
        return response.json()["contact_id"]

    return send


def listed_ids(client, **query) -> list[int]:
    response = client.get("/api/v1/contacts", query)
    assert response.status_code == 200, response.json()
    return [item["id"] for item in response.json()["results"]]


# Listing ------------------------------------------------------------------------------------


def test_contact_list_shows_contacts_newest_first_with_their_devices(admin_client, contact_of):
    first = contact_of(app_user_id="u1", country="TR", language="tr")
    second = contact_of(
        app_user_id="u2", device_token="fcm-token-0123456789abcdef", platform="android"
    )
    body = admin_client.get("/api/v1/contacts").json()
    assert body["count"] == 2
    assert [item["id"] for item in body["results"]] == [second, first]
    older = body["results"][1]
    assert (older["external_id"], older["country"], older["language"]) == ("u1", "TR", "tr")
    assert older["source"] == "event" and older["devices"] == []
    [device] = body["results"][0]["devices"]
    assert device["platform"] == "android" and device["push_permission_granted"] is False
    assert device["invalidated_at"] is None and device["last_seen_at"] is not None


def test_contact_devices_show_a_token_prefix_but_never_the_token_or_keys(admin_client, contact_of):
    contact_id = contact_of(app_user_id="u1", device_token=WEB_SUBSCRIPTION)
    [device] = admin_client.get(f"/api/v1/contacts/{contact_id}").json()["devices"]
    assert device["platform"] == "web"
    assert device["token_prefix"] == WEB_SUBSCRIPTION["endpoint"][:16]
    assert "token" not in device and "subscription" not in device
    assert "secret-endpoint-id" not in str(device) and "auth-secret" not in str(device)


def test_contact_list_queries_do_not_grow_with_the_number_of_contacts(admin_client, contact_of):
    def queries_for_list() -> int:
        with CaptureQueriesContext(connection) as context:
            assert admin_client.get("/api/v1/contacts").status_code == 200
        return len(context)

    contact_of(app_user_id="u0", device_token="token-0", platform="ios")
    one_contact = queries_for_list()
    for n in range(1, 6):
        contact_of(app_user_id=f"u{n}", device_token=f"token-{n}", platform="ios")
    assert queries_for_list() == one_contact


def test_contact_list_is_paginated(admin_client, contact_of):
    ids = [contact_of(app_user_id=f"u{n}") for n in range(3)]
    first = admin_client.get("/api/v1/contacts", {"page_size": 2}).json()
    assert first["count"] == 3 and len(first["results"]) == 2 and first["next"]
    second = admin_client.get("/api/v1/contacts", {"page_size": 2, "page": 2}).json()
    assert [item["id"] for item in second["results"]] == [ids[0]]
    assert second["next"] is None


# Filters ------------------------------------------------------------------------------------


def test_email_filter_ignores_case(admin_client, contact_of):
    ann = contact_of(params={"Email": "Ann@Example.com"})
    contact_of(params={"Email": "bob@example.com"})
    assert listed_ids(admin_client, email="ANN@example.COM") == [ann]


def test_external_id_filter_matches_exactly(admin_client, contact_of):
    contact_of(app_user_id="user-10")
    one = contact_of(app_user_id="user-1")
    assert listed_ids(admin_client, external_id="user-1") == [one]


def test_country_and_language_filters(admin_client, contact_of):
    turk = contact_of(app_user_id="u1", country="TR", language="tr")
    german = contact_of(app_user_id="u2", country="DE", language="de")
    assert listed_ids(admin_client, country="TR") == [turk]
    assert listed_ids(admin_client, country="de") == [german]
    assert listed_ids(admin_client, language="de") == [german]
    assert listed_ids(admin_client, country="TR", language="de") == []


def test_platform_filter_ignores_invalidated_devices(admin_client, contact_of):
    android = contact_of(app_user_id="u1", device_token="a-token", platform="android")
    stale = contact_of(app_user_id="u2", device_token="old-token", platform="android")
    ios = contact_of(app_user_id="u3", device_token="i-token", platform="ios")
    Device.objects.filter(token="old-token").update(invalidated_at=timezone.now())
    assert listed_ids(admin_client, platform="android") == [android]
    assert listed_ids(admin_client, platform="ios") == [ios]
    assert stale not in listed_ids(admin_client, platform="android")


def test_push_reachable_filter_needs_a_valid_device_with_permission(admin_client, contact_of):
    reachable = contact_of(
        app_user_id="u1", device_token="t1", platform="ios", push_permission_granted=True
    )
    denied = contact_of(app_user_id="u2", device_token="t2", platform="ios")
    invalidated = contact_of(
        app_user_id="u3", device_token="t3", platform="ios", push_permission_granted=True
    )
    without_device = contact_of(app_user_id="u4")
    Device.objects.filter(token="t3").update(invalidated_at=timezone.now())
    assert listed_ids(admin_client, push_reachable="true") == [reachable]
    assert sorted(listed_ids(admin_client, push_reachable="false")) == sorted(
        [denied, invalidated, without_device]
    )


def test_seen_after_and_before_filter_on_last_seen(admin_client, contact_of):
    march = contact_of(app_user_id="u1", event_time="2026-03-10T12:00:00Z")
    april = contact_of(app_user_id="u2", event_time="2026-04-10T12:00:00Z")
    assert listed_ids(admin_client, seen_after="2026-04-01T00:00:00Z") == [april]
    assert listed_ids(admin_client, seen_before="2026-04-01T00:00:00+00:00") == [march]
    assert listed_ids(admin_client, seen_after="2026-03-10T12:00:00Z") == [april, march]
    assert listed_ids(admin_client, seen_before="2026-03-10T12:00:00Z") == []


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("platform", "fax"),
        ("push_reachable", "maybe"),
        ("seen_after", "last tuesday"),
        ("seen_before", "2026-13-01"),
    ],
)
def test_a_bad_filter_value_is_a_400_naming_the_filter(admin_client, name, value):
    response = admin_client.get("/api/v1/contacts", {name: value})
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "validation"
    assert list(body["detail"]) == [name] and body["detail"][name][0]


# Detail -------------------------------------------------------------------------------------


def test_contact_detail_shows_identity_and_activity(admin_client, contact_of):
    contact_id = contact_of(
        app_user_id="u1", timezone="Europe/Istanbul", event_time="2026-03-10T12:00:00Z"
    )
    body = admin_client.get(f"/api/v1/contacts/{contact_id}").json()
    assert body["id"] == contact_id and body["external_id"] == "u1"
    assert body["timezone"] == "Europe/Istanbul"
    assert body["first_seen_at"] == body["last_seen_at"] == "2026-03-10T12:00:00Z"
    assert body["custom_fields"] == {} and body["email"] is None


def test_unknown_contact_is_a_404(admin_client, app):
    for method in ("get", "patch", "delete"):
        response = getattr(admin_client, method)("/api/v1/contacts/999999", format="json")
        assert response.status_code == 404
        assert response.json()["error"] == "not_found"


# PATCH --------------------------------------------------------------------------------------


def patch(client, contact_id: int, **data):
    return client.patch(f"/api/v1/contacts/{contact_id}", data, format="json")


def test_patch_identifies_a_contact_with_a_lower_cased_email(admin_client, contact_of):
    contact_id = contact_of(anonymous_id="visitor-1")
    response = patch(
        admin_client, contact_id, email="  Ann.Lee@Example.COM ", phone="+90 555", external_id="c7"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["email"] == "ann.lee@example.com"
    contact = Contact.objects.get(pk=contact_id)
    assert (contact.email, contact.phone, contact.external_id) == (
        "ann.lee@example.com",
        "+90 555",
        "c7",
    )
    assert contact.anonymous_id == "visitor-1"


def test_patch_changes_only_the_fields_sent(admin_client, contact_of):
    contact_id = contact_of(params={"Email": "ann@example.com"})
    assert patch(admin_client, contact_id, phone="123").status_code == 200
    contact = Contact.objects.get(pk=contact_id)
    assert (contact.email, contact.phone) == ("ann@example.com", "123")


def test_patch_with_null_clears_a_field(admin_client, contact_of):
    contact_id = contact_of(params={"Email": "ann@example.com"})
    assert patch(admin_client, contact_id, email=None).status_code == 200
    assert Contact.objects.get(pk=contact_id).email is None


def test_patch_refuses_an_invalid_email(admin_client, contact_of):
    contact_id = contact_of(app_user_id="u1")
    response = patch(admin_client, contact_id, email="not-an-email")
    assert response.status_code == 400
    assert response.json() == {
        "error": "validation",
        "detail": {"email": ["is not a valid email address"]},
    }
    assert Contact.objects.get(pk=contact_id).email is None


def test_patch_refuses_an_external_id_taken_by_another_contact(admin_client, contact_of):
    contact_of(app_user_id="taken")
    contact_id = contact_of(app_user_id="mine")
    response = patch(admin_client, contact_id, external_id="taken")
    assert response.status_code == 400
    assert response.json()["detail"] == {
        "external_id": ["is already used by another contact of this app"]
    }
    assert Contact.objects.get(pk=contact_id).external_id == "mine"


def test_patch_may_resend_the_contacts_own_external_id(admin_client, contact_of):
    contact_id = contact_of(app_user_id="mine")
    assert patch(admin_client, contact_id, external_id="mine").status_code == 200


def test_an_external_id_used_in_another_app_is_free(admin_client, contact_of, other_app):
    Contact.objects.create(app=other_app, external_id="shared")
    contact_id = contact_of(app_user_id="mine")
    assert patch(admin_client, contact_id, external_id="shared").status_code == 200
    assert Contact.objects.get(pk=contact_id).external_id == "shared"


def test_patch_merges_custom_fields_and_null_removes_a_key(admin_client, contact_of):
    contact_id = contact_of(app_user_id="u1")
    patch(admin_client, contact_id, custom_fields={"plan": "free", "city": "Izmir", "vip": True})
    response = patch(admin_client, contact_id, custom_fields={"plan": "pro", "city": None})
    assert response.status_code == 200
    assert response.json()["custom_fields"] == {"plan": "pro", "vip": True}
    assert Contact.objects.get(pk=contact_id).custom_fields == {"plan": "pro", "vip": True}


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"custom_fields": ["not", "an", "object"]}, "custom_fields"),
        ({"phone": "9" * 65}, "phone"),
        ({"external_id": {"an": "object"}}, "external_id"),
    ],
)
def test_patch_refuses_badly_typed_fields(admin_client, contact_of, data, field):
    contact_id = contact_of(app_user_id="u1")
    response = patch(admin_client, contact_id, **data)
    assert response.status_code == 400
    assert list(response.json()["detail"]) == [field]


# DELETE -------------------------------------------------------------------------------------


def test_delete_erases_the_contact_with_its_events_devices_and_stats(admin_client, contact_of):
    doomed = contact_of(app_user_id="u1", device_token="t1", platform="ios")
    contact_of(app_user_id="u1", event_name="purchase_completed")
    kept = contact_of(app_user_id="u2", device_token="t2", platform="ios")
    response = admin_client.delete(f"/api/v1/contacts/{doomed}")
    assert response.status_code == 204
    assert not Contact.objects.filter(pk=doomed).exists()
    assert not Event.objects.filter(contact_id=doomed).exists()
    assert not Device.objects.filter(contact_id=doomed).exists()
    assert not ContactEventStats.objects.filter(contact_id=doomed).exists()
    assert Event.objects.filter(contact_id=kept).exists()
    assert Device.objects.filter(contact_id=kept).exists()
    assert admin_client.get(f"/api/v1/contacts/{doomed}").status_code == 404


# Authentication and scope -------------------------------------------------------------------

CONTACT_REQUESTS = [
    ("get", "/api/v1/contacts"),
    ("get", "/api/v1/contacts/{id}"),
    ("patch", "/api/v1/contacts/{id}"),
    ("delete", "/api/v1/contacts/{id}"),
]


@pytest.mark.parametrize(("method", "url"), CONTACT_REQUESTS)
def test_contacts_api_refuses_ingest_keys(ingest_client, contact_of, method, url):
    contact_id = contact_of(app_user_id="u1")
    response = getattr(ingest_client, method)(url.format(id=contact_id), {}, format="json")
    assert response.status_code == 403
    assert response.json()["error"] == "permission"
    assert Contact.objects.filter(pk=contact_id).exists()


@pytest.mark.parametrize(("method", "url"), CONTACT_REQUESTS)
def test_contacts_api_needs_a_key(contact_of, method, url):
    contact_id = contact_of(app_user_id="u1")
    response = getattr(APIClient(), method)(url.format(id=contact_id), {}, format="json")
    assert response.status_code == 401
    assert response.json()["error"] == "authentication"
    assert Contact.objects.filter(pk=contact_id).exists()
