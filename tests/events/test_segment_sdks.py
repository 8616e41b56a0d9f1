"""Segment's and RudderStack's Python libraries, unchanged, against a live Beacon: every call,
a batch of 1,000, read back through Beacon's REST API, then replayed to prove de-duplication."""

from __future__ import annotations

import gc
from datetime import UTC, datetime, timedelta

import pytest
import requests
import urllib3
from rudderstack.analytics import Client as RudderClient
from rudderstack.analytics import request as rudder_request
from segment.analytics import Client as SegmentClient
from segment.analytics import request as segment_request

from contacts.models import ApiKey
from contacts.services.apps import api_key_create

pytestmark = pytest.mark.django_db(transaction=True)

BULK = 1000
START = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)


@pytest.fixture(autouse=True)
def _hang_up():
    """The libraries keep one module-level keep-alive session: close its connections after each
    test, or a live server thread stays connected to the test database, which then cannot be
    dropped. One an error response still holds is out of the session's pool: closed too."""
    yield
    segment_request._session.close()
    rudder_request._session.close()
    for held in gc.get_objects():
        # type(), not isinstance(): isinstance on a weak proxy whose object is gone raises
        if issubclass(type(held), urllib3.connection.HTTPConnection):
            held.close()


@pytest.fixture
def keys(app):
    ingest = api_key_create(app=app, name="sdk", scope=ApiKey.Scope.INGEST)[1]
    admin = api_key_create(app=app, name="reader", scope=ApiKey.Scope.ADMIN)[1]
    return ingest, admin


class Beacon:
    """Beacon's REST API, read with an admin key."""

    def __init__(self, url: str, key: str):
        self.url, self.session = url, requests.Session()
        self.session.headers["Authorization"] = f"Bearer {key}"

    def get(self, path: str, **params) -> dict:
        response = self.session.get(f"{self.url}/api/v1/{path}", params=params, timeout=30)
        assert response.status_code == 200, response.text
        return response.json()

    def contact(self, external_id: str) -> dict:
        [contact] = self.get("contacts", external_id=external_id)["results"]
        return contact

    def events(self, contact: dict, **params) -> dict:
        return self.get(f"contacts/{contact['id']}/events", page_size=500, **params)

    def count(self, contact: dict, event: str) -> int:
        return self.get(f"contacts/{contact['id']}/events", event=event, page_size=1)["count"]


def send_every_call(client, prefix: str, user: str, anonymous: str) -> None:
    """One of each call, with fixed message ids and times (so a replay is the same messages)."""

    def meta(n: int) -> dict:
        return {"message_id": f"{prefix}-{n}", "timestamp": START + timedelta(seconds=n)}

    client.track(
        anonymous_id=anonymous, event="Product Viewed", properties={"sku": "A1"}, **meta(1)
    )
    client.identify(
        user_id=user,
        anonymous_id=anonymous,
        traits={"email": f"{user}@example.com", "firstName": "Ada", "plan": "pro"},
        context={
            "device": {"token": f"fcm-{user}", "type": "android", "id": f"install-{user}"},
            "timezone": "Europe/Istanbul",
            "locale": "tr-TR",
        },
        **meta(2),
    )
    client.track(user_id=user, event="Order Completed", properties={"revenue": 14.99}, **meta(3))
    client.page(user_id=user, category="Docs", name="Pricing", properties={"path": "/p"}, **meta(4))
    client.screen(user_id=user, name="Cart", properties={"items": 2}, **meta(5))
    client.alias(previous_id=f"{anonymous}-old", user_id=user, **meta(6))
    client.group(user_id=user, group_id="acme", traits={"industry": "Retail"}, **meta(7))
    for n in range(BULK):
        client.track(user_id=user, event="Item Scanned", properties={"n": n}, **meta(100 + n))
    client.flush()


def make_client(kind: str, url: str, key: str, errors: list):
    def on_error(error, batch):
        errors.append((error, len(batch)))

    if kind == "segment":
        # gzip on to take that path; the library's own default is off
        return SegmentClient(
            write_key=key, host=url, on_error=on_error, gzip=True, upload_size=250, max_retries=0
        )
    return RudderClient(write_key=key, host=url, on_error=on_error, max_retries=0)


def shut(client) -> None:
    client.flush()
    client.join()


@pytest.mark.parametrize("kind", ["segment", "rudderstack"])
def test_an_unchanged_sdk_sends_every_call_and_a_replay_stores_nothing(
    kind, live_server, keys, app, request
):
    ingest_key, admin_key = keys
    beacon = Beacon(live_server.url, admin_key)
    request.addfinalizer(beacon.session.close)
    errors: list = []
    user, anonymous = f"{kind}-user", f"{kind}-anon"

    client = make_client(kind, live_server.url, ingest_key, errors)
    send_every_call(client, kind, user, anonymous)
    shut(client)
    assert errors == []

    contact = beacon.contact(user)
    # identify: traits on the profile, the device, timezone/locale from context
    assert contact["email"] == f"{user}@example.com"
    assert contact["custom_fields"]["first_name"] == "Ada"
    assert contact["custom_fields"]["plan"] == "pro"
    assert (contact["timezone"], contact["language"], contact["country"]) == (
        "Europe/Istanbul",
        "tr",
        "TR",
    )
    [device] = contact["devices"]
    assert (device["platform"], device["installation_id"]) == ("android", f"install-{user}")
    assert device["token_prefix"] == f"fcm-{user}"[:16]
    # group: the group id and its traits as custom fields
    assert contact["custom_fields"]["group_id"] == "acme"
    assert contact["custom_fields"]["group_industry"] == "Retail"
    # the anonymous track came before identify: the same contact now
    assert contact["anonymous_id"] == anonymous

    names = {}
    for name in (
        "Product Viewed",
        "user_identified",
        "Order Completed",
        "page_viewed",
        "screen_viewed",
        "user_aliased",
        "group_joined",
    ):
        [names[name]] = beacon.events(contact, event=name)["results"]
    assert names["Order Completed"]["params"] == {"revenue": 14.99}
    assert names["page_viewed"]["params"] == {"path": "/p", "name": "Pricing", "category": "Docs"}
    assert names["Order Completed"]["context"]["library"]["name"] == "analytics-python"
    occurred = datetime.fromisoformat(names["Order Completed"]["occurred_at"])
    assert occurred == START + timedelta(seconds=3)
    assert beacon.count(contact, "Item Scanned") == BULK
    total = beacon.events(contact)["count"]

    # The same messages again (same ids), through a new client: nothing new is stored.
    replay = make_client(kind, live_server.url, ingest_key, errors)
    send_every_call(replay, kind, user, anonymous)
    shut(replay)
    assert errors == []
    assert beacon.events(beacon.contact(user))["count"] == total
    assert beacon.count(contact, "Item Scanned") == BULK
    assert beacon.get("contacts")["count"] == 1


@pytest.mark.parametrize("kind", ["segment", "rudderstack"])
def test_a_wrong_write_key_reaches_on_error_as_401(kind, live_server, app):
    errors: list = []
    client = make_client(kind, live_server.url, "not-a-key", errors)
    client.track(user_id="u", event="x")
    shut(client)
    [(error, size)] = errors
    assert size == 1
    assert error.status == 401
