"""Reads on apps and contacts."""

from __future__ import annotations

from contacts.models import ApiKey
from contacts.services.apps import hash_api_key


def api_key_lookup(*, raw_key: str) -> ApiKey | None:
    """The active key with this value (and its app), or None."""
    return (
        ApiKey.objects.select_related("app")
        .filter(key_hash=hash_api_key(raw_key), revoked_at__isnull=True)
        .first()
    )
