"""The OneSignal provider against the local OneSignal (tests/campaigns/onesignal_service.py):
the REST API key checked, the notification as OneSignal takes it, invalid or unsubscribed
subscriptions gone, every other error class mapped, and a retried send not notifying twice."""

from __future__ import annotations

import pytest

from campaigns.credentials import OneSignalConfig
from campaigns.providers.base import Outcome, PushMessage
from campaigns.providers.onesignal import OneSignalProvider
from contacts.models import Device

MESSAGE = PushMessage(
    title="Your order shipped",
    body="Ça arrive demain 📦",
    url="https://shop.example/orders/42",
    image="https://shop.example/parcel.jpg",
    ttl=3600,
    urgency="high",
    topic="d42",
    data={"open_token": "tok-123", "open_url": "https://beacon.example/o", "campaign_id": 7},
)


@pytest.fixture
def credentials(onesignal) -> dict:
    return onesignal.app()


@pytest.fixture
def provider(credentials) -> OneSignalProvider:
    config = OneSignalConfig(credentials["app_id"], credentials["api_key"])
    return OneSignalProvider(config, timeout=2.0)


@pytest.fixture
def subscription(onesignal) -> str:
    return onesignal.subscription()


def device(subscription_id: str) -> Device:
    return Device(platform="android", token=subscription_id)


def test_the_notification_arrives_as_onesignal_takes_it(
    provider, onesignal, credentials, subscription
):
    outcome = provider.send(device(subscription), MESSAGE)

    assert (outcome.kind, outcome.status, outcome.error) == (Outcome.SENT, 200, "")
    [received] = onesignal.received()
    assert received.headers["authorization"] == f"Key {credentials['api_key']}"
    notification = dict(received.notification)
    assert len(notification.pop("idempotency_key")) == 36
    assert notification == {
        "app_id": credentials["app_id"],
        "target_channel": "push",
        "include_subscription_ids": [subscription],
        "headings": {"en": "Your order shipped"},
        "contents": {"en": "Ça arrive demain 📦"},
        "ttl": 3600,
        "priority": 10,
        "url": "https://shop.example/orders/42",
        "big_picture": "https://shop.example/parcel.jpg",
        "ios_attachments": {"image": "https://shop.example/parcel.jpg"},
        "chrome_web_image": "https://shop.example/parcel.jpg",
        "data": {"open_token": "tok-123", "open_url": "https://beacon.example/o", "campaign_id": 7},
        "collapse_id": "d42",
    }


def test_a_title_only_message_is_its_own_content(provider, onesignal, subscription):
    provider.send(device(subscription), PushMessage(title="Hi", ttl=0, urgency="normal"))

    [received] = onesignal.received()
    notification = received.notification
    assert notification["contents"] == {"en": "Hi"} and "headings" not in notification
    assert (notification["ttl"], notification["priority"]) == (0, 5)
    assert "idempotency_key" not in notification and "collapse_id" not in notification


def test_a_retried_send_of_one_delivery_notifies_once(provider, onesignal, subscription):
    first = provider.send(device(subscription), MESSAGE)
    again = provider.send(device(subscription), MESSAGE)  # as after a lost answer

    assert first.kind == again.kind == Outcome.SENT
    assert [r.duplicate for r in onesignal.received()] == [False, True]


@pytest.mark.parametrize(
    ("answer", "kind", "status", "text"),
    [
        ({"kind": "invalid"}, Outcome.GONE, 200, "invalid_player_ids"),
        ({"kind": "unsubscribed"}, Outcome.GONE, 200, "All included players are not subscribed"),
        ({"status": 429, "retry_after": "11"}, Outcome.RETRY, 429, "OneSignal busy (429"),
        ({"status": 500}, Outcome.RETRY, 500, "OneSignal busy (500"),
        ({"status": 503}, Outcome.RETRY, 503, "OneSignal busy (503"),
        (
            {"status": 400, "errors": ["Message Notifications must have English language content"]},
            Outcome.FAILED,
            400,
            "OneSignal refused the notification",
        ),
        ({"status": 401}, Outcome.FAILED, 401, "check the app's OneSignal credentials"),
    ],
)
def test_each_answer_maps_to_its_outcome(
    provider, onesignal, subscription, answer, kind, status, text
):
    onesignal.answer(subscription, **answer)

    outcome = provider.send(device(subscription), MESSAGE)

    assert (outcome.kind, outcome.status) == (kind, status)
    assert text in outcome.error
    assert outcome.retry_after == (11.0 if "retry_after" in answer else None)


def test_a_wrong_rest_api_key_is_a_configuration_failure(credentials, onesignal, subscription):
    provider = OneSignalProvider(OneSignalConfig(credentials["app_id"], "os_v2_app_wrong"))

    outcome = provider.send(device(subscription), MESSAGE)

    assert (outcome.kind, outcome.status) == (Outcome.FAILED, 403)
    assert "OneSignal refused the REST API key" in outcome.error
    assert "os_v2_app_wrong" not in outcome.error


def test_an_unknown_app_id_fails(onesignal, credentials, subscription):
    config = OneSignalConfig("00000000-0000-4000-8000-000000000000", credentials["api_key"])

    outcome = OneSignalProvider(config).send(device(subscription), MESSAGE)

    assert (outcome.kind, outcome.status) == (Outcome.FAILED, 400)
    assert "app_id not found" in outcome.error


def test_a_token_that_is_no_subscription_id_is_gone_without_a_request(provider, onesignal):
    outcome = provider.send(device("fcm-token-not-a-uuid"), MESSAGE)

    assert outcome.kind == Outcome.GONE and onesignal.received() == []


def test_data_over_2048_bytes_fails_without_a_request(provider, onesignal, subscription):
    message = PushMessage(title="Big", data={"blob": "x" * 2048})

    outcome = provider.send(device(subscription), message)

    assert outcome.kind == Outcome.FAILED and "OneSignal allows 2048" in outcome.error
    assert provider.payload_too_large(MESSAGE) is None
    assert onesignal.received() == []


def test_an_unreachable_onesignal_is_retried(credentials, settings, subscription):
    settings.ONESIGNAL_BASE_URL = "http://127.0.0.1:9"
    provider = OneSignalProvider(OneSignalConfig(credentials["app_id"], credentials["api_key"]))

    outcome = provider.send(device(subscription), MESSAGE)

    assert outcome.kind == Outcome.RETRY and outcome.error.startswith("OneSignal unreachable")
