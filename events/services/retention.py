"""Retention: events older than EVENT_RETENTION_DAYS are deleted; per-contact stats stay."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from events.models import Event

PURGE_CHUNK = 10_000


def events_purge_expired(*, now: datetime | None = None) -> int:
    """Delete expired events in chunks (short transactions); return how many were deleted."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.EVENT_RETENTION_DAYS)
    deleted = 0
    while True:
        expired = Event.objects.filter(occurred_at__lt=cutoff).values_list("pk", flat=True)
        ids = list(expired[:PURGE_CHUNK])
        if not ids:
            return deleted
        deleted += Event.objects.filter(pk__in=ids).delete()[0]
