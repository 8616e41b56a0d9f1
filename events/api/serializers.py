"""Request and response shapes of the tracking API.

The ingest views validate with events.validation (plain Python, for speed); these serializers
describe the same contract for the OpenAPI schema and validate nothing themselves.
"""

from __future__ import annotations

from rest_framework import serializers


class EventInputSerializer(serializers.Serializer):
    event_name = serializers.CharField(max_length=255, help_text="No *, + or |; @ is reserved")
    event_time = serializers.CharField(
        required=False, help_text="RFC 3339 with an offset, or Unix seconds; default: now"
    )
    app_user_id = serializers.CharField(required=False, help_text="Your user id (external id)")
    anonymous_id = serializers.CharField(required=False)
    event_id = serializers.CharField(required=False, help_text="Your id, used for de-duplication")
    device_token = serializers.JSONField(
        required=False, help_text="FCM/OneSignal token, or a web PushSubscription (object or JSON)"
    )
    platform = serializers.ChoiceField(choices=["android", "ios", "web"], required=False)
    push_permission_granted = serializers.BooleanField(required=False, default=False)
    timezone = serializers.CharField(required=False, help_text="IANA, e.g. Europe/Istanbul")
    language = serializers.CharField(required=False, help_text="ISO 639-1, e.g. tr")
    country = serializers.CharField(required=False, help_text="ISO 3166-1 alpha-2, e.g. TR")
    session_id = serializers.CharField(required=False)
    params = serializers.DictField(required=False, help_text="Typed; used for targeting")
    context = serializers.DictField(required=False, help_text="Stored; never used for targeting")
    tenant_id = serializers.CharField(required=False, help_text="With api_key: body auth")
    api_key = serializers.CharField(required=False, help_text="Instead of the Bearer header")


class EventBatchInputSerializer(serializers.Serializer):
    events = EventInputSerializer(many=True, help_text="1 to 1000 events")


class EventAcceptedSerializer(serializers.Serializer):
    fingerprint = serializers.CharField(help_text="SHA-256, 64 hex characters")
    duplicate = serializers.BooleanField()
    contact_id = serializers.IntegerField()
    anonymous_id = serializers.CharField(allow_null=True)


class BatchItemSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    fingerprint = serializers.CharField(required=False)
    duplicate = serializers.BooleanField(required=False)
    contact_id = serializers.IntegerField(required=False)
    error = serializers.DictField(required=False)


class EventBatchResultSerializer(serializers.Serializer):
    results = BatchItemSerializer(many=True)


def accepted_payload(result) -> dict:
    return {
        "fingerprint": result.fingerprint,
        "duplicate": result.duplicate,
        "contact_id": result.contact_id,
        "anonymous_id": result.anonymous_id,
    }


def batch_item_payload(result) -> dict:
    if result.errors:
        return {"index": result.index, "error": {"error": "validation", "detail": result.errors}}
    return {"index": result.index, **accepted_payload(result)}
