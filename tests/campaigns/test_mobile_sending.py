"""Mobile devices receive campaigns: each device's provider chosen (its own, or its platform's
default, iOS by the app's choice), the app's credentials used, the answers acted on as for web
push; a provider without credentials fails with a reason an admin can act on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from campaigns.models import Campaign, Delivery, PushPolicy
from campaigns.providers import Unavailable, device_providers, provider_name
from campaigns.services.broadcasts import broadcasts_start_due
from campaigns.services.dispatch import deliveries_claim_due
from campaigns.services.policy import push_policy_update
from campaigns.services.sending import deliveries_send
from campaigns.services.test_push import contact_push_test
from contacts.models import Contact, Device
from events import catalog
from events.models import Event
from events.services.ingest import events_ingest
from tests.campaigns.factories import active_campaign, subscribe


def register(app, user: str, token: str, platform: str, **fields) -> Contact:
    """A contact with one mobile device, as a mobile SDK registers it."""
    payload = {
        "event_name": "app_started",
        "app_user_id": user,
        "device_token": token,
        "platform": platform,
        "push_permission_granted": True,
        **fields,
    }
    [result] = events_ingest(app=app, payloads=[payload])
    assert not result.errors, result.errors
    return Contact.objects.get(pk=result.contact_id)


def dispatch(now=None) -> None:
    for claim in deliveries_claim_due(now=now):
        deliveries_send(claim=claim, now=now)


def broadcast(app, **fields) -> Campaign:
    campaign = active_campaign(
        app, kind=Campaign.Kind.BROADCAST, title="Sale {{ contact.external_id }}", **fields
    )
    broadcasts_start_due()
    dispatch()
    return campaign


@pytest.mark.parametrize(
    ("platform", "own", "ios_choice", "expected"),
    [
        ("web", "", "fcm", "webpush"),
        ("android", "", "apns", "fcm"),
        ("ios", "", "fcm", "fcm"),
        ("ios", "", "apns", "apns"),
        ("ios", "", "onesignal", "onesignal"),
        ("ios", "apns", "fcm", "apns"),
        ("android", "onesignal", "apns", "onesignal"),
    ],
)
def test_a_devices_provider_is_its_own_or_its_platforms_default(
    platform, own, ios_choice, expected
):
    device = Device(platform=platform, push_provider=own)
    assert provider_name(device, ios_choice) == expected


def test_one_broadcast_reaches_fcm_apns_onesignal_and_web_devices(
    app, mobile_app, fcm, apns, onesignal, push_service
):
    push_policy_update(app=app, daily_cap=None, ios_provider=PushPolicy.IosProvider.APNS)
    fcm_token, apns_token, onesignal_id = (
        "fcm-token-a1",
        apns.device_token(),
        onesignal.subscription(),
    )
    register(app, "andy", fcm_token, "android")
    register(app, "iris", apns_token, "ios")
    register(app, "olga", onesignal_id, "android", push_provider="onesignal")
    web = push_service.subscription()
    subscribe(app, "will", subscription=web)

    campaign = broadcast(app, url="https://shop.example/sale", urgency="high")

    statuses = dict(Delivery.objects.values_list("contact__external_id", "status"))
    assert statuses == dict.fromkeys(["andy", "iris", "olga", "will"], Delivery.Status.SENT)
    [to_android] = fcm.received()
    assert (to_android.token, to_android.error) == (fcm_token, "")
    assert to_android.message["notification"]["title"] == "Sale andy"
    assert to_android.message["android"]["priority"] == "HIGH"
    andy = Delivery.objects.get(contact__external_id="andy")
    assert to_android.message["data"]["open_token"] == andy.open_token
    [to_iphone] = apns.received()
    assert (to_iphone.token, to_iphone.reason) == (apns_token, "")
    assert to_iphone.payload["aps"]["alert"]["title"] == "Sale iris"
    assert to_iphone.headers["apns-priority"] == "10"
    [to_onesignal] = onesignal.received()
    assert to_onesignal.subscription_ids == [onesignal_id]
    assert to_onesignal.notification["contents"]["en"] == "Sale olga"  # no body: the title
    [to_browser] = push_service.wait_for(1)
    assert to_browser.payload["title"] == "Sale will"
    sent = Event.objects.filter(event_type__name=catalog.NOTIFICATION_SENT)
    assert sorted(e.params["campaign_id"] for e in sent) == [campaign.pk] * 4


def test_ios_devices_go_through_fcm_unless_the_app_chose_otherwise(app, mobile_app, fcm, apns):
    token = "fcm-token-for-an-iphone"
    register(app, "iris", token, "ios")
    broadcast(app)
    assert [r.token for r in fcm.received()] == [token]
    assert apns.received() == []


def test_an_unregistered_token_invalidates_the_device_and_a_later_broadcast_skips_it(
    app, mobile_app, fcm
):
    register(app, "andy", "fcm-token-a1", "android")
    fcm.answer("fcm-token-a1", "UNREGISTERED")
    broadcast(app)

    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.FAILED
    assert "FCM token gone" in delivery.last_error
    device = Device.objects.get()
    assert device.invalidated_at is not None and not device.push_permission_granted
    opt_out = Event.objects.get(event_type__name=catalog.OPT_OUT)
    assert opt_out.params == {"subtype": "invalidated"}

    later = broadcast(app, name="Second sale")
    assert not Delivery.objects.filter(campaign=later).exists()  # nobody left to reach
    assert len(fcm.received()) == 1


def test_a_busy_fcm_is_retried_after_its_retry_after(app, mobile_app, fcm):
    register(app, "andy", "fcm-token-a1", "android")
    fcm.answer("fcm-token-a1", "QUOTA_EXCEEDED", retry_after="90")
    before = datetime.now(UTC)
    broadcast(app)

    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.SCHEDULED
    assert delivery.due_at >= before + timedelta(seconds=90)
    assert "QUOTA_EXCEEDED" in delivery.last_error


def test_a_provider_without_credentials_fails_with_what_to_set(app, fresh_providers):
    register(app, "andy", "fcm-token-a1", "android")
    broadcast(app)

    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.FAILED  # not skipped: the device is reachable
    assert delivery.last_error.startswith("the app has no FCM credentials")
    failed = Event.objects.get(event_type__name=catalog.NOTIFICATION_FAILED)
    assert "FCM credentials" in failed.params["reason"]
    assert Device.objects.get().invalidated_at is None


def test_the_ios_choice_is_read_once_per_claim_and_only_for_ios_devices(
    app, other_app, fresh_providers, django_assert_num_queries
):
    push_policy_update(app=app, daily_cap=None, ios_provider=PushPolicy.IosProvider.ONESIGNAL)
    devices = [
        Device(pk=1, app=app, platform="ios"),
        Device(pk=2, app=other_app, platform="ios"),
        Device(pk=3, app=app, platform="android"),
    ]
    with django_assert_num_queries(4):  # the policies, then each app's missing credentials
        providers = device_providers(devices)
    assert "OneSignal credentials" in providers[1].reason
    assert "FCM credentials" in providers[2].reason  # no policy: FCM
    assert isinstance(providers[3], Unavailable)
    with django_assert_num_queries(0):
        device_providers([Device(pk=4, app=app, platform="web")])


def test_a_test_push_reaches_an_ios_contact_and_reports_apns_answer(app, mobile_app, apns):
    push_policy_update(app=app, daily_cap=None, ios_provider=PushPolicy.IosProvider.APNS)
    token = apns.device_token()
    contact = register(app, "iris", token, "ios")

    result = contact_push_test(contact=contact, title="Hello", body="from the admin")
    assert (result.sent, result.failures) == (1, [])
    device = Device.objects.get()
    [answer] = result.answers  # APNs' own answer, for whoever debugs the app
    assert answer.startswith(f"device {device.pk} (APNs): 200 apns-id: ")
    [received] = apns.received()
    assert received.payload["aps"]["alert"] == {"title": "Hello", "body": "from the admin"}

    apns.answer(token, 400, "BadDeviceToken")
    result = contact_push_test(contact=contact, title="Again")
    [failure] = result.failures
    assert failure.startswith(f"device {device.pk} (APNs): ")
    assert "BadDeviceToken" in failure
    assert Device.objects.get().invalidated_at is not None
