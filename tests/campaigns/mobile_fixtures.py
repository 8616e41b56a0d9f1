"""Fixtures for mobile push: the local FCM, APNs and OneSignal services with the settings
pointed at them, and an app whose credentials for all three are set (imported by conftest.py)."""

from __future__ import annotations

import json

import pytest
from cryptography.fernet import Fernet

from campaigns.credentials import credentials_cache_clear
from campaigns.providers import _mobile_provider, mobile_http
from campaigns.providers import apns as apns_module
from campaigns.providers import fcm as fcm_module
from campaigns.services.credentials import (
    apns_credentials_set,
    fcm_credentials_set,
    onesignal_credentials_set,
)
from tests.campaigns.apns_service import LocalApnsService
from tests.campaigns.fcm_service import LocalFcmService
from tests.campaigns.onesignal_service import LocalOneSignalService


@pytest.fixture
def fcm(settings):
    """A running LocalFcmService that FCM_BASE_URL and FCM_TOKEN_URL point at; no access token
    cached before or after."""
    fcm_module._access_tokens.clear()
    with LocalFcmService() as service:
        settings.FCM_BASE_URL, settings.FCM_TOKEN_URL = service.url, service.token_url
        yield service
    fcm_module._access_tokens.clear()


@pytest.fixture
def apns(settings, monkeypatch):
    """A running LocalApnsService that both APNS_BASE_URL and APNS_SANDBOX_BASE_URL point at,
    its certificate trusted by the providers' clients; no provider token cached."""
    apns_module._provider_tokens.clear()
    with LocalApnsService() as service:
        settings.APNS_BASE_URL = settings.APNS_SANDBOX_BASE_URL = service.url
        monkeypatch.setattr(mobile_http, "_tls_context", service.client_tls_context)
        mobile_http.forget()
        yield service
    mobile_http.forget()
    apns_module._provider_tokens.clear()


@pytest.fixture
def onesignal(settings):
    """A running LocalOneSignalService that ONESIGNAL_BASE_URL points at."""
    with LocalOneSignalService() as service:
        settings.ONESIGNAL_BASE_URL = service.url
        yield service


@pytest.fixture
def fresh_providers():
    """No credentials or providers cached from another test (they are per process)."""
    credentials_cache_clear()
    _mobile_provider.cache_clear()
    yield
    credentials_cache_clear()
    _mobile_provider.cache_clear()


@pytest.fixture
def mobile_app(app, fcm, apns, onesignal, fresh_providers, settings):
    """`app` with FCM, APNs (sandbox) and OneSignal credentials of the local services."""
    settings.PUSH_CREDENTIALS_KEYS = [Fernet.generate_key().decode()]
    account = fcm.service_account()
    fcm_credentials_set(app=app, service_account=json.dumps(account))
    key = apns.signing_key()
    apns_credentials_set(
        app=app,
        key_id=key["key_id"],
        team_id=key["team_id"],
        bundle_id=key["bundle_id"],
        environment="sandbox",
        private_key=key["private_key"],
    )
    onesignal_app = onesignal.app()
    onesignal_credentials_set(
        app=app, onesignal_app_id=onesignal_app["app_id"], api_key=onesignal_app["api_key"]
    )
    return app
