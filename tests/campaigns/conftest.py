"""Fixtures for campaigns: a local push service to send web pushes to, and VAPID keys."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from campaigns.vapid import VapidKeys
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
