"""Reads on events and event types."""

from __future__ import annotations

from django.conf import settings
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce

from contacts.models import App, Contact
from events.models import ContactEventStats, Event, EventType


def contact_event_list(*, contact: Contact) -> QuerySet[Event]:
    """A contact's timeline, newest first (the id breaks ties between events of the same time)."""
    return (
        Event.objects.filter(app_id=contact.app_id, contact=contact)
        .select_related("event_type")
        .order_by("-occurred_at", "-id")
    )


def event_type_list(*, app: App) -> QuerySet[EventType]:
    """The app's event types with their attributes and, from the per-contact stats (which outlive
    retention), how many events ever happened and how many contacts did them."""
    stats = ContactEventStats.objects.filter(event_type=OuterRef("pk")).order_by()
    per_type = stats.values("event_type")
    return (
        EventType.objects.filter(app=app)
        .annotate(
            event_count=_subquery_count(per_type.annotate(total=Sum("count")).values("total")),
            contact_count=_subquery_count(per_type.annotate(total=Count("pk")).values("total")),
        )
        .prefetch_related("attributes")
        .order_by("name")
    )


def event_type_get(*, app: App, event_type_id: int) -> EventType | None:
    return event_type_list(app=app).filter(pk=event_type_id).first()


def event_type_segmentation_usage(*, app: App) -> dict[str, int]:
    """How many of the app's event types are enabled for segmentation, and the cap."""
    enabled = EventType.objects.filter(app=app, segmentation_enabled=True).count()
    return {
        "segmentation_enabled_count": enabled,
        "segmentation_limit": settings.SEGMENTATION_MAX_EVENTS,
    }


def _subquery_count(queryset: QuerySet) -> Coalesce:
    return Coalesce(Subquery(queryset, output_field=IntegerField()), 0)
