"""POST /floor: validate one event with a DRF serializer and insert it as one row, in its own
transaction. The least any Django + DRF tracking endpoint on PostgreSQL does per event: the
floor bench/ingest.py compares POST /api/v1/events with, in the same run."""

import orjson
from django.db import connection
from django.urls import path
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

TABLE = "bench_single_floor"


class EventSerializer(serializers.Serializer):
    event_name = serializers.CharField(max_length=255)
    event_time = serializers.CharField(required=False)
    app_user_id = serializers.CharField(required=False)
    event_id = serializers.CharField(required=False)
    session_id = serializers.CharField(required=False)
    device_token = serializers.CharField(required=False)
    platform = serializers.CharField(required=False)
    push_permission_granted = serializers.BooleanField(required=False)
    timezone = serializers.CharField(required=False)
    language = serializers.CharField(required=False)
    country = serializers.CharField(required=False)
    params = serializers.DictField(required=False)
    context = serializers.DictField(required=False)


class FloorView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []  # no key, so the API's per-IP limit for keyless requests

    def post(self, request):
        serializer = EventSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {TABLE} (name, user_id, params) VALUES (%s, %s, %s::jsonb)",
                [data["event_name"], data.get("app_user_id"), orjson.dumps(request.data).decode()],
            )
        return Response({"ok": True})


urlpatterns = [path("floor", FloorView.as_view())]
