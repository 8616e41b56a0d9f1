"""Setting and deleting an app's credentials for the mobile push services (campaigns/credentials.py
keeps them encrypted). Each set replaces what the app had for that service; a secret left out
(None) keeps the stored one. Refusals are ValidationErrors keyed by argument name, except the one
of production without PUSH_CREDENTIALS_KEYS (NO_KEY), which no argument can fix."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from campaigns.credentials import (
    apns_ids_check,
    apns_key_fingerprint,
    apns_key_parse,
    credentials_cache_clear,
    onesignal_api_key_check,
    onesignal_app_id_check,
    secret_encrypt,
    secret_fingerprint,
    service_account_parse,
)
from campaigns.models import (
    ApnsCredentials,
    FcmCredentials,
    OneSignalCredentials,
    PushCredentials,
)
from contacts.models import App


def fcm_credentials_set(*, app: App, service_account: str) -> FcmCredentials:
    """Store a service account's JSON key; its project id says where pushes go."""
    info = _field("service_account", service_account_parse, service_account)
    values = {
        "project_id": info["project_id"],
        "client_email": info["client_email"],
        # The key's id, as the Google Cloud console lists the service account's keys.
        **_secret(service_account.strip(), fingerprint=info["private_key_id"][:40]),
    }
    return _store(FcmCredentials, app, values)


def apns_credentials_set(
    *,
    app: App,
    key_id: str,
    team_id: str,
    bundle_id: str,
    environment: str,
    private_key: str | None = None,
) -> ApnsCredentials:
    """Store an APNs authentication key (.p8) with its key id, team id and the app's bundle id."""
    apns_ids_check(key_id=key_id, team_id=team_id, bundle_id=bundle_id)
    if environment not in ApnsCredentials.Environment.values:
        raise ValidationError({"environment": ["Choose production or sandbox."]})
    values = {"key_id": key_id, "team_id": team_id, "bundle_id": bundle_id}
    values["environment"] = environment
    if private_key is not None:
        pem = _field("private_key", apns_key_parse, private_key)
        values.update(_secret(pem, fingerprint=apns_key_fingerprint(pem)))
    elif not ApnsCredentials.objects.filter(app=app).exists():
        raise ValidationError({"private_key": ["Upload the .p8 key."]})
    return _store(ApnsCredentials, app, values)


def onesignal_credentials_set(
    *, app: App, onesignal_app_id: str, api_key: str | None = None
) -> OneSignalCredentials:
    """Store a OneSignal app id and its REST API key."""
    values = {
        "onesignal_app_id": _field("onesignal_app_id", onesignal_app_id_check, onesignal_app_id)
    }
    if api_key is not None:
        key = _field("api_key", onesignal_api_key_check, api_key)
        values.update(_secret(key, fingerprint=secret_fingerprint(key)))
    elif not OneSignalCredentials.objects.filter(app=app).exists():
        raise ValidationError({"api_key": ["Enter the REST API key."]})
    return _store(OneSignalCredentials, app, values)


def push_credentials_delete(*, credentials: PushCredentials) -> None:
    """Remove an app's credentials for one push service: nothing is sent through it any more (by
    this process at once, by the others within CACHE_SECONDS)."""
    credentials.delete()
    transaction.on_commit(credentials_cache_clear)


def _field(name: str, check, value):
    """`check(value)`, its refusal keyed by the argument's name."""
    try:
        return check(value)
    except ValidationError as exc:
        raise ValidationError({name: exc.messages}) from None


def _secret(secret: str, *, fingerprint: str) -> dict:
    return {
        "encrypted_secret": secret_encrypt(secret),
        "secret_fingerprint": fingerprint,
        "secret_set_at": timezone.now(),
    }


def _store(model, app: App, values: dict):
    with transaction.atomic():
        credentials, _ = model.objects.update_or_create(app=app, defaults=values)
    transaction.on_commit(credentials_cache_clear)
    return credentials
