"""HTTP as Segment's libraries speak it: the write key (HTTP Basic user name, or `writeKey` in
the body) and JSON bodies that may be gzipped, within Segment's size limits.

The size limits are Segment's (32 KB a message, 500 KB a batch) and apply to the decompressed
body, which is inflated at most one byte past the limit: a small gzip bomb costs nothing.
Segment answers 400 to a body over them, and so does Beacon (naming `body`).
"""

from __future__ import annotations

import zlib

import orjson
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.parsers import BaseParser

from config.api import LengthRequired
from contacts.api.auth import ApiKeyAuthentication

# The compressed body is read up to this much more than the limit (gzip's header, trailer and
# stored blocks of incompressible data), then no further.
WIRE_SLACK_BYTES = 16 * 1024
ENCODINGS = {"gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS}


class SegmentKeyAuthentication(ApiKeyAuthentication):
    """A Beacon API key (ingest or admin scope) as Segment's write key: the user name of HTTP
    Basic (empty password), else `writeKey` in the JSON body; Beacon's `Bearer` works too.
    Failures count against the client IP's rate limit as ApiKeyAuthentication's do."""

    def _credentials(self, request) -> tuple[str | None, str | None]:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if header:  # Basic or Bearer, read as on every endpoint (contacts/api/auth.py)
            return super()._credentials(request)
        data = request.data
        if isinstance(data, dict) and isinstance(data.get("writeKey"), str):
            return data["writeKey"], None
        return None, None

    def authenticate_header(self, request) -> str:
        return 'Basic realm="beacon"'


class SegmentKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = SegmentKeyAuthentication
    name = "segmentWriteKey"
    priority = 1  # over ApiKeyAuthentication's (Bearer) extension, which matches subclasses

    def get_security_definition(self, auto_schema) -> dict:
        return {
            "type": "http",
            "scheme": "basic",
            "description": "An ingest- or admin-scope API key as the user name, no password "
            "(or `writeKey` in the body)",
        }


class SegmentJSONParser(BaseParser):
    """JSON, gzip- or deflate-encoded or not, up to the view's `max_body_bytes` decompressed.
    The decompressed body is left in parser_context["body"] (the view's NUL check reads it)."""

    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context if parser_context is not None else {}
        limit = parser_context["view"].max_body_bytes
        meta = parser_context["request"].META
        encoding = meta.get("HTTP_CONTENT_ENCODING", "").strip().lower()
        if encoding not in ("", "identity") and encoding not in ENCODINGS:
            raise exceptions.UnsupportedMediaType(
                encoding, detail=f"Content-Encoding {encoding!r}: send gzip, deflate or none"
            )
        wire_limit = limit + WIRE_SLACK_BYTES if encoding in ENCODINGS else limit
        declared = meta.get("CONTENT_LENGTH")
        if not declared and _is_chunked(meta) and not meta.get("wsgi.input_terminated"):
            raise LengthRequired()
        if int(declared or 0) > wire_limit:
            raise _too_large(limit)
        body = stream.read(wire_limit + 1) if stream is not None else b""
        if len(body) > wire_limit:
            raise _too_large(limit)
        if encoding in ENCODINGS:
            body = _inflated(body, ENCODINGS[encoding], encoding, limit)
        parser_context["body"] = body
        try:
            return orjson.loads(body or b"null")
        except orjson.JSONDecodeError as exc:
            raise exceptions.ParseError(f"body is not valid JSON: {exc}") from None


class SegmentTextParser(SegmentJSONParser):
    """analytics.js posts its JSON as text/plain (no CORS preflight)."""

    media_type = "text/plain"


def _inflated(body: bytes, wbits: int, encoding: str, limit: int) -> bytes:
    inflater = zlib.decompressobj(wbits)
    try:
        data = inflater.decompress(body, limit + 1)
    except zlib.error as exc:
        raise exceptions.ParseError(f"body is not valid {encoding} data: {exc}") from None
    if len(data) > limit:
        raise _too_large(limit)
    if not inflater.eof:
        raise exceptions.ParseError(f"body is not valid {encoding} data: it is cut short")
    return data


def _too_large(limit: int) -> exceptions.ParseError:
    return exceptions.ParseError(
        f"the request body is over Segment's limit of {limit // 1024} KB (decompressed)"
    )


def _is_chunked(meta) -> bool:
    return "chunked" in meta.get("HTTP_TRANSFER_ENCODING", "").lower()
