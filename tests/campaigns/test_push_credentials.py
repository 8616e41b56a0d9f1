"""Each app's FCM, APNs and OneSignal credentials: checked when set, encrypted at rest, read back
as the providers' configurations, refused in production without an encryption key, and set in
the admin by Admins without the secret ever being shown back."""

from __future__ import annotations

import json

import pytest
from cryptography.fernet import Fernet
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from campaigns.credentials import (
    CredentialsUnreadable,
    apns_config,
    fcm_config,
    onesignal_config,
)
from campaigns.models import ApnsCredentials, FcmCredentials, OneSignalCredentials
from campaigns.services.credentials import (
    apns_credentials_set,
    fcm_credentials_set,
    onesignal_credentials_set,
)
from tests.campaigns.credential_fixtures import ONESIGNAL_API_KEY, ONESIGNAL_APP_ID, apns_fields

pytestmark = pytest.mark.usefixtures("fresh_credentials_cache")


def set_apns(app, key: dict, **changes) -> ApnsCredentials:
    return apns_credentials_set(app=app, **apns_fields(key, **changes))


# Services and reads ------------------------------------------------------------------------------


def test_a_service_account_is_stored_encrypted_and_read_back(app, account, encryption_key):
    text = json.dumps(account, indent=2)

    stored = fcm_credentials_set(app=app, service_account=text)

    assert (stored.project_id, stored.client_email) == ("shop-app-1234", account["client_email"])
    assert stored.secret_fingerprint == account["private_key_id"]
    row = FcmCredentials.objects.get(app=app)
    assert "PRIVATE KEY" not in row.encrypted_secret and account["client_email"] not in (
        row.encrypted_secret
    )
    assert Fernet(encryption_key).decrypt(row.encrypted_secret.encode()).decode() == text
    config = fcm_config(app.pk)
    assert config.project_id == "shop-app-1234" and json.loads(config.service_account) == account
    assert "PRIVATE KEY" not in repr(config)


def test_apns_credentials_are_stored_and_read_back(app, apple_key, encryption_key):
    stored = set_apns(app, apple_key, environment="sandbox")

    assert stored.secret_fingerprint.startswith("sha256:")
    config = apns_config(app.pk)
    assert (config.key_id, config.team_id, config.bundle_id, config.sandbox) == (
        apple_key["key_id"],
        apple_key["team_id"],
        "com.example.shop",
        True,
    )
    assert config.private_key.strip() == apple_key["private_key"].strip()
    assert "PRIVATE KEY" not in repr(config)


def test_apns_settings_change_without_uploading_the_key_again(app, apple_key, encryption_key):
    first = set_apns(app, apple_key)

    changed = set_apns(app, apple_key, private_key=None, bundle_id="com.example.shop.beta")

    assert changed.pk == first.pk and changed.bundle_id == "com.example.shop.beta"
    assert changed.encrypted_secret == first.encrypted_secret
    assert changed.secret_set_at == first.secret_set_at


def test_onesignal_credentials_are_stored_and_read_back(app, encryption_key):
    stored = onesignal_credentials_set(
        app=app, onesignal_app_id=ONESIGNAL_APP_ID, api_key=ONESIGNAL_API_KEY
    )

    assert ONESIGNAL_API_KEY not in stored.encrypted_secret
    assert onesignal_config(app.pk).app_id == ONESIGNAL_APP_ID
    assert onesignal_config(app.pk).api_key == ONESIGNAL_API_KEY
    assert ONESIGNAL_API_KEY not in repr(onesignal_config(app.pk))


def test_an_app_without_credentials_has_no_configuration(app, other_app, account, encryption_key):
    fcm_credentials_set(app=other_app, service_account=json.dumps(account))

    assert (fcm_config(app.pk), apns_config(app.pk), onesignal_config(app.pk)) == (None,) * 3


def test_a_change_is_read_at_once_by_the_process_that_made_it(
    app, encryption_key, django_capture_on_commit_callbacks
):
    onesignal_credentials_set(app=app, onesignal_app_id=ONESIGNAL_APP_ID, api_key=ONESIGNAL_API_KEY)
    assert onesignal_config(app.pk).api_key == ONESIGNAL_API_KEY  # now cached

    with django_capture_on_commit_callbacks(execute=True):
        onesignal_credentials_set(
            app=app, onesignal_app_id=ONESIGNAL_APP_ID, api_key="os_v2_app_another_key"
        )

    assert onesignal_config(app.pk).api_key == "os_v2_app_another_key"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "This is not a JSON file."),
        ('{"type": "authorized_user"}', "This is not a service account key"),
        ('{"type": "service_account", "project_id": "p-12345"}', "has no client_email"),
    ],
)
def test_what_is_no_service_account_key_is_refused(app, encryption_key, text, message):
    with pytest.raises(ValidationError) as refused:
        fcm_credentials_set(app=app, service_account=text)

    assert message in refused.value.message_dict["service_account"][0]
    assert not FcmCredentials.objects.exists()


def test_a_service_account_with_an_unusable_key_is_refused(app, account, encryption_key):
    broken = {
        **account,
        "private_key": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----",
    }

    with pytest.raises(ValidationError) as refused:
        fcm_credentials_set(app=app, service_account=json.dumps(broken))

    assert "not an unencrypted PEM private key" in str(refused.value)


def test_apns_identifiers_and_key_are_checked(app, apple_key, account, encryption_key):
    with pytest.raises(ValidationError) as refused:
        set_apns(app, apple_key, key_id="abc", team_id="lower12345", bundle_id="noDots")
    assert set(refused.value.message_dict) == {"key_id", "team_id", "bundle_id"}

    with pytest.raises(ValidationError) as refused:
        set_apns(app, apple_key, private_key=account["private_key"])  # an RSA key
    assert "not an APNs key" in refused.value.message_dict["private_key"][0]

    with pytest.raises(ValidationError) as refused:
        set_apns(app, apple_key, private_key=None)  # none stored yet
    assert refused.value.message_dict == {"private_key": ["Upload the .p8 key."]}


def test_onesignal_ids_and_key_are_checked(app, encryption_key):
    with pytest.raises(ValidationError) as refused:
        onesignal_credentials_set(app=app, onesignal_app_id="nope", api_key="has spaces in it")
    assert set(refused.value.message_dict) == {"onesignal_app_id"}

    with pytest.raises(ValidationError) as refused:
        onesignal_credentials_set(
            app=app, onesignal_app_id=ONESIGNAL_APP_ID, api_key="has spaces in it"
        )
    assert set(refused.value.message_dict) == {"api_key"}


def test_production_without_an_encryption_key_refuses_to_store_secrets(app, account, settings):
    settings.DEBUG, settings.PUSH_CREDENTIALS_KEYS = False, []

    with pytest.raises(ValidationError, match="PUSH_CREDENTIALS_KEYS is not set"):
        fcm_credentials_set(app=app, service_account=json.dumps(account))

    assert not FcmCredentials.objects.exists()


def test_development_without_a_key_encrypts_with_one_derived_from_secret_key(app, settings):
    settings.DEBUG, settings.PUSH_CREDENTIALS_KEYS = True, []

    onesignal_credentials_set(app=app, onesignal_app_id=ONESIGNAL_APP_ID, api_key=ONESIGNAL_API_KEY)

    assert ONESIGNAL_API_KEY not in OneSignalCredentials.objects.get().encrypted_secret
    assert onesignal_config(app.pk).api_key == ONESIGNAL_API_KEY


def test_a_new_key_first_still_reads_what_the_old_one_wrote(app, settings, encryption_key):
    onesignal_credentials_set(app=app, onesignal_app_id=ONESIGNAL_APP_ID, api_key=ONESIGNAL_API_KEY)
    settings.PUSH_CREDENTIALS_KEYS = [Fernet.generate_key().decode(), encryption_key]

    assert onesignal_config(app.pk).api_key == ONESIGNAL_API_KEY


def test_credentials_no_key_decrypts_are_reported_unreadable(app, settings, encryption_key):
    onesignal_credentials_set(app=app, onesignal_app_id=ONESIGNAL_APP_ID, api_key=ONESIGNAL_API_KEY)
    settings.PUSH_CREDENTIALS_KEYS = [Fernet.generate_key().decode()]

    with pytest.raises(CredentialsUnreadable, match="set them again"):
        onesignal_config(app.pk)


# The admin -------------------------------------------------------------------------------------

FCM_ADD = "/admin/campaigns/fcmcredentials/add/"
APNS_ADD = "/admin/campaigns/apnscredentials/add/"
ONESIGNAL_ADD = "/admin/campaigns/onesignalcredentials/add/"


def upload(name: str, text: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode(), content_type="application/octet-stream")


def test_an_admin_uploads_a_service_account_and_sees_only_its_fingerprint(
    staff_client, app, account, encryption_key
):
    response = staff_client.post(
        FCM_ADD,
        {"app": app.pk, "service_account_file": upload("key.json", json.dumps(account))},
        follow=True,
    )

    assert response.status_code == 200
    stored = FcmCredentials.objects.get(app=app)
    page = staff_client.get(f"/admin/campaigns/fcmcredentials/{stored.pk}/change/").text
    assert f"fingerprint {account['private_key_id']}" in page and "set on " in page
    assert account["client_email"] in page and "shop-app-1234" in page
    assert "PRIVATE KEY" not in page and stored.encrypted_secret not in page
    assert "Leave empty to keep the one that is set." in page


def test_saving_the_fcm_page_without_a_new_file_keeps_the_key(
    staff_client, app, account, encryption_key
):
    stored = fcm_credentials_set(app=app, service_account=json.dumps(account))

    response = staff_client.post(f"/admin/campaigns/fcmcredentials/{stored.pk}/change/", {})

    assert response.status_code == 302
    assert FcmCredentials.objects.get().encrypted_secret == stored.encrypted_secret


def test_a_file_that_is_no_service_account_is_refused_on_the_form(
    staff_client, app, encryption_key
):
    response = staff_client.post(
        FCM_ADD, {"app": app.pk, "service_account_file": upload("key.json", "{}")}
    )

    assert response.status_code == 200
    assert "This is not a service account key" in response.text
    assert not FcmCredentials.objects.exists()


def test_an_admin_sets_apns_credentials_with_the_p8_file(
    role_client, app, apple_key, encryption_key
):
    browser = role_client("Admin", app)
    grant(browser, "apnscredentials")
    data = {
        "app": app.pk,
        "key_id": apple_key["key_id"],
        "team_id": apple_key["team_id"],
        "bundle_id": "com.example.shop",
        "environment": "sandbox",
        "private_key_file": upload("AuthKey.p8", apple_key["private_key"]),
    }

    response = browser.post(APNS_ADD, data, follow=True)

    assert response.status_code == 200
    stored = ApnsCredentials.objects.get(app=app)
    assert stored.environment == "sandbox" and stored.bundle_id == "com.example.shop"
    page = browser.get(f"/admin/campaigns/apnscredentials/{stored.pk}/change/").text
    assert stored.secret_fingerprint in page and "PRIVATE KEY" not in page


def grant(browser, model: str) -> None:
    """Give the browser's user the model's permissions (contacts/services/roles.py is to grant
    them to the Admin role when the providers are wired)."""
    user = get_user_model().objects.get(pk=browser.session["_auth_user_id"])
    found = Permission.objects.filter(
        content_type__app_label="campaigns", content_type__model=model
    )
    user.user_permissions.add(*found)


def test_apns_identifiers_are_checked_on_the_form(staff_client, app, apple_key, encryption_key):
    data = {
        "app": app.pk,
        "key_id": "short",
        "team_id": apple_key["team_id"],
        "bundle_id": "com.example.shop",
        "environment": "production",
        "private_key_file": upload("AuthKey.p8", apple_key["private_key"]),
    }

    response = staff_client.post(APNS_ADD, data)

    assert response.status_code == 200 and "A key id is 10 capital letters" in response.text
    assert not ApnsCredentials.objects.exists()


def test_the_onesignal_key_is_never_sent_back(staff_client, app, encryption_key):
    data = {"app": app.pk, "onesignal_app_id": ONESIGNAL_APP_ID, "api_key": ONESIGNAL_API_KEY}

    staff_client.post(ONESIGNAL_ADD, data)

    stored = OneSignalCredentials.objects.get(app=app)
    page = staff_client.get(f"/admin/campaigns/onesignalcredentials/{stored.pk}/change/").text
    assert ONESIGNAL_API_KEY not in page and stored.secret_fingerprint in page
    listing = staff_client.get("/admin/campaigns/onesignalcredentials/").text
    assert ONESIGNAL_API_KEY not in listing and stored.secret_fingerprint in listing


def test_production_without_a_key_shows_why_nothing_was_stored(staff_client, app, settings):
    settings.DEBUG, settings.PUSH_CREDENTIALS_KEYS = False, []
    data = {"app": app.pk, "onesignal_app_id": ONESIGNAL_APP_ID, "api_key": ONESIGNAL_API_KEY}

    response = staff_client.post(ONESIGNAL_ADD, data, follow=True)

    assert "PUSH_CREDENTIALS_KEYS is not set" in response.text
    assert not OneSignalCredentials.objects.exists()


def test_a_marketer_neither_sees_nor_sets_credentials(role_client, app):
    marketer = role_client("Marketer", app)

    for model in ("fcmcredentials", "apnscredentials", "onesignalcredentials"):
        assert marketer.get(f"/admin/campaigns/{model}/").status_code == 403
        assert marketer.get(f"/admin/campaigns/{model}/add/").status_code == 403


def test_an_admin_sees_only_the_credentials_of_their_apps(
    role_client, app, other_app, encryption_key
):
    onesignal_credentials_set(
        app=other_app, onesignal_app_id=ONESIGNAL_APP_ID, api_key=ONESIGNAL_API_KEY
    )
    browser = role_client("Admin", app)
    grant(browser, "onesignalcredentials")

    listing = browser.get("/admin/campaigns/onesignalcredentials/").text

    assert ONESIGNAL_APP_ID not in listing
    stored = OneSignalCredentials.objects.get()
    change = browser.get(f"/admin/campaigns/onesignalcredentials/{stored.pk}/change/")
    assert change.status_code == 302  # "doesn't exist", back to the index


def test_deleting_in_the_admin_is_seen_at_once_by_the_process_that_did_it(
    staff_client, app, encryption_key, django_capture_on_commit_callbacks
):
    stored = onesignal_credentials_set(
        app=app, onesignal_app_id=ONESIGNAL_APP_ID, api_key=ONESIGNAL_API_KEY
    )
    assert onesignal_config(app.pk) is not None  # now cached

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            f"/admin/campaigns/onesignalcredentials/{stored.pk}/delete/", {"post": "yes"}
        )

    assert response.status_code == 302
    assert not OneSignalCredentials.objects.exists()
    assert onesignal_config(app.pk) is None
