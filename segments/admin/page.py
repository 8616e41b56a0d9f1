"""The segment page: its size and size over time, its members with search, and "why is this
contact (not) in this segment?" from the explain logic the API uses."""

from __future__ import annotations

from django.contrib.admin.utils import unquote
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest
from django.template.response import TemplateResponse

from segments.admin.explanation import explanation_rows
from segments.conditions.compiler import segment_context
from segments.conditions.explain import segment_explain
from segments.models import Segment
from segments.selectors import contact_find, segment_history, segment_member_list

MEMBERS_PER_PAGE = 25
HISTORY_DAYS = 30


def segment_page_view(model_admin, request: HttpRequest, object_id: str) -> TemplateResponse:
    segment = model_admin.get_object(request, unquote(object_id))  # scoped to the user's apps
    if segment is None or not model_admin.has_view_permission(request, segment):
        raise Http404("No such segment among yours.")
    search = request.GET.get("q", "").strip()
    members = Paginator(segment_member_list(segment=segment, search=search), MEMBERS_PER_PAGE)
    history = segment_history(segment=segment, days=HISTORY_DAYS)
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "title": segment.name,
        "segment": segment,
        "search": search,
        "members": members.get_page(request.GET.get("page")),
        "history": history,
        "chart": {
            "labels": [point["date"].isoformat() for point in history],
            "sizes": [point["size"] for point in history],
            "entered": [point["entered"] for point in history],
            "exited": [point["exited"] for point in history],
        },
        "entered_total": sum(point["entered"] for point in history),
        "exited_total": sum(point["exited"] for point in history),
        "has_change_permission": model_admin.has_change_permission(request, segment),
        **_explanation(segment, request.GET.get("contact", "").strip()),
    }
    return TemplateResponse(request, "admin/segments/segment/page.html", context)


def _explanation(segment: Segment, identifier: str) -> dict:
    if not identifier:
        return {"contact_query": ""}
    contact = contact_find(app=segment.app, identifier=identifier)
    if contact is None:
        return {"contact_query": identifier, "contact_missing": True}
    explained = segment_explain(segment=segment, contact=contact)
    segments = {
        pk: (name, conditions)
        for pk, name, conditions in Segment.objects.filter(app=segment.app).values_list(
            "pk", "name", "conditions"
        )
    }
    # The params' types, so that a date param compared with a day reads as that day.
    trees = {pk: conditions for pk, (_, conditions) in segments.items()}
    context = segment_context(segment.app, segment.conditions, trees=trees)
    rows = explanation_rows(
        segment.conditions,
        explained["explanation"],
        timezone=segment.app.timezone,
        segments=segments,
        attribute_types=context.attribute_types,
    )
    return {
        "contact_query": identifier,
        "explained_contact": contact,
        "explained_member": explained["member"],
        "explanation_rows": rows,
    }
