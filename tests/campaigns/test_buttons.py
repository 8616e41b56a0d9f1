"""Notification action buttons: checked on create and update (a 400 naming the button), rendered
for each contact, carried by every provider's payload (and counted in its size limit), and
reported with the open: @NOTIFICATION_OPENED's button_id, and a track_event button's event
recorded once on the contact, as a tracked event that event-triggered campaigns react to."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from campaigns.credentials import ApnsConfig, FcmConfig, OneSignalConfig
from campaigns.models import Campaign, Delivery
from campaigns.providers.apns import ApnsProvider
from campaigns.providers.base import Outcome, PushButton, PushMessage
from campaigns.providers.fcm import FcmProvider
from campaigns.providers.onesignal import OneSignalProvider
from campaigns.providers.webpush import WebPushProvider, encode_payload
from campaigns.services.dispatch import deliveries_claim_due
from campaigns.services.sending import deliveries_send
from campaigns.services.triggers import trigger_marks_process
from contacts.models import Device
from contacts.services.contacts import contact_update
from events import catalog
from events.models import Event, EventAttribute, EventType
from tests.campaigns.factories import active_campaign, subscribe, track

OPEN = {"id": "order", "title": "See my order", "action": "open_url", "url": "https://s.example/o"}
TRACK = {"id": "later", "title": "Remind me", "action": "track_event", "event": "remind_later"}
CAMPAIGN = {
    "name": "Thanks",
    "kind": "event",
    "title": "Thanks!",
    "trigger_event": "purchase_completed",
    "buttons": [OPEN, TRACK],
}
BUTTONS = (
    PushButton("order", "See order A1", "open_url", "https://shop.example/orders/A1"),
    PushButton("later", "Remind me", "track_event"),
)
MESSAGE = PushMessage(
    title="Your order shipped",
    body="It arrives tomorrow",
    url="https://shop.example/orders",
    topic="d42",
    data={"open_token": "tok-123", "open_url": "https://beacon.example/o", "campaign_id": 7},
    buttons=BUTTONS,
)
AS_DATA = [
    {
        "id": "order",
        "title": "See order A1",
        "action": "open_url",
        "url": "https://shop.example/orders/A1",
    },
    {"id": "later", "title": "Remind me", "action": "track_event"},
]


def create(client, **fields):
    return client.post("/api/v1/campaigns", {**CAMPAIGN, **fields}, format="json")


def errors(response) -> dict:
    assert response.status_code == 400, response.content
    assert response.json()["error"] == "validation"
    return response.json()["detail"]


def dispatch() -> None:
    for claim in deliveries_claim_due():
        deliveries_send(claim=claim)


def report(client, token: str, **fields):
    return client.post(
        "/api/v1/push/opened", {"token": token, **fields}, content_type="application/json"
    )


def events_named(name: str) -> list[Event]:
    return list(Event.objects.filter(event_type__name=name).order_by("pk"))


# The API: buttons checked on create and update --------------------------------------------
def test_buttons_are_saved_and_read_back(admin_client, app):
    response = create(admin_client)
    assert response.status_code == 201, response.json()
    campaign = response.json()
    assert campaign["buttons"] == [OPEN, TRACK]
    assert admin_client.get(f"/api/v1/campaigns/{campaign['id']}").json()["buttons"] == [
        OPEN,
        TRACK,
    ]
    # The button's event is registered like a trigger's: segments and campaigns can name it
    # before its first click. It is the app's kind of event, not a built-in one.
    assert EventType.objects.get(app=app, name="remind_later").is_system is False


@pytest.mark.parametrize(
    ("buttons", "reason"),
    [
        ({"id": "order"}, "must be a list of buttons"),
        ([OPEN, TRACK, {**OPEN, "id": "more"}], "at most 2 buttons (there are 3)"),
        (["Shop"], "button 1: must be an object with an id, a title and an action"),
        ([{**OPEN, "color": "red"}], "button 1: unknown key 'color'"),
        ([OPEN, {**TRACK, "id": "order"}], "button 2: id 'order' is button 1's too"),
        ([OPEN, {**TRACK, "id": "re mind"}], "button 2: id must be 1 to 32 characters of A-Z"),
        ([{**OPEN, "id": "x" * 33}], "button 1: id must be 1 to 32 characters"),
        ([{**OPEN, "title": "  "}], "button 1: title is required"),
        ([{**OPEN, "title": "x" * 101}], "button 1: title must be at most 100 characters"),
        ([{**OPEN, "title": "Hi {{ contact.name"}], "button 1: title is not a valid Liquid"),
        ([{**OPEN, "action": "call"}], "button 1: action must be one of open_url, track_event"),
        ([{**OPEN, "url": ""}], "button 1: url is required for an open_url button"),
        ([{**OPEN, "url": "javascript:alert(1)"}], "button 1: url must be an http(s) URL"),
        ([{**OPEN, "url": "https://s.example/{% if %}"}], "button 1: url is not a valid Liquid"),
        ([{**OPEN, "event": "x"}], "button 1: event is for track_event buttons only"),
        ([{**TRACK, "event": None}], "button 1: event is required for a track_event button"),
        ([{**TRACK, "event": "@OPT_IN"}], "button 1: event names starting with @ are reserved"),
        ([{**TRACK, "event": "a|b"}], "button 1: event must not contain *, + or |"),
        ([{**TRACK, "event": "e" * 256}], "button 1: event must be at most 255 characters"),
        ([{**TRACK, "url": "https://s.example/"}], "button 1: url is for open_url buttons only"),
    ],
)
def test_invalid_buttons_are_a_400_naming_the_button_and_the_reason(admin_client, buttons, reason):
    detail = errors(create(admin_client, buttons=buttons))
    assert list(detail) == ["buttons"]
    assert any(text.startswith(reason) for text in detail["buttons"]), detail
    assert not Campaign.objects.exists()


def test_an_update_checks_the_buttons_too(admin_client):
    campaign_id = create(admin_client, buttons=[]).json()["id"]
    url = f"/api/v1/campaigns/{campaign_id}"
    detail = errors(admin_client.patch(url, {"buttons": [{**OPEN, "url": "ftp://x"}]}, "json"))
    assert detail == {
        "buttons": ["button 1: url must be an http(s) URL, e.g. https://shop.example/sale"]
    }
    response = admin_client.patch(url, {"buttons": [TRACK]}, format="json")
    assert response.status_code == 200 and response.json()["buttons"] == [TRACK]


def test_a_url_made_by_liquid_is_checked_once_rendered_only(admin_client):
    response = create(admin_client, buttons=[{**OPEN, "url": "{{ event.link }}"}])
    assert response.status_code == 201, response.json()


# Rendering and the web push payload --------------------------------------------------------
def test_the_api_preview_renders_the_buttons(admin_client, app):
    contact = subscribe(app, "ann")
    order = {
        **OPEN,
        "title": "Order {{ event.order_id }}",
        "url": "https://s.example/{{ contact.external_id }}",
    }
    campaign_id = create(admin_client, buttons=[order, TRACK]).json()["id"]
    response = admin_client.post(
        f"/api/v1/campaigns/{campaign_id}/preview",
        {"contact_id": contact.pk, "event_params": {"order_id": "A1"}},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["buttons"] == [
        {"id": "order", "title": "Order A1", "action": "open_url", "url": "https://s.example/ann"},
        {"id": "later", "title": "Remind me", "action": "track_event"},
    ]


def test_button_titles_and_urls_are_rendered_for_each_contact(app, push_service):
    subscriptions = {}
    for user, name in (("ann", "Ann"), ("bob", "Bob")):
        subscriptions[user] = push_service.subscription()
        contact = subscribe(app, user, subscription=subscriptions[user])
        contact_update(contact=contact, data={"custom_fields": {"first_name": name}})
    order = {
        **OPEN,
        "title": "{{ event.order_id }} for {{ contact.first_name }}",
        "url": "https://shop.example/orders/{{ event.order_id }}?u={{ contact.external_id }}",
    }
    active_campaign(app, buttons=[order, TRACK])
    track(app, "ann", "purchase_completed", order_id="A1")
    track(app, "bob", "purchase_completed", order_id="B7")
    trigger_marks_process()
    dispatch()

    push_service.wait_for(2)
    [ann] = push_service.received(subscriptions["ann"])
    [bob] = push_service.received(subscriptions["bob"])
    assert ann.payload["actions"] == [
        {"action": "order", "title": "A1 for Ann", "url": "https://shop.example/orders/A1?u=ann"},
        {"action": "later", "title": "Remind me"},
    ]
    assert bob.payload["actions"][0] == {
        "action": "order",
        "title": "B7 for Bob",
        "url": "https://shop.example/orders/B7?u=bob",
    }
    assert set(Delivery.objects.values_list("status", flat=True)) == {Delivery.Status.SENT}


def test_a_button_that_fails_on_a_contacts_values_fails_that_push_and_says_which(app, push_service):
    subscribe(app, "ann", subscription=push_service.subscription())
    share = {**OPEN, "title": "{{ event.amount | divided_by: event.qty }} each"}
    active_campaign(app, buttons=[share])
    track(app, "ann", "purchase_completed", amount=10, qty=0)
    trigger_marks_process()
    dispatch()

    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.FAILED
    assert "button 1 title cannot be rendered for these values" in delivery.last_error
    assert push_service.received() == []


def test_a_button_whose_title_renders_empty_is_left_out(app, push_service):
    subscription = push_service.subscription()
    subscribe(app, "ann", subscription=subscription)
    active_campaign(app, buttons=[{**OPEN, "title": "{{ contact.coupon }}"}, TRACK])
    track(app, "ann", "purchase_completed")
    trigger_marks_process()
    dispatch()

    [received] = push_service.wait_for(1)
    assert received.payload["actions"] == [{"action": "later", "title": "Remind me"}]


# Each provider's payload -------------------------------------------------------------------
def test_fcm_carries_the_buttons_as_json_text_in_data(fcm):
    account = fcm.service_account()
    provider = FcmProvider(FcmConfig(account["project_id"], json.dumps(account)), timeout=2.0)

    outcome = provider.send(Device(platform="android", token="fcm-token-1"), MESSAGE)

    assert outcome.kind == Outcome.SENT, outcome.error
    [received] = fcm.received()
    data = received.message["data"]
    assert json.loads(data["buttons"]) == AS_DATA
    assert data["open_token"] == "tok-123"
    # iOS through FCM: mutable, so that the app's extension can register the buttons' category
    assert received.message["apns"]["payload"] == {"aps": {"mutable-content": 1}}


def test_apns_carries_the_buttons_beside_aps(apns):
    key = apns.signing_key()
    config = ApnsConfig(key["key_id"], key["team_id"], key["bundle_id"], False, key["private_key"])
    token = apns.device_token()

    outcome = ApnsProvider(config, timeout=2.0).send(Device(platform="ios", token=token), MESSAGE)

    assert outcome.kind == Outcome.SENT, outcome.error
    [received] = apns.received()
    assert received.payload["buttons"] == AS_DATA
    assert received.payload["aps"] == {
        "alert": {"title": "Your order shipped", "body": "It arrives tomorrow"},
        "mutable-content": 1,
    }


def test_onesignal_gets_its_own_buttons_and_the_full_ones_in_data(onesignal):
    credentials = onesignal.app()
    config = OneSignalConfig(credentials["app_id"], credentials["api_key"])
    device = Device(platform="android", token=onesignal.subscription())

    outcome = OneSignalProvider(config, timeout=2.0).send(device, MESSAGE)

    assert outcome.kind == Outcome.SENT, outcome.error
    [received] = onesignal.received()
    assert received.notification["buttons"] == [
        {"id": "order", "text": "See order A1"},
        {"id": "later", "text": "Remind me"},
    ]
    assert received.notification["data"] == {"buttons": AS_DATA, **MESSAGE.data}


def test_a_message_without_buttons_carries_none(fcm, onesignal):
    plain = replace(MESSAGE, buttons=())
    assert b"actions" not in encode_payload(plain)
    account = fcm.service_account()
    fcm_provider = FcmProvider(FcmConfig(account["project_id"], json.dumps(account)), timeout=2.0)
    fcm_provider.send(Device(platform="android", token="fcm-token-1"), plain)
    [received] = fcm.received()
    assert "buttons" not in received.message["data"]
    assert "payload" not in received.message["apns"]


@pytest.fixture
def providers(vapid, fcm, apns, onesignal) -> dict:
    account = fcm.service_account()
    key = apns.signing_key()
    credentials = onesignal.app()
    return {
        "webpush": WebPushProvider(vapid),
        "fcm": FcmProvider(FcmConfig(account["project_id"], json.dumps(account))),
        "apns": ApnsProvider(
            ApnsConfig(key["key_id"], key["team_id"], key["bundle_id"], False, key["private_key"])
        ),
        "onesignal": OneSignalProvider(
            OneSignalConfig(credentials["app_id"], credentials["api_key"])
        ),
    }


@pytest.mark.parametrize("name", ["webpush", "fcm", "apns", "onesignal"])
def test_each_providers_size_limit_counts_the_buttons(providers, name):
    provider = providers[name]

    def fits(length: int, buttons=()) -> bool:
        message = replace(MESSAGE, body="x" * length, buttons=buttons)
        return provider.payload_too_large(message) is None

    low, high = 0, 8192  # the longest body that fits without buttons
    while low < high:
        middle = (low + high + 1) // 2
        low, high = (middle, high) if fits(middle) else (low, middle - 1)
    assert fits(low) and not fits(low + 1)
    assert not fits(low, BUTTONS)


# Opens -------------------------------------------------------------------------------------
@pytest.fixture
def delivery(app) -> Delivery:
    """Ann's delivery of a campaign with an open_url and a track_event button."""
    subscribe(app, "ann")
    active_campaign(app, buttons=[OPEN, TRACK])
    track(app, "ann", "purchase_completed")
    trigger_marks_process()
    return Delivery.objects.get()


def test_a_click_on_a_button_records_the_open_with_its_id(client, delivery):
    response = report(client, delivery.open_token, button="order")

    assert response.status_code == 200
    [opened] = events_named(catalog.NOTIFICATION_OPENED)
    assert opened.params == {
        "campaign_id": delivery.campaign_id,
        "delivery_id": delivery.pk,
        "button_id": "order",
    }
    assert opened.contact_id == delivery.contact_id
    assert events_named("remind_later") == []  # an open_url button tracks nothing more


def test_a_click_on_the_notification_itself_has_no_button_id(client, delivery):
    assert report(client, delivery.open_token, button="").status_code == 200
    [opened] = events_named(catalog.NOTIFICATION_OPENED)
    assert "button_id" not in opened.params


def test_an_unknown_button_is_a_400_and_records_nothing(client, delivery):
    response = report(client, delivery.open_token, button="nope")

    assert response.status_code == 400
    assert response.json()["detail"] == {"button": ["'nope' is not a button of this notification"]}
    delivery.refresh_from_db()
    assert delivery.opened_at is None
    assert events_named(catalog.NOTIFICATION_OPENED) == []


def test_a_track_event_button_records_its_event_once_on_the_contact(client, delivery, app):
    for _ in range(3):  # retried reports
        assert report(client, delivery.open_token, button="later").status_code == 200

    [opened] = events_named(catalog.NOTIFICATION_OPENED)
    assert opened.params["button_id"] == "later"
    [tracked] = events_named("remind_later")
    assert tracked.contact_id == delivery.contact_id
    assert tracked.params == {"campaign_id": delivery.campaign_id, "delivery_id": delivery.pk}
    assert tracked.context == {"source": "notification_button", "button_id": "later"}
    # As if the app had tracked it: the app's kind of event, its params typed for segments.
    assert tracked.event_type.is_system is False
    types = dict(
        EventAttribute.objects.filter(event_type=tracked.event_type).values_list("name", "type")
    )
    assert types == {"campaign_id": "number", "delivery_id": "number"}


def test_a_button_event_after_a_plain_click_is_recorded_once_the_open_once(client, delivery):
    assert report(client, delivery.open_token).status_code == 200
    for _ in range(2):
        assert report(client, delivery.open_token, button="later").status_code == 200

    [opened] = events_named(catalog.NOTIFICATION_OPENED)
    assert "button_id" not in opened.params  # the first report's
    assert len(events_named("remind_later")) == 1


def test_a_button_event_triggers_event_triggered_campaigns(client, delivery, app):
    reminder = active_campaign(
        app,
        name="Reminder",
        title="As promised",
        trigger_event="remind_later",
        trigger_where=[{"param": "campaign_id", "op": "=", "value": delivery.campaign_id}],
    )
    report(client, delivery.open_token, button="later")
    report(client, delivery.open_token, button="later")  # a retry triggers nothing more

    batch = trigger_marks_process()

    assert batch.scheduled == 1
    triggered = Delivery.objects.get(campaign=reminder)
    assert triggered.contact_id == delivery.contact_id
    assert triggered.event_params == {
        "campaign_id": delivery.campaign_id,
        "delivery_id": delivery.pk,
    }
