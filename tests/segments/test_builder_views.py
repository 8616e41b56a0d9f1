"""The segment builder's admin JSON views (catalog and live count) and the segment page: scoped
to the user's apps and to the app chosen in the header, permission-checked, 400s with the JSON
path of each error, and no other app's segment or contact reachable by guessing ids."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client

from contacts.access import SESSION_APP
from contacts.models import Contact
from events.models import EventType
from events.services.event_types import event_attribute_declare, event_type_set_segmentation
from events.services.ingest import events_ingest
from segments.models import SegmentChange
from segments.selectors import segment_preview
from segments.services import segment_create, segment_refresh

CATALOG = "/admin/segments/segment/builder/catalog/"
PREVIEW = "/admin/segments/segment/builder/preview/"
BIG_BUYERS = {
    "type": "event",
    "event": "purchase",
    "where": [{"param": "amount", "op": ">", "value": 100}],
}


def prepare(app, users: dict[str, int]) -> None:
    """purchase (amount: number, note: string) enabled for segmentation, view not; each user
    bought once for their amount."""
    purchase, _ = EventType.objects.get_or_create(app=app, name="purchase")
    event_type_set_segmentation(event_type=purchase, enabled=True)
    event_attribute_declare(event_type=purchase, name="amount", type_="number")
    event_attribute_declare(event_type=purchase, name="note", type_="string")
    EventType.objects.get_or_create(app=app, name="view")
    payloads = [
        {"event_name": "purchase", "app_user_id": user, "params": {"amount": amount}}
        for user, amount in users.items()
    ]
    assert [r.errors for r in events_ingest(app=app, payloads=payloads) if r.errors] == []


@pytest.fixture
def shop(app, other_app):
    prepare(app, {"ann": 150, "bob": 20})
    prepare(other_app, {"zed": 500})
    return app


@pytest.fixture
def buyers(shop):
    segment = segment_create(
        app=shop, name="Buyers", conditions={"type": "event", "event": "purchase"}
    )
    segment_refresh(segment=segment)
    return segment


@pytest.fixture
def theirs(other_app, shop):
    segment = segment_create(app=other_app, name="Theirs", conditions=BIG_BUYERS)
    segment_refresh(segment=segment)
    return segment


@pytest.fixture
def marketer(role_client, shop):
    return role_client("Marketer", shop)


def post_json(client, url, body) -> tuple[int, dict]:
    response = client.post(url, json.dumps(body), content_type="application/json")
    return response.status_code, response.json()


# The catalog ------------------------------------------------------------------------------------
def test_the_catalog_offers_the_apps_segmentation_events_with_their_typed_attributes(
    marketer, shop, buyers, theirs
):
    other = segment_create(app=shop, name="Another", conditions={"type": "device"})
    response = marketer.get(CATALOG, {"app": shop.pk, "segment": buyers.pk})
    assert response.status_code == 200
    assert response.json() == {
        "events": [
            {
                "name": "purchase",
                "attributes": [
                    {"name": "amount", "type": "number"},
                    {"name": "note", "type": "string"},
                ],
            }
        ],
        "segments": [{"id": other.pk, "name": "Another"}],  # not Buyers itself, nor Theirs
    }


def test_the_catalog_of_another_users_app_or_segment_is_not_found(
    marketer, shop, other_app, buyers, theirs
):
    assert marketer.get(CATALOG, {"app": other_app.pk}).status_code == 404
    assert marketer.get(CATALOG, {"app": "x"}).status_code == 404
    assert marketer.get(CATALOG, {"app": shop.pk, "segment": theirs.pk}).status_code == 404


def test_the_catalog_follows_the_app_chosen_in_the_header(role_client, shop, other_app):
    client = role_client("Marketer", shop, other_app)
    assert client.get(CATALOG, {"app": other_app.pk}).status_code == 200
    session = client.session
    session[SESSION_APP] = shop.pk
    session.save()
    assert client.get(CATALOG, {"app": other_app.pk}).status_code == 404
    assert client.get(CATALOG, {"app": shop.pk}).status_code == 200


def test_staff_who_may_only_view_segments_cannot_use_the_builder_views(shop):
    user = get_user_model().objects.create_user("viewer", password="pw", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename="view_segment"))
    shop.members.add(user)
    client = Client()
    client.force_login(user)
    assert client.get(CATALOG, {"app": shop.pk}).status_code == 403
    status, body = post_json(client, PREVIEW, {"app": shop.pk, "conditions": BIG_BUYERS})
    assert (status, body["error"]) == (403, "forbidden")


def test_the_builder_views_need_a_signed_in_staff_user(client, shop):
    assert client.get(CATALOG, {"app": shop.pk}).status_code == 302
    assert client.post(PREVIEW, "{}", content_type="application/json").status_code == 302


# The live count ----------------------------------------------------------------------------------
def test_the_preview_counts_like_the_apis_preview_with_a_sample(marketer, shop, theirs):
    status, body = post_json(marketer, PREVIEW, {"app": shop.pk, "conditions": BIG_BUYERS})
    assert status == 200
    count, sample = segment_preview(app=shop, conditions=BIG_BUYERS)
    ann = Contact.objects.get(app=shop, external_id="ann")
    assert body == {
        "count": count,
        "sample": [{"id": ann.pk, "external_id": "ann", "email": None, "label": "ann"}],
    }
    assert [contact.pk for contact in sample] == [ann.pk]  # not zed of the other app


def test_an_invalid_tree_is_a_400_naming_the_path_of_each_error(marketer, shop):
    tree = {
        "type": "and",
        "conditions": [
            {"type": "event", "event": "view"},
            {"type": "event", "event": "purchase", "period": {"type": "last", "unit": "year"}},
            {"type": "event", "event": "purchase", "where": [{"param": "note", "op": ">"}]},
        ],
    }
    status, body = post_json(marketer, PREVIEW, {"app": shop.pk, "conditions": tree})
    assert status == 400
    assert body == {
        "error": "validation",
        "detail": {
            "conditions.conditions[0].event": [
                "event 'view' is not enabled for segmentation: enable it in Event types "
                "(only allowlisted events may be used in segments)"
            ],
            "conditions.conditions[1].period.amount": ["must be a whole number, 1 or more"],
            "conditions.conditions[1].period.unit": [
                "must be one of minute, hour, day, week, month"
            ],
            "conditions.conditions[2].where[0].op": [
                "'>' does not apply to a string value; use one of =, !=, contains, "
                "not_contains, starts_with, in, not_in, exists, not_exists"
            ],
        },
    }


def test_a_body_that_is_not_a_preview_request_is_a_400_with_its_reason(marketer, shop):
    response = marketer.post(PREVIEW, "{not json", content_type="application/json")
    assert (response.status_code, response.json()["detail"]) == (400, {"body": ["must be JSON"]})
    status, body = post_json(marketer, PREVIEW, {"app": shop.pk})
    assert (status, body["detail"]) == (400, {"conditions": ["is required"]})
    assert marketer.get(PREVIEW).status_code == 405


def test_a_tree_that_would_include_the_edited_segment_is_refused(marketer, shop, buyers):
    wrapper = segment_create(
        app=shop, name="Wrapper", conditions={"type": "segment", "segment": buyers.pk}
    )
    tree = {"type": "segment", "segment": wrapper.pk}
    status, body = post_json(
        marketer, PREVIEW, {"app": shop.pk, "conditions": tree, "segment": buyers.pk}
    )
    assert (status, body["detail"]) == (
        400,
        {"conditions": ["a segment cannot include itself, even indirectly"]},
    )
    status, _ = post_json(marketer, PREVIEW, {"app": shop.pk, "conditions": tree})
    assert status == 200  # a new segment: no cycle


def test_the_preview_cannot_reach_another_users_app_or_segments(marketer, shop, other_app, theirs):
    status, body = post_json(marketer, PREVIEW, {"app": other_app.pk, "conditions": BIG_BUYERS})
    assert (status, body["error"]) == (404, "not_found")
    status, _ = post_json(
        marketer, PREVIEW, {"app": shop.pk, "conditions": BIG_BUYERS, "segment": theirs.pk}
    )
    assert status == 404
    tree = {"type": "segment", "segment": theirs.pk}
    status, body = post_json(marketer, PREVIEW, {"app": shop.pk, "conditions": tree})
    assert (status, body["detail"]) == (
        400,
        {"conditions.segment": [f"no segment {theirs.pk} in this app"]},
    )


def test_the_preview_checks_the_csrf_token(shop):
    user = get_user_model().objects.create_superuser("boss", "boss@example.com", "pw")
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    body = json.dumps({"app": shop.pk, "conditions": BIG_BUYERS})
    assert client.post(PREVIEW, body, content_type="application/json").status_code == 403


# The segment page ---------------------------------------------------------------------------------
def page_url(segment) -> str:
    return f"/admin/segments/segment/{segment.pk}/page/"


def test_the_segment_page_shows_the_size_history_and_members(marketer, buyers):
    response = marketer.get(page_url(buyers))
    assert response.status_code == 200
    context = response.context
    assert context["segment"] == buyers
    assert context["chart"]["sizes"][-1] == 2 and len(context["chart"]["labels"]) == 30
    assert context["entered_total"] == SegmentChange.objects.filter(segment=buyers).count() == 2
    members = [membership.contact.external_id for membership in context["members"]]
    assert sorted(members) == ["ann", "bob"]
    assert 'id="segment-size-data"' in response.content.decode()


def test_the_members_are_searched_by_external_id_or_email(marketer, shop, buyers):
    Contact.objects.filter(app=shop, external_id="bob").update(email="bob@example.com")
    found = marketer.get(page_url(buyers), {"q": "an"}).context["members"]
    assert [m.contact.external_id for m in found] == ["ann"]
    found = marketer.get(page_url(buyers), {"q": "BOB@EX"}).context["members"]
    assert [m.contact.external_id for m in found] == ["bob"]
    page = marketer.get(page_url(buyers), {"q": "nobody"}).content.decode()
    assert "No member matches “nobody”." in page


def test_the_page_explains_why_a_contact_is_or_is_not_in_the_segment(marketer, shop):
    segment = segment_create(app=shop, name="Big", conditions=BIG_BUYERS)
    response = marketer.get(page_url(segment), {"contact": "bob"})
    assert response.context["explained_member"] is False
    [row] = response.context["explanation_rows"]
    assert (row.holds, row.text, row.figure) == (
        False,
        "Did purchase at least 1 time ever, where amount > 100",
        "0 matching events",
    )
    ann = Contact.objects.get(app=shop, external_id="ann")
    response = marketer.get(page_url(segment), {"contact": f"#{ann.pk}"})
    assert response.context["explained_member"] is True
    assert "ann</a>\n        is in this segment now." in response.content.decode()


def test_the_page_reads_a_date_params_day_as_that_day(marketer, shop):
    purchase = EventType.objects.get(app=shop, name="purchase")
    event_attribute_declare(event_type=purchase, name="date_delivery", type_="date")
    on_christmas_eve = {
        "type": "event",
        "event": "purchase",
        "where": [{"param": "date_delivery", "op": "=", "value": "2026-12-24"}],
    }
    segment = segment_create(app=shop, name="Christmas Eve", conditions=on_christmas_eve)
    [row] = marketer.get(page_url(segment), {"contact": "bob"}).context["explanation_rows"]
    assert row.text == "Did purchase at least 1 time ever, where date_delivery is on 24 Dec 2026"


def test_the_page_does_not_explain_another_apps_contact(marketer, shop, buyers, other_app):
    zed = Contact.objects.get(app=other_app, external_id="zed")
    for identifier in ("zed", f"#{zed.pk}"):
        response = marketer.get(page_url(buyers), {"contact": identifier})
        assert response.context["contact_missing"] is True
        assert "explanation_rows" not in response.context


def test_another_apps_segment_page_is_not_found(marketer, theirs):
    assert marketer.get(page_url(theirs)).status_code == 404
    assert marketer.get("/admin/segments/segment/999999/page/").status_code == 404
