"""A contact's activity outside the tracking API: a notification click counts as activity."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Q
from django.db.models.functions import Coalesce

from contacts.models import Contact


def contact_session_start(*, contact_id: int, at: datetime, gap: timedelta) -> bool:
    """Move the contact's last-seen time to `at` if its last activity is older than `gap` (or
    it has none), and say whether it did: a new session starts at `at`. One conditional UPDATE,
    so two concurrent callers never both start one; the app's events just after `at` then find
    the contact active and open no session of their own."""
    return (
        Contact.objects.filter(
            Q(last_seen_at__isnull=True) | Q(last_seen_at__lt=at - gap), pk=contact_id
        ).update(last_seen_at=at, first_seen_at=Coalesce("first_seen_at", at))
        == 1
    )
