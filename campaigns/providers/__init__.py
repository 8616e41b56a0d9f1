"""Push providers, one per device platform (campaigns/providers/base.py has the interface)."""

from __future__ import annotations

import functools

from campaigns.providers.base import Provider


@functools.cache
def provider_for(platform: str) -> Provider | None:
    """The provider for a `Device.platform` (one per process), or None if there is none yet."""
    if platform == "web":
        from campaigns.providers.webpush import WebPushProvider

        return WebPushProvider()
    return None
