"""The segments API: managing segments, preview, members, refresh, explain, history, a contact's
segments and the contacts filter, with every error, authentication and tenancy."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from contacts.models import Contact
from contacts.services.contacts import contact_update
from events.models import EventType
from events.services.event_types import event_type_set_segmentation
from segments.models import Segment, SegmentChange, SegmentMembership
from segments.services import segment_create, segment_refresh

BUYERS = {"type": "event", "event": "purchase"}
BIG_BUYERS = {
    "type": "event",
    "event": "purchase",
    "where": [{"param": "amount", "op": ">", "value": 100}],
}
HAS_EMAIL = {"type": "contact", "field": "email", "op": "exists"}


@pytest.fixture
def purchase(app):
    event_type, _ = EventType.objects.get_or_create(app=app, name="purchase")
    return event_type_set_segmentation(event_type=event_type, enabled=True)


@pytest.fixture
def contact_of(app, track):
    """contact_of("ann", event_name=..., ...) tracks an event for "ann" and returns the contact."""

    def contact_of(user: str, **payload) -> Contact:
        response = track(app_user_id=user, **{"event_name": "purchase", **payload})
        assert response.status_code == 200, response.json()
        return Contact.objects.get(app=app, external_id=user)

    return contact_of


@pytest.fixture
def buyers(app, purchase, contact_of):
    """A computed segment of buyers: ann (amount 150) and bob (amount 20); cid only logged in."""
    contact_of("ann", params={"amount": 150})
    contact_of("bob", params={"amount": 20})
    contact_of("cid", event_name="login")
    segment = segment_create(app=app, name="Buyers", tags=["sales", "vip"], conditions=BUYERS)
    segment_refresh(segment=segment)
    segment.refresh_from_db()
    return segment


def external_ids(items: list[dict]) -> list[str]:
    return [item["external_id"] for item in items]


def members(segment: Segment) -> set[str]:
    memberships = SegmentMembership.objects.filter(segment=segment)
    return set(memberships.values_list("contact__external_id", flat=True))


# Create, read, update, delete ------------------------------------------------------------------
def test_creating_a_segment_returns_it_and_computes_its_members_on_commit(
    admin_client, purchase, contact_of, django_capture_on_commit_callbacks
):
    contact_of("ann")
    body = {"name": " Buyers ", "purpose": "Thank them", "tags": ["sales"], "conditions": BUYERS}
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post("/api/v1/segments", body, format="json")
    assert response.status_code == 201, response.json()
    created = response.json()
    assert set(created) == {
        "id",
        "name",
        "purpose",
        "tags",
        "conditions",
        "member_count",
        "last_computed_at",
        "created_at",
        "updated_at",
    }
    assert (created["name"], created["purpose"], created["tags"]) == (
        "Buyers",
        "Thank them",
        ["sales"],
    )
    assert created["conditions"] == BUYERS
    detail = admin_client.get(f"/api/v1/segments/{created['id']}").json()
    assert detail["member_count"] == 1 and detail["last_computed_at"] is not None


def test_an_invalid_tree_is_refused_with_the_json_path_of_each_error(admin_client, purchase):
    conditions = {
        "type": "and",
        "conditions": [
            BUYERS,
            {
                "type": "event",
                "event": "purchase",
                "period": {"type": "last", "amount": 3, "unit": "year"},
            },
            {"type": "contact", "field": "email", "op": "between", "value": "x"},
        ],
    }
    body = {"name": "Broken", "conditions": conditions}
    response = admin_client.post("/api/v1/segments", body, format="json")
    assert response.status_code == 400
    error = response.json()
    assert error["error"] == "validation"
    assert set(error["detail"]) == {
        "conditions.conditions[1].period.unit",
        "conditions.conditions[2].op",
    }
    assert error["detail"]["conditions.conditions[1].period.unit"] == [
        "must be one of minute, hour, day, week, month"
    ]
    assert not Segment.objects.exists()


def test_an_event_not_enabled_for_segmentation_is_refused_naming_conditions_event(
    admin_client, contact_of
):
    contact_of("ann", event_name="login")
    body = {"name": "Loggers", "conditions": {"type": "event", "event": "login"}}
    response = admin_client.post("/api/v1/segments", body, format="json")
    assert response.status_code == 400
    [reason] = response.json()["detail"]["conditions.event"]
    assert "'login' is not enabled for segmentation" in reason


def test_an_unknown_event_is_refused_naming_conditions_event(admin_client):
    body = {"name": "Ghosts", "conditions": {"type": "event", "event": "ghost"}}
    response = admin_client.post("/api/v1/segments", body, format="json")
    assert response.status_code == 400
    assert response.json()["detail"] == {"conditions.event": ["unknown event 'ghost'"]}


def test_missing_fields_and_bad_tags_are_reported_per_field(admin_client, purchase):
    response = admin_client.post("/api/v1/segments", {"tags": "vip"}, format="json")
    assert response.status_code == 400
    assert set(response.json()["detail"]) == {"name", "conditions"}
    body = {"name": "Buyers", "tags": ["ok", ""], "conditions": BUYERS}
    response = admin_client.post("/api/v1/segments", body, format="json")
    assert response.status_code == 400
    assert response.json()["detail"] == {"tags": ["must be a list of non-empty strings"]}


def test_a_body_that_is_not_json_is_a_validation_error(admin_client):
    response = admin_client.post("/api/v1/segments", "{", content_type="application/json")
    assert response.status_code == 400
    assert set(response.json()["detail"]) == {"body"}


def test_the_segment_list_filters_by_tag_and_by_name(admin_client, app, purchase):
    segment_create(app=app, name="Big buyers", tags=["sales", "vip"], conditions=BIG_BUYERS)
    segment_create(app=app, name="Buyers", tags=["sales"], conditions=BUYERS)
    segment_create(app=app, name="Reachable", tags=["vipish"], conditions=HAS_EMAIL)

    def names(**query) -> list[str]:
        response = admin_client.get("/api/v1/segments", query)
        assert response.status_code == 200, response.json()
        return [item["name"] for item in response.json()["results"]]

    assert names() == ["Big buyers", "Buyers", "Reachable"]
    assert names(tag="sales") == ["Big buyers", "Buyers"]
    assert names(tag="vip") == ["Big buyers"]  # a whole tag, not a part of one
    assert names(tag="nope") == []
    assert names(name="BUY") == ["Big buyers", "Buyers"]
    assert names(name="buy", tag="vip") == ["Big buyers"]


def test_the_tag_filter_matches_tags_with_quotes_backslashes_and_accents(admin_client, app):
    tags = ['say "hi"', "back\\slash", "café", "it's"]
    segment_create(app=app, name="Odd", tags=tags, conditions=HAS_EMAIL)
    segment_create(app=app, name="Plain", tags=["cafe", "say hi"], conditions=HAS_EMAIL)

    for tag in tags:
        response = admin_client.get("/api/v1/segments", {"tag": tag})
        assert [item["name"] for item in response.json()["results"]] == ["Odd"], tag


def test_patching_changes_only_the_fields_sent(admin_client, buyers):
    url = f"/api/v1/segments/{buyers.pk}"
    response = admin_client.patch(url, {"name": "Customers", "tags": []}, format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["name"], body["tags"], body["conditions"]) == ("Customers", [], BUYERS)
    assert body["member_count"] == 2


def test_patching_the_conditions_recomputes_the_members_on_commit(
    admin_client, buyers, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.patch(
            f"/api/v1/segments/{buyers.pk}", {"conditions": BIG_BUYERS}, format="json"
        )
    assert response.status_code == 200, response.json()
    assert members(buyers) == {"ann"}
    assert admin_client.get(f"/api/v1/segments/{buyers.pk}").json()["member_count"] == 1


def test_patching_an_invalid_tree_is_refused_and_changes_nothing(admin_client, buyers):
    bad = {"type": "or", "conditions": []}
    response = admin_client.patch(
        f"/api/v1/segments/{buyers.pk}", {"name": "X", "conditions": bad}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["detail"] == {
        "conditions.conditions": ["must be a non-empty list of conditions"]
    }
    buyers.refresh_from_db()
    assert (buyers.name, buyers.conditions) == ("Buyers", BUYERS)


def test_a_segment_cannot_include_itself(admin_client, app, buyers):
    wrapper = segment_create(
        app=app, name="Wrapper", conditions={"type": "segment", "segment": buyers.pk}
    )
    response = admin_client.patch(
        f"/api/v1/segments/{buyers.pk}",
        {"conditions": {"type": "segment", "segment": wrapper.pk}},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["detail"] == {
        "conditions": ["a segment cannot include itself, even indirectly"]
    }


def test_deleting_a_segment_removes_it(admin_client, buyers):
    url = f"/api/v1/segments/{buyers.pk}"
    assert admin_client.delete(url).status_code == 204
    assert admin_client.get(url).status_code == 404
    assert not SegmentMembership.objects.exists()


def test_a_segment_used_by_another_cannot_be_deleted(admin_client, app, buyers):
    segment_create(app=app, name="Wrapper", conditions={"type": "segment", "segment": buyers.pk})
    response = admin_client.delete(f"/api/v1/segments/{buyers.pk}")
    assert response.status_code == 400
    assert response.json()["detail"] == {"segment": ["used by the segment(s) Wrapper"]}
    assert Segment.objects.filter(pk=buyers.pk).exists()


def test_an_unknown_segment_is_not_found(admin_client, db):
    for method in ("get", "patch", "delete"):
        response = getattr(admin_client, method)("/api/v1/segments/999999")
        assert response.status_code == 404
        assert response.json() == {"error": "not_found", "detail": "no such segment"}


# Preview ---------------------------------------------------------------------------------------
def test_preview_counts_and_samples_the_matching_contacts_without_saving(
    admin_client, purchase, contact_of
):
    for user in ("ann", "bob", "cid"):
        contact_of(user, params={"amount": 150 if user != "bob" else 5})
    response = admin_client.post(
        "/api/v1/segments/preview", {"conditions": BIG_BUYERS}, format="json"
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["count"] == 2
    assert sorted(external_ids(body["sample"])) == ["ann", "cid"]
    assert set(body["sample"][0]) == {"id", "external_id", "email", "anonymous_id"}
    assert not Segment.objects.exists()


def test_the_preview_sample_has_at_most_ten_contacts(admin_client, purchase, contact_of):
    for index in range(12):
        contact_of(f"user{index}")
    response = admin_client.post("/api/v1/segments/preview", {"conditions": BUYERS}, format="json")
    body = response.json()
    assert body["count"] == 12 and len(body["sample"]) == 10


def test_a_preview_that_matches_nobody_counts_zero(admin_client, purchase, contact_of):
    contact_of("ann", params={"amount": 5})
    response = admin_client.post(
        "/api/v1/segments/preview", {"conditions": BIG_BUYERS}, format="json"
    )
    assert response.json() == {"count": 0, "sample": []}


def test_preview_refuses_an_invalid_tree_with_json_paths(admin_client, purchase):
    conditions = {"type": "not", "condition": {"type": "streak", "event": "purchase"}}
    response = admin_client.post(
        "/api/v1/segments/preview", {"conditions": conditions}, format="json"
    )
    assert response.status_code == 400
    assert set(response.json()["detail"]) == {
        "conditions.condition.periods",
        "conditions.condition.unit",
    }
    response = admin_client.post("/api/v1/segments/preview", {}, format="json")
    assert response.status_code == 400
    assert set(response.json()["detail"]) == {"conditions"}


# Members and refresh ---------------------------------------------------------------------------
def test_the_members_are_listed_with_when_they_entered(admin_client, buyers):
    response = admin_client.get(f"/api/v1/segments/{buyers.pk}/contacts")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["count"] == 2
    assert sorted(external_ids(body["results"])) == ["ann", "bob"]
    entered = SegmentMembership.objects.get(segment=buyers, contact__external_id="ann").entered_at
    [ann] = [item for item in body["results"] if item["external_id"] == "ann"]
    assert ann["entered_at"] == entered.isoformat().replace("+00:00", "Z")
    assert set(ann) == {"id", "external_id", "email", "anonymous_id", "entered_at"}


def test_the_members_are_paginated(admin_client, buyers):
    body = admin_client.get(f"/api/v1/segments/{buyers.pk}/contacts", {"page_size": 1}).json()
    assert body["count"] == 2 and len(body["results"]) == 1 and body["next"]


def test_refresh_is_scheduled_and_updates_the_members_after_commit(
    admin_client, app, purchase, contact_of, django_capture_on_commit_callbacks
):
    segment = segment_create(app=app, name="Buyers", conditions=BUYERS)  # not computed yet
    contact_of("ann")
    assert admin_client.get(f"/api/v1/segments/{segment.pk}/contacts").json()["count"] == 0
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(f"/api/v1/segments/{segment.pk}/refresh")
    assert response.status_code == 202
    assert response.json() == {"status": "scheduled"}
    body = admin_client.get(f"/api/v1/segments/{segment.pk}/contacts").json()
    assert external_ids(body["results"]) == ["ann"]


def test_refreshing_an_unknown_segment_is_not_found(admin_client, db):
    assert admin_client.post("/api/v1/segments/999999/refresh").status_code == 404


# Explain ---------------------------------------------------------------------------------------
def test_explain_shows_the_tree_with_values_and_agrees_with_the_membership(admin_client, buyers):
    for user in ("ann", "cid"):
        contact = Contact.objects.get(external_id=user)
        response = admin_client.get(
            f"/api/v1/segments/{buyers.pk}/explain", {"contact": contact.pk}
        )
        assert response.status_code == 200, response.json()
        body = response.json()
        stored = SegmentMembership.objects.filter(segment=buyers, contact=contact).exists()
        assert (body["segment"], body["contact"]) == (buyers.pk, contact.pk)
        assert body["member"] is stored is (user == "ann")
        assert body["explanation"]["holds"] is stored
        assert body["explanation"]["value"]["count"] == (1 if user == "ann" else 0)
        assert body["explanation"]["event"] == "purchase"


def test_explain_needs_a_valid_contact_id(admin_client, buyers):
    url = f"/api/v1/segments/{buyers.pk}/explain"
    for query in ({}, {"contact": "ann"}, {"contact": "0"}):
        response = admin_client.get(url, query)
        assert response.status_code == 400
        assert set(response.json()["detail"]) == {"contact"}


def test_explain_does_not_find_a_contact_of_another_app(admin_client, other_app, buyers):
    stranger = Contact.objects.create(app=other_app, external_id="ann")
    url = f"/api/v1/segments/{buyers.pk}/explain"
    for contact_id in (stranger.pk, 999999):
        response = admin_client.get(url, {"contact": contact_id})
        assert response.status_code == 400
        assert response.json()["detail"] == {"contact": ["no such contact in this app"]}


# History ---------------------------------------------------------------------------------------
def test_history_has_a_point_per_day_with_entries_exits_and_size(admin_client, app, contact_of):
    now = timezone.now()
    ann, bob = contact_of("ann", event_name="login"), contact_of("bob", event_name="login")
    for contact in (ann, bob):
        contact_update(contact=contact, data={"email": f"{contact.external_id}@example.com"})
    segment = segment_create(app=app, name="Reachable", conditions=HAS_EMAIL)
    segment_refresh(segment=segment, now=now - timedelta(days=3))
    contact_update(contact=bob, data={"email": None})
    segment_refresh(segment=segment, now=now - timedelta(days=1))

    response = admin_client.get(f"/api/v1/segments/{segment.pk}/history", {"days": 5})
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["segment"] == segment.pk
    today = now.date()
    assert body["points"] == [
        {
            "date": (today - timedelta(days=back)).isoformat(),
            "entered": entered,
            "exited": exited,
            "size": size,
        }
        for back, entered, exited, size in [
            (4, 0, 0, 0),
            (3, 2, 0, 2),
            (2, 0, 0, 2),
            (1, 0, 1, 1),
            (0, 0, 0, 1),
        ]
    ]
    assert SegmentChange.objects.filter(segment=segment).count() == 3


def test_history_defaults_to_thirty_days_and_refuses_a_bad_window(admin_client, buyers):
    url = f"/api/v1/segments/{buyers.pk}/history"
    points = admin_client.get(url).json()["points"]
    assert len(points) == 30
    assert points[-1] == {
        "date": timezone.now().date().isoformat(),
        "entered": 2,
        "exited": 0,
        "size": 2,
    }
    for days in ("0", "367", "x"):
        response = admin_client.get(url, {"days": days})
        assert response.status_code == 400
        assert set(response.json()["detail"]) == {"days"}


# A contact's segments, and contacts by segment -------------------------------------------------
def test_a_contacts_segments_are_listed_with_when_it_entered(admin_client, app, buyers):
    big = segment_create(app=app, name="Big buyers", conditions=BIG_BUYERS)
    segment_refresh(segment=big)
    ann, cid = (Contact.objects.get(external_id=user) for user in ("ann", "cid"))
    response = admin_client.get(f"/api/v1/contacts/{ann.pk}/segments")
    assert response.status_code == 200, response.json()
    results = response.json()["results"]
    assert [(item["id"], item["name"]) for item in results] == [
        (big.pk, "Big buyers"),
        (buyers.pk, "Buyers"),
    ]
    assert set(results[1]) == {"id", "name", "tags", "entered_at"}
    assert results[1]["tags"] == ["sales", "vip"]
    assert admin_client.get(f"/api/v1/contacts/{cid.pk}/segments").json()["results"] == []
    assert admin_client.get("/api/v1/contacts/999999/segments").status_code == 404


def test_contacts_can_be_filtered_by_segment(admin_client, buyers):
    response = admin_client.get("/api/v1/contacts", {"segment": buyers.pk})
    assert response.status_code == 200, response.json()
    assert sorted(external_ids(response.json()["results"])) == ["ann", "bob"]
    assert admin_client.get("/api/v1/contacts", {"segment": 999999}).json()["count"] == 0
    response = admin_client.get("/api/v1/contacts", {"segment": "buyers"})
    assert response.status_code == 400
    assert set(response.json()["detail"]) == {"segment"}


# Authentication and tenancy --------------------------------------------------------------------
def endpoints(segment_id: int, contact_id: int) -> list[tuple[str, str, dict | None]]:
    return [
        ("get", "/api/v1/segments", None),
        ("post", "/api/v1/segments", {"name": "X", "conditions": BUYERS}),
        ("post", "/api/v1/segments/preview", {"conditions": BUYERS}),
        ("get", f"/api/v1/segments/{segment_id}", None),
        ("patch", f"/api/v1/segments/{segment_id}", {"name": "Stolen"}),
        ("delete", f"/api/v1/segments/{segment_id}", None),
        ("get", f"/api/v1/segments/{segment_id}/contacts", None),
        ("post", f"/api/v1/segments/{segment_id}/refresh", None),
        ("get", f"/api/v1/segments/{segment_id}/explain?contact={contact_id}", None),
        ("get", f"/api/v1/segments/{segment_id}/history", None),
        ("get", f"/api/v1/contacts/{contact_id}/segments", None),
    ]


def call(client, method: str, url: str, body: dict | None):
    return getattr(client, method)(url, body, format="json")


def test_every_endpoint_needs_an_api_key(buyers):
    ann = Contact.objects.get(external_id="ann")
    for method, url, body in endpoints(buyers.pk, ann.pk):
        response = call(APIClient(), method, url, body)
        assert response.status_code == 401, (method, url)
        assert response.json()["error"] == "authentication"


def test_an_ingest_key_may_not_use_the_segments_api(ingest_client, buyers):
    ann = Contact.objects.get(external_id="ann")
    for method, url, body in endpoints(buyers.pk, ann.pk):
        response = call(ingest_client, method, url, body)
        assert response.status_code == 403, (method, url)
        assert response.json()["error"] == "permission"
    buyers.refresh_from_db()
    assert buyers.name == "Buyers"


def test_another_app_cannot_see_or_change_the_segments(
    other_admin_client, other_app, buyers, django_capture_on_commit_callbacks
):
    ann = Contact.objects.get(external_id="ann")
    assert other_admin_client.get("/api/v1/segments").json()["count"] == 0
    assert other_admin_client.get("/api/v1/segments", {"tag": "sales"}).json()["count"] == 0
    skipped = {"/api/v1/segments", "/api/v1/segments/preview"}
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        for method, url, body in endpoints(buyers.pk, ann.pk):
            if url not in skipped:
                response = call(other_admin_client, method, url, body)
                assert response.status_code == 404, (method, url)
    assert callbacks == []  # no refresh scheduled
    buyers.refresh_from_db()
    assert buyers.name == "Buyers" and members(buyers) == {"ann", "bob"}
    assert other_admin_client.get("/api/v1/contacts", {"segment": buyers.pk}).json()["count"] == 0


def test_another_apps_segment_cannot_be_referenced(other_admin_client, buyers):
    body = {"name": "Spy", "conditions": {"type": "segment", "segment": buyers.pk}}
    response = other_admin_client.post("/api/v1/segments", body, format="json")
    assert response.status_code == 400
    assert response.json()["detail"] == {
        "conditions.segment": [f"no segment {buyers.pk} in this app"]
    }
    response = other_admin_client.post(
        "/api/v1/segments/preview", {"conditions": BUYERS}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["detail"] == {"conditions.event": ["unknown event 'purchase'"]}
