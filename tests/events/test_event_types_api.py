"""Event types: listing with counts and the segmentation cap, enabling segmentation, declaring
attribute types (and their effect on tracked events)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from events.models import Event, EventType
from events.services.event_types import event_type_set_segmentation


@pytest.fixture
def send(track):
    """Track an event; return the response body."""

    def post(**payload):
        response = track(**{"app_user_id": "u1", **payload})
        assert response.status_code == 200, response.json()
        return response.json()

    return post


def type_id(app, name: str) -> int:
    return EventType.objects.get(app=app, name=name).pk


def listed(client, **query) -> dict:
    response = client.get("/api/v1/event-types", query)
    assert response.status_code == 200, response.json()
    return response.json()


def listed_names(client, **query) -> list[str]:
    return [item["name"] for item in listed(client, page_size=500, **query)["results"]]


# Listing and counts -------------------------------------------------------------------------


def test_event_type_counts_events_and_contacts_that_did_it(admin_client, app, send):
    for minute in range(3):
        send(event_name="level_up", event_time=f"2026-03-01T10:0{minute}:00Z")
    send(app_user_id="u2", event_name="level_up")
    send(event_name="tutorial_done")
    [item] = listed(admin_client, name="level_up")["results"]
    assert (item["event_count"], item["contact_count"]) == (4, 2)
    [item] = listed(admin_client, name="tutorial_done")["results"]
    assert (item["event_count"], item["contact_count"]) == (1, 1)


def test_an_event_type_nobody_did_counts_zero(admin_client, app):
    body = admin_client.get(f"/api/v1/event-types/{type_id(app, 'logged_out')}").json()
    assert (body["event_count"], body["contact_count"]) == (0, 0)
    assert body["is_system"] is True and body["category"] == "Authentication"
    assert body["first_seen_at"] is None


def test_event_counts_survive_the_retention_purge(admin_client, app, send):
    send(event_name="level_up")
    send(event_name="level_up", event_time="2026-03-01T10:00:00Z")
    Event.objects.all().delete()
    body = admin_client.get(f"/api/v1/event-types/{type_id(app, 'level_up')}").json()
    assert (body["event_count"], body["contact_count"]) == (2, 1)


def test_event_type_detail_shows_discovered_attributes(admin_client, app, send):
    send(event_name="level_up", params={"level": 3, "hero": "mage"})
    body = admin_client.get(f"/api/v1/event-types/{type_id(app, 'level_up')}").json()
    assert body["name"] == "level_up" and body["is_system"] is False
    assert body["first_seen_at"] and body["last_seen_at"]
    attributes = {a["name"]: (a["type"], a["declared"]) for a in body["attributes"]}
    assert attributes == {"hero": ("string", False), "level": ("number", False)}


def test_event_type_list_queries_do_not_grow_with_types(admin_client, send):
    def queries_for_list() -> int:
        with CaptureQueriesContext(connection) as context:
            listed(admin_client, page_size=500)
        return len(context)

    send(event_name="custom_0", params={"a": 1})
    one_custom_type = queries_for_list()
    for n in range(1, 6):
        send(event_name=f"custom_{n}", params={"a": 1, "b": "x"})
    assert queries_for_list() == one_custom_type


def test_event_type_list_reports_the_segmentation_cap(admin_client, app, settings):
    settings.SEGMENTATION_MAX_EVENTS = 7
    event_type_set_segmentation(event_type=EventType.objects.get(name="logged_in"), enabled=True)
    body = listed(admin_client, page_size=2)
    assert body["segmentation_enabled_count"] == 1
    assert body["segmentation_limit"] == 7
    assert len(body["results"]) == 2 and body["count"] > 2


def test_event_type_list_is_sorted_by_name(admin_client, app):
    names = listed_names(admin_client)
    assert names == sorted(names) and "logged_in" in names


# Filters ------------------------------------------------------------------------------------


def test_name_filter_matches_part_of_the_name_ignoring_case(admin_client, app):
    names = listed_names(admin_client, name="LOGGED")
    assert sorted(names) == ["logged_in", "logged_out"]


def test_category_filter(admin_client, app):
    names = listed_names(admin_client, category="Authentication")
    assert "sign_up_completed" in names and "purchase_completed" not in names
    assert set(EventType.objects.filter(name__in=names).values_list("category", flat=True)) == {
        "Authentication"
    }


def test_is_system_filter_separates_discovered_types(admin_client, send):
    send(event_name="level_up")
    assert listed_names(admin_client, is_system="false") == ["level_up"]
    system = listed_names(admin_client, is_system="true")
    assert "level_up" not in system and "logged_in" in system and "@APP_OPEN" in system


def test_segmentation_enabled_filter(admin_client, app):
    event_type_set_segmentation(event_type=EventType.objects.get(name="logged_in"), enabled=True)
    assert listed_names(admin_client, segmentation_enabled="true") == ["logged_in"]
    assert "logged_in" not in listed_names(admin_client, segmentation_enabled="false")


@pytest.mark.parametrize("name", ["segmentation_enabled", "is_system"])
def test_a_bad_boolean_filter_is_a_400_naming_it(admin_client, app, name):
    response = admin_client.get("/api/v1/event-types", {name: "yes please"})
    assert response.status_code == 400
    assert list(response.json()["detail"]) == [name]


# Segmentation -------------------------------------------------------------------------------


def set_segmentation(client, event_type_id: int, value):
    return client.patch(
        f"/api/v1/event-types/{event_type_id}", {"segmentation_enabled": value}, format="json"
    )


def test_enabling_and_disabling_segmentation(admin_client, app):
    logged_in = type_id(app, "logged_in")
    response = set_segmentation(admin_client, logged_in, True)
    assert response.status_code == 200, response.json()
    assert response.json()["segmentation_enabled"] is True
    assert response.json()["segmentation_enabled_at"] is not None
    assert EventType.objects.get(pk=logged_in).segmentation_enabled is True
    response = set_segmentation(admin_client, logged_in, False)
    assert response.json()["segmentation_enabled"] is False
    assert response.json()["segmentation_enabled_at"] is None


def test_enabling_more_event_types_than_the_cap_is_a_400(admin_client, app, settings):
    settings.SEGMENTATION_MAX_EVENTS = 2
    for name in ("logged_in", "logged_out"):
        assert set_segmentation(admin_client, type_id(app, name), True).status_code == 200
    response = set_segmentation(admin_client, type_id(app, "sign_up_completed"), True)
    assert response.status_code == 400
    [reason] = response.json()["detail"]["segmentation_enabled"]
    assert "at most 2" in reason
    assert not EventType.objects.get(name="sign_up_completed").segmentation_enabled
    assert listed(admin_client)["segmentation_enabled_count"] == 2


def test_the_cap_counts_only_the_callers_app(admin_client, other_admin_client, app, other_app):
    for client, owner in ((admin_client, app), (other_admin_client, other_app)):
        client_type = EventType.objects.get(app=owner, name="logged_in")
        assert set_segmentation(client, client_type.pk, True).status_code == 200
    assert listed(admin_client)["segmentation_enabled_count"] == 1


@pytest.mark.parametrize("value", ["maybe", "true", 1, None])
def test_segmentation_patch_needs_a_boolean(admin_client, app, value):
    response = admin_client.patch(
        f"/api/v1/event-types/{type_id(app, 'logged_in')}",
        {"segmentation_enabled": value},
        format="json",
    )
    assert response.status_code == 400
    assert list(response.json()["detail"]) == ["segmentation_enabled"]


def test_an_empty_patch_changes_nothing(admin_client, app):
    """PATCH changes the fields sent (the schema requires none)."""
    response = admin_client.patch(
        f"/api/v1/event-types/{type_id(app, 'logged_in')}", {}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["segmentation_enabled"] is False


# Attributes ---------------------------------------------------------------------------------


def declare(client, event_type_id: int, **data):
    return client.post(f"/api/v1/event-types/{event_type_id}/attributes", data, format="json")


def test_a_declared_number_attribute_coerces_later_values(admin_client, app, send):
    send(event_name="profile_updated")
    response = declare(admin_client, type_id(app, "profile_updated"), name="age", type="number")
    assert response.status_code == 201, response.json()
    assert response.json()["name"] == "age" and response.json()["declared"] is True
    fingerprint = send(event_name="profile_updated", params={"age": "39"})["fingerprint"]
    assert Event.objects.get(fingerprint=fingerprint).params == {"age": 39}


def test_a_value_that_does_not_fit_a_declared_attribute_is_a_400(admin_client, app, track):
    declare(admin_client, type_id(app, "logged_in"), name="age", type="number")
    response = track(app_user_id="u1", event_name="logged_in", params={"age": "old"})
    assert response.status_code == 400
    assert list(response.json()["detail"]) == ["params.age"]
    assert not Event.objects.filter(event_type__name="logged_in").exists()


def test_correcting_a_discovered_attribute_type(admin_client, app, send):
    send(event_name="coupon_used", params={"code": 1234})
    event_type = admin_client.get(f"/api/v1/event-types/{type_id(app, 'coupon_used')}").json()
    [attribute] = event_type["attributes"]
    assert (attribute["type"], attribute["declared"]) == ("number", False)
    url = f"/api/v1/event-types/{event_type['id']}/attributes/{attribute['id']}"
    response = admin_client.patch(url, {"type": "string"}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json() == {
        "id": attribute["id"],
        "name": "code",
        "type": "string",
        "is_array": False,
        "declared": True,
    }
    fingerprint = send(event_name="coupon_used", params={"code": 5678})["fingerprint"]
    assert Event.objects.get(fingerprint=fingerprint).params == {"code": "5678"}


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"name": "age", "type": "integer"}, "type"),
        ({"name": "age"}, "type"),
        ({"type": "number"}, "name"),
        ({"name": "", "type": "number"}, "name"),
    ],
)
def test_declaring_an_attribute_badly_is_a_400_naming_the_field(admin_client, app, data, field):
    response = declare(admin_client, type_id(app, "logged_in"), **data)
    assert response.status_code == 400
    assert list(response.json()["detail"]) == [field]
    assert not EventType.objects.get(app=app, name="logged_in").attributes.exists()


def test_a_bad_type_names_the_allowed_types(admin_client, app):
    response = declare(admin_client, type_id(app, "logged_in"), name="age", type="integer")
    assert response.json()["detail"] == {
        "type": ["must be one of string, number, boolean, date, json, geoloc"]
    }


def test_patching_an_attribute_with_a_bad_type_is_a_400(admin_client, app):
    event_type_id = type_id(app, "logged_in")
    attribute_id = declare(admin_client, event_type_id, name="age", type="number").json()["id"]
    url = f"/api/v1/event-types/{event_type_id}/attributes/{attribute_id}"
    response = admin_client.patch(url, {"type": "text"}, format="json")
    assert response.status_code == 400
    assert list(response.json()["detail"]) == ["type"]


def test_an_attribute_is_reached_only_through_its_own_event_type(admin_client, app):
    attribute_id = declare(admin_client, type_id(app, "logged_in"), name="age", type="number")
    url = f"/api/v1/event-types/{type_id(app, 'logged_out')}/attributes/{attribute_id.json()['id']}"
    response = admin_client.patch(url, {"type": "string"}, format="json")
    assert response.status_code == 404
    assert EventType.objects.get(name="logged_in").attributes.get().type == "number"


def test_unknown_event_type_is_a_404(admin_client, app):
    assert admin_client.get("/api/v1/event-types/999999").status_code == 404
    assert set_segmentation(admin_client, 999999, True).status_code == 404
    assert declare(admin_client, 999999, name="age", type="number").status_code == 404


# Authentication and scope -------------------------------------------------------------------

EVENT_TYPE_REQUESTS = [
    ("get", "/api/v1/event-types", {}),
    ("get", "/api/v1/event-types/{id}", {}),
    ("patch", "/api/v1/event-types/{id}", {"segmentation_enabled": True}),
    ("post", "/api/v1/event-types/{id}/attributes", {"name": "age", "type": "number"}),
]


@pytest.mark.parametrize(("method", "url", "data"), EVENT_TYPE_REQUESTS)
def test_event_types_api_refuses_ingest_keys_and_anonymous_callers(
    ingest_client, app, method, url, data
):
    url = url.format(id=type_id(app, "logged_in"))
    assert getattr(ingest_client, method)(url, data, format="json").status_code == 403
    assert getattr(APIClient(), method)(url, data, format="json").status_code == 401
    logged_in = EventType.objects.get(app=app, name="logged_in")
    assert not logged_in.segmentation_enabled and not logged_in.attributes.exists()
