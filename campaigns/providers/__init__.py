"""Push providers, one per device platform (campaigns/providers/base.py has the interface)."""

from __future__ import annotations

import functools

from campaigns.providers.base import Provider

# Imported here, not on the first send: a Celery prefork parent imports it once for all its
# children, instead of each child paying pywebpush's and cryptography's imports (most of a
# second on this machine) on the push it is sending.
from campaigns.providers.webpush import WebPushProvider
from campaigns.vapid import VapidKeys, vapid_keys


def provider_for(platform: str) -> Provider | None:
    """The provider for a `Device.platform`, or None if there is none yet."""
    if platform == "web":
        return _web_push_provider(vapid_keys())
    return None


@functools.lru_cache(maxsize=1)
def _web_push_provider(keys: VapidKeys) -> WebPushProvider:
    # One per process and key pair: after a rotation the next send signs with the new pair.
    return WebPushProvider(keys)
