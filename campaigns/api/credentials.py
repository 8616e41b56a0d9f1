"""Each app's credentials for the mobile push services (FCM, APNs, OneSignal), for admin-scope
keys: set or replace them, read them back without the secret, delete them.

A secret goes in and never comes out: answers show its fingerprint and when it was set
(campaigns/credentials.py), and no refusal quotes it (the services' messages don't, nor DRF's for
the fields below). The services check and encrypt; the serializers only take the JSON apart.

Production without PUSH_CREDENTIALS_KEYS: the services refuse to store a secret with a
ValidationError that names no field (NO_KEY), which answers 400 {"non_field_errors": [NO_KEY]}
like any refusal of the services. Not 503: in this API 503 means "the database is down, retry
after Retry-After", and no retry can succeed until an operator sets the key and restarts, which
is what the reason tells whoever holds an admin key (the same words the admin shows).
"""

from __future__ import annotations

import orjson
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from campaigns.credentials import MAX_SECRET_BYTES
from campaigns.models import ApnsCredentials, FcmCredentials, OneSignalCredentials
from campaigns.selectors import push_credentials_by_service, push_credentials_get
from campaigns.services.credentials import (
    apns_credentials_set,
    fcm_credentials_set,
    onesignal_credentials_set,
    push_credentials_delete,
)
from common.api_fields import NUL, NUL_REASON, JsonTypesMixin
from config.api import validated

# What identifies the secret that is set, on every service's answer.
SECRET_FIELDS = ["secret_fingerprint", "secret_set_at", "updated_at"]
SECRET_HELP = {
    "secret_fingerprint": {"help_text": "Identifies the secret that is set (never the secret)"},
    "secret_set_at": {"help_text": "When the secret was last uploaded"},
    "updated_at": {"help_text": "When any of these credentials last changed"},
}
KEEP = "Omitted or null: keep the one that is set (required the first time)."
REFUSED = OpenApiResponse(
    description="Invalid input: `detail` names each field that is wrong. In production without "
    "PUSH_CREDENTIALS_KEYS, `non_field_errors` says that no secret is stored until it is set."
)


# Answers -----------------------------------------------------------------------------------------


class FcmCredentialsOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = FcmCredentials
        fields = ["project_id", "client_email", *SECRET_FIELDS]
        read_only_fields = fields
        extra_kwargs = {
            **SECRET_HELP,
            "secret_fingerprint": {
                "help_text": "The service account key's id (private_key_id), as the Google Cloud "
                "console lists the account's keys"
            },
        }


class ApnsCredentialsOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = ApnsCredentials
        fields = ["key_id", "team_id", "bundle_id", "environment", *SECRET_FIELDS]
        read_only_fields = fields
        extra_kwargs = {
            **SECRET_HELP,
            "secret_fingerprint": {"help_text": "sha256: and a digest of the key's public half"},
        }


class OneSignalCredentialsOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = OneSignalCredentials
        fields = ["onesignal_app_id", *SECRET_FIELDS]
        read_only_fields = fields
        extra_kwargs = {
            **SECRET_HELP,
            "secret_fingerprint": {"help_text": "sha256: and a digest of the REST API key"},
        }


class PushCredentialsOutputSerializer(serializers.Serializer):
    fcm = FcmCredentialsOutputSerializer(allow_null=True, help_text="null: none set")
    apns = ApnsCredentialsOutputSerializer(allow_null=True, help_text="null: none set")
    onesignal = OneSignalCredentialsOutputSerializer(allow_null=True, help_text="null: none set")


# Requests ----------------------------------------------------------------------------------------


@extend_schema_field(
    {
        "oneOf": [
            {"type": "string", "maxLength": MAX_SECRET_BYTES},
            {"type": "object", "additionalProperties": True},
        ]
    }
)
class ServiceAccountField(serializers.Field):
    """The JSON key file's text, or the object it holds (pasted as is): either way the text the
    service checks and stores. At most MAX_SECRET_BYTES characters (a key file is ASCII)."""

    default_error_messages = {
        "invalid": "must be the service account's JSON key file, as text or as an object",
        "too_large": f"must be at most {MAX_SECRET_BYTES} characters",
    }

    def to_internal_value(self, data):
        if isinstance(data, dict):
            try:
                data = orjson.dumps(data).decode()
            except orjson.JSONEncodeError:  # nested past 255 levels, as no key file is
                self.fail("invalid")
        if not isinstance(data, str):
            self.fail("invalid")
        if NUL in data:
            raise serializers.ValidationError(NUL_REASON)
        if len(data) > MAX_SECRET_BYTES:
            self.fail("too_large")
        return data


class FcmCredentialsInputSerializer(serializers.Serializer):
    """Replaces the app's service account."""

    service_account = ServiceAccountField(
        write_only=True,
        help_text="Firebase console: Project settings, Service accounts, Generate new private "
        "key. Its project_id says where pushes go.",
    )


class ApnsCredentialsInputSerializer(JsonTypesMixin, serializers.Serializer):
    """Replaces the app's APNs credentials; the .p8 key may be left out once one is set."""

    key_id = serializers.CharField(help_text="The .p8 key's id: 10 capital letters and digits")
    team_id = serializers.CharField(help_text="The Apple team id: 10 capital letters and digits")
    bundle_id = serializers.CharField(
        max_length=255, help_text="The app's bundle id (the apns-topic), e.g. com.example.app"
    )
    environment = serializers.ChoiceField(
        choices=ApnsCredentials.Environment.choices,
        help_text="sandbox for development builds",
    )
    private_key = serializers.CharField(
        write_only=True,
        required=False,
        allow_null=True,
        max_length=MAX_SECRET_BYTES,
        help_text="The .p8 file's text (an ECDSA P-256 key in PEM). " + KEEP,
    )


class OneSignalCredentialsInputSerializer(JsonTypesMixin, serializers.Serializer):
    """Replaces the app's OneSignal credentials; the REST API key may be left out once one is
    set."""

    onesignal_app_id = serializers.CharField(help_text="The OneSignal app's id, a UUID")
    api_key = serializers.CharField(
        write_only=True,
        required=False,
        allow_null=True,
        help_text="The app's REST API key (OneSignal dashboard: Settings, Keys & IDs). " + KEEP,
    )


# Views -------------------------------------------------------------------------------------------


class PushCredentialsView(APIView):
    @extend_schema(responses={200: PushCredentialsOutputSerializer})
    def get(self, request):
        """The app's credentials for each mobile push service, null where none are set. The
        secrets are never shown: a fingerprint and when it was set identify each."""
        credentials = push_credentials_by_service(app=request.user.app)
        return Response(PushCredentialsOutputSerializer(credentials).data)


class _ServiceCredentialsView(APIView):
    service = ""  # as campaigns.selectors.PUSH_CREDENTIALS names it

    @extend_schema(
        responses={
            204: None,
            404: OpenApiResponse(description="The app has none for this service (`not_found`)"),
        }
    )
    def delete(self, request):
        """Remove the app's credentials for this service: nothing is sent through it any more."""
        credentials = push_credentials_get(app=request.user.app, service=self.service)
        if credentials is None:
            raise NotFound(f"the app has no {self.service} credentials")
        push_credentials_delete(credentials=credentials)
        return Response(status=status.HTTP_204_NO_CONTENT)


class FcmCredentialsView(_ServiceCredentialsView):
    service = "fcm"

    @extend_schema(
        request=FcmCredentialsInputSerializer,
        responses={200: FcmCredentialsOutputSerializer, 400: REFUSED},
    )
    def put(self, request):
        """Set or replace the Firebase service account that sends through FCM HTTP v1."""
        data = validated(FcmCredentialsInputSerializer, request.data)
        credentials = fcm_credentials_set(app=request.user.app, **data)
        return Response(FcmCredentialsOutputSerializer(credentials).data)


class ApnsCredentialsView(_ServiceCredentialsView):
    service = "apns"

    @extend_schema(
        request=ApnsCredentialsInputSerializer,
        responses={200: ApnsCredentialsOutputSerializer, 400: REFUSED},
    )
    def put(self, request):
        """Set or replace the APNs token-based authentication key (.p8) and where it sends; the
        key may be left out to change only the rest."""
        data = validated(ApnsCredentialsInputSerializer, request.data)
        credentials = apns_credentials_set(app=request.user.app, **data)
        return Response(ApnsCredentialsOutputSerializer(credentials).data)


class OneSignalCredentialsView(_ServiceCredentialsView):
    service = "onesignal"

    @extend_schema(
        request=OneSignalCredentialsInputSerializer,
        responses={200: OneSignalCredentialsOutputSerializer, 400: REFUSED},
    )
    def put(self, request):
        """Set or replace the OneSignal app id and its REST API key; the key may be left out to
        change only the app id."""
        data = validated(OneSignalCredentialsInputSerializer, request.data)
        credentials = onesignal_credentials_set(app=request.user.app, **data)
        return Response(OneSignalCredentialsOutputSerializer(credentials).data)
