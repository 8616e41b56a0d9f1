"""The tracking API: POST /api/v1/events (JSON, or Customer.io's form-encoded track call) and
POST /api/v1/events/batch."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from common import metrics
from config.api import FastJSONParser, ValidationFailed, validation_error_response
from contacts.api.auth import HasIngestScope
from events.api.body_checks import body_auth_errors, may_hold_nul
from events.api.form_parser import TrackFormParser
from events.api.serializers import (
    EventAcceptedSerializer,
    EventBatchInputSerializer,
    EventBatchResultSerializer,
    EventInputSerializer,
    accepted_payload,
    batch_item_payload,
)
from events.services.ingest import events_ingest
from events.validation import (
    BODY_AUTH_FIELDS,
    MAX_BATCH,
    unknown_field_errors,
)

# A batch's own fields (each event's are checked by events.validation), and Segment's name.
BATCH_FIELDS = frozenset({"events", *BODY_AUTH_FIELDS})
FOREIGN_BATCH_FIELDS = {"batch": "events"}


# What every tracking endpoint shares (these and the Segment-compatible ones): chunked bodies
# read, and each refusal counted by reason. (A comment: a docstring would describe every
# operation in the published schema.)
class TrackingView(APIView):
    def initialize_request(self, request, *args, **kwargs):
        drf_request = super().initialize_request(request, *args, **kwargs)
        # SDKs and proxies may stream a body in chunks, without a Content-Length; DRF would read
        # it as empty ("event_name: required"). The parser reads it, or answers 411.
        if (stream := FastJSONParser.unsized_stream(request)) is not None:
            drf_request._stream = stream
        return drf_request

    def handle_exception(self, exc):
        response = super().handle_exception(exc)  # the one error shape (config/api.py)
        metrics.ingest_rejected(reason=response.data["error"])
        return response


class _IngestView(TrackingView):
    def ingest(self, request, payloads: list) -> list:
        if errors := body_auth_errors(request.data, BODY_AUTH_FIELDS):
            raise ValidationFailed(errors)
        return events_ingest(
            app=request.user.app, payloads=payloads, check_nul=may_hold_nul(request)
        )


class EventTrackView(_IngestView):
    permission_classes = [HasIngestScope]
    parser_classes = [FastJSONParser, TrackFormParser]
    max_body_bytes = 1_000_000

    @extend_schema(
        request=EventInputSerializer,
        responses={200: EventAcceptedSerializer},
        description="One event, as JSON or form-encoded as Customer.io's track call sends it "
        "(`name=purchased&data[price]=23.45&timestamp=1359389415`: `root[key]` keys nest "
        "objects, `root[key][]` appends to a list, values stay strings). The key as "
        "`Authorization: Bearer <key>`, HTTP Basic (the key as user name or password) or "
        "`api_key` in the body.",
    )
    def post(self, request):
        [result] = self.ingest(request, [request.data])
        if result.errors:
            return validation_error_response(result.errors)
        return Response(accepted_payload(result))


class EventBatchView(_IngestView):
    permission_classes = [HasIngestScope]
    max_body_bytes = 10_000_000

    @extend_schema(request=EventBatchInputSerializer, responses={200: EventBatchResultSerializer})
    def post(self, request):
        data = request.data if isinstance(request.data, dict) else {}
        if unknown := data.keys() - BATCH_FIELDS:
            raise ValidationFailed(
                unknown_field_errors(
                    unknown,
                    known=BATCH_FIELDS,
                    foreign=FOREIGN_BATCH_FIELDS,
                    otherwise="unknown field",
                )
            )
        events = data.get("events")
        if not isinstance(events, list) or not events:
            raise ValidationFailed({"events": ["must be a non-empty list of events"]})
        if len(events) > MAX_BATCH:
            raise ValidationFailed({"events": [f"at most {MAX_BATCH} events a batch"]})
        results = self.ingest(request, events)
        return Response({"results": [batch_item_payload(r) for r in results]})
