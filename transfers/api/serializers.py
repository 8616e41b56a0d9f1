"""The export endpoints' query parameters."""

from __future__ import annotations

from rest_framework import serializers

from common.api_fields import InstantField, refuse_nul
from transfers.export_formats import ExportFormat


class ExportQuerySerializer(serializers.Serializer):
    """DRF reads an empty query value of an optional field as absent (`?format=` would be CSV);
    the schema says a value is at least one character, so an empty one is refused instead."""

    format = serializers.ChoiceField(
        choices=[choice.value for choice in ExportFormat],
        default=ExportFormat.CSV.value,
        help_text="csv (a header, then a line per row; nested values as JSON in one column) or "
        "jsonl (JSON Lines: one object per line)",
    )

    def to_internal_value(self, data):
        empty = [name for name in self.fields if data.get(name) == ""]
        if empty:
            raise serializers.ValidationError({name: ["may not be empty"] for name in empty})
        return super().to_internal_value(data)


class EventExportQuerySerializer(ExportQuerySerializer):
    """`from` and `to` are required: an export of all of an app's history is rarely meant, and
    the period is the range each page reads. `from` is a Python keyword, hence get_fields."""

    event_name = serializers.CharField(
        required=False, max_length=255, help_text="Only events of this name"
    )

    def get_fields(self) -> dict:
        fields = super().get_fields()
        period = {
            "from": InstantField(help_text="Events that occurred at or after this instant"),
            "to": InstantField(help_text="Events that occurred before this instant"),
        }
        return {**period, **fields}

    def validate_event_name(self, value: str) -> str:
        refuse_nul(value)
        return value

    def validate(self, data: dict) -> dict:
        if data["to"] <= data["from"]:
            raise serializers.ValidationError({"to": ["must be after from"]})
        return data
