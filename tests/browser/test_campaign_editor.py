"""The campaign editor in a real browser: a marketer creates an event-triggered campaign with a
delay, a trigger filter, a keyed cancel event and two buttons, watches the live preview render
for a contact and a sample event, saves and activates it; then the campaign page shows its
deliveries."""

from __future__ import annotations

import pytest
from django.utils import timezone

from campaigns.models import Campaign, Delivery
from campaigns.services.triggers import trigger_marks_process
from contacts.services.contacts import contact_update
from tests.campaigns.factories import subscribe, track

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def shop(app):
    """Ann, with a first name and a push device, bought something (the sample event)."""
    ann = subscribe(app, "ann")
    contact_update(contact=ann, data={"custom_fields": {"first_name": "Ann"}})
    track(app, "ann", "purchase_completed", amount=80, order_id="A-17")
    return app


def create_campaign(page, live_server) -> None:
    page.goto(f"{live_server.url}/admin/campaigns/campaign/add/")
    page.fill("#id_name", "Thanks for your order")
    page.check("input[name=kind][value=broadcast]")
    assert page.locator("fieldset.kind-event").is_hidden()
    assert page.locator("fieldset.kind-broadcast").is_visible()
    page.check("input[name=kind][value=event]")
    assert page.locator("fieldset.kind-broadcast").is_hidden()
    assert page.locator("fieldset.kind-segment_entry").is_hidden()
    page.fill("#id_trigger_event", "purchase_completed")
    page.click("button.where-add")
    page.fill("[name=trigger_where-param]", "amount")
    # amount is a number: text operators are not offered for it.
    contains = "[name=trigger_where-op] option[value=contains]"
    assert page.eval_on_selector(contains, "option => option.disabled") is True
    # The value input hints at what the operator takes.
    value = page.locator("[name=trigger_where-value]")
    page.select_option("[name=trigger_where-op]", "between")
    assert value.get_attribute("placeholder") == "e.g. 10, 99"
    page.select_option("[name=trigger_where-op]", ">")
    assert value.get_attribute("placeholder") == "e.g. 50"
    value.fill("50")
    page.click("button.where-add")  # a second row, thought better of
    assert page.locator(".where-row").count() == 2
    page.locator(".where-row").nth(1).locator(".where-remove").click()
    assert page.locator(".where-row").count() == 1
    page.fill("#id_delay_amount", "15")
    page.select_option("#id_delay_unit", "minutes")
    page.fill("#id_cancel_event", "order_cancelled")
    page.fill("#id_cancel_match_param", "order_id")
    page.check("#id_recheck_audience")
    page.fill("#id_title", "Thanks {{ contact.first_name }}!")
    page.fill("#id_body", "Your order {{ event.order_id }} of {{ event.amount }} € is on its way.")
    rows = page.locator(".button-row")
    rows.nth(0).locator("[name=buttons-id]").fill("track")
    rows.nth(0).locator("[name=buttons-title]").fill("Track {{ event.order_id }}")
    rows.nth(0).locator("[name=buttons-target]").fill("https://shop.example/t/{{ event.order_id }}")
    rows.nth(1).locator("[name=buttons-id]").fill("later")
    rows.nth(1).locator("[name=buttons-title]").fill("Remind me")
    rows.nth(1).locator("[name=buttons-action]").select_option("track_event")
    # the last input now takes an event name, offered from the app's events
    target = rows.nth(1).locator("[name=buttons-target]")
    assert target.get_attribute("list") == "app-event-types"
    target.fill("remind_later")


def watch_the_preview(page, console_errors) -> None:
    # A template error shows next to its field as one types (the preview answers 400).
    page.fill("#id_title", "Thanks {{ contact.first_name")
    page.wait_for_selector("#live-error-title")
    assert "is not a valid Liquid template" in page.locator("#live-error-title").inner_text()
    page.fill("#id_title", "Thanks {{ contact.first_name }}!")
    page.wait_for_selector("#live-error-title", state="detached")
    console_errors.take("status of 400")
    page.fill("#preview-contact", "ann")
    page.wait_for_selector("#preview-title:text-is('Thanks Ann!')")
    page.wait_for_selector("#preview-event option[value]:not([value=''])", state="attached")
    page.select_option("#preview-event", index=1)
    page.wait_for_selector("#preview-body:has-text('A-17')")
    body = page.locator("#preview-body").inner_text()
    assert body == "Your order A-17 of 80 € is on its way."
    page.wait_for_selector("#preview-buttons .push-button:text-is('Track A-17')")
    assert page.locator("#preview-buttons .push-button").all_inner_texts() == [
        "Track A-17",
        "Remind me",
    ]
    assert page.locator("#preview-status").inner_text() == "Rendered for ann."


def test_a_marketer_creates_and_activates_an_event_triggered_campaign(
    page, live_server, shop, signed_in, screenshot, console_errors
):
    signed_in("Marketer", shop)
    create_campaign(page, live_server)
    watch_the_preview(page, console_errors)
    page.evaluate("window.scrollTo(0, 0)")  # the preview panel follows the scroll
    screenshot("campaign-editor")

    page.click("input[name=_continue]")
    page.wait_for_selector("#campaign-page")
    page.click("#campaign-activate")
    page.wait_for_selector(".campaign-status:text-is('Active')")

    campaign = Campaign.objects.get()
    assert (campaign.app, campaign.kind, campaign.status) == (shop, "event", "active")
    assert (campaign.trigger_event, campaign.delay_seconds) == ("purchase_completed", 900)
    assert campaign.trigger_where == [{"param": "amount", "op": ">", "value": 50}]
    assert (campaign.cancel_event, campaign.cancel_match_param) == ("order_cancelled", "order_id")
    assert campaign.recheck_audience is True
    assert campaign.title == "Thanks {{ contact.first_name }}!"
    assert [button["id"] for button in campaign.buttons] == ["track", "later"]
    assert campaign.buttons[1] == {
        "id": "later",
        "title": "Remind me",
        "action": "track_event",
        "event": "remind_later",
    }

    # Deliveries come: one sent and opened, one waiting for its delay, one without a device.
    subscribe(shop, "bob")
    track(shop, "bob", "purchase_completed", amount=120, order_id="B-2")
    track(shop, "ann", "purchase_completed", amount=60, order_id="A-18")
    track(shop, "cid", "purchase_completed", amount=99, order_id="C-1")
    trigger_marks_process()
    now = timezone.now()
    sent = Delivery.objects.filter(contact__external_id="bob")
    sent.update(status=Delivery.Status.SENT, sent_at=now, opened_at=now)
    page.reload()
    page.wait_for_selector("#campaign-chart[data-rendered=true]")
    assert page.locator("[data-stat=sent]").inner_text() == "1"
    assert page.locator("[data-stat=scheduled]").inner_text() == "1"
    assert page.locator("[data-stat=skipped]").inner_text() == "1"
    assert page.locator("[data-stat=open_rate]").inner_text() == "100.0\xa0%"
    log = page.locator("#delivery-log tbody").inner_text()
    assert "bob" in log and "Scheduled" in log and "no push-permitted device" in log
    screenshot("campaign-page")


def test_the_preview_names_the_variables_that_will_render_empty(
    page, live_server, shop, signed_in, screenshot
):
    signed_in("Marketer", shop)
    page.goto(f"{live_server.url}/admin/campaigns/campaign/add/")
    page.check("input[name=kind][value=event]")
    page.fill("#id_trigger_event", "purchase_completed")
    page.fill("#id_title", "Thanks {{ contact.first_name }}!")
    page.fill("#id_body", "Order {{ event.order_id }}{{ event.params.x }}")
    page.fill("#preview-contact", "ann")
    page.wait_for_selector("#preview-event option[value]:not([value=''])", state="attached")
    page.select_option("#preview-event", index=1)
    page.wait_for_selector("#preview-body:text-is('Order A-17')")
    warning = page.locator("#preview-warnings li")
    warning.first.wait_for()
    assert warning.all_inner_texts() == ["event.params.x is not known: it will render empty"]
    page.evaluate("window.scrollTo(0, 0)")
    screenshot("campaign-editor-unknown-variable")
    # Without a sample event, the trigger's known params still count as known.
    page.select_option("#preview-event", index=0)
    page.wait_for_selector("#preview-body:text-is('Order ')")
    assert warning.all_inner_texts() == ["event.params.x is not known: it will render empty"]
    page.fill("#id_body", "Order {{ event.order_id }}")
    page.wait_for_selector("#preview-warnings", state="hidden")
