"""Filters of the event listings: a contact's timeline and the event types."""

from __future__ import annotations

import django_filters

from common.api_fields import InstantFilter, StrictBooleanFilter, StrictFilterSet
from events.models import Event, EventType


class ContactEventFilter(StrictFilterSet):
    event = django_filters.CharFilter(field_name="event_type__name", help_text="Event name")
    after = InstantFilter(field_name="occurred_at", lookup_expr="gte")
    before = InstantFilter(field_name="occurred_at", lookup_expr="lt")

    class Meta:
        model = Event
        fields = ["event", "after", "before"]


class EventTypeFilter(StrictFilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains", help_text="Name contains")
    category = django_filters.CharFilter()
    segmentation_enabled = StrictBooleanFilter()
    is_system = StrictBooleanFilter()

    class Meta:
        model = EventType
        fields = ["name", "category", "segmentation_enabled", "is_system"]
