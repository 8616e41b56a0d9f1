"""A broadcast that went out is the record of what its audience got: its page is read-only, the API
refuses to change it, and "Duplicate" makes a draft copy to send again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError

from campaigns.models import Campaign
from campaigns.services.broadcasts import broadcasts_start_due
from campaigns.services.campaigns import campaign_duplicate, campaign_update
from segments.services import segment_create
from tests.campaigns.factories import active_campaign, subscribe

NOTICE = "This broadcast has been sent; duplicate it to send again."


@pytest.fixture
def sent(app) -> Campaign:
    subscribe(app, "ann")
    audience = segment_create(app=app, name="Everyone with a device", conditions={"type": "device"})
    campaign = active_campaign(
        app,
        kind=Campaign.Kind.BROADCAST,
        name="Spring sale",
        title="Sale! {{ contact.first_name }}",
        body="20% off",
        audience_segment_id=audience.pk,
        buttons=[{"id": "shop", "title": "Shop", "action": "open_url", "url": "https://x.test"}],
    )
    broadcasts_start_due()
    campaign.refresh_from_db()
    assert campaign.fanned_out_at is not None
    return campaign


def test_a_sent_broadcast_cannot_be_updated(sent):
    with pytest.raises(ValidationError) as raised:
        campaign_update(campaign=sent, title="Changed")
    assert raised.value.message_dict == {
        "status": ["this broadcast has been sent; duplicate it to send again"]
    }


def test_a_broadcast_not_yet_sent_can_still_be_updated(app):
    later = datetime.now(UTC) + timedelta(hours=1)
    campaign = active_campaign(
        app, kind=Campaign.Kind.BROADCAST, name="Later", title="x", send_at=later
    )
    assert campaign_update(campaign=campaign, title="y").title == "y"


def test_duplicating_makes_a_draft_with_the_same_message_audience_and_rules(sent):
    copy = campaign_duplicate(campaign=sent)
    assert copy.pk != sent.pk
    assert (copy.name, copy.status, copy.kind) == ("Spring sale (copy)", "draft", "broadcast")
    assert (copy.title, copy.body, copy.buttons) == (sent.title, sent.body, sent.buttons)
    assert copy.audience_segment_id == sent.audience_segment_id
    assert (copy.send_at, copy.fanned_out_at, copy.activated_at) == (None, None, None)
    assert copy.deliveries.count() == 0
    assert campaign_update(campaign=copy, title="Again!").title == "Again!"


def test_a_long_name_keeps_its_copy_suffix_within_the_limit(app):
    campaign = active_campaign(app, name="n" * 200)
    assert campaign_duplicate(campaign=campaign).name == "n" * 193 + " (copy)"


def test_the_page_of_a_sent_broadcast_is_read_only_with_a_duplicate_button(role_client, app, sent):
    client = role_client("Marketer", app)
    url = f"/admin/campaigns/campaign/{sent.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200
    assert page.context["has_change_permission"] is False
    text = page.text
    assert NOTICE in text
    assert 'id="campaign-duplicate"' in text
    assert 'name="title"' not in text  # no editor fields, shown as text
    assert 'id="campaign-preview"' not in text and "Edit the campaign" not in text
    assert "Sale! {{ contact.first_name }}" in text
    assert 'id="campaign-pause"' in text  # its remaining pushes can still be held
    response = client.post(url, {"name": "Changed", "title": "Changed", "kind": "broadcast"})
    assert response.status_code == 403
    sent.refresh_from_db()
    assert sent.title == "Sale! {{ contact.first_name }}"


def test_an_unsent_campaigns_page_has_no_notice_and_stays_editable(role_client, app):
    campaign = active_campaign(app, name="After purchase")
    page = role_client("Marketer", app).get(f"/admin/campaigns/campaign/{campaign.pk}/change/")
    assert page.context["has_change_permission"] is True
    assert NOTICE not in page.text and 'name="title"' in page.text


def test_duplicate_opens_the_draft_copy_in_the_editor(role_client, app, sent):
    client = role_client("Marketer", app)
    response = client.post(f"/admin/campaigns/campaign/{sent.pk}/duplicate/", follow=True)
    copy = Campaign.objects.exclude(pk=sent.pk).get()
    assert response.redirect_chain == [(f"/admin/campaigns/campaign/{copy.pk}/change/", 302)]
    assert response.context["has_change_permission"] is True
    assert "Spring sale (copy): a draft copy of Spring sale, to edit." in response.text
    assert client.get(f"/admin/campaigns/campaign/{sent.pk}/duplicate/").status_code == 405


def test_pausing_a_sent_broadcast_still_works(role_client, app, sent):
    client = role_client("Marketer", app)
    response = client.post(f"/admin/campaigns/campaign/{sent.pk}/pause/")
    assert response.status_code == 302
    sent.refresh_from_db()
    assert sent.status == Campaign.Status.PAUSED


def test_another_apps_campaign_cannot_be_duplicated(role_client, app, other_app):
    theirs = active_campaign(other_app, name="Theirs")
    response = role_client("Marketer", app).post(
        f"/admin/campaigns/campaign/{theirs.pk}/duplicate/"
    )
    assert response.status_code == 404
    assert Campaign.objects.count() == 1


def test_the_api_refuses_to_patch_a_sent_broadcast(admin_client, sent):
    response = admin_client.patch(f"/api/v1/campaigns/{sent.pk}", {"title": "New"}, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "error": "validation",
        "detail": {"status": ["this broadcast has been sent; duplicate it to send again"]},
    }
    sent.refresh_from_db()
    assert sent.title == "Sale! {{ contact.first_name }}"
