"""Filters of the event listings: a contact's timeline and the event types."""

from __future__ import annotations

import django_filters

from contacts.filters import strict_boolean_filter
from events.models import Event, EventType


class ContactEventFilter(django_filters.FilterSet):
    event = django_filters.CharFilter(field_name="event_type__name", help_text="Event name")
    after = django_filters.IsoDateTimeFilter(field_name="occurred_at", lookup_expr="gte")
    before = django_filters.IsoDateTimeFilter(field_name="occurred_at", lookup_expr="lt")

    class Meta:
        model = Event
        fields = ["event", "after", "before"]


class EventTypeFilter(django_filters.FilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains", help_text="Name contains")
    category = django_filters.CharFilter()
    segmentation_enabled = strict_boolean_filter()
    is_system = strict_boolean_filter()

    class Meta:
        model = EventType
        fields = ["name", "category", "segmentation_enabled", "is_system"]
