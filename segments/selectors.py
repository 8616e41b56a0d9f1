"""Reads on segments."""

from __future__ import annotations

from django.db.models import QuerySet

from contacts.models import App, Contact
from segments.conditions.compiler import segment_contacts
from segments.conditions.validation import conditions_validate
from segments.models import Segment


def segment_preview(*, app: App, conditions, sample_size: int = 10) -> tuple[int, list[Contact]]:
    """How many contacts match `conditions` now, and a few of them (nothing is saved)."""
    conditions_validate(app=app, conditions=conditions)
    contacts = segment_contacts(app=app, conditions=conditions)
    return contacts.count(), list(contacts.order_by("-last_seen_at", "-pk")[:sample_size])


def segment_list(*, app: App) -> QuerySet[Segment]:
    return Segment.objects.filter(app=app)
