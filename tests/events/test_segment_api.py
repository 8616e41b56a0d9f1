"""The Segment HTTP Tracking API at /v1/ (events/api/segment_views.py), through the client."""

from __future__ import annotations

import base64
import gzip
from datetime import timedelta

import orjson
import pytest
from django.test import Client
from django.utils import timezone

from contacts.models import ApiKey, Contact, Device
from contacts.services.apps import api_key_create
from events.models import Event


@pytest.fixture
def write_key(app):
    return api_key_create(app=app, name="segment", scope=ApiKey.Scope.INGEST)[1]


def basic(key: str) -> str:
    return "Basic " + base64.b64encode(f"{key}:".encode()).decode()


@pytest.fixture
def post(write_key):
    client = Client()

    def send(path, body, *, auth=True, encoding=None, raw=None, content_type="application/json"):
        data = raw if raw is not None else orjson.dumps(body)
        headers = {}
        if auth:
            headers["HTTP_AUTHORIZATION"] = basic(write_key)
        if encoding:
            headers["HTTP_CONTENT_ENCODING"] = encoding
            if raw is None:
                data = gzip.compress(data)
        return client.post(path, data=data, content_type=content_type, **headers)

    return send


def events_named(name):
    return list(Event.objects.filter(event_type__name=name).order_by("id"))


def track(**fields):
    return {"type": "track", "userId": "u1", "event": "Order Completed", **fields}


def test_track_with_basic_auth_is_stored(post):
    response = post("/v1/track", track(messageId="m1", properties={"revenue": 14.99}))
    assert response.status_code == 200, response.content
    assert response.json() == {"success": True}
    [event] = events_named("Order Completed")
    assert event.params == {"revenue": 14.99}
    assert Contact.objects.get(pk=event.contact_id).external_id == "u1"


def test_write_key_in_the_body_authenticates(post, write_key):
    response = post("/v1/track", track(writeKey=write_key), auth=False)
    assert response.status_code == 200, response.content
    assert len(events_named("Order Completed")) == 1


def test_an_admin_key_is_a_write_key_too(post, app):
    admin_key = api_key_create(app=app, name="admin", scope=ApiKey.Scope.ADMIN)[1]
    response = post("/v1/track", track(writeKey=admin_key), auth=False)
    assert response.status_code == 200


@pytest.mark.parametrize(
    "header",
    [basic("not-a-key"), "Basic !!!", "Token abc", basic("")],
)
def test_a_bad_key_is_401(header, db, app):
    response = Client().post(
        "/v1/batch",
        data=orjson.dumps({"batch": [track()]}),
        content_type="application/json",
        HTTP_AUTHORIZATION=header,
    )
    assert response.status_code == 401
    body = response.json()
    assert body["error"] == "authentication"
    assert body["code"] == "authentication" and body["message"]
    assert response["WWW-Authenticate"].startswith("Basic")
    assert not Event.objects.exists()


def test_no_key_is_401(post):
    response = post("/v1/track", track(), auth=False)
    assert response.status_code == 401
    assert response.json()["error"] == "authentication"


def test_a_gzip_batch_is_stored(post):
    batch = {"batch": [track(messageId=f"m{i}") for i in range(3)]}
    response = post("/v1/batch", batch, encoding="gzip")
    assert response.status_code == 200, response.content
    assert len(events_named("Order Completed")) == 3


def test_a_corrupt_gzip_body_names_the_body(post):
    response = post("/v1/batch", None, encoding="gzip", raw=b"\x1f\x8b\x08\x00garbage")
    assert response.status_code == 400
    [reason] = response.json()["detail"]["body"]
    assert "gzip" in reason and "UTF-8" not in reason


def test_a_gzip_body_cut_short_is_refused(post):
    data = gzip.compress(orjson.dumps({"batch": [track()]}))
    response = post("/v1/batch", None, encoding="gzip", raw=data[: len(data) // 2])
    assert response.status_code == 400
    assert "gzip" in response.json()["detail"]["body"][0]


def test_a_gzip_bomb_is_refused_without_inflating_it(post):
    bomb = gzip.compress(b'{"batch": [' + b" " * 50_000_000 + b"]}")
    assert len(bomb) < 100_000
    response = post("/v1/batch", None, encoding="gzip", raw=bomb)
    assert response.status_code == 400
    assert "500 KB" in response.json()["detail"]["body"][0]


def test_an_unknown_content_encoding_is_415(post):
    response = post("/v1/track", None, encoding="br", raw=b"xx")
    assert response.status_code == 415


def test_a_message_over_32_kb_is_refused(post):
    response = post("/v1/track", track(properties={"blob": "x" * 33_000}))
    assert response.status_code == 400
    assert "32 KB" in response.json()["detail"]["body"][0]
    assert not Event.objects.exists()


def test_a_batch_message_over_32_kb_is_refused_alone(post):
    batch = {"batch": [track(messageId="big", properties={"blob": "x" * 33_000}), track()]}
    response = post("/v1/batch", batch)
    assert response.status_code == 400
    body = response.json()
    assert "32 KB" in body["detail"]["batch[0]"][0]
    assert body["stored"] == 1
    assert len(events_named("Order Completed")) == 1


def test_a_batch_over_500_kb_is_refused(post):
    batch = {"batch": [track(messageId=f"m{i}", properties={"s": "x" * 20_000}) for i in range(30)]}
    response = post("/v1/batch", batch)
    assert response.status_code == 400
    assert "500 KB" in response.json()["detail"]["body"][0]
    assert not Event.objects.exists()


def test_text_plain_bodies_are_read_as_json(post):
    response = post("/v1/track", track(), content_type="text/plain")
    assert response.status_code == 200, response.content


def test_invalid_json_is_400(post):
    response = post("/v1/track", None, raw=b"{nope")
    assert response.status_code == 400
    assert "JSON" in response.json()["detail"]["body"][0]


@pytest.mark.parametrize(
    "body",
    [[], "x", {"batch": []}, {"batch": "x"}, {"batch": [1, None, "x"]}, {"batch": [{}]}],
)
def test_bad_batches_are_400_never_500(post, body):
    response = post("/v1/batch", body)
    assert response.status_code == 400, response.content
    assert response.json()["error"] == "validation"


@pytest.mark.parametrize(
    "message",
    [
        {"type": ["track"], "userId": "u", "event": "x"},
        {"type": "track", "userId": {"a": 1}, "event": "x"},
        {"type": "track", "userId": 2**62, "event": ["x"]},
        {"type": "track", "userId": "u", "event": "x", "context": "ctx"},
        {"type": "track", "userId": "u", "event": "x", "properties": [1]},
        {"type": "identify", "userId": "u", "traits": [1]},
        {"type": "identify", "userId": "u", "traits": {"timezone": 5, "country": "Atlantis"}},
        {"type": "group", "userId": "u", "groupId": {"id": 1}},
        {"type": "group", "userId": "u", "groupId": "g", "traits": {"x": "a\u0000"}},
        {"type": "track", "userId": "u", "event": "x", "timestamp": True},
        {
            "type": "track",
            "userId": "u",
            "event": "x",
            "originalTimestamp": "9999-12-30T00:00:00Z",
            "sentAt": "0001-01-02T00:00:00Z",
        },
        {"type": "track", "userId": "u", "event": "x", "sentAt": {}, "originalTimestamp": 5},
        {
            "type": "track",
            "userId": "u",
            "event": "x",
            "context": {"device": {"token": {"endpoint": 1}, "type": "ios", "id": [1]}},
        },
        {"type": "track", "userId": "u", "event": "x", "context": {"sessionId": "s" * 300}},
        {"type": "alias", "userId": "u", "previousId": 1.5},
    ],
)
def test_odd_messages_are_refused_never_a_500(post, message):
    response = post("/v1/batch", {"batch": [message]})
    assert response.status_code == 400, response.content
    [name] = {key.split(".")[0] for key in response.json()["detail"]}
    assert name.startswith("batch[0]")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"sentAt": []}, "sentAt"),
        ({"sentAt": {"at": 1}}, "sentAt"),
        ({"context": "x"}, "context"),
        ({"writeKey": ""}, "writeKey"),
        ({"writeKey": 5}, "writeKey"),
    ],
)
def test_a_malformed_batch_field_is_refused_by_name(post, body, field):
    """A batch's own fields are checked even when unused (the header's key wins over writeKey;
    each message's sentAt over the batch's), as the published schema says; nothing is stored."""
    response = post("/v1/batch", {"batch": [track(messageId="m1")], **body})
    assert response.status_code == 400, response.content
    assert list(response.json()["detail"]) == [field]
    assert not Event.objects.exists()


@pytest.mark.parametrize(
    "message",
    [
        {"userId": "u", "event": "x", "sentAt": {"at": 1}},
        {"userId": "u", "event": "x", "writeKey": ""},
    ],
)
def test_a_malformed_unused_call_field_is_refused_by_name(post, message):
    response = post("/v1/track", message)
    assert response.status_code == 400, response.content
    assert list(response.json()["detail"]) in (["sentAt"], ["writeKey"])


@pytest.mark.parametrize("value", [5, ["Home"], {"a": 1}])
def test_a_page_name_or_category_that_is_no_text_is_refused(post, value):
    response = post("/v1/page", {"userId": "u", "name": "Home", "category": value})
    assert response.status_code == 400, response.content
    assert list(response.json()["detail"]) == ["category"]


def test_each_call_records_its_event(post):
    calls = {
        "/v1/track": track(messageId="t"),
        "/v1/identify": {"userId": "u1", "traits": {"email": "Pat@Example.com"}},
        "/v1/page": {"userId": "u1", "name": "Home", "category": "Docs"},
        "/v1/screen": {"userId": "u1", "name": "Cart"},
        "/v1/alias": {"previousId": "anon-9", "userId": "u1"},
        "/v1/group": {"userId": "u1", "groupId": "g1", "traits": {"industry": "Retail"}},
    }
    for path, message in calls.items():
        response = post(path, message)
        assert response.status_code == 200, (path, response.content)
    names = set(Event.objects.values_list("event_type__name", flat=True))
    assert {
        "Order Completed",
        "user_identified",
        "page_viewed",
        "screen_viewed",
        "user_aliased",
        "group_joined",
    } <= names
    [page] = events_named("page_viewed")
    assert page.params == {"name": "Home", "category": "Docs"}
    contact = Contact.objects.get(external_id="u1")
    assert contact.email == "pat@example.com"
    assert contact.custom_fields["group_id"] == "g1"
    assert contact.custom_fields["group_industry"] == "Retail"


def test_alias_merges_the_anonymous_contact_into_the_user(post):
    assert post("/v1/track", {"anonymousId": "anon-1", "event": "Viewed"}).status_code == 200
    assert post("/v1/track", {"userId": "u1", "event": "Signed Up"}).status_code == 200
    assert Contact.objects.count() == 2
    assert post("/v1/alias", {"previousId": "anon-1", "userId": "u1"}).status_code == 200
    [contact] = Contact.objects.all()
    assert contact.external_id == "u1"
    assert set(Event.objects.values_list("contact_id", flat=True)) == {contact.pk}


def test_identify_traits_update_the_profile(post):
    response = post(
        "/v1/identify",
        {
            "userId": "u1",
            "traits": {
                "email": "a@example.com",
                "phone": "+905551112233",
                "firstName": "Ada",
                "plan": "pro",
                "address": {"country": "TR"},
            },
        },
    )
    assert response.status_code == 200, response.content
    contact = Contact.objects.get(external_id="u1")
    assert (contact.email, contact.phone, contact.country) == (
        "a@example.com",
        "+905551112233",
        "TR",
    )
    assert contact.custom_fields["first_name"] == "Ada"
    assert contact.custom_fields["plan"] == "pro"
    [event] = events_named("user_identified")
    assert event.params["plan"] == "pro"


def test_a_bad_trait_is_named_and_nothing_is_stored(post):
    response = post("/v1/identify", {"userId": "u1", "traits": {"email": "not-an-email"}})
    assert response.status_code == 400
    assert response.json()["detail"] == {"traits.email": ["is not a valid email address"]}
    assert not Event.objects.exists()


def test_reserved_at_names_are_refused_naming_the_event(post):
    response = post("/v1/track", track(event="@APP_OPEN"))
    assert response.status_code == 400
    assert "reserved" in response.json()["detail"]["event"][0]


def test_a_refused_batch_message_is_named_and_the_others_are_stored(post):
    batch = {
        "batch": [
            track(messageId="ok-1"),
            track(messageId="bad", event="@OPT_IN"),
            {"type": "identify", "userId": "u2", "traits": {"email": "nope"}},
            track(messageId="ok-2", properties={"n": 1}),
        ]
    }
    response = post("/v1/batch", batch)
    assert response.status_code == 400
    body = response.json()
    assert set(body["detail"]) == {"batch[1].event", "batch[2].traits.email"}
    assert body["stored"] == 2
    assert body["code"] == "validation"
    assert len(events_named("Order Completed")) == 2


def test_replaying_a_batch_stores_nothing_new(post):
    batch = {
        "batch": [
            track(messageId="m1"),
            {"type": "identify", "messageId": "m2", "userId": "u1", "traits": {"plan": "a"}},
            track(messageId="m3", anonymousId="anon", userId=None),
        ]
    }
    assert post("/v1/batch", batch).status_code == 200
    counts = (Event.objects.count(), Contact.objects.count())
    profile = Contact.objects.get(external_id="u1").custom_fields
    assert post("/v1/batch", batch).status_code == 200
    assert post("/v1/import", batch).status_code == 200
    assert (Event.objects.count(), Contact.objects.count()) == counts
    assert Contact.objects.get(external_id="u1").custom_fields == profile


def test_clock_skew_is_corrected(post):
    now = timezone.now()
    skew = timedelta(hours=2)  # the device's clock is two hours fast
    message = track(
        messageId="skewed",
        originalTimestamp=(now + skew - timedelta(minutes=1)).isoformat(),
        sentAt=(now + skew).isoformat(),
    )
    response = post("/v1/batch", {"batch": [message]})
    assert response.status_code == 200, response.content
    [event] = events_named("Order Completed")
    assert abs(event.occurred_at - (now - timedelta(minutes=1))) < timedelta(seconds=5)


def test_a_device_token_registers_a_device(post):
    message = track(
        context={
            "device": {"token": "fcm-123", "type": "android", "id": "inst-1"},
            "timezone": "Europe/Istanbul",
            "locale": "tr-TR",
        }
    )
    assert post("/v1/track", message).status_code == 200
    device = Device.objects.get()
    assert (device.token, device.platform, device.installation_id) == (
        "fcm-123",
        "android",
        "inst-1",
    )
    assert device.push_permission_granted
    contact = Contact.objects.get(external_id="u1")
    assert (contact.timezone, contact.language, contact.country) == ("Europe/Istanbul", "tr", "TR")


def test_a_nul_in_a_property_is_named(post):
    response = post("/v1/track", track(properties={"sku": "a\u0000b"}))
    assert response.status_code == 400
    assert "properties.sku" in response.json()["detail"]


def test_bad_keys_are_rate_limited_per_ip(post, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "anonymous": "3/m",
        },
    }
    statuses = [
        post("/v1/track", track(writeKey="wrong"), auth=False).status_code for _ in range(5)
    ]
    assert statuses[:3] == [401, 401, 401]
    assert statuses[3:] == [429, 429]


def test_a_valid_key_is_rate_limited_at_its_scope_rate(post, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "ingest": "2/m",
        },
    }
    statuses = [post("/v1/track", track(messageId=f"r{i}")).status_code for i in range(3)]
    assert statuses == [200, 200, 429]
