"""Push providers, one per device platform (campaigns/providers/base.py has the interface)."""

from __future__ import annotations

import functools

from campaigns.providers.base import Provider

# Imported here, not on the first send: a Celery prefork parent imports it once for all its
# children, instead of each child paying pywebpush's and cryptography's imports (most of a
# second on this machine) on the push it is sending.
from campaigns.providers.webpush import WebPushProvider


@functools.cache
def provider_for(platform: str) -> Provider | None:
    """The provider for a `Device.platform` (one per process), or None if there is none yet."""
    if platform == "web":
        return WebPushProvider()
    return None
