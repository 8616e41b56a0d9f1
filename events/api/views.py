"""The tracking API: POST /api/v1/events and POST /api/v1/events/batch."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from common import metrics
from config.api import ValidationFailed, validation_error_response
from contacts.api.auth import HasIngestScope
from events.api.serializers import (
    EventAcceptedSerializer,
    EventBatchInputSerializer,
    EventBatchResultSerializer,
    EventInputSerializer,
    accepted_payload,
    batch_item_payload,
)
from events.services.ingest import events_ingest

MAX_BATCH = 1000


class _IngestView(APIView):
    def handle_exception(self, exc):
        response = super().handle_exception(exc)  # the one error shape (config/api.py)
        metrics.ingest_rejected(reason=response.data["error"])
        return response


class EventTrackView(_IngestView):
    permission_classes = [HasIngestScope]
    max_body_bytes = 1_000_000

    @extend_schema(request=EventInputSerializer, responses={200: EventAcceptedSerializer})
    def post(self, request):
        [result] = events_ingest(app=request.user.app, payloads=[request.data])
        if result.errors:
            return validation_error_response(result.errors)
        return Response(accepted_payload(result))


class EventBatchView(_IngestView):
    permission_classes = [HasIngestScope]
    max_body_bytes = 10_000_000

    @extend_schema(request=EventBatchInputSerializer, responses={200: EventBatchResultSerializer})
    def post(self, request):
        events = request.data.get("events") if isinstance(request.data, dict) else None
        if not isinstance(events, list) or not events:
            raise ValidationFailed({"events": ["must be a non-empty list of events"]})
        if len(events) > MAX_BATCH:
            raise ValidationFailed({"events": [f"at most {MAX_BATCH} events a batch"]})
        results = events_ingest(app=request.user.app, payloads=events)
        return Response({"results": [batch_item_payload(r) for r in results]})
