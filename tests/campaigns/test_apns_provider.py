"""The APNs provider against the local APNs (tests/campaigns/apns_service.py): HTTP/2 over TLS
with a certificate made for the test, provider tokens signed with the test .p8 key and verified
on the other side, the headers and payload APNs checks, every error class mapped, and one
provider token reused across sends for under an hour."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from campaigns.credentials import ApnsConfig
from campaigns.providers import apns as apns_module
from campaigns.providers.apns import JWT_REUSE_SECONDS, ApnsProvider, apns_payload
from campaigns.providers.base import Outcome, PushMessage
from contacts.models import Device
from tests.campaigns.apns_service import LocalApnsService

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


@pytest.fixture(autouse=True)
def fresh_provider_tokens():
    apns_module._provider_tokens.clear()
    yield
    apns_module._provider_tokens.clear()


@pytest.fixture
def key(apns) -> dict:
    return apns.signing_key()


def config_of(key: dict, **changes) -> ApnsConfig:
    values = {**key, "sandbox": False, **changes}
    return ApnsConfig(
        values["key_id"],
        values["team_id"],
        values["bundle_id"],
        values["sandbox"],
        values["private_key"],
    )


@pytest.fixture
def provider(key) -> ApnsProvider:
    return ApnsProvider(config_of(key), timeout=2.0)


@pytest.fixture
def token(apns) -> str:
    return apns.device_token()


def device(token: str) -> Device:
    return Device(platform="ios", token=token)


def test_the_notification_arrives_over_http2_with_apples_headers(provider, apns, token, key):
    before = int(time.time())

    outcome = provider.send(device(token), MESSAGE)

    assert (outcome.kind, outcome.status, outcome.error) == (Outcome.SENT, 200, "")
    [received] = apns.received()
    assert received.reason == "" and received.token == token
    headers = received.headers
    assert headers[":method"] == "POST" and headers[":path"] == f"/3/device/{token}"
    assert headers["apns-topic"] == "com.example.shop"
    assert headers["apns-push-type"] == "alert"
    assert headers["apns-priority"] == "10"
    assert headers["apns-collapse-id"] == "d42"
    assert before + 3600 <= int(headers["apns-expiration"]) <= int(time.time()) + 3600
    assert received.payload == {
        "aps": {
            "alert": {"title": "Your order shipped", "body": "Ça arrive demain 📦"},
            "mutable-content": 1,
        },
        "url": "https://shop.example/orders/42",
        "image": "https://shop.example/parcel.jpg",
        "open_token": "tok-123",
        "open_url": "https://beacon.example/o",
        "campaign_id": 7,
    }
    assert received.claims["iss"] == key["team_id"]


def test_lower_urgency_no_ttl_and_no_topic(provider, apns, token):
    provider.send(device(token), PushMessage(title="Hi", ttl=0, urgency="normal"))

    [received] = apns.received()
    assert received.headers["apns-priority"] == "5"
    assert received.headers["apns-expiration"] == "0"
    assert "apns-collapse-id" not in received.headers
    assert received.payload == {"aps": {"alert": {"title": "Hi"}}}


def test_one_provider_token_and_one_connection_serve_many_sends(provider, apns):
    tokens = [apns.device_token() for _ in range(10)]
    for each in tokens:
        assert provider.send(device(each), MESSAGE).kind == Outcome.SENT

    received = apns.received()
    assert len({r.provider_token for r in received}) == 1
    assert {r.connection for r in received} == {1}  # HTTP/2: one connection, many streams


def test_concurrent_sends_share_the_token_and_each_thread_keeps_its_connection(provider, apns):
    tokens = [apns.device_token() for _ in range(40)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(lambda t: provider.send(device(t), MESSAGE), tokens))

    assert [outcome.error for outcome in outcomes if outcome.kind != Outcome.SENT] == []
    assert sorted(r.token for r in apns.received()) == sorted(tokens)
    assert len({r.provider_token for r in apns.received()}) == 1
    assert apns.connections <= 8


def test_the_provider_token_is_signed_again_before_an_hour(provider, apns, token, monkeypatch):
    provider.send(device(token), MESSAGE)
    later = time.time() + JWT_REUSE_SECONDS + 1
    monkeypatch.setattr(apns_module.time, "time", lambda: later)

    provider.send(device(token), MESSAGE)

    first, second = apns.received()
    assert first.provider_token != second.provider_token
    assert second.claims["iat"] == int(later)
    assert JWT_REUSE_SECONDS < 3600


def test_providers_of_one_key_share_its_token(key, apns, token):
    for _ in range(3):
        ApnsProvider(config_of(key)).send(device(token), MESSAGE)

    assert len({r.provider_token for r in apns.received()}) == 1


def test_a_refused_provider_token_is_signed_afresh_next_time(provider, apns, token):
    provider.send(device(token), MESSAGE)
    apns.answer(token, 403, "ExpiredProviderToken")

    refused = provider.send(device(token), MESSAGE)
    apns.answer(token)
    provider.send(device(token), MESSAGE)

    assert refused.kind == Outcome.FAILED and "is this server's clock right?" in refused.error
    first, second, third = (r.provider_token for r in apns.received())
    assert first == second != third


@pytest.mark.parametrize(
    ("status", "reason", "kind", "text"),
    [
        (410, "Unregistered", Outcome.GONE, "APNs device token gone (410 Unregistered"),
        (410, "ExpiredToken", Outcome.GONE, "gone (410 ExpiredToken"),
        (400, "BadDeviceToken", Outcome.GONE, "gone (400 BadDeviceToken; environment: production"),
        (403, "InvalidProviderToken", Outcome.FAILED, "check the app's APNs key id"),
        (403, "ExpiredProviderToken", Outcome.FAILED, "APNs refused the provider token as expired"),
        (400, "DeviceTokenNotForTopic", Outcome.FAILED, "not for bundle id 'com.example.shop'"),
        (400, "BadCollapseId", Outcome.FAILED, "APNs refused the notification (400 BadCollapseId)"),
        (413, "PayloadTooLarge", Outcome.FAILED, "(413 PayloadTooLarge)"),
        (429, "TooManyRequests", Outcome.RETRY, "APNs busy (429"),
        (429, "TooManyProviderTokenUpdates", Outcome.RETRY, "APNs busy (429"),
        (500, "InternalServerError", Outcome.RETRY, "APNs busy (500"),
        (503, "ServiceUnavailable", Outcome.RETRY, "APNs busy (503"),
    ],
)
def test_each_answer_maps_to_its_outcome(provider, apns, token, status, reason, kind, text):
    apns.answer(token, status, reason, retry_after="9")

    outcome = provider.send(device(token), MESSAGE)

    assert (outcome.kind, outcome.status) == (kind, status)
    assert text in outcome.error
    assert outcome.retry_after == (9.0 if kind == Outcome.RETRY else None)


def test_a_key_apns_does_not_know_is_refused(apns, token):
    with LocalApnsService() as elsewhere:
        stranger = elsewhere.signing_key()

    outcome = ApnsProvider(config_of(stranger)).send(device(token), MESSAGE)

    assert (outcome.kind, outcome.status) == (Outcome.FAILED, 403)
    assert "InvalidProviderToken" in outcome.error


def test_a_token_signed_with_another_key_is_refused(key, apns, token):
    other = apns.signing_key()["private_key"]  # a key APNs knows, but not this key id's
    forged = config_of(key, private_key=other)

    outcome = ApnsProvider(forged).send(device(token), MESSAGE)

    assert (outcome.kind, outcome.status) == (Outcome.FAILED, 403)
    assert [r.reason for r in apns.received()] == ["InvalidProviderToken"]


def test_another_bundle_id_is_a_configuration_failure(key, apns, token):
    provider = ApnsProvider(config_of(key, bundle_id="com.example.other"))

    outcome = provider.send(device(token), MESSAGE)

    assert outcome.kind == Outcome.FAILED and "com.example.other" in outcome.error


def test_sandbox_credentials_send_to_the_sandbox_host(key, settings, apns, token):
    settings.APNS_BASE_URL = "https://127.0.0.1:9"  # production: nothing listens there

    outcome = ApnsProvider(config_of(key, sandbox=True)).send(device(token), MESSAGE)

    assert outcome.kind == Outcome.SENT
    assert ApnsProvider(config_of(key)).base == "https://127.0.0.1:9"


def test_an_unreachable_apns_is_retried(key, settings, token):
    settings.APNS_BASE_URL = "https://127.0.0.1:9"

    outcome = ApnsProvider(config_of(key), timeout=1).send(device(token), MESSAGE)

    assert outcome.kind == Outcome.RETRY and outcome.error.startswith("APNs unreachable")


def test_a_malformed_device_token_is_gone_without_a_request(provider, apns):
    outcome = provider.send(device("not/a/token?x=1"), MESSAGE)

    assert outcome.kind == Outcome.GONE and "BadDeviceToken" in outcome.error
    assert apns.received() == []


def test_a_payload_over_4096_bytes_fails_without_a_request(provider, apns, token):
    message = PushMessage(title="Big", data={"blob": "x" * 4096})

    outcome = provider.send(device(token), message)

    assert outcome.kind == Outcome.FAILED and "APNs allows at most 4096" in outcome.error
    assert provider.payload_too_large(MESSAGE) is None
    assert apns.received() == []


def test_data_never_replaces_aps():
    message = PushMessage(title="t", data={"aps": {"content-available": 1}, "k": "v"})

    assert apns_payload(message) == b'{"aps":{"alert":{"title":"t"}},"k":"v"}'
