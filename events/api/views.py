"""The tracking API: POST /api/v1/events and POST /api/v1/events/batch."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from common import metrics
from config.api import FastJSONParser, ValidationFailed, validation_error_response
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
from events.validation import (
    BODY_AUTH_FIELDS,
    MAX_BATCH,
    NUL,
    NUL_REASON,
    unknown_field_errors,
)

# A batch's own fields (each event's are checked by events.validation), and Segment's name.
BATCH_FIELDS = frozenset({"events", *BODY_AUTH_FIELDS})
FOREIGN_BATCH_FIELDS = {"batch": "events"}


class _IngestView(APIView):
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

    def ingest(self, request, payloads: list) -> list:
        if errors := _body_auth_errors(request.data):
            raise ValidationFailed(errors)
        return events_ingest(
            app=request.user.app, payloads=payloads, check_nul=_may_hold_nul(request)
        )


def _body_auth_errors(data) -> dict:
    """Body credentials that are not non-empty text: the authentication ignores them (a Bearer
    header wins), so a `tenant_id` of 5 or an empty `api_key` would pass unchecked; refused, as
    the published schema says."""
    if not isinstance(data, dict):
        return {}
    errors = {}
    for name in BODY_AUTH_FIELDS:
        if name not in data:
            continue
        value = data[name]
        if not isinstance(value, str):
            errors[name] = ["must be a string"]
        elif not value:
            errors[name] = ["must not be empty"]
        elif NUL in value:
            errors[name] = [NUL_REASON]
    return errors


def _may_hold_nul(request) -> bool:
    """Whether a string of the body may hold a NUL: JSON can only write it as the escape \\u0000
    (a raw NUL is a parse error), so one byte search of the raw body tells, and validation walks
    no string for it when the escape is absent. Unknown body: assume it may."""
    body = request.parser_context.get("body")
    return body is None or b"\\u0000" in body


class EventTrackView(_IngestView):
    permission_classes = [HasIngestScope]
    max_body_bytes = 1_000_000

    @extend_schema(request=EventInputSerializer, responses={200: EventAcceptedSerializer})
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
