"""The API for each app's mobile push credentials: GET /api/v1/push/credentials, and PUT / DELETE
of .../fcm, .../apns and .../onesignal. Admin-scope keys only; a secret goes in and never comes
back (in an answer, an error or a log line); production without an encryption key refuses with
400; one app never sees another's."""

from __future__ import annotations

import json
import logging

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.utils.dateparse import parse_datetime
from rest_framework.test import APIClient

from campaigns.credentials import NO_KEY, fcm_config
from campaigns.models import ApnsCredentials, FcmCredentials, OneSignalCredentials
from campaigns.services.credentials import fcm_credentials_set, onesignal_credentials_set
from contacts.api.auth import HasAdminScope
from tests.campaigns.apns_service import make_signing_key
from tests.campaigns.credential_fixtures import ONESIGNAL_API_KEY, ONESIGNAL_APP_ID, apns_fields
from tests.campaigns.fcm_service import make_service_account

pytestmark = pytest.mark.usefixtures("fresh_credentials_cache", "encryption_key")

URL = "/api/v1/push/credentials"
NONE_SET = {"fcm": None, "apns": None, "onesignal": None}


def put(client, service: str, body):
    return client.put(f"{URL}/{service}", body, format="json")


def secret_lines(secret: str) -> list[str]:
    """The secret's lines, except a PEM's armour (-----BEGIN ...-----)."""
    return [line for line in secret.splitlines() if line and not line.startswith("-----")]


def assert_hidden(response, secret: str) -> None:
    """Neither the secret nor any line of it (a PEM's base64) is in the answer."""
    text = response.content.decode()
    assert secret not in text and "PRIVATE KEY" not in text
    assert not [line for line in secret_lines(secret) if line in text]


def refused(response, field: str) -> list[str]:
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["error"] == "validation" and field in body["detail"], body
    return body["detail"][field]


def p384_key() -> str:
    """A PKCS#8 PEM EC key on the wrong curve for APNs."""
    key = ec.generate_private_key(ec.SECP384R1())
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


# Reading ---------------------------------------------------------------------------------------


def test_an_app_without_credentials_has_null_for_each_service(admin_client):
    response = admin_client.get(URL)

    assert response.status_code == 200
    assert response.json() == NONE_SET


# FCM -------------------------------------------------------------------------------------------


def test_a_service_account_is_set_and_read_back_without_its_key(admin_client, app, account):
    text = json.dumps(account, indent=2)

    response = put(admin_client, "fcm", {"service_account": text})

    assert response.status_code == 200, response.content
    answer = response.json()
    assert set(answer) == {
        "project_id",
        "client_email",
        "secret_fingerprint",
        "secret_set_at",
        "updated_at",
    }
    assert (answer["project_id"], answer["client_email"]) == (
        "shop-app-1234",
        account["client_email"],
    )
    assert answer["secret_fingerprint"] == account["private_key_id"]
    stored = FcmCredentials.objects.get(app=app)
    assert parse_datetime(answer["secret_set_at"]) == stored.secret_set_at
    listing = admin_client.get(URL)
    assert listing.json() == {**NONE_SET, "fcm": answer}
    for each in (response, listing):
        assert text not in each.content.decode()
        assert_hidden(each, account["private_key"])


def test_a_service_account_pasted_as_an_object_is_stored_as_its_text(admin_client, app, account):
    response = put(admin_client, "fcm", {"service_account": account})

    assert response.status_code == 200, response.content
    assert json.loads(fcm_config(app.pk).service_account) == account
    assert_hidden(response, account["private_key"])


def test_a_new_service_account_replaces_the_one_set(admin_client, app, account):
    put(admin_client, "fcm", {"service_account": json.dumps(account)})
    other = make_service_account("shop-app-5678")[0]

    response = put(admin_client, "fcm", {"service_account": json.dumps(other)})

    assert response.status_code == 200
    assert response.json()["project_id"] == "shop-app-5678"
    assert response.json()["secret_fingerprint"] == other["private_key_id"]
    assert FcmCredentials.objects.get(app=app).project_id == "shop-app-5678"


def test_deleting_the_service_account_removes_it(admin_client, app, account):
    put(admin_client, "fcm", {"service_account": json.dumps(account)})

    response = admin_client.delete(f"{URL}/fcm")

    assert response.status_code == 204
    assert not FcmCredentials.objects.filter(app=app).exists()
    assert admin_client.get(URL).json() == NONE_SET
    again = admin_client.delete(f"{URL}/fcm")
    assert again.status_code == 404
    assert again.json() == {"error": "not_found", "detail": "the app has no fcm credentials"}


def test_a_deletion_is_seen_at_once_by_the_process_that_made_it(
    admin_client, app, account, django_capture_on_commit_callbacks
):
    fcm_credentials_set(app=app, service_account=json.dumps(account))
    assert fcm_config(app.pk) is not None  # now cached

    with django_capture_on_commit_callbacks(execute=True):
        admin_client.delete(f"{URL}/fcm")

    assert fcm_config(app.pk) is None


# APNs ------------------------------------------------------------------------------------------


def test_apns_credentials_are_set_changed_and_deleted_without_the_key_shown(
    admin_client, app, apple_key
):
    response = put(admin_client, "apns", apns_fields(apple_key, environment="sandbox"))

    assert response.status_code == 200, response.content
    first = response.json()
    assert {name: first[name] for name in ("key_id", "team_id", "bundle_id", "environment")} == {
        "key_id": apple_key["key_id"],
        "team_id": apple_key["team_id"],
        "bundle_id": "com.example.shop",
        "environment": "sandbox",
    }
    assert first["secret_fingerprint"].startswith("sha256:")
    assert admin_client.get(URL).json()["apns"] == first

    changed = put(
        admin_client, "apns", apns_fields(apple_key, bundle_id="com.example.beta", private_key=None)
    )
    assert changed.status_code == 200, changed.content
    assert changed.json()["bundle_id"] == "com.example.beta"
    assert changed.json()["secret_fingerprint"] == first["secret_fingerprint"]
    assert changed.json()["secret_set_at"] == first["secret_set_at"]

    new_key = make_signing_key()[0]
    replaced = put(admin_client, "apns", apns_fields(new_key))
    assert replaced.json()["secret_fingerprint"] != first["secret_fingerprint"]

    for answer in (response, changed, replaced, admin_client.get(URL)):
        assert_hidden(answer, apple_key["private_key"])
        assert_hidden(answer, new_key["private_key"])
    assert admin_client.delete(f"{URL}/apns").status_code == 204
    assert not ApnsCredentials.objects.filter(app=app).exists()
    assert admin_client.delete(f"{URL}/apns").status_code == 404


def test_the_apns_key_may_be_left_out_once_it_is_set(admin_client, apple_key):
    put(admin_client, "apns", apns_fields(apple_key))
    body = apns_fields(apple_key, environment="sandbox")
    del body["private_key"]

    response = put(admin_client, "apns", body)

    assert response.status_code == 200, response.content
    assert response.json()["environment"] == "sandbox"


# OneSignal -------------------------------------------------------------------------------------


def test_onesignal_credentials_are_set_changed_and_deleted_without_the_key_shown(admin_client, app):
    body = {"onesignal_app_id": ONESIGNAL_APP_ID, "api_key": ONESIGNAL_API_KEY}

    response = put(admin_client, "onesignal", body)

    assert response.status_code == 200, response.content
    first = response.json()
    assert first["onesignal_app_id"] == ONESIGNAL_APP_ID
    assert first["secret_fingerprint"].startswith("sha256:")
    assert admin_client.get(URL).json() == {**NONE_SET, "onesignal": first}

    other_app_id = "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9"
    changed = put(admin_client, "onesignal", {"onesignal_app_id": other_app_id})
    assert changed.status_code == 200, changed.content
    assert changed.json()["onesignal_app_id"] == other_app_id
    assert changed.json()["secret_fingerprint"] == first["secret_fingerprint"]

    replaced = put(admin_client, "onesignal", {**body, "api_key": "os_v2_app_another_key"})
    assert replaced.json()["secret_fingerprint"] != first["secret_fingerprint"]

    for answer in (response, changed, replaced, admin_client.get(URL)):
        assert_hidden(answer, ONESIGNAL_API_KEY)
        assert_hidden(answer, "os_v2_app_another_key")
    assert admin_client.delete(f"{URL}/onesignal").status_code == 204
    assert not OneSignalCredentials.objects.filter(app=app).exists()
    assert admin_client.delete(f"{URL}/onesignal").status_code == 404


# Refusals --------------------------------------------------------------------------------------


def test_a_service_account_that_is_not_json_is_refused(admin_client):
    reasons = refused(put(admin_client, "fcm", {"service_account": "not json"}), "service_account")
    assert reasons == ["This is not a JSON file."]


@pytest.mark.parametrize(
    "value",
    [
        '{"type": "authorized_user"}',
        {"type": "service_account", "project_id": "p-12345"},
        "[" * 5000 + "]" * 5000,  # deeper than Python's json can parse
        12,
        ["a list"],
        None,
    ],
)
def test_what_is_no_service_account_is_refused_naming_the_field(admin_client, value):
    refused(put(admin_client, "fcm", {"service_account": value}), "service_account")
    assert not FcmCredentials.objects.exists()


def test_a_service_account_without_the_field_is_refused(admin_client):
    refused(put(admin_client, "fcm", {}), "service_account")
    refused(put(admin_client, "fcm", ["not", "an", "object"]), "non_field_errors")


@pytest.mark.parametrize(
    "changes",
    [
        {"client_email": "robot\x00@shop-app-1234.iam.gserviceaccount.com"},
        {"client_email": "r" * 250 + "@shop-app-1234.iam.gserviceaccount.com"},
        {"private_key_id": "key id\x00"},
    ],
)
def test_a_service_account_with_what_no_column_can_hold_is_refused(admin_client, account, changes):
    """NUL (PostgreSQL refuses it) or an email past its column, escaped in the key file's text."""
    text = json.dumps({**account, **changes})

    refused(put(admin_client, "fcm", {"service_account": text}), "service_account")


def test_a_pasted_object_is_checked_as_its_text_would_be(admin_client, account):
    nul = {"service_account": {**account, "client_email": "a\x00@b.c"}}
    assert refused(put(admin_client, "fcm", nul), "service_account") == [
        "The service account key's client_email is not an email address."
    ]
    deep = {"service_account": {**account, "extra": json.loads("[" * 900 + "]" * 900)}}
    refused(put(admin_client, "fcm", deep), "service_account")


def test_a_service_account_whose_key_is_broken_is_refused_without_quoting_it(admin_client, account):
    secret_body = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7broken"
    broken = {
        **account,
        "private_key": f"-----BEGIN PRIVATE KEY-----\n{secret_body}\n-----END PRIVATE KEY-----\n",
    }

    response = put(admin_client, "fcm", {"service_account": json.dumps(broken)})

    assert "not an unencrypted PEM private key" in refused(response, "service_account")[0]
    assert secret_body not in response.content.decode()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"key_id": "abc"}, "key_id"),
        ({"team_id": "lower12345"}, "team_id"),
        ({"bundle_id": "noDots"}, "bundle_id"),
        ({"bundle_id": "a." * 130}, "bundle_id"),
        ({"environment": "staging"}, "environment"),
        ({"key_id": 1234567890}, "key_id"),
        ({"private_key": "not a key"}, "private_key"),
        ({"private_key": 5}, "private_key"),
    ],
)
def test_apns_fields_are_checked(admin_client, apple_key, changes, field):
    refused(put(admin_client, "apns", apns_fields(apple_key, **changes)), field)
    assert not ApnsCredentials.objects.exists()


def test_a_p8_key_on_the_wrong_curve_is_refused_without_quoting_it(admin_client, apple_key):
    pem = p384_key()

    response = put(admin_client, "apns", apns_fields(apple_key, private_key=pem))

    assert refused(response, "private_key") == [
        "The .p8 file is not an APNs key (an ECDSA P-256 key)."
    ]
    assert_hidden(response, pem)


def test_the_first_apns_credentials_need_the_key(admin_client, apple_key):
    response = put(admin_client, "apns", apns_fields(apple_key, private_key=None))

    assert refused(response, "private_key") == ["Upload the .p8 key."]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"onesignal_app_id": "nope", "api_key": ONESIGNAL_API_KEY}, "onesignal_app_id"),
        ({"onesignal_app_id": 12, "api_key": ONESIGNAL_API_KEY}, "onesignal_app_id"),
        ({"onesignal_app_id": ONESIGNAL_APP_ID}, "api_key"),
        ({"onesignal_app_id": ONESIGNAL_APP_ID, "api_key": "short"}, "api_key"),
        ({"api_key": ONESIGNAL_API_KEY}, "onesignal_app_id"),
    ],
)
def test_onesignal_fields_are_checked(admin_client, body, field):
    refused(put(admin_client, "onesignal", body), field)
    assert not OneSignalCredentials.objects.exists()


def test_a_refused_onesignal_key_is_not_quoted(admin_client):
    secret = "os_v2_app_secret with a space"
    body = {"onesignal_app_id": ONESIGNAL_APP_ID, "api_key": secret}

    response = put(admin_client, "onesignal", body)

    assert refused(response, "api_key") == [
        "A OneSignal REST API key is 8 to 512 characters, with no spaces."
    ]
    assert "os_v2_app_secret" not in response.content.decode()


# Secrets and logs ------------------------------------------------------------------------------


def test_no_secret_reaches_a_log_line(admin_client, account, apple_key, caplog):
    caplog.set_level(logging.DEBUG)
    secrets = [account["private_key"], apple_key["private_key"], ONESIGNAL_API_KEY]

    put(admin_client, "fcm", {"service_account": json.dumps(account)})
    put(admin_client, "apns", apns_fields(apple_key))
    put(admin_client, "onesignal", {"onesignal_app_id": ONESIGNAL_APP_ID, "api_key": "bad key!"})
    put(admin_client, "onesignal", {"onesignal_app_id": "x", "api_key": ONESIGNAL_API_KEY})
    admin_client.get(URL)

    assert any(record.name == "beacon.request" for record in caplog.records)
    logged = caplog.text + "".join(repr(vars(record)) for record in caplog.records)
    for secret in [*secrets, "bad key!"]:
        assert not [line for line in secret_lines(secret) if line in logged]


def test_the_schema_offers_no_secret_in_an_answer():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    components = schema["components"]["schemas"]
    for name in ("FcmCredentialsOutput", "ApnsCredentialsOutput", "OneSignalCredentialsOutput"):
        properties = set(components[name]["properties"])
        assert not properties & {"service_account", "private_key", "api_key", "encrypted_secret"}
    delete = schema["paths"][f"{URL}/fcm"]["delete"]["responses"]
    assert {"204", "403", "404"} <= set(delete)


# Production without an encryption key ----------------------------------------------------------


@pytest.mark.parametrize("service", ["fcm", "apns", "onesignal"])
def test_production_without_an_encryption_key_answers_400_saying_why(
    admin_client, settings, account, apple_key, service
):
    settings.DEBUG, settings.PUSH_CREDENTIALS_KEYS = False, []
    bodies = {
        "fcm": {"service_account": json.dumps(account)},
        "apns": apns_fields(apple_key),
        "onesignal": {"onesignal_app_id": ONESIGNAL_APP_ID, "api_key": ONESIGNAL_API_KEY},
    }

    response = put(admin_client, service, bodies[service])

    assert refused(response, "non_field_errors") == [NO_KEY]
    assert "PUSH_CREDENTIALS_KEYS is not set" in NO_KEY
    assert admin_client.get(URL).json() == NONE_SET


# Who may call ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [("get", ""), ("put", "/fcm"), ("put", "/apns"), ("put", "/onesignal"), ("delete", "/fcm")],
)
def test_an_ingest_key_is_refused(ingest_client, app, method, path):
    onesignal_credentials_set(app=app, onesignal_app_id=ONESIGNAL_APP_ID, api_key=ONESIGNAL_API_KEY)

    response = ingest_client.generic(method.upper(), f"{URL}{path}", "{}", "application/json")

    assert response.status_code == 403
    assert response.json() == {"error": "permission", "detail": HasAdminScope.message}
    assert OneSignalCredentials.objects.filter(app=app).exists()


def test_no_key_is_refused(db):
    assert APIClient().get(URL).status_code == 401


def test_another_apps_credentials_are_never_visible(
    admin_client, other_admin_client, other_app, account
):
    body = {"onesignal_app_id": ONESIGNAL_APP_ID, "api_key": ONESIGNAL_API_KEY}
    assert put(other_admin_client, "onesignal", body).status_code == 200
    assert (
        put(other_admin_client, "fcm", {"service_account": json.dumps(account)}).status_code == 200
    )

    assert admin_client.get(URL).json() == NONE_SET
    assert admin_client.delete(f"{URL}/onesignal").status_code == 404
    assert OneSignalCredentials.objects.filter(app=other_app).exists()
    mine = put(admin_client, "onesignal", {"onesignal_app_id": ONESIGNAL_APP_ID})
    assert refused(mine, "api_key") == ["Enter the REST API key."]  # theirs is not "set" for me
    assert other_admin_client.get(URL).json()["fcm"]["project_id"] == "shop-app-1234"


def test_the_admin_endpoints_grant_no_cross_origin_access(admin_client):
    preflight = APIClient().options(
        URL,
        HTTP_ORIGIN="https://shop.example.com",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="PUT",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization,content-type",
    )
    assert "Access-Control-Allow-Origin" not in preflight
    response = admin_client.get(URL, HTTP_ORIGIN="https://shop.example.com")
    assert "Access-Control-Allow-Origin" not in response
