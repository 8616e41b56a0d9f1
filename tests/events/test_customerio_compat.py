"""Customer.io's documented track call works on POST /api/v1/events as its document shows it:
form-encoded (`-d name=purchased -d data[price]=23.45 -d timestamp=1359389415`) or JSON, with
HTTP Basic auth (site id : key)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest
from rest_framework.test import APIClient

from contacts.models import ApiKey
from contacts.services.apps import api_key_create
from events.models import Event

FORM = "application/x-www-form-urlencoded"
CURL_BODY = "name=purchased&data%5Bprice%5D=23.45&timestamp=1359389415"  # what curl -d sends


def basic(user: str, password: str) -> dict:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"HTTP_AUTHORIZATION": f"Basic {token}"}


def post_form(body: str, auth: dict, **extra):
    return APIClient().post("/api/v1/events", body, content_type=FORM, **auth, **extra)


def stored(name: str) -> Event:
    return Event.objects.select_related("event_type", "contact").get(event_type__name=name)


def test_the_documented_curl_form_body_with_basic_auth_stores_the_event(ingest_key):
    response = post_form(CURL_BODY, basic("site-123", ingest_key))
    assert response.status_code == 200, response.json()
    event = stored("purchased")
    assert event.params == {"price": "23.45"}  # form values stay strings (docs/events.md)
    assert event.occurred_at == datetime.fromtimestamp(1359389415, tz=UTC)
    assert response.json()["contact_id"] == event.contact_id


def test_basic_auth_takes_the_key_as_the_user_name_too(ingest_key):
    # Segment's libraries: the key as user name, empty password
    response = post_form("name=opened", basic(ingest_key, ""))
    assert response.status_code == 200, response.json()
    assert stored("opened")


def test_basic_auth_with_a_wrong_key_or_garbage_is_a_401(ingest_key):
    assert post_form("name=x", basic("site", "bk_ingest_wrong")).status_code == 401
    bad = post_form("name=x", {"HTTP_AUTHORIZATION": "Basic not*base64"})
    assert bad.status_code == 401
    assert bad.json() == {
        "error": "authentication",
        "detail": "the Basic credentials are not base64",
    }
    assert post_form("name=x", basic("", "")).status_code == 401
    assert not Event.objects.exists()


def test_basic_auth_works_on_the_admin_api_with_an_admin_key(app):
    _, admin_key = api_key_create(app=app, name="admin", scope=ApiKey.Scope.ADMIN)
    response = APIClient().get("/api/v1/contacts", **basic("site", admin_key))
    assert response.status_code == 200
    _, ingest = api_key_create(app=app, name="ingest", scope=ApiKey.Scope.INGEST)
    assert APIClient().get("/api/v1/contacts", **basic(ingest, "")).status_code == 403


def test_json_with_name_data_and_timestamp_is_taken(ingest_client):
    body = {"name": "purchased", "data": {"price": 23.45}, "timestamp": 1359389415}
    response = ingest_client.post("/api/v1/events", body, format="json")
    assert response.status_code == 200, response.json()
    event = stored("purchased")
    assert event.params == {"price": 23.45}
    assert event.occurred_at == datetime.fromtimestamp(1359389415, tz=UTC)


def test_aliases_and_beacon_fields_give_the_same_fingerprint(ingest_client):
    alias = {"name": "purchased", "data": {"price": 1}, "timestamp": 1359389415}
    own = {"event_name": "purchased", "params": {"price": 1}, "event_time": 1359389415}
    first = ingest_client.post("/api/v1/events", alias, format="json").json()
    second = ingest_client.post("/api/v1/events", own, format="json").json()
    assert first["fingerprint"] == second["fingerprint"] and second["duplicate"] is True


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "a", "event_name": "b"}, "name"),
        ({"event_name": "a", "data": {"x": 1}, "params": {"y": 2}}, "data"),
        ({"event_name": "a", "timestamp": 1359389415, "event_time": 1359389415}, "timestamp"),
    ],
)
def test_an_alias_with_its_field_is_a_400_naming_the_alias(ingest_client, body, field):
    response = ingest_client.post("/api/v1/events", body, format="json")
    assert response.status_code == 400
    assert response.json()["detail"] == {field: [f"give {_field_of(field)} or {field}, not both"]}
    assert not Event.objects.exists()


def _field_of(alias: str) -> str:
    return {"name": "event_name", "data": "params", "timestamp": "event_time"}[alias]


def test_alias_errors_name_the_alias(ingest_client):
    response = ingest_client.post("/api/v1/events", {"name": "a*b", "data": {"": 1}}, format="json")
    assert response.status_code == 400
    assert set(response.json()["detail"]) == {"name", "data."}
    response = ingest_client.post("/api/v1/events", {"name": "x", "data": []}, format="json")
    assert response.json()["detail"] == {"data": ["must be a JSON object"]}


def test_a_form_body_nests_data_keys_and_lists(ingest_key):
    body = urlencode(
        [
            ("name", "checkout"),
            ("app_user_id", "u1"),
            ("data[cart][total]", "99.5"),
            ("data[cart][currency]", "EUR"),
            ("data[tags][]", "a"),
            ("data[tags][]", "b"),
            ("data[float_price]", "23.45"),
            ("context[app][version]", "2.1"),
            ("push_permission_granted", "false"),
        ]
    )
    response = post_form(body, basic("site", ingest_key))
    assert response.status_code == 200, response.json()
    event = stored("checkout")
    assert event.params == {
        "cart": {"total": "99.5", "currency": "EUR"},
        "tags": ["a", "b"],
        "float_price": 23.45,  # the float_ prefix types it, as for a JSON string
    }
    assert event.context == {"app": {"version": "2.1"}}
    assert event.contact.external_id == "u1"


@pytest.mark.parametrize(
    ("body", "field", "reason"),
    [
        ("name=x&plan=pro", "plan", "unknown field; an event's own data goes in params"),
        ("name=x&customer_id=u1", "customer_id", "unknown field; did you mean app_user_id?"),
        ("name=x&name=y", "name", "is given more than once"),
        ("name=x&data=1&data%5Ba%5D=2", "data[a]", "is given both as a value and as an object"),
        ("name=x&data%5B%5D%5Ba%5D=1", "data[][a]", "[] (a list) may only end a key"),
        ("name=x&%5Ba%5D=1", "[a]", "is not a field name, nor name[key]... for an object"),
        ("name=x&timestamp=yesterday", "timestamp", None),
        ("name=a%00b", "name", "must not contain NUL characters (\\u0000)"),
        ("name=x&push_permission_granted=yes", "push_permission_granted", None),
    ],
)
def test_a_bad_form_field_is_a_400_naming_it(ingest_key, body, field, reason):
    response = post_form(body, basic("site", ingest_key))
    assert response.status_code == 400, response.json()
    assert response.json()["error"] == "validation"
    detail = response.json()["detail"]
    assert field in detail, detail
    if reason:
        assert detail[field] == [reason]
    assert not Event.objects.exists()


def test_a_form_body_that_is_not_utf8_is_a_400(ingest_key):
    response = APIClient().post(
        "/api/v1/events", b"name=caf\xe9", content_type=FORM, **basic("s", ingest_key)
    )
    assert response.status_code == 400
    assert response.json()["detail"] == {"body": ["body is not valid UTF-8"]}


def test_a_form_body_with_the_key_in_it_authenticates(ingest_key):
    response = post_form(urlencode({"name": "opened", "api_key": ingest_key}), {})
    assert response.status_code == 200, response.json()


def test_a_form_body_over_the_limit_is_a_413(ingest_key):
    body = "name=x&data%5Bblob%5D=" + "a" * 1_000_001
    assert post_form(body, basic("s", ingest_key)).status_code == 413


def test_the_batch_endpoint_stays_json_only(ingest_key):
    response = APIClient().post(
        "/api/v1/events/batch", "events=1", content_type=FORM, **basic("s", ingest_key)
    )
    assert response.status_code == 415
