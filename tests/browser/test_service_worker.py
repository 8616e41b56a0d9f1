"""The service worker (campaigns/static/beacon/beacon-sw.js) in a real Chromium: a push payload as
Beacon sends it (decrypted by the local push service) shown with its action buttons, and a click
on each action reported to the live Beacon and opening the right page.

Chromium gives no way to click a shown notification from a test, so the clicks call the worker's
own `handleClick` (what its notificationclick listener runs) inside the worker, with the
notification's data as shown and the action's id, as the listener passes them."""

from __future__ import annotations

import pytest

from campaigns.models import Delivery
from campaigns.services.dispatch import deliveries_claim_due
from campaigns.services.sending import deliveries_send
from campaigns.services.triggers import trigger_marks_process
from events import catalog
from events.models import Event
from tests.campaigns.factories import active_campaign, subscribe, track
from tests.campaigns.push_service import LocalPushService

pytestmark = pytest.mark.django_db(transaction=True)

SHOW = """async (payload) => {
  await self.registration.showNotification(payload.title, notificationOptions(payload));
  const [shown] = await self.registration.getNotifications();
  shown.close();
  return {
    title: shown.title,
    actions: shown.actions.map(({ action, title }) => ({ action, title })),
    data: shown.data,
  };
}"""
# The windows the worker opens are recorded instead: a worker may open one only on a real click.
CLICK = """async ([data, button]) => {
  const opened = [];
  self.clients.openWindow = async (url) => { opened.push(url); return null; };
  await handleClick(data, button);
  return opened;
}"""


@pytest.fixture
def worker(browser_context, demo, live_server):
    """The worker, registered at the root by a page of the live Beacon."""
    browser_context.grant_permissions(["notifications"], origin=live_server.url)
    page = browser_context.new_page()
    page.goto(demo)
    with browser_context.expect_event("serviceworker") as registered:
        page.evaluate("() => navigator.serviceWorker.register('/beacon-sw.js')")
    return registered.value


@pytest.fixture
def push_service(settings):
    settings.WEBPUSH_ALLOW_HTTP_LOCALHOST = True
    with LocalPushService() as service:
        yield service


@pytest.fixture
def payload(app, push_service, live_server, settings) -> dict:
    """What Ann's browser receives for a campaign with an open_url and a track_event button."""
    settings.BEACON_PUBLIC_URL = live_server.url  # where the worker reports the click
    subscription = push_service.subscription()
    subscribe(app, "ann", subscription=subscription)
    active_campaign(
        app,
        url=f"{live_server.url}/orders/{{{{ event.order_id }}}}",
        buttons=[
            {
                "id": "track",
                "title": "Track {{ event.order_id }}",
                "action": "open_url",
                "url": f"{live_server.url}/track/{{{{ event.order_id }}}}",
            },
            {"id": "later", "title": "Remind me", "action": "track_event", "event": "remind_me"},
        ],
    )
    track(app, "ann", "purchase_completed", order_id="A1")
    trigger_marks_process()
    for claim in deliveries_claim_due():
        deliveries_send(claim=claim)
    [received] = push_service.wait_for(1)
    return received.payload


def test_the_notification_shows_its_buttons_and_each_click_is_reported(
    worker, payload, live_server
):
    shown = worker.evaluate(SHOW, payload)
    assert shown["title"] == "Thanks!"
    assert shown["actions"] == [
        {"action": "track", "title": "Track A1"},
        {"action": "later", "title": "Remind me"},
    ]

    # open_url: the button's own page, and the open with the button's id
    opened = worker.evaluate(CLICK, [shown["data"], "track"])
    assert opened == [f"{live_server.url}/track/A1"]
    delivery = Delivery.objects.get()
    [open_event] = Event.objects.filter(event_type__name=catalog.NOTIFICATION_OPENED)
    assert open_event.params["button_id"] == "track"
    assert delivery.opened_at is not None

    # track_event: the notification's page, and the button's event on the contact
    opened = worker.evaluate(CLICK, [shown["data"], "later"])
    assert opened == [f"{live_server.url}/orders/A1"]
    [tracked] = Event.objects.filter(event_type__name="remind_me")
    assert tracked.contact_id == delivery.contact_id
    assert tracked.params == {"campaign_id": delivery.campaign_id, "delivery_id": delivery.pk}

    # the notification itself: its page, and no button
    assert worker.evaluate(CLICK, [shown["data"], ""]) == [f"{live_server.url}/orders/A1"]
