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


class ContactProfileInputSerializer(JsonTypesMixin, serializers.Serializer):
    """The profile fields of an upsert by external id (contacts.services.profiles validates;
    this describes the contract for the schema). Only the fields sent change; null clears one."""

    email = serializers.CharField(
        max_length=254, required=False, allow_null=True, allow_blank=True, help_text="Lowered"
    )
    phone = serializers.CharField(max_length=64, required=False, allow_null=True, allow_blank=True)
    custom_fields = NulFreeDictField(
        required=False, help_text="Merged into the existing fields; a null value removes its key"
    )
    timezone = serializers.CharField(
        required=False, allow_null=True, allow_blank=True, help_text="A known IANA timezone"
    )
    language = serializers.CharField(
        required=False,
        allow_null=True,
        allow_blank=True,
        help_text='ISO 639-1, or a locale whose language is kept ("en-US" -> "en")',
    )
    country = serializers.CharField(
        required=False,
        allow_null=True,
        allow_blank=True,
        help_text="ISO 3166-1 alpha-2 (an alpha-3 code or the English name is taken too)",
    )
    email_status = serializers.ChoiceField(
        choices=Contact.EmailStatus.choices,
        required=False,
        help_text="Whether emails may go to the address; recorded as changed via the API",
    )


class ContactBatchInputSerializer(serializers.Serializer):
    # Items are any JSON: a profile that is not valid is not a bad request but gets its error in
    # `results` while the others are stored (as the events batch does).
    contacts = serializers.ListField(
        child=serializers.JSONField(),
        min_length=1,
        max_length=1000,
        help_text='1 to 1000 profiles, each {"external_id": "<your id, at most 255 '
        'characters>"} with the fields PUT /api/v1/contacts/by-external-id/{external_id} takes; '
        "an invalid one gets its error in `results`, the others are stored",
    )


class ContactValidationErrorSerializer(serializers.Serializer):
    error = serializers.ChoiceField(choices=["validation"])
    detail = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text='{"<field>": ["<reason>"]}',
    )


class ContactBatchItemResultSerializer(serializers.Serializer):
    """One per profile, in request order: its contact, or `error`."""

    index = serializers.IntegerField()
    contact_id = serializers.IntegerField(required=False)
    created = serializers.BooleanField(required=False)
    error = ContactValidationErrorSerializer(required=False)


class ContactBatchResultSerializer(serializers.Serializer):
    results = ContactBatchItemResultSerializer(many=True)
