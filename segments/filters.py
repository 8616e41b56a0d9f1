"""Filters of the segment listing (GET /api/v1/segments)."""

from __future__ import annotations

import django_filters
from django.db.models import QuerySet

from common.api_fields import StrictFilterSet
from segments.models import Segment
from segments.selectors import segments_tagged


class SegmentFilter(StrictFilterSet):
    tag = django_filters.CharFilter(method="filter_tag", help_text="Has this tag (exactly)")
    name = django_filters.CharFilter(lookup_expr="icontains", help_text="Name contains")

    class Meta:
        model = Segment
        fields = ["tag", "name"]

    def filter_tag(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return segments_tagged(queryset, tag=value)
