"""Push opens an app reports as an event, through the tracking API: Customer.io's `opened` (the
delivery id and the device token) and the catalog's `push_opened` (the delivery id and the open
token of the push payload, or the device token). Each opens its delivery once, like the service
worker's click report; a wrong token or another app's delivery opens nothing, and the event is
stored either way."""

from __future__ import annotations

import logging
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from rest_framework.test import APIClient

from campaigns.models import Delivery
from campaigns.services.dispatch import deliveries_claim_due
from campaigns.services.sending import deliveries_send
from campaigns.services.triggers import trigger_marks_process
from contacts.services.apps import api_key_create, app_create
from events import catalog
from events.models import Event
from events.services.ingest import events_ingest
from tests.campaigns.factories import active_campaign, subscribe, track

ANN_TOKEN = "fcm-token-of-ann"


@pytest.fixture
def committed(django_capture_on_commit_callbacks, caplog):
    """Runs what ingest leaves for after commit (the open) before the block ends, and fails on
    an error there: on_commit(robust=True) would only log it."""

    @contextmanager
    def block():
        with django_capture_on_commit_callbacks(execute=True):
            yield
        assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []

    return block


@pytest.fixture
def report(ingest_client, committed):
    """POST one event as the app does, the open included."""

    def send(name: str, params: dict, **fields):
        payload = {"event_name": name, "app_user_id": "ann", "params": params, **fields}
        with committed():
            response = ingest_client.post("/api/v1/events", payload, format="json")
        assert response.status_code == 200, response.json()
        return response

    return send


def delivery_for(app, user: str = "ann", token: str = ANN_TOKEN) -> Delivery:
    """A scheduled delivery of an event-triggered campaign to the user's Android device."""
    [result] = events_ingest(
        app=app,
        payloads=[
            {
                "event_name": "app_opened",
                "app_user_id": user,
                "device_token": token,
                "platform": "android",
                "push_permission_granted": True,
            }
        ],
    )
    assert not result.errors, result.errors
    campaign = active_campaign(app, name=f"After purchase ({user})")
    track(app, user, "purchase_completed")
    trigger_marks_process()
    return Delivery.objects.select_related("device").get(
        campaign=campaign, contact__external_id=user
    )


def opens() -> list[Event]:
    return list(Event.objects.filter(event_type__name=catalog.NOTIFICATION_OPENED))


def test_customer_io_opened_with_the_device_token_opens_the_delivery(app, report):
    delivery = delivery_for(app)
    at = datetime.now(UTC) - timedelta(minutes=3)
    params = {"CIO-Delivery-ID": str(delivery.pk), "CIO-Delivery-Token": ANN_TOKEN}
    report("opened", params, event_time=at.isoformat())

    delivery.refresh_from_db()
    assert delivery.opened_at == at
    [opened] = opens()
    assert opened.contact_id == delivery.contact_id
    assert opened.params == {"campaign_id": delivery.campaign_id, "delivery_id": delivery.pk}
    assert Event.objects.filter(event_type__name="opened").count() == 1  # stored as any event


def test_push_opened_with_the_open_token_opens_the_delivery(app, report):
    delivery = delivery_for(app)
    report("push_opened", {"delivery_id": delivery.pk, "token": delivery.open_token})
    delivery.refresh_from_db()
    assert delivery.opened_at is not None
    assert len(opens()) == 1


def test_push_opened_with_the_device_token_opens_the_delivery(app, report):
    delivery = delivery_for(app)
    report("push_opened", {"delivery_id": delivery.pk, "token": ANN_TOKEN})
    delivery.refresh_from_db()
    assert delivery.opened_at is not None


def test_the_open_token_alone_names_its_delivery_but_a_device_token_does_not(app, report):
    delivery = delivery_for(app)
    report("push_opened", {"token": ANN_TOKEN})
    delivery.refresh_from_db()
    assert delivery.opened_at is None
    report("push_opened", {"token": delivery.open_token})
    delivery.refresh_from_db()
    assert delivery.opened_at is not None


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("opened", {"CIO-Delivery-Token": ANN_TOKEN}),  # no delivery id
        ("opened", {"CIO-Delivery-ID": "{id}", "CIO-Delivery-Token": "another-device"}),
        ("opened", {"CIO-Delivery-ID": "{id}", "CIO-Delivery-Token": ""}),
        ("opened", {"CIO-Delivery-ID": "{id}"}),
        ("opened", {"CIO-Delivery-ID": "not-a-number", "CIO-Delivery-Token": ANN_TOKEN}),
        ("opened", {"CIO-Delivery-ID": "9" * 19, "CIO-Delivery-Token": ANN_TOKEN}),  # > bigint
        ("opened", {"CIO-Delivery-ID": "9" * 5000, "CIO-Delivery-Token": ANN_TOKEN}),
        ("push_opened", {"delivery_id": "{id}", "token": "guessed-token"}),
        ("push_opened", {"delivery_id": "{id}", "token": 12345}),
        ("push_opened", {"delivery_id": "{id}", "token": "fcm-token-of-anné"}),
        ("push_open", {"delivery_id": "{id}", "token": ANN_TOKEN}),  # not an open event
    ],
)
def test_a_report_that_does_not_match_opens_nothing_and_is_stored(app, report, name, params):
    delivery = delivery_for(app)
    params = {key: value.format(id=delivery.pk) if isinstance(value, str) else value
              for key, value in params.items()}  # fmt: skip
    report(name, params)
    delivery.refresh_from_db()
    assert delivery.opened_at is None and opens() == []
    assert Event.objects.filter(event_type__name=name).count() == 1


def test_another_apps_delivery_is_not_opened(app, other_app, report):
    theirs = delivery_for(other_app)  # the same device token, in another app
    report("opened", {"CIO-Delivery-ID": theirs.pk, "CIO-Delivery-Token": ANN_TOKEN})
    report("push_opened", {"token": theirs.open_token})
    theirs.refresh_from_db()
    assert theirs.opened_at is None and opens() == []


def test_repeats_and_the_click_report_record_the_open_once(app, report, client):
    delivery = delivery_for(app)
    params = {"CIO-Delivery-ID": delivery.pk, "CIO-Delivery-Token": ANN_TOKEN}
    report("opened", params, event_id="open-1")
    first = Delivery.objects.get(pk=delivery.pk).opened_at
    report("opened", params, event_id="open-1")  # a retried request: a duplicate
    report("opened", params)  # the same report again, as a new event
    report("push_opened", {"delivery_id": delivery.pk, "token": delivery.open_token})
    clicked = client.post(
        "/api/v1/push/opened", {"token": delivery.open_token}, content_type="application/json"
    )
    assert clicked.status_code == 200 and clicked.json()["opened_at"] is not None
    assert Delivery.objects.get(pk=delivery.pk).opened_at == first
    assert len(opens()) == 1
    assert Event.objects.filter(event_type__name="opened").count() == 2


def test_a_batch_opens_each_reported_delivery(app, ingest_client, committed):
    ann, bob = delivery_for(app, "ann"), delivery_for(app, "bob", token="fcm-token-of-bob")
    events = [
        {"event_name": "push_opened", "app_user_id": "ann", "params": {"token": ann.open_token}},
        {"event_name": "screen_viewed", "app_user_id": "bob"},
        {
            "event_name": "opened",
            "app_user_id": "bob",
            "params": {"CIO-Delivery-ID": bob.pk, "CIO-Delivery-Token": "fcm-token-of-bob"},
        },
    ]
    with committed():
        response = ingest_client.post("/api/v1/events/batch", {"events": events}, format="json")
    assert response.status_code == 200
    assert Delivery.objects.filter(opened_at__isnull=False).count() == 2
    assert len(opens()) == 2


@pytest.mark.django_db(transaction=True)
def test_a_sent_push_is_opened_by_an_event_carrying_its_payload(push_service):
    """End to end, committed for real: the web push's payload carries the delivery id and the
    open token the app reports back."""
    app = app_create(name="Shop", tenant_id="shop-e2e")
    _, key = api_key_create(app=app, name="sdk", scope="ingest")
    subscribe(app, "ann", subscription=push_service.subscription())
    active_campaign(app)
    track(app, "ann", "purchase_completed")
    trigger_marks_process()
    for claim in deliveries_claim_due():
        deliveries_send(claim=claim)
    [received] = push_service.wait_for(1)
    delivery = Delivery.objects.get()
    assert received.payload["delivery_id"] == delivery.pk

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    params = {
        "delivery_id": received.payload["delivery_id"],
        "token": received.payload["open_token"],
    }
    body = {"event_name": "push_opened", "app_user_id": "ann", "params": params}
    assert client.post("/api/v1/events", body, format="json").status_code == 200

    delivery.refresh_from_db()
    assert delivery.opened_at is not None
    assert len(opens()) == 1
