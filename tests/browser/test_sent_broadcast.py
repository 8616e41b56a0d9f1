"""A sent broadcast in a real browser: its page is read-only and says so; "Duplicate" opens a
draft copy in the editor. Screenshots are kept in test-artifacts/."""

from __future__ import annotations

import pytest

from campaigns.models import Campaign
from campaigns.services.broadcasts import broadcasts_start_due
from tests.campaigns.factories import active_campaign, subscribe

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_sent_broadcast_is_read_only_and_duplicated_to_send_again(
    page, live_server, app, signed_in, screenshot
):
    subscribe(app, "ann")
    sent = active_campaign(app, kind=Campaign.Kind.BROADCAST, name="Spring sale", title="Sale!")
    broadcasts_start_due()
    signed_in("Marketer", app)
    page.goto(f"{live_server.url}/admin/campaigns/campaign/{sent.pk}/change/")
    notice = page.locator("#campaign-sent-notice")
    assert notice.inner_text() == "This broadcast has been sent; duplicate it to send again."
    assert page.locator("#id_title").count() == 0  # no editor: the fields read as text
    assert page.locator("input[name=_save]").count() == 0
    assert page.locator("#campaign-pause").is_visible()
    screenshot("campaign-sent-broadcast")

    page.click("#campaign-duplicate")
    page.wait_for_selector("#id_title")
    copy = Campaign.objects.exclude(pk=sent.pk).get()
    assert page.url.endswith(f"/admin/campaigns/campaign/{copy.pk}/change/")
    assert page.locator("#id_name").input_value() == "Spring sale (copy)"
    assert page.locator("#id_title").input_value() == "Sale!"
    assert "a draft copy of Spring sale" in page.locator(".messagelist").inner_text()
    assert page.locator("#campaign-sent-notice").count() == 0
    screenshot("campaign-sent-broadcast-duplicate")
