"""Counting on list pages over big tables: per listed row, or up to a cap."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils.functional import cached_property


def count_of(queryset: QuerySet, outer_field: str) -> Coalesce:
    """COUNT(*) of `queryset` rows whose `outer_field` is the outer row, as a subquery: computed
    for the page's rows only, where a JOIN + GROUP BY would aggregate the whole table."""
    counted = (
        queryset.filter(**{outer_field: OuterRef("pk")})
        .order_by()
        .values(outer_field)
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


class CappedCountPaginator(Paginator):
    """Counts at most `count_cap` rows: an exact COUNT(*) over millions of events takes seconds.
    The admin/capped_pagination.html template shows "more than N" when the cap is reached."""

    count_cap = 10_000

    @cached_property
    def count(self) -> int:
        return self.object_list.order_by()[: self.count_cap + 1].count()

    @property
    def count_capped(self) -> bool:
        return self.count > self.count_cap
