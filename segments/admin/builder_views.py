"""The JSON the segment builder asks for while a marketer edits: the app's catalog (events
enabled for segmentation with their attributes, the other segments) and the live member count.

Admin views (session, CSRF, staff): the REST API takes API keys only. Each is scoped to the apps
the user's pages show; an app or segment outside them is a 404, as if it did not exist. The count
comes from the same selector as POST /api/v1/segments/preview."""

from __future__ import annotations

import json

from django.core.exceptions import ValidationError
from django.http import HttpRequest, JsonResponse

from contacts.access import scoped_apps
from contacts.models import App
from segments.models import Segment
from segments.selectors import segment_builder_catalog, segment_preview

PREVIEW_SAMPLE_SIZE = 5


def _error(status: int, detail: dict | str) -> JsonResponse:
    kind = "validation" if status == 400 else {403: "forbidden", 404: "not_found"}.get(status)
    return JsonResponse({"error": kind or "error", "detail": detail}, status=status)


def _scoped_app(request: HttpRequest, value) -> App | None:
    app_id = value if isinstance(value, int) else int(value) if str(value).isdigit() else None
    return scoped_apps(request).filter(pk=app_id).first() if app_id is not None else None


def _segment_id(app: App, value) -> int | None:
    """The id of the app's segment being edited; raises LookupError for another's."""
    if value in (None, ""):
        return None
    segment_id = value if isinstance(value, int) else int(value) if str(value).isdigit() else -1
    if not Segment.objects.filter(app=app, pk=segment_id).exists():
        raise LookupError(value)
    return segment_id


def catalog_view(model_admin, request: HttpRequest) -> JsonResponse:
    """GET ?app=<id>[&segment=<id>]: the events and segments the builder offers for the app."""
    if request.method != "GET":
        return _error(405, "GET only")
    if not (model_admin.has_add_permission(request) or model_admin.has_change_permission(request)):
        return _error(403, "you may not edit segments")
    app = _scoped_app(request, request.GET.get("app", ""))
    if app is None:
        return _error(404, "no such app among yours")
    try:
        segment_id = _segment_id(app, request.GET.get("segment"))
    except LookupError:
        return _error(404, "no such segment in this app")
    return JsonResponse(segment_builder_catalog(app=app, segment_id=segment_id))


def preview_view(model_admin, request: HttpRequest) -> JsonResponse:
    """POST {"app": id, "conditions": tree, "segment": id (optional)}: {"count", "sample"}, or a
    400 whose detail names the JSON path of each error, as the API's preview does."""
    if request.method != "POST":
        return _error(405, "POST only")
    if not (model_admin.has_add_permission(request) or model_admin.has_change_permission(request)):
        return _error(403, "you may not edit segments")
    try:
        body = json.loads(request.body or b"null")
    except ValueError:
        return _error(400, {"body": ["must be JSON"]})
    if not isinstance(body, dict) or "conditions" not in body:
        return _error(400, {"conditions": ["is required"]})
    app = _scoped_app(request, body.get("app"))
    if app is None:
        return _error(404, "no such app among yours")
    try:
        segment_id = _segment_id(app, body.get("segment"))
        count, sample = segment_preview(
            app=app,
            conditions=body["conditions"],
            sample_size=PREVIEW_SAMPLE_SIZE,
            segment_id=segment_id,
        )
    except LookupError:
        return _error(404, "no such segment in this app")
    except ValidationError as exc:
        return _error(400, exc.message_dict)
    contacts = [
        {"id": c.pk, "external_id": c.external_id, "email": c.email, "label": _label(c)}
        for c in sample
    ]
    return JsonResponse({"count": count, "sample": contacts})


def _label(contact) -> str:
    return contact.external_id or contact.email or contact.anonymous_id or f"#{contact.pk}"
