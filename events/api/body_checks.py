"""Checks of a tracking request's body shared by Beacon's own endpoints (views.py) and the
Segment-compatible ones (segment_views.py)."""

from __future__ import annotations

from events.validation import NUL, NUL_REASON


def body_auth_errors(data, names) -> dict:
    """Body credentials (`names`) that are not non-empty text: the authentication ignores them
    when a header authenticates, so a `tenant_id` of 5 or an empty `api_key` would pass
    unchecked; refused, as the published schema says."""
    if not isinstance(data, dict):
        return {}
    errors = {}
    for name in names:
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


def may_hold_nul(request) -> bool:
    """Whether a string of the body may hold a NUL: JSON can only write it as the escape \\u0000
    (a raw NUL is a parse error), so one byte search of the raw body tells, and validation walks
    no string for it when the escape is absent. Unknown body: assume it may."""
    body = request.parser_context.get("body")
    return body is None or b"\\u0000" in body
