"""The admin for segments: list, tag filter and search, the conditions form (the builder posts the
tree as JSON in one field) saving through the services, the members list, "Refresh now", and
deletion."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.test import Client

from contacts.models import Contact
from events.models import EventType
from events.services.event_types import event_type_set_segmentation
from events.services.ingest import events_ingest
from segments.admin.forms import CONDITIONS_INVALID
from segments.models import Segment, SegmentMembership
from segments.services import segment_create, segment_refresh

BUYERS = {"type": "event", "event": "purchase"}
BIG_BUYERS = {
    "type": "event",
    "event": "purchase",
    "where": [{"param": "amount", "op": ">", "value": 100}],
}


@pytest.fixture
def shop(app):
    """purchase enabled for segmentation; ann bought for 150, bob for 20, cid only viewed."""
    event_type, _ = EventType.objects.get_or_create(app=app, name="purchase")
    event_type_set_segmentation(event_type=event_type, enabled=True)
    payloads = [
        {"event_name": "purchase", "app_user_id": "ann", "params": {"amount": 150}},
        {"event_name": "purchase", "app_user_id": "bob", "params": {"amount": 20}},
        {"event_name": "view", "app_user_id": "cid"},
    ]
    assert [r.errors for r in events_ingest(app=app, payloads=payloads) if r.errors] == []
    return app


@pytest.fixture
def buyers(shop):
    segment = segment_create(app=shop, name="Buyers", tags=["sales", "vip"], conditions=BUYERS)
    segment_refresh(segment=segment)
    segment.refresh_from_db()
    return segment


def page_messages(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def form_data(app, **fields) -> dict:
    data = {"app": app.pk, "name": "Big buyers", "purpose": "", "tags": "sales, vip, sales"}
    data["conditions"] = json.dumps(fields.pop("conditions", BIG_BUYERS))
    return {**data, **fields}


def listed(response) -> list[str]:
    assert response.status_code == 200
    return [segment.name for segment in response.context["cl"].result_list]


def test_the_segment_list_shows_names_tags_member_counts_and_computation_times(
    staff_client, buyers
):
    response = staff_client.get("/admin/segments/segment/")
    assert listed(response) == ["Buyers"]
    page = response.content.decode()
    assert "sales, vip" in page
    page_url = f"/admin/segments/segment/{buyers.pk}/page/"
    assert f'<td class="field-size"><a href="{page_url}" title="Segment page">2</a></td>' in page
    assert '<td class="field-last_computed_at nowrap">-</td>' not in page


def test_the_segment_list_filters_by_tag_and_searches_by_name(staff_client, shop, buyers):
    segment_create(app=shop, name="Big buyers", tags=["sales"], conditions=BIG_BUYERS)
    segment_create(app=shop, name="Everyone else", tags=["vipish"], conditions=BUYERS)
    response = staff_client.get("/admin/segments/segment/")
    page = response.content.decode()
    for tag in ("sales", "vip", "vipish"):
        assert f'href="?tag={tag}"' in page
    assert listed(staff_client.get("/admin/segments/segment/?tag=vip")) == ["Buyers"]
    assert listed(staff_client.get("/admin/segments/segment/?tag=sales")) == [
        "Big buyers",
        "Buyers",
    ]
    assert listed(staff_client.get("/admin/segments/segment/?q=buyers")) == [
        "Big buyers",
        "Buyers",
    ]


def test_adding_a_segment_goes_through_the_service_and_computes_its_members(
    staff_client, shop, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post("/admin/segments/segment/add/", form_data(shop))
    assert response.status_code == 302
    segment = Segment.objects.get(name="Big buyers")
    assert (segment.app, segment.tags, segment.conditions) == (shop, ["sales", "vip"], BIG_BUYERS)
    assert segment.member_count == 1 and segment.last_computed_at is not None
    member = SegmentMembership.objects.get(segment=segment)
    assert member.contact.external_id == "ann"


def test_an_invalid_tree_is_shown_on_the_form_with_its_json_paths(staff_client, shop):
    conditions = {
        "type": "and",
        "conditions": [BUYERS, {"type": "event", "event": "login"}],
    }
    data = form_data(shop, conditions=conditions)
    response = staff_client.post("/admin/segments/segment/add/", data)
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert form.errors["conditions"] == [CONDITIONS_INVALID]
    # The builder shows each error on the card its path names: the paths reach the page.
    expected = {"conditions.conditions[1].event": ["unknown event 'login'"]}
    assert form.condition_errors == expected
    assert response.context["builder_config"]["errors"] == expected
    assert '"conditions.conditions[1].event": ["unknown event \u0027login\u0027"]' in (
        response.content.decode()
    )
    assert not Segment.objects.exists()


def test_text_that_is_not_json_is_refused_with_an_error(staff_client, shop):
    data = {**form_data(shop), "conditions": '{"type": "event",'}
    response = staff_client.post("/admin/segments/segment/add/", data)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["conditions"] == ["Enter a valid JSON."]
    assert 'value="{&quot;type&quot;: &quot;event&quot;,"' in response.content.decode()
    assert not Segment.objects.exists()


def test_the_change_page_holds_the_tree_for_the_builder_and_links_to_the_segment_page(
    staff_client, buyers
):
    response = staff_client.get(f"/admin/segments/segment/{buyers.pk}/change/")
    assert response.status_code == 200
    page = response.content.decode()
    tree = "{&quot;type&quot;: &quot;event&quot;, &quot;event&quot;: &quot;purchase&quot;}"
    assert (
        f'<input type="hidden" name="conditions" value="{tree}" required id="id_conditions">'
        in page
    )
    assert '<div id="segment-builder" class="segment-builder">' in page
    assert response.context["builder_config"] == {
        "catalogUrl": "/admin/segments/segment/builder/catalog/",
        "previewUrl": "/admin/segments/segment/builder/preview/",
        "app": buyers.app_id,
        "segment": buyers.pk,
        "errors": {},
    }
    assert f'href="/admin/segments/segment/{buyers.pk}/page/"' in page
    assert "2 member(s)" in page
    assert 'value="sales, vip"' in page


def test_changing_the_conditions_updates_the_segment_and_recomputes_it(
    staff_client, buyers, django_capture_on_commit_callbacks
):
    data = form_data(buyers.app, name="Buyers", tags="sales", conditions=BIG_BUYERS)
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(f"/admin/segments/segment/{buyers.pk}/change/", data)
    assert response.status_code == 302
    buyers.refresh_from_db()
    assert (buyers.tags, buyers.conditions, buyers.member_count) == (["sales"], BIG_BUYERS, 1)


def test_a_segment_cannot_be_made_to_include_itself(staff_client, shop, buyers):
    wrapper = segment_create(
        app=shop, name="Wrapper", conditions={"type": "segment", "segment": buyers.pk}
    )
    data = form_data(shop, name="Buyers", conditions={"type": "segment", "segment": wrapper.pk})
    response = staff_client.post(f"/admin/segments/segment/{buyers.pk}/change/", data)
    assert response.status_code == 200
    assert response.context["adminform"].form.condition_errors == {
        "conditions": ["a segment cannot include itself, even indirectly"]
    }
    buyers.refresh_from_db()
    assert buyers.conditions == BUYERS


def test_a_save_the_service_refuses_is_reported_as_a_message(staff_client, buyers, monkeypatch):
    def refuse(**kwargs):
        raise ValidationError({"conditions": ["changed meanwhile"]})

    monkeypatch.setattr("segments.admin.segment_update", refuse)
    url = f"/admin/segments/segment/{buyers.pk}/change/"
    response = staff_client.post(url, form_data(buyers.app, name="Renamed"), follow=True)
    assert response.status_code == 200
    assert page_messages(response) == ["changed meanwhile"]
    buyers.refresh_from_db()
    assert buyers.name == "Buyers"


def test_the_members_list_shows_the_segments_contacts(staff_client, shop, buyers):
    other = segment_create(app=shop, name="Big buyers", conditions=BIG_BUYERS)
    segment_refresh(segment=other)
    response = staff_client.get(f"/admin/segments/segmentmembership/?segment={buyers.pk}")
    assert response.status_code == 200
    rows = response.context["cl"].result_list
    assert sorted(row.contact.external_id for row in rows) == ["ann", "bob"]
    page = response.content.decode()
    ann = Contact.objects.get(external_id="ann")
    assert f'href="/admin/contacts/contact/{ann.pk}/change/"' in page
    assert "field-entered_at" in page
    everyone = staff_client.get("/admin/segments/segmentmembership/").context["cl"].result_list
    assert len(everyone) == 3


def test_refresh_now_recomputes_the_selected_segments_and_reports_the_changes(staff_client, shop):
    segment = segment_create(app=shop, name="Buyers", conditions=BUYERS)
    data = {"action": "refresh_now", "_selected_action": [str(segment.pk)]}
    response = staff_client.post("/admin/segments/segment/", data, follow=True)
    assert response.status_code == 200
    assert page_messages(response) == ["Buyers: refreshed, 2 entered and 0 exited."]
    segment.refresh_from_db()
    assert segment.member_count == 2 and segment.last_computed_at is not None


def test_deleting_a_segment_shows_counts_then_deletes_it(staff_client, buyers):
    url = f"/admin/segments/segment/{buyers.pk}/delete/"
    confirm = staff_client.get(url)
    assert confirm.status_code == 200
    assert "Segment memberships: 2" in confirm.content.decode()
    response = staff_client.post(url, {"post": "yes"})
    assert response.status_code == 302
    assert not Segment.objects.exists() and not SegmentMembership.objects.exists()


def test_deleting_a_segment_another_uses_is_refused_with_a_message(staff_client, shop, buyers):
    segment_create(app=shop, name="Wrapper", conditions={"type": "segment", "segment": buyers.pk})
    url = f"/admin/segments/segment/{buyers.pk}/delete/"
    response = staff_client.post(url, {"post": "yes"}, follow=True)
    assert response.status_code == 200
    assert page_messages(response) == ["used by the segment(s) Wrapper"]
    assert Segment.objects.filter(pk=buyers.pk).exists()


def test_staff_see_only_their_apps_segments_and_not_the_memberships_table(app, other_app, buyers):
    segment_create(app=other_app, name="Theirs", conditions={"type": "device"})
    user = get_user_model().objects.create_user("marketer", password="pw", is_staff=True)
    codenames = ["view_segment", "view_segmentmembership"]
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    other_app.members.add(user)
    client = Client()
    client.force_login(user)
    assert listed(client.get("/admin/segments/segment/")) == ["Theirs"]
    assert client.get(f"/admin/segments/segment/{buyers.pk}/change/").status_code == 302
    # The memberships table is internal (superusers only), whatever the permission says.
    assert client.get(f"/admin/segments/segmentmembership/?segment={buyers.pk}").status_code == 403
