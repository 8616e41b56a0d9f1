"""Request and response shapes of the contacts API."""

from __future__ import annotations

from rest_framework import serializers

from common.api_fields import JsonTypesMixin, NulFreeDictField
from contacts.models import Contact, Device

TOKEN_PREFIX_LENGTH = 16


class ContactDeviceSerializer(serializers.ModelSerializer):
    # Tokens and web push keys let anyone push to the device: show only enough to recognise it.
    token_prefix = serializers.SerializerMethodField()

    class Meta:
        model = Device
        fields = [
            "id",
            "platform",
            "push_provider",
            "installation_id",
            "token_prefix",
            "push_permission_granted",
            "last_seen_at",
            "invalidated_at",
        ]

    def get_token_prefix(self, device: Device) -> str:
        return device.token[:TOKEN_PREFIX_LENGTH]


class ContactOutputSerializer(serializers.ModelSerializer):
    devices = ContactDeviceSerializer(many=True, read_only=True)

    class Meta:
        model = Contact
        fields = [
            "id",
            "external_id",
            "anonymous_id",
            "email",
            "email_status",
            "email_status_at",
            "email_status_via",
            "phone",
            "custom_fields",
            "source",
            "timezone",
            "language",
            "country",
            "created_at",
            "first_seen_at",
            "last_seen_at",
            "devices",
        ]
        read_only_fields = fields


class ContactUpdateInputSerializer(JsonTypesMixin, serializers.Serializer):
    """Only the fields sent are changed; null (or "") clears one."""

    email = serializers.CharField(
        max_length=254, required=False, allow_null=True, allow_blank=True, help_text="Lowered"
    )
    phone = serializers.CharField(max_length=64, required=False, allow_null=True, allow_blank=True)
    external_id = serializers.CharField(
        max_length=255,
        required=False,
        allow_null=True,
        allow_blank=True,
        help_text="Unique within the app",
    )
    custom_fields = NulFreeDictField(
        required=False, help_text="Merged into the existing fields; a null value removes its key"
    )
    email_status = serializers.ChoiceField(
        choices=Contact.EmailStatus.choices,
        required=False,
        help_text="Whether emails may go to the address (only `subscribed` ones are sent); "
        "recorded as changed via the API",
    )
