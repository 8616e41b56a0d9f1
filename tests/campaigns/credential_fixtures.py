"""Fixtures and values for the push credentials tests (the fixtures are imported by conftest.py):
an encryption key, a service account's JSON key, an APNs key, OneSignal ids, and no credentials
cached across tests."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from campaigns.credentials import credentials_cache_clear
from tests.campaigns.apns_service import make_signing_key
from tests.campaigns.fcm_service import make_service_account

ONESIGNAL_APP_ID = "5eb5a37e-b458-11e3-ac11-000c2940e62c"
ONESIGNAL_API_KEY = "os_v2_app_secretsecretsecret"


@pytest.fixture
def fresh_credentials_cache():
    credentials_cache_clear()
    yield
    credentials_cache_clear()


@pytest.fixture
def encryption_key(settings) -> str:
    """PUSH_CREDENTIALS_KEYS set to a new key (returned)."""
    key = Fernet.generate_key().decode()
    settings.PUSH_CREDENTIALS_KEYS = [key]
    return key


@pytest.fixture
def account() -> dict:
    """A service account's JSON key (as a dict), known to no service."""
    return make_service_account("shop-app-1234")[0]


@pytest.fixture
def apple_key() -> dict:
    """An APNs key: the .p8 PEM, its key id, a team id and the bundle id."""
    return make_signing_key("com.example.shop")[0]


def apns_fields(key: dict, **changes) -> dict:
    """The arguments of apns_credentials_set for `key` (production), and the body of
    PUT /api/v1/push/credentials/apns."""
    fields = {
        "key_id": key["key_id"],
        "team_id": key["team_id"],
        "bundle_id": key["bundle_id"],
        "environment": "production",
        "private_key": key["private_key"],
    }
    return {**fields, **changes}
