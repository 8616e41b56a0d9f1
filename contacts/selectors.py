"""Reads on apps and contacts."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from contacts.models import ApiKey, App, Contact, Device
from contacts.services.apps import hash_api_key


def api_key_lookup(*, raw_key: str) -> ApiKey | None:
    """The active key with this value (and its app), or None."""
    return (
        ApiKey.objects.select_related("app")
        .filter(key_hash=hash_api_key(raw_key), revoked_at__isnull=True)
        .first()
    )


def contact_list(*, app: App) -> QuerySet[Contact]:
    """The app's contacts, newest first, with their devices prefetched: one more query per page,
    not one per contact."""
    devices = Device.objects.order_by("id")
    return (
        Contact.objects.filter(app=app)
        .prefetch_related(Prefetch("devices", queryset=devices))
        .order_by("-id")
    )


def contact_get(*, app: App, contact_id: int) -> Contact | None:
    return contact_list(app=app).filter(pk=contact_id).first()
