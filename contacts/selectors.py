"""Reads on apps and contacts."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Count, Prefetch, Q, QuerySet

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


def contacts_new_count(*, apps: QuerySet[App], now: datetime) -> dict[str, int]:
    """Contacts created in the last day and the last 7 days (a range of the app_created index)."""
    day, week = now - timedelta(days=1), now - timedelta(days=7)
    return Contact.objects.filter(app__in=apps, created_at__gte=week).aggregate(
        day=Count("pk", filter=Q(created_at__gte=day)), week=Count("pk")
    )


def devices_reachable_count(*, apps: QuerySet[App]) -> int:
    """Devices a push can reach: permission granted, not invalidated (a partial index)."""
    return Device.objects.filter(
        app__in=apps, push_permission_granted=True, invalidated_at__isnull=True
    ).count()
