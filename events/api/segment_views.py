"""The Segment HTTP Tracking API at Beacon's root: POST /v1/track, /v1/identify, /v1/page,
/v1/screen, /v1/alias, /v1/group, /v1/batch and /v1/import (docs/segment-spec.md), so Segment's
and RudderStack's libraries send to Beacon unchanged.

Answers as Segment's: 200 {"success": true}; 400 for a body over the size limits, bad JSON, or a
message refused. Errors keep the API's shape ({"error", "detail"}) and also carry `code` and
`message`, the two fields these libraries read: without them rudder-sdk-python takes a 400 for a
network error and retries it ten times.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.response import Response

from config.api import ValidationFailed
from contacts.api.auth import HasIngestScope
from events.api.body_checks import body_auth_errors, may_hold_nul
from events.api.segment_http import SegmentJSONParser, SegmentKeyAuthentication, SegmentTextParser
from events.api.segment_serializers import (
    SegmentAliasSerializer,
    SegmentBatchSerializer,
    SegmentGroupSerializer,
    SegmentIdentifySerializer,
    SegmentPageSerializer,
    SegmentRefusedSerializer,
    SegmentSuccessSerializer,
    SegmentTrackSerializer,
)
from events.api.views import TrackingView
from events.segment_spec import INSTANT_SHAPE_REASON, is_instant_shaped
from events.services.segment import (
    MAX_BATCH_BYTES,
    MAX_BATCH_MESSAGES,
    MAX_MESSAGE_BYTES,
    segment_messages_ingest,
)

TAG = "Segment-compatible tracking"
WRITE_KEY_FIELDS = ("writeKey",)
SUCCESS = {"success": True}


class _SegmentView(TrackingView):
    authentication_classes = [SegmentKeyAuthentication]
    permission_classes = [HasIngestScope]
    parser_classes = [SegmentJSONParser, SegmentTextParser]
    max_body_bytes = MAX_MESSAGE_BYTES

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        response.data = _with_segment_fields(response.data)
        return response

    def body_errors(self, data: dict) -> None:
        """The body's own fields a header's key makes unused: still refused when malformed, as
        the published schema says (an empty writeKey, a sentAt that is no time)."""
        errors = body_auth_errors(data, WRITE_KEY_FIELDS)
        sent_at = data.get("sentAt")
        if sent_at is not None and not is_instant_shaped(sent_at):
            errors["sentAt"] = [INSTANT_SHAPE_REASON]
        if errors:
            raise ValidationFailed(errors)


class _SegmentCallView(_SegmentView):
    kind = ""

    def post(self, request):
        if not isinstance(request.data, dict):
            raise ValidationFailed({"body": ["must be a JSON object: one message"]})
        self.body_errors(request.data)
        outcome = segment_messages_ingest(
            app=request.user.app,
            messages=[request.data],
            kind=self.kind,
            check_nul=may_hold_nul(request),
            check_sizes=False,  # the whole body is within a message's limit
        )
        if outcome.errors:
            return _refused(outcome.errors[0])
        return Response(SUCCESS)


def _call_schema(kind: str, serializer) -> dict:
    return {
        "tags": [TAG],
        "operation_id": f"segment_compat_{kind}",
        "summary": f"Segment {kind} call",
        "request": {"application/json": serializer, "text/plain": serializer},
        "responses": {
            200: SegmentSuccessSerializer,
            400: OpenApiResponse(
                SegmentRefusedSerializer,
                description="The message is refused (detail names its fields), the body is "
                f"over {MAX_MESSAGE_BYTES // 1024} KB decompressed, or not valid JSON or gzip",
            ),
        },
    }


class SegmentTrackView(_SegmentCallView):
    kind = "track"

    @extend_schema(**_call_schema("track", SegmentTrackSerializer))
    def post(self, request):
        return super().post(request)


class SegmentIdentifyView(_SegmentCallView):
    kind = "identify"

    @extend_schema(**_call_schema("identify", SegmentIdentifySerializer))
    def post(self, request):
        return super().post(request)


class SegmentPageView(_SegmentCallView):
    kind = "page"

    @extend_schema(**_call_schema("page", SegmentPageSerializer))
    def post(self, request):
        return super().post(request)


class SegmentScreenView(_SegmentCallView):
    kind = "screen"

    @extend_schema(**_call_schema("screen", SegmentPageSerializer))
    def post(self, request):
        return super().post(request)


class SegmentAliasView(_SegmentCallView):
    kind = "alias"

    @extend_schema(**_call_schema("alias", SegmentAliasSerializer))
    def post(self, request):
        return super().post(request)


class SegmentGroupView(_SegmentCallView):
    kind = "group"

    @extend_schema(**_call_schema("group", SegmentGroupSerializer))
    def post(self, request):
        return super().post(request)


def _batch_schema(operation: str) -> dict:
    return {
        "tags": [TAG],
        "operation_id": f"segment_compat_{operation}",
        "summary": f"Segment {operation} call: a batch of messages",
        "request": {
            "application/json": SegmentBatchSerializer,
            "text/plain": SegmentBatchSerializer,
        },
        "responses": {
            200: SegmentSuccessSerializer,
            400: OpenApiResponse(
                SegmentRefusedSerializer,
                description="Some messages are refused (detail names batch[i].<field>; the "
                "others are stored, `stored` counts the new ones), or the body is over "
                f"{MAX_BATCH_BYTES // 1024} KB decompressed, or not valid JSON or gzip",
            ),
        },
    }


class SegmentBatchView(_SegmentView):
    max_body_bytes = MAX_BATCH_BYTES

    @extend_schema(**_batch_schema("batch"))
    def post(self, request):
        data = request.data
        if not isinstance(data, dict):
            raise ValidationFailed({"body": ['must be a JSON object: {"batch": [...]}']})
        self.body_errors(data)
        if not isinstance(data.get("context", {}), dict | None):
            raise ValidationFailed({"context": ["must be a JSON object"]})
        messages = data.get("batch")
        if not isinstance(messages, list) or not messages:
            raise ValidationFailed({"batch": ["must be a non-empty list of messages"]})
        if len(messages) > MAX_BATCH_MESSAGES:
            raise ValidationFailed({"batch": [f"at most {MAX_BATCH_MESSAGES} messages a batch"]})
        body = request.parser_context.get("body")
        outcome = segment_messages_ingest(
            app=request.user.app,
            messages=messages,
            sent_at=data.get("sentAt"),
            batch_context=data.get("context"),
            check_nul=may_hold_nul(request),
            check_sizes=body is None or len(body) > MAX_MESSAGE_BYTES,
        )
        if not outcome.errors:
            return Response(SUCCESS)
        detail = {
            f"batch[{index}]{_field_suffix(name)}": reasons
            for index, errors in sorted(outcome.errors.items())
            for name, reasons in errors.items()
        }
        refused = len(outcome.errors)
        return _refused(
            detail,
            stored=outcome.stored,
            message=f"{refused} of {outcome.received} messages refused; the others were "
            f"accepted ({outcome.stored} new)",
        )


class SegmentImportView(SegmentBatchView):
    """Segment's historical import: a batch by another name."""

    @extend_schema(**_batch_schema("import"))
    def post(self, request):
        return super().post(request)


def _field_suffix(name: str) -> str:
    return "" if name == "non_field_errors" else f".{name}"


def _refused(detail: dict, *, stored: int | None = None, message: str | None = None) -> Response:
    data = {"error": "validation", "detail": detail}
    if stored is not None:
        data["stored"] = stored
    return Response(_with_segment_fields(data, message), status=400)


def _with_segment_fields(data: dict, message: str | None = None) -> dict:
    detail = data.get("detail")
    if message is None and isinstance(detail, dict):
        message = "; ".join(f"{name}: {' '.join(map(str, r))}" for name, r in detail.items())
    return {**data, "code": data.get("error"), "message": message or str(detail)}
