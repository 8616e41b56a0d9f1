"""The Segment HTTP Tracking API's request and response shapes, for the published schema only:
the views read messages in plain Python (events/segment_spec.py), not through these."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from events.segment_spec import MESSAGE_TYPES
from events.services.segment import MAX_BATCH_MESSAGES

# The shapes the translation takes (events/segment_spec.py), published as they are taken: ids as
# Beacon's identifiers (text or an integer), times as Beacon's instants, objects that may be null.
_ID = {"oneOf": [{"type": "string"}, {"type": "integer"}]}
_INSTANT = {"oneOf": [{"type": "string"}, {"type": "number"}]}


# Classes, not annotated instances: DRF copies a serializer's declared fields by their arguments,
# which would drop an instance's annotation.
@extend_schema_field(_ID)
class _IdField(serializers.CharField):
    pass


@extend_schema_field(_INSTANT)
class _InstantField(serializers.CharField):
    pass


def _id(*, required: bool = False, **options) -> serializers.Field:
    # An optional id may be "" or null (absent); a required one may not.
    optional = not required
    return _IdField(required=required, allow_blank=optional, allow_null=optional, **options)


def _instant(**options) -> serializers.Field:
    return _InstantField(required=False, allow_blank=True, allow_null=True, **options)


def _object(**options) -> serializers.Field:
    return serializers.DictField(required=False, allow_null=True, **options)


class _Message(serializers.Serializer):
    # Text, not a choice: an enum named "type" would collide with other components' names.
    type = serializers.JSONField(
        required=False,
        help_text=f"The call ({', '.join(MESSAGE_TYPES)}); required in a batch, where the "
        "endpoint does not say it (elsewhere the endpoint's call wins)",
    )
    userId = _id(help_text="Your user id: app_user_id")
    anonymousId = _id(help_text="anonymous_id")
    messageId = _id(
        required=False, help_text="The de-duplication key (event_id): a replay stores nothing"
    )
    timestamp = _instant(help_text="When it happened (RFC 3339, or Unix seconds)")
    originalTimestamp = _instant(
        help_text="The device's time, used without a timestamp, corrected for the device's "
        "clock skew: receivedAt - (sentAt - originalTimestamp)",
    )
    sentAt = _instant(help_text="The device's time of sending")
    context = _object(
        help_text="Stored with the event; device.token and device.type register a device, "
        "timezone, locale and location.country update the contact",
    )
    integrations = serializers.JSONField(required=False, help_text="Ignored")
    writeKey = serializers.CharField(
        required=False, help_text="The API key, when not sent as the Basic user name"
    )


class SegmentTrackSerializer(_Message):
    event = serializers.CharField(help_text="The event's name (names starting with @ are reserved)")
    properties = _object(help_text="The event's params")


class SegmentIdentifySerializer(_Message):
    traits = _object(
        help_text="Set on the contact's profile (email, phone, names, timezone, language, "
        "country; the rest as custom fields) and the params of a user_identified event",
    )


class SegmentPageSerializer(_Message):
    name = serializers.CharField(
        required=False,
        allow_null=True,
        allow_blank=True,
        help_text="A param of page_viewed/screen_viewed",
    )
    category = serializers.CharField(
        required=False, allow_null=True, allow_blank=True, help_text="A param too"
    )
    properties = _object(help_text="The event's params")


class SegmentAliasSerializer(_Message):
    previousId = _id(required=True, help_text="The id before: an anonymous id")
    anonymousId = serializers.JSONField(required=False, help_text="Ignored: previousId is")
    userId = _id(required=True, help_text="The user id it becomes")


class SegmentGroupSerializer(_Message):
    groupId = _id(required=True, help_text="The contact's custom field group_id")
    traits = _object(help_text="The group's traits, custom fields group_<name>")


class SegmentBatchMessageSerializer(
    SegmentTrackSerializer,
    SegmentIdentifySerializer,
    SegmentPageSerializer,
    SegmentGroupSerializer,
):
    type = serializers.CharField(help_text=f"The call: {', '.join(MESSAGE_TYPES)}")
    event = serializers.CharField(required=False, help_text="track: the event's name")
    groupId = _id(help_text="group: the group's id")
    previousId = _id(help_text="alias: the id before")


class SegmentBatchSerializer(serializers.Serializer):
    batch = SegmentBatchMessageSerializer(
        many=True, help_text=f"1 to {MAX_BATCH_MESSAGES} messages, each at most 32 KB"
    )
    context = _object(help_text="Merged under each message's own context")
    integrations = serializers.JSONField(required=False, help_text="Ignored")
    sentAt = _instant(help_text="Each message's sentAt by default")
    writeKey = serializers.CharField(required=False)


class SegmentSuccessSerializer(serializers.Serializer):
    success = serializers.BooleanField()


class SegmentRefusedSerializer(serializers.Serializer):
    error = serializers.CharField(help_text="validation")
    detail = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text='Each refused field: {"batch[3].event": ["reason"]}',
    )
    stored = serializers.IntegerField(
        required=False, help_text="/v1/batch: how many messages were stored all the same"
    )
    code = serializers.CharField(help_text="The error kind again, as Segment's libraries read it")
    message = serializers.CharField(help_text="A summary, as Segment's libraries read it")
