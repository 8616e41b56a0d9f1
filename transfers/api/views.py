"""The export API: an app's contacts, a segment's members and an app's events of a period, as a
CSV or JSON Lines file streamed as it is read (transfers/selectors/exports.py says how).

The file's format is the query parameter `format`, which DRF otherwise reads as its renderer
override (URL_FORMAT_OVERRIDE): with only the JSON renderer, `?format=csv` would answer 404
before the view runs. These views negotiate nothing instead (ExportNegotiation): the file is
not a rendered response, and errors are always JSON in the API's error shape."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.views import APIView

from config.api import ValidationFailed, validated
from segments.api.views import segment_or_404
from transfers.api.serializers import EventExportQuerySerializer, ExportQuerySerializer
from transfers.export_formats import CONTENT_TYPES, ExportFormat, export_response
from transfers.selectors.exports import (
    contact_export_rows,
    event_export_rows,
    event_type_named,
    segment_member_export_rows,
)


class ExportNegotiation(BaseContentNegotiation):
    """The first renderer (JSON, for errors), whatever `format` or Accept say."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


def _file_responses(what: str) -> dict:
    description = f"{what}, as the file `format` names (an attachment, streamed)"
    return {
        (200, CONTENT_TYPES[file_format].split(";")[0]): OpenApiResponse(
            OpenApiTypes.STR, description=description
        )
        for file_format in ExportFormat
    }


class ExportView(APIView):
    content_negotiation_class = ExportNegotiation


class ContactExportView(ExportView):
    @extend_schema(parameters=[ExportQuerySerializer], responses=_file_responses("The contacts"))
    def get(self, request):
        """All the app's contacts, by id; custom fields as one JSON column in CSV."""
        query = validated(ExportQuerySerializer, request.query_params)
        rows = contact_export_rows(app=request.user.app)
        return export_response(rows=rows, file_format=ExportFormat(query["format"]))


class SegmentMemberExportView(ExportView):
    @extend_schema(
        parameters=[ExportQuerySerializer],
        responses=_file_responses("The members with their contact fields and entered_at"),
    )
    def get(self, request, segment_id: int):
        """The segment's members as of its last computation, by contact id."""
        segment = segment_or_404(request, segment_id)
        query = validated(ExportQuerySerializer, request.query_params)
        rows = segment_member_export_rows(segment=segment)
        return export_response(rows=rows, file_format=ExportFormat(query["format"]))


class EventExportView(ExportView):
    @extend_schema(parameters=[EventExportQuerySerializer], responses=_file_responses("The events"))
    def get(self, request):
        """The app's events that occurred in [from, to), oldest first."""
        query = validated(EventExportQuerySerializer, request.query_params)
        app = request.user.app
        event_type = None
        if name := query.get("event_name"):
            event_type = event_type_named(app=app, name=name)
            if event_type is None:
                raise ValidationFailed({"event_name": ["no event of this name in this app"]})
        rows = event_export_rows(
            app=app, start=query["from"], end=query["to"], event_type=event_type
        )
        return export_response(rows=rows, file_format=ExportFormat(query["format"]))
