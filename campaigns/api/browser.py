"""Endpoints the browser SDK calls from customers' pages with the ingest key.

Web pages embed the key, so everything here must be safe to show to any visitor: the VAPID public
key is public by design (browsers hand it to their push service when subscribing).
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from campaigns.vapid import vapid_keys
from contacts.api.auth import HasIngestScope


class PushConfigSerializer(serializers.Serializer):
    vapid_public_key = serializers.CharField(
        help_text="URL-safe base64 P-256 point: the applicationServerKey to subscribe with"
    )


class PushConfigView(APIView):
    permission_classes = [HasIngestScope]

    @extend_schema(responses={200: PushConfigSerializer})
    def get(self, request):
        return Response({"vapid_public_key": vapid_keys().public_key})
