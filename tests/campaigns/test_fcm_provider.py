"""The FCM provider against the local FCM (tests/campaigns/fcm_service.py): real OAuth2 token
requests signed with the service account's key and verified on the other side, the v1 message
as FCM checks it, every error class mapped, and one access token shared by many sends."""

from __future__ import annotations

import json
import socket
import time
from concurrent.futures import ThreadPoolExecutor

import google.auth._exponential_backoff
import httpx
import pytest

from campaigns.credentials import FcmConfig
from campaigns.providers import fcm as fcm_module
from campaigns.providers import mobile_http
from campaigns.providers.base import Outcome, PushMessage
from campaigns.providers.fcm import FcmProvider, fcm_data, response_outcome
from contacts.models import Device
from tests.campaigns.fcm_service import LocalFcmService

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
def fresh_access_tokens():
    """Each test starts with no access token cached in this process."""
    fcm_module._access_tokens.clear()
    yield
    fcm_module._access_tokens.clear()


@pytest.fixture
def account(fcm) -> dict:
    return fcm.service_account()


def provider_for(account: dict, project_id: str | None = None) -> FcmProvider:
    config = FcmConfig(project_id or account["project_id"], json.dumps(account))
    return FcmProvider(config, timeout=2.0)


@pytest.fixture
def provider(account) -> FcmProvider:
    return provider_for(account)


def device(token: str = "fcm-token-1") -> Device:
    return Device(platform="android", token=token)


def test_the_message_arrives_mapped_to_fcm_v1(provider, fcm, account):
    before = int(time.time())

    outcome = provider.send(device(), MESSAGE)

    assert (outcome.kind, outcome.status, outcome.error) == (Outcome.SENT, 200, "")
    [received] = fcm.received()
    assert received.project == "beacon-test" and received.error == ""
    assert received.headers["authorization"].startswith("Bearer ya29.")
    message = received.message
    assert message["token"] == "fcm-token-1"
    assert message["notification"] == {
        "title": "Your order shipped",
        "body": "Ça arrive demain 📦",
        "image": "https://shop.example/parcel.jpg",
    }
    # FCM data is string to string: the open token and report URL travel as the app reads them
    assert message["data"] == {
        "url": "https://shop.example/orders/42",
        "open_token": "tok-123",
        "open_url": "https://beacon.example/o",
        "campaign_id": "7",
    }
    assert message["android"] == {"ttl": "3600s", "priority": "HIGH", "collapse_key": "d42"}
    headers = message["apns"]["headers"]
    assert headers["apns-priority"] == "10" and headers["apns-collapse-id"] == "d42"
    assert before + 3600 <= int(headers["apns-expiration"]) <= int(time.time()) + 3600
    assert message["apns"]["payload"] == {"aps": {"mutable-content": 1}}
    assert message["apns"]["fcm_options"] == {"image": "https://shop.example/parcel.jpg"}


def test_normal_urgency_and_no_ttl_map_to_normal_priority_now_or_never(provider, fcm):
    message = PushMessage(title="Hi", ttl=0, urgency="low")

    assert provider.send(device(), message).kind == Outcome.SENT

    [received] = fcm.received()
    assert received.message["android"] == {"ttl": "0s", "priority": "NORMAL"}
    assert received.message["apns"] == {"headers": {"apns-priority": "5", "apns-expiration": "0"}}
    assert received.message["data"] == {} and "image" not in received.message["notification"]


def test_the_token_request_is_signed_by_the_account_and_posted_to_the_setting(provider, fcm):
    provider.send(device(), MESSAGE)

    [request] = fcm.token_requests
    assert request.status == 200 and request.client_email == provider_email(provider)
    assert request.claims["scope"] == "https://www.googleapis.com/auth/firebase.messaging"


def provider_email(provider: FcmProvider) -> str:
    return json.loads(provider.config.service_account)["client_email"]


def test_many_sends_from_many_threads_share_one_access_token(provider, fcm):
    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(lambda i: provider.send(device(f"t{i}"), MESSAGE), range(40)))

    assert [outcome.error for outcome in outcomes if outcome.kind != Outcome.SENT] == []
    assert len(fcm.received()) == 40
    assert len(fcm.token_requests) == 1


def test_providers_of_one_service_account_share_its_token(account, fcm):
    for _ in range(3):
        assert provider_for(account).send(device(), MESSAGE).kind == Outcome.SENT

    assert len(fcm.token_requests) == 1


def test_a_token_about_to_expire_is_fetched_again(settings, account):
    # A token with 2 minutes left is within google-auth's refresh margin (3 min 45 s).
    with LocalFcmService(token_lifetime=120) as short_lived:
        settings.FCM_BASE_URL, settings.FCM_TOKEN_URL = short_lived.url, short_lived.token_url
        provider = provider_for(short_lived.service_account())
        provider.send(device(), MESSAGE)
        provider.send(device(), MESSAGE)

        assert len(short_lived.token_requests) == 2
        assert [r.status for r in short_lived.received()] == [200, 200]


def test_a_refused_token_is_dropped_and_the_next_send_fetches_a_new_one(provider, fcm):
    provider.send(device(), MESSAGE)
    fcm.expire_tokens()

    refused = provider.send(device(), MESSAGE)
    again = provider.send(device(), MESSAGE)

    assert (refused.kind, refused.status) == (Outcome.FAILED, 401)
    assert "check the app's FCM credentials" in refused.error
    assert again.kind == Outcome.SENT
    assert len(fcm.token_requests) == 2


@pytest.mark.parametrize(
    ("error", "kind", "status", "text"),
    [
        ("UNREGISTERED", Outcome.GONE, 404, "FCM token gone (404 UNREGISTERED"),
        ("INVALID_TOKEN", Outcome.GONE, 400, "not a valid FCM registration token"),
        ("SENDER_ID_MISMATCH", Outcome.FAILED, 403, "another Firebase project than 'beacon-test'"),
        ("THIRD_PARTY_AUTH_ERROR", Outcome.FAILED, 401, "APNs key or certificate was refused"),
        ("QUOTA_EXCEEDED", Outcome.RETRY, 429, "FCM busy (429 QUOTA_EXCEEDED"),
        ("UNAVAILABLE", Outcome.RETRY, 503, "FCM busy (503 UNAVAILABLE"),
        ("INTERNAL", Outcome.RETRY, 500, "FCM busy (500 INTERNAL"),
    ],
)
def test_each_error_class_maps_to_its_outcome(provider, fcm, error, kind, status, text):
    fcm.answer("fcm-token-1", error)

    outcome = provider.send(device(), MESSAGE)

    assert (outcome.kind, outcome.status) == (kind, status)
    assert text in outcome.error


@pytest.mark.parametrize("error", ["QUOTA_EXCEEDED", "UNAVAILABLE"])
def test_retry_after_is_honoured(provider, fcm, error):
    fcm.answer("fcm-token-1", error, retry_after="7")

    outcome = provider.send(device(), MESSAGE)

    assert (outcome.kind, outcome.retry_after) == (Outcome.RETRY, 7.0)


def test_an_invalid_argument_about_the_message_fails_without_invalidating_the_device():
    violation = {"field": "message.android.ttl", "description": "Invalid value"}
    body = {
        "error": {
            "code": 400,
            "message": "Invalid value at 'message.android.ttl'",
            "status": "INVALID_ARGUMENT",
            "details": [
                {
                    "@type": "type.googleapis.com/google.rpc.BadRequest",
                    "fieldViolations": [violation],
                }
            ],
        }
    }
    outcome = response_outcome(answer(400, body), project_id="p")

    assert outcome.kind == Outcome.FAILED
    assert outcome.error.startswith("FCM refused the message (400 INVALID_ARGUMENT")


def test_a_field_violation_on_the_token_makes_the_device_gone():
    violation = {"field": "message.token", "description": "Invalid registration token"}
    body = {"error": {"code": 400, "status": "INVALID_ARGUMENT", "message": "Bad request"}}
    body["error"]["details"] = [
        {"@type": "x/google.rpc.BadRequest", "fieldViolations": [violation]}
    ]

    assert response_outcome(answer(400, body), project_id="p").kind == Outcome.GONE


def test_a_redirect_is_not_followed():
    outcome = response_outcome(answer(307, {}), project_id="p")
    assert outcome.kind == Outcome.FAILED and "redirect, not followed" in outcome.error


def answer(status: int, body: dict) -> mobile_http.Answer:
    return mobile_http.Answer(status, httpx.Headers({}), json.dumps(body).encode())


def test_another_project_than_the_accounts_is_refused(account, fcm):
    outcome = provider_for(account, project_id="someone-else").send(device(), MESSAGE)

    assert (outcome.kind, outcome.status) == (Outcome.FAILED, 403)
    assert "FCM refused the service account of 'someone-else'" in outcome.error


def test_a_key_the_token_service_does_not_know_is_a_configuration_failure(fcm):
    with LocalFcmService() as elsewhere:
        stranger = elsewhere.service_account()  # signed by a key fcm never issued

    outcome = provider_for(stranger).send(device(), MESSAGE)

    assert outcome.kind == Outcome.FAILED
    assert "check the app's FCM credentials" in outcome.error and "invalid_grant" in outcome.error
    assert fcm.received() == []


def test_an_assertion_signed_with_another_key_is_refused(account, fcm):
    with LocalFcmService() as elsewhere:
        other_key = elsewhere.service_account()["private_key"]
    forged = {**account, "private_key": other_key}  # the right key id, the wrong signature

    outcome = provider_for(forged).send(device(), MESSAGE)

    assert outcome.kind == Outcome.FAILED and "Signature verification failed" in outcome.error
    assert [request.status for request in fcm.token_requests] == [400]


def test_a_busy_token_service_is_retried_later(provider, fcm, monkeypatch):
    monkeypatch.setattr(google.auth._exponential_backoff.time, "sleep", lambda seconds: None)
    fcm.answer_tokens(503, "temporarily_unavailable")

    outcome = provider.send(device(), MESSAGE)

    assert outcome.kind == Outcome.RETRY and "token service busy" in outcome.error
    assert fcm.received() == []


def test_an_unreachable_service_is_retried(provider, fcm, unused_port):
    provider.url = f"http://127.0.0.1:{unused_port}/v1/projects/beacon-test/messages:send"

    outcome = provider.send(device(), MESSAGE)

    assert outcome.kind == Outcome.RETRY and outcome.error.startswith("FCM unreachable")


@pytest.fixture
def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_payload_over_fcms_limit_fails_without_a_request(provider, fcm):
    message = PushMessage(title="Big", data={"blob": "x" * 4096})

    outcome = provider.send(device(), message)

    assert outcome.kind == Outcome.FAILED and "FCM allows at most 4096" in outcome.error
    assert provider.payload_too_large(message) == outcome.error
    assert provider.payload_too_large(MESSAGE) is None
    assert fcm.received() == []


def test_data_values_become_strings_and_the_message_data_wins_over_the_url():
    message = PushMessage(title="t", url="https://a", data={"url": "https://b", "n": 1, "f": None})

    assert fcm_data(message) == {"url": "https://b", "n": "1", "f": "null"}
