"""Shared API plumbing: the JSON parser with a body limit, pagination, and the one error shape.

Every error leaves the API as {"error": "<kind>", "detail": ...}; validation errors carry
{"<field>": ["<reason>", ...]} so a client can point at the field that is wrong.
"""

from __future__ import annotations

import orjson
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import BaseParser
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

DEFAULT_MAX_BODY_BYTES = 1_000_000


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "request body is too large"
    default_code = "too_large"


class FastJSONParser(BaseParser):
    """JSON via orjson; refuses bodies over the view's `max_body_bytes` (default 1 MB) with 413.

    It reads DRF's stream (the request itself), bounded, and never `request.body`: so Django's
    DATA_UPLOAD_MAX_MEMORY_SIZE, meant for forms, leaves a 10 MB batch alone, and a body past the
    view's limit is refused without being read whole. Nothing may read `request.body` of an API
    request before the parser (a middleware would make DRF read it, and Django raise a 400)."""

    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        view = (parser_context or {}).get("view")
        limit = getattr(view, "max_body_bytes", DEFAULT_MAX_BODY_BYTES)
        request = (parser_context or {}).get("request")
        declared = int(request.META.get("CONTENT_LENGTH") or 0) if request is not None else 0
        if declared > limit:
            raise PayloadTooLarge(f"request body is over the limit of {limit} bytes")
        body = stream.read(limit + 1) if stream is not None else b""
        if len(body) > limit:
            raise PayloadTooLarge(f"request body is over the limit of {limit} bytes")
        try:
            return orjson.loads(body or b"null")
        except orjson.JSONDecodeError as exc:
            raise exceptions.ParseError(f"body is not valid JSON: {exc}") from None


class Pagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


class ValidationFailed(exceptions.ValidationError):
    """A validation error whose detail is already {"field": ["reason"]}."""


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


def validation_error_response(errors: dict) -> Response:
    return Response({"error": "validation", "detail": errors}, status=status.HTTP_400_BAD_REQUEST)


def validated(serializer_class, data, **kwargs) -> dict:
    """The serializer's validated data, or the one 400 shape naming each field."""
    serializer = serializer_class(data=data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data
