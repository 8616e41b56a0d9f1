"""Shared API plumbing: the JSON parser with a body limit, pagination, and the one error shape.

Every error leaves the API as {"error": "<kind>", "detail": ...}; validation errors carry
{"<field>": ["<reason>", ...]} so a client can point at the field that is wrong. A database that
can't be reached answers 503 "unavailable" with Retry-After (clients retry later), and too many
requests 429 "throttled" with Retry-After (config/throttling.py).
"""

from __future__ import annotations

import orjson
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import BaseParser
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from config import outages

DEFAULT_MAX_BODY_BYTES = 1_000_000


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "request body is too large"
    default_code = "too_large"


class LengthRequired(exceptions.APIException):
    status_code = status.HTTP_411_LENGTH_REQUIRED
    default_detail = "send a Content-Length, or a chunked body to a server that decodes it"
    default_code = "length_required"


class FastJSONParser(BaseParser):
    """JSON via orjson; refuses bodies over the view's `max_body_bytes` (default 1 MB) with 413.

    It reads DRF's stream (the request itself), bounded, and never `request.body`: so Django's
    DATA_UPLOAD_MAX_MEMORY_SIZE, meant for forms, leaves a 10 MB batch alone, and a body past the
    view's limit is refused without being read whole. Nothing may read `request.body` of an API
    request before the parser (a middleware would make DRF read it, and Django raise a 400).

    The raw body is left in parser_context["body"] for a view that scans it whole (a byte search
    costs far less than a walk of the parsed values).

    A body without a Content-Length (Transfer-Encoding: chunked) reaches parse() only from a view
    that hands DRF `unsized_stream()`, since DRF reads no body without a length; it is read up to
    the limit where the server decodes the chunks and says where the body ends (the WSGI
    extension `wsgi.input_terminated`: gunicorn, mod_wsgi), else refused with 411."""

    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context if parser_context is not None else {}
        body = self.read_body(stream, parser_context)
        parser_context["body"] = body
        try:
            return orjson.loads(body or b"null")
        except orjson.JSONDecodeError as exc:
            raise exceptions.ParseError(f"body is not valid JSON: {exc}") from None

    @classmethod
    def read_body(cls, stream, parser_context: dict) -> bytes:
        """The raw body, within the view's limit (413 past it; 411 for an unsized stream that
        no server decoded)."""
        view = parser_context.get("view")
        limit = getattr(view, "max_body_bytes", DEFAULT_MAX_BODY_BYTES)
        request = parser_context.get("request")
        meta = request.META if request is not None else {}
        declared = meta.get("CONTENT_LENGTH")
        if not declared and cls._is_chunked(meta) and not meta.get("wsgi.input_terminated"):
            raise LengthRequired()
        if int(declared or 0) > limit:
            raise PayloadTooLarge(f"request body is over the limit of {limit} bytes")
        body = stream.read(limit + 1) if stream is not None else b""
        if len(body) > limit:
            raise PayloadTooLarge(f"request body is over the limit of {limit} bytes")
        return body

    @staticmethod
    def unsized_stream(request):
        """The server's input stream of a request with a chunked body and no Content-Length, for
        a view to set as its DRF request's stream (None for any other request)."""
        meta = request.META
        if meta.get("CONTENT_LENGTH") or not FastJSONParser._is_chunked(meta):
            return None
        return meta.get("wsgi.input")

    @staticmethod
    def _is_chunked(meta) -> bool:
        return "chunked" in meta.get("HTTP_TRANSFER_ENCODING", "").lower()


class Pagination(PageNumberPagination):
    """Pages of `page_size` results (default 50, more than 500 are capped to 500). A page or
    page_size that is not a whole number of at least 1 answers 400 naming it (DRF would quietly
    use the default); a page past the last answers 404."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
    last_page_strings = ()

    def get_page_size(self, request) -> int:
        value = request.query_params.get(self.page_size_query_param)
        if value is None:
            return self.page_size
        return min(_whole_number(self.page_size_query_param, value), self.max_page_size)

    def get_page_number(self, request, paginator) -> int:
        value = request.query_params.get(self.page_query_param)
        return 1 if value is None else _whole_number(self.page_query_param, value)

    def get_schema_operation_parameters(self, view) -> list[dict]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"]["minimum"] = 1
            if parameter["name"] == self.page_size_query_param:
                parameter["description"] = (
                    f"Results per page (default {self.page_size}; "
                    f"at most {self.max_page_size} are returned)"
                )
        return parameters


def _whole_number(name: str, value: str) -> int:
    try:
        number = int(value) if value.isascii() and value.isdigit() else 0
    except ValueError:  # past Python's 4300 digits
        number = 0
    if number < 1:
        raise exceptions.ValidationError({name: ["must be a whole number of at least 1"]})
    return number


class ValidationFailed(exceptions.ValidationError):
    """A validation error whose detail is already {"field": ["reason"]}."""


class Unavailable(exceptions.APIException):
    """The database can't be reached (config/outages.py): 503, and Retry-After from `wait`."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = outages.DETAIL
    default_code = "unavailable"
    wait = outages.RETRY_AFTER_SECONDS


def _kind(exc: exceptions.APIException) -> str:
    if isinstance(exc, exceptions.ValidationError | exceptions.ParseError):
        return "validation"
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        return "authentication"
    if isinstance(exc, exceptions.PermissionDenied):
        return "permission"
    if isinstance(exc, exceptions.NotFound):
        return "not_found"
    return exc.default_code if isinstance(exc.default_code, str) else "error"


def _field_detail(detail) -> dict:
    if isinstance(detail, dict):
        return detail
    if isinstance(detail, list):
        return {"non_field_errors": detail}
    return {"non_field_errors": [detail]}


def exception_handler(exc, context):
    if isinstance(exc, outages.DATABASE_UNAVAILABLE):
        outages.log_unavailable(exc)
        exc = Unavailable()
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
    if isinstance(exc, exceptions.ParseError):
        exc = exceptions.ValidationError({"body": [str(exc.detail)]})
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    kind = _kind(exc)
    if kind == "validation":
        detail = _field_detail(response.data)
    else:
        detail = (
            response.data.get("detail", response.data)
            if isinstance(response.data, dict)
            else response.data
        )
    response.data = {"error": kind, "detail": detail}
    return response


@csrf_exempt
def api_not_found(request, *args, **kwargs) -> JsonResponse:
    """An /api/ address that no endpoint has (an id that is not a number, say): 404 in the API's
    error shape rather than Django's HTML page."""
    return JsonResponse({"error": "not_found", "detail": "no such endpoint"}, status=404)


def validation_error_response(errors: dict) -> Response:
    return Response({"error": "validation", "detail": errors}, status=status.HTTP_400_BAD_REQUEST)


def validated(serializer_class, data, **kwargs) -> dict:
    """The serializer's validated data, or the one 400 shape naming each field."""
    serializer = serializer_class(data=data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data
