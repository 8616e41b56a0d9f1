"""Fixtures for campaigns: a local push service to send web pushes to, and VAPID keys."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from campaigns.vapid import VapidKeys, vapid_keys_cache_clear
from tests.campaigns.push_service import LocalPushService, b64encode


@pytest.fixture
def push_service(settings):
    """A running LocalPushService; its http://127.0.0.1 endpoints are allowed while it runs."""
    settings.WEBPUSH_ALLOW_HTTP_LOCALHOST = True
    with LocalPushService() as service:
        yield service


@pytest.fixture
def vapid() -> VapidKeys:
    """A VAPID key pair of the test's own (not the one in var/)."""
    private = ec.generate_private_key(ec.SECP256R1())
    public = private.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    raw_private = private.private_numbers().private_value.to_bytes(32, "big")
    return VapidKeys(b64encode(public), b64encode(raw_private), "mailto:ops@example.com")


@pytest.fixture
def fresh_vapid_cache():
    """A process that has not read the stored VAPID key pair yet (as after a restart)."""
    vapid_keys_cache_clear()
    yield
    vapid_keys_cache_clear()


@pytest.fixture
def environment_vapid_keys(settings, vapid) -> VapidKeys:
    """VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY set (to `vapid`'s pair)."""
    settings.VAPID_PUBLIC_KEY, settings.VAPID_PRIVATE_KEY = vapid.public_key, vapid.private_key
    return vapid
