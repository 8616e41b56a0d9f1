"""Request and response shapes of the segments API."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from common.api_fields import JsonTypesMixin, NulFreeJSONField
from contacts.models import Contact
from segments.models import Segment, SegmentMembership

CONDITIONS_HELP = "The condition tree (docs/segments.md)"


@extend_schema_field({"type": "object", "additionalProperties": True})
class ConditionsField(NulFreeJSONField):
    """Any JSON: the service validates the tree and names each error by its JSON path."""


@extend_schema_field({"type": "array", "items": {"type": "string"}})
class TagsField(NulFreeJSONField):
    """Any JSON here, so that the service reports a bad list as {"tags": [reason]}."""


class SegmentOutputSerializer(serializers.ModelSerializer):
    tags = TagsField()
    conditions = ConditionsField(help_text=CONDITIONS_HELP)

    class Meta:
        model = Segment
        fields = [
            "id",
            "name",
            "purpose",
            "tags",
            "conditions",
            "member_count",
            "last_computed_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class SegmentInputSerializer(JsonTypesMixin, serializers.Serializer):
    """Creating needs name and conditions; a PATCH changes only the fields sent (new conditions
    schedule a full refresh)."""

    name = serializers.CharField(max_length=200)
    purpose = serializers.CharField(max_length=500, required=False, allow_blank=True)
    tags = TagsField(required=False, help_text="A list of strings")
    conditions = ConditionsField(help_text=CONDITIONS_HELP)


class SegmentPreviewInputSerializer(JsonTypesMixin, serializers.Serializer):
    conditions = ConditionsField(help_text=CONDITIONS_HELP)


class ContactSampleSerializer(serializers.ModelSerializer):
    class Meta:
        model = Contact
        fields = ["id", "external_id", "email", "anonymous_id"]
        read_only_fields = fields


class SegmentPreviewOutputSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="Contacts matching the conditions now")
    sample = ContactSampleSerializer(many=True, help_text="A few of them, last seen first")


class SegmentMemberSerializer(serializers.ModelSerializer):
    id = serializers.IntegerField(source="contact_id", help_text="The contact's id")
    external_id = serializers.CharField(source="contact.external_id", allow_null=True)
    email = serializers.CharField(source="contact.email", allow_null=True)
    anonymous_id = serializers.CharField(source="contact.anonymous_id", allow_null=True)

    class Meta:
        model = SegmentMembership
        fields = ["id", "external_id", "email", "anonymous_id", "entered_at"]
        read_only_fields = fields


class ContactSegmentSerializer(serializers.ModelSerializer):
    id = serializers.IntegerField(source="segment_id", help_text="The segment's id")
    name = serializers.CharField(source="segment.name")
    tags = TagsField(source="segment.tags")

    class Meta:
        model = SegmentMembership
        fields = ["id", "name", "tags", "entered_at"]
        read_only_fields = fields


class RefreshScheduledSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["scheduled"])


class SegmentExplainQuerySerializer(serializers.Serializer):
    contact = serializers.IntegerField(min_value=1, help_text="A contact id of this app")


class SegmentExplainOutputSerializer(serializers.Serializer):
    segment = serializers.IntegerField()
    contact = serializers.IntegerField()
    member = serializers.BooleanField(help_text="The contact matches the conditions now")
    now = serializers.DateTimeField(help_text="The evaluation time")
    explanation = serializers.DictField(
        help_text='The condition tree, each node with "holds" (true/false) and "value": '
        "an event condition's count (and aggregate), a first/last time, a streak's periods, "
        "a contact field's value, the matching devices' count, a nested segment's explanation"
    )


class SegmentHistoryQuerySerializer(serializers.Serializer):
    days = serializers.IntegerField(
        min_value=1, max_value=366, default=30, help_text="How many days, up to today"
    )


class SegmentHistoryPointSerializer(serializers.Serializer):
    date = serializers.DateField(help_text="A day in the app's timezone")
    entered = serializers.IntegerField()
    exited = serializers.IntegerField()
    size = serializers.IntegerField(help_text="Members at the end of the day")


class SegmentHistoryOutputSerializer(serializers.Serializer):
    segment = serializers.IntegerField()
    points = SegmentHistoryPointSerializer(many=True, help_text="Oldest first")
