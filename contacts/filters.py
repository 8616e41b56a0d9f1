"""Filters of the contact listing (GET /api/v1/contacts)."""

from __future__ import annotations

import django_filters
from django.db.models import Exists, OuterRef, QuerySet

from common.api_fields import IdFilter, InstantFilter, StrictBooleanFilter, StrictFilterSet
from contacts.models import Contact, Device


def _live_devices():
    return Device.objects.filter(contact=OuterRef("pk"), invalidated_at__isnull=True)


class ContactFilter(StrictFilterSet):
    email = django_filters.CharFilter(method="filter_email", help_text="Case-insensitive")
    external_id = django_filters.CharFilter()
    country = django_filters.CharFilter(lookup_expr="iexact", help_text="ISO 3166-1 alpha-2")
    language = django_filters.CharFilter(lookup_expr="iexact", help_text="ISO 639-1")
    platform = django_filters.ChoiceFilter(
        choices=Device.Platform.choices,
        method="filter_platform",
        help_text="Has a valid device of this platform",
    )
    push_reachable = StrictBooleanFilter(
        method="filter_push_reachable", help_text="Has a valid device with push permission"
    )
    seen_after = InstantFilter(field_name="last_seen_at", lookup_expr="gte")
    seen_before = InstantFilter(field_name="last_seen_at", lookup_expr="lt")
    # The reverse relation of segments' memberships: contacts never imports segments.
    segment = IdFilter(
        field_name="segment_memberships__segment_id",
        help_text="In the segment with this id (as of its last computation)",
    )

    class Meta:
        model = Contact
        fields = ["email", "external_id", "country", "language"]

    def filter_email(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        # Emails are stored lower-case, so an exact match on the lowered value uses the index.
        return queryset.filter(email=value.strip().lower())

    def filter_platform(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(Exists(_live_devices().filter(platform=value)))

    def filter_push_reachable(self, queryset: QuerySet, name: str, value: bool) -> QuerySet:
        reachable = Exists(_live_devices().filter(push_permission_granted=True))
        return queryset.filter(reachable if value else ~reachable)
