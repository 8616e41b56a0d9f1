"""Request and response shapes of the insights API (the dashboard's saved charts)."""

from __future__ import annotations

from rest_framework import serializers

from common.api_fields import ID_MAX, INT32_MAX, JsonTypesMixin
from dashboard.models import Insight
from dashboard.periods import range_errors
from dashboard.services import EDITABLE_FIELDS, MAX_TOP
from events.models import EventType
from events.selectors import event_type_get
from segments.models import Segment
from segments.selectors import segment_get

# The query's names of a range's fields (range_errors names them as the insight does).
QUERY_NAMES = {"date_from": "from", "date_to": "to"}


class InsightOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Insight
        fields = ["id", *EDITABLE_FIELDS, "created_at", "updated_at"]
        read_only_fields = fields


class InsightInputSerializer(JsonTypesMixin, serializers.Serializer):
    """Creating needs name and event_type; the rest has defaults (a count by day over the last
    30 days, last on the dashboard). A PATCH changes only the fields sent, and the whole chart
    is checked again (the admin's checks: dashboard/services.py)."""

    name = serializers.CharField(max_length=200)
    event_type = serializers.IntegerField(
        min_value=1, max_value=ID_MAX, help_text="The id of an event type of this app"
    )
    measure = serializers.ChoiceField(
        choices=Insight.Measure.choices,
        required=False,
        help_text="count (the default): the events; sum, avg, min, max: of `param`",
    )
    param = serializers.CharField(
        max_length=255,
        required=False,
        allow_blank=True,
        help_text="A number attribute of the event type (sum, avg, min and max only)",
    )
    period = serializers.ChoiceField(
        choices=Insight.Period.choices,
        required=False,
        help_text="Up to now: 24h, 7d or 30d (the default); or range: date_from to date_to",
    )
    date_from = serializers.DateField(required=False, allow_null=True, help_text="range only")
    date_to = serializers.DateField(
        required=False, allow_null=True, help_text="range only; the day is included"
    )
    granularity = serializers.ChoiceField(
        choices=Insight.Granularity.choices,
        required=False,
        help_text="Buckets on the app's clock (day by default); at most 800 of them in a range",
    )
    split_param = serializers.CharField(
        max_length=255,
        required=False,
        allow_blank=True,
        help_text="Optional: a string attribute; a series per top value and one for the rest",
    )
    top_n = serializers.IntegerField(
        min_value=1,
        max_value=MAX_TOP,
        required=False,
        help_text="How many split values keep a series (5)",
    )
    segment = serializers.IntegerField(
        min_value=1,
        max_value=ID_MAX,
        required=False,
        allow_null=True,
        help_text="Optional: the id of a segment of this app; only its members' events count",
    )
    position = serializers.IntegerField(
        min_value=0,
        max_value=INT32_MAX,
        required=False,
        help_text="Order on the dashboard (omitted on creation: last)",
    )
    on_dashboard = serializers.BooleanField(required=False)

    def validate_event_type(self, value: int) -> EventType:
        event_type = event_type_get(app=self.context["app"], event_type_id=value)
        if event_type is None:
            raise serializers.ValidationError("is not an event type of this app")
        return event_type

    def validate_segment(self, value: int | None) -> Segment | None:
        if value is None:
            return None
        segment = segment_get(app=self.context["app"], segment_id=value)
        if segment is None:
            raise serializers.ValidationError("is not a segment of this app")
        return segment


class InsightDataQuerySerializer(serializers.Serializer):
    """Optional: another range, at the insight's granularity or another (context["insight"])."""

    def get_fields(self) -> dict:
        # "from" is a Python keyword, so the fields are not class attributes.
        return {
            "from": serializers.DateField(
                required=False,
                source="date_from",
                help_text="With `to`: the chart over these days (the app's clock) instead of "
                "its period",
            ),
            "to": serializers.DateField(
                required=False, source="date_to", help_text="With `from`: the last day, included"
            ),
            "granularity": serializers.ChoiceField(
                choices=Insight.Granularity.choices,
                required=False,
                help_text="Buckets other than the insight's",
            ),
        }

    def validate(self, attrs: dict) -> dict:
        """A range as a saved insight's is checked (dashboard/periods.py)."""
        if "date_from" in attrs or "date_to" in attrs:
            errors = range_errors(
                granularity=attrs.get("granularity", self.context["insight"].granularity),
                date_from=attrs.get("date_from"),
                date_to=attrs.get("date_to"),
            )
            if errors:
                raise serializers.ValidationError(
                    {QUERY_NAMES.get(name, name): reasons for name, reasons in errors.items()}
                )
        return attrs


class InsightSeriesSerializer(serializers.Serializer):
    name = serializers.CharField(
        help_text="The measure (the event type's name for a count, else e.g. “Sum of amount”); "
        "split: a value of split_param, or “other” for the rest"
    )
    values = serializers.ListField(
        child=serializers.FloatField(allow_null=True),
        help_text="A figure per bucket; null: an average, min or max of no value",
    )


class InsightDataSerializer(serializers.Serializer):
    total = serializers.FloatField(
        allow_null=True, help_text="The figure over the whole period (null as in `values`)"
    )
    labels = serializers.ListField(
        child=serializers.CharField(),
        help_text="Each bucket as the dashboard labels it: 14:00 by hour, 09 Mar by day or week",
    )
    buckets = serializers.ListField(
        child=serializers.CharField(),
        help_text="Each bucket's start on the app's clock (`timezone`), without an offset: "
        "2026-03-09T00:00:00",
    )
    series = InsightSeriesSerializer(
        many=True, help_text="One, or with split_param one per top value (most first) and other"
    )
    kind = serializers.CharField(
        help_text="How the dashboard draws it: bar (count and sum) or line (avg, min and max)"
    )
    timezone = serializers.CharField(help_text="The app's timezone, whose clock the buckets follow")
