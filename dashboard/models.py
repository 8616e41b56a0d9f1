"""Insights: charts a marketer saves on an app's dashboard ("purchases per day, last 30 days").

The dashboard reads from every app, so the chart definitions live here, to the right of the
events and segments they name."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from contacts.models import App
from events.models import EventType
from segments.models import Segment


class Insight(models.Model):
    class Measure(models.TextChoices):
        COUNT = "count", "Count of events"
        SUM = "sum", "Sum of a number param"
        AVG = "avg", "Average of a number param"
        MIN = "min", "Minimum of a number param"
        MAX = "max", "Maximum of a number param"

    class Period(models.TextChoices):
        DAY = "24h", "Last 24 hours"
        WEEK = "7d", "Last 7 days"
        MONTH = "30d", "Last 30 days"
        RANGE = "range", "From – to (dates)"

    class Granularity(models.TextChoices):
        HOUR = "hour", "By hour"
        DAY = "day", "By day"
        WEEK = "week", "By week (from Monday)"

    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="insights")
    name = models.CharField(max_length=200)
    # A chart of a deleted event type or segment would mean nothing (or, worse, silently count
    # everyone): it goes with them.
    event_type = models.ForeignKey(EventType, on_delete=models.CASCADE, related_name="insights")
    measure = models.CharField(max_length=5, choices=Measure.choices, default=Measure.COUNT)
    param = models.CharField(
        max_length=255, blank=True, default="", help_text="The number param to aggregate"
    )
    period = models.CharField(max_length=5, choices=Period.choices, default=Period.MONTH)
    date_from = models.DateField(null=True, blank=True, help_text="For a from – to range")
    date_to = models.DateField(null=True, blank=True, help_text="Included")
    granularity = models.CharField(
        max_length=4, choices=Granularity.choices, default=Granularity.DAY
    )
    split_param = models.CharField(
        max_length=255,
        blank=True,
        default="",
        help_text="Optional: a string param; one series per top value, the rest as “other”",
    )
    top_n = models.PositiveSmallIntegerField(
        "top values", default=5, help_text="How many split values keep a series (1 to 10)"
    )
    segment = models.ForeignKey(
        Segment,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="insights",
        help_text="Optional: only the events of the segment's members",
    )
    position = models.PositiveIntegerField(default=0, help_text="Order on the dashboard")
    on_dashboard = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["app", "position", "id"]
        indexes = [models.Index(fields=["app", "position"], name="insight_app_position")]
        constraints = [
            models.CheckConstraint(
                condition=Q(measure="count", param="") | (~Q(measure="count") & ~Q(param="")),
                name="insight_param_with_measure",
            ),
            models.CheckConstraint(
                condition=Q(
                    period="range",
                    date_from__isnull=False,
                    date_to__isnull=False,
                    date_from__lte=models.F("date_to"),
                )
                | (~Q(period="range") & Q(date_from__isnull=True, date_to__isnull=True)),
                name="insight_dates_with_range",
            ),
            models.CheckConstraint(
                condition=Q(top_n__gte=1, top_n__lte=10), name="insight_top_n_range"
            ),
        ]

    def __str__(self) -> str:
        return self.name
