"""Which web push endpoints Beacon accepts from clients and will send to."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings

LOCAL_HOSTS = ("127.0.0.1", "localhost")


def push_endpoint_error(endpoint: object) -> str | None:
    """Why a subscription endpoint is refused, or None. Browsers only hand out https endpoints;
    http is for local push services (tests, development) when WEBPUSH_ALLOW_HTTP_LOCALHOST is on."""
    if not isinstance(endpoint, str) or not endpoint:
        return "is missing"
    try:
        parts = urlsplit(endpoint)
        parts.port  # noqa: B018 (raises ValueError for a malformed port)
    except ValueError:
        return f"is not a valid URL ({endpoint[:100]!r})"
    if not parts.hostname:
        return "is not a valid URL (no host)"
    if parts.scheme == "https":
        return None
    if parts.scheme == "http" and parts.hostname in LOCAL_HOSTS:
        if settings.WEBPUSH_ALLOW_HTTP_LOCALHOST:
            return None
        return "must use https (http on localhost needs the setting WEBPUSH_ALLOW_HTTP_LOCALHOST)"
    return "must use https"
