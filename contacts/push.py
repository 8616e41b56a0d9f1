"""Which web push endpoints Beacon accepts from clients and will send to."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings

LOCAL_HOSTS = {"127.0.0.1", "localhost"}


def push_endpoint_error(endpoint: str) -> str | None:
    """Why an endpoint is refused, or None. Browsers only hand out https endpoints; http is for
    local push services (tests, development) when WEBPUSH_ALLOW_HTTP_LOCALHOST is on."""
    try:
        parts = urlsplit(endpoint)
        host = parts.hostname
    except ValueError:
        return "is not a URL"
    if not host:
        return "is not a URL"
    if parts.scheme == "https":
        return None
    if parts.scheme == "http" and host in LOCAL_HOSTS and settings.WEBPUSH_ALLOW_HTTP_LOCALHOST:
        return None
    if parts.scheme == "http" and host in LOCAL_HOSTS:
        return "must be an https URL (http://localhost needs WEBPUSH_ALLOW_HTTP_LOCALHOST)"
    return "must be an https URL"
