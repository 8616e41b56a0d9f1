""" "Send event" from an event-triggered campaign's page in a real browser: a marketer picks a
contact through the admin's contact search, keeps the trigger's name, types a param and sends;
the campaign's trigger schedules a push for that contact, and the push reaches the contact's
browser's push service. And an admin declares an event type ahead of its first event.

Tasks run inline in the tests (tests/conftest.py sets Celery's task_always_eager): the trigger
matcher, nudged when the event's transaction commits, runs in the live server's thread before
the page answers, as a worker would right after; and so does the send it nudges."""

from __future__ import annotations

import pytest

from campaigns.models import Delivery
from events.models import Event, EventType
from tests.campaigns.factories import active_campaign, subscribe
from tests.campaigns.push_service import LocalPushService

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def push_service(settings):
    settings.WEBPUSH_ALLOW_HTTP_LOCALHOST = True
    with LocalPushService() as service:
        yield service


def test_send_event_from_a_campaign_page_schedules_its_push(
    page, live_server, signed_in, screenshot, app, push_service
):
    ann = subscribe(app, "ann", subscription=push_service.subscription())
    subscribe(app, "bob", subscription=push_service.subscription())
    campaign = active_campaign(app, name="Thanks", title="Thanks for order {{ event.order_id }}")
    signed_in("Marketer", app)
    page.goto(f"{live_server.url}/admin/campaigns/campaign/{campaign.pk}/change/")

    form = page.locator("#send-event")
    assert form.get_by_label("Event name").input_value() == "purchase_completed"
    form.locator(".select2-selection").click()  # the admin's contact search
    page.locator(".select2-search__field").fill("ann")
    page.locator(".select2-results__option", has_text="ann").click()
    form.get_by_label("Param name").nth(0).fill("order_id")
    form.get_by_label("Param type").nth(0).select_option("text")
    form.get_by_label("Param value").nth(0).fill("A-17")
    form.get_by_role("button", name="Send event").click()

    page.wait_for_selector(".messagelist .success")
    message = page.locator(".messagelist").inner_text()
    assert "Event “purchase_completed” recorded for ann" in message
    assert "the campaign's trigger evaluates it now" in message
    [event] = Event.objects.filter(event_type__name="purchase_completed")
    assert (event.contact_id, event.params) == (ann.pk, {"order_id": "A-17"})
    [delivery] = Delivery.objects.filter(campaign=campaign)
    assert (delivery.contact_id, delivery.trigger_event_id) == (ann.pk, event.pk)
    [received] = push_service.wait_for(1)
    assert received.payload["title"] == "Thanks for order A-17"
    assert "ann" in page.locator("#delivery-log tbody").inner_text()
    screenshot("campaign-send-event")


def test_a_bad_param_is_shown_on_its_row_on_the_campaign_page(
    page, live_server, signed_in, app, push_service
):
    ann = subscribe(app, "ann", subscription=push_service.subscription())
    campaign = active_campaign(app, name="Thanks")
    signed_in("Marketer", app)
    page.goto(f"{live_server.url}/admin/campaigns/campaign/{campaign.pk}/change/")
    form = page.locator("#send-event")
    form.locator(".select2-selection").click()
    page.locator(".select2-search__field").fill("ann")
    page.locator(".select2-results__option", has_text="ann").click()
    form.get_by_label("Param name").nth(0).fill("amount")
    form.get_by_label("Param type").nth(0).select_option("number")
    form.get_by_label("Param value").nth(0).fill("a lot")
    form.get_by_role("button", name="Send event").click()

    page.wait_for_selector("#send-event .errorlist")
    assert "is not a number" in page.locator("#send-event .errorlist").inner_text()
    # The chosen contact is kept, to correct the row and send again.
    assert str(ann) in page.locator("#send-event .select2-selection").inner_text()
    assert not Event.objects.filter(event_type__name="purchase_completed").exists()


def test_an_admin_adds_an_event_type_with_its_attributes(
    page, live_server, signed_in, screenshot, app
):
    signed_in("Admin", app)
    page.goto(f"{live_server.url}/admin/events/eventtype/")
    page.get_by_role("link", name="Add event type").click()
    page.fill("#id_name", "order_shipped")
    page.fill("#id_description", "The parcel left the warehouse")
    page.fill("#id_attributes-0-name", "weight")
    page.select_option("#id_attributes-0-type", "number")
    page.fill("#id_attributes-1-name", "shipped_at")
    page.select_option("#id_attributes-1-type", "date")
    screenshot("event-type-add")
    page.click("input[name=_continue]")

    page.wait_for_selector(".messagelist .success")
    event_type = EventType.objects.get(app=app, name="order_shipped")
    assert page.url.endswith(f"/admin/events/eventtype/{event_type.pk}/change/")
    assert {(a.name, a.type, a.declared) for a in event_type.attributes.all()} == {
        ("weight", "number", True),
        ("shipped_at", "date", True),
    }
    # Its page offers "Send event", the name filled in.
    assert page.locator("#send-event").get_by_label("Event name").input_value() == "order_shipped"
