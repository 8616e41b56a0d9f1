"""The admin pages that export segment members, contacts and events as streamed files.

Each page is a small GET form (the app, the format, for events a period of days in the app's
timezone and an optional event name) whose submission is the download itself, streamed like the
API's (transfers/export_formats.py). The contacts list, the Activity page and a segment's page
link here by URL name only (`admin:transfers_export_*`), and the paths are registered with the
admin site at autodiscover (dashboard/sites.py register_urls): contacts, events and segments
never import transfers.

Who may export: a staff user with the permission to view contacts (every export carries contact
fields), and to view segments or events for those; only of the apps they are a member of
(contacts/access.py), as every admin page."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponseBase, QueryDict
from django.template.response import TemplateResponse
from django.urls import path, reverse

from contacts.access import current_app, scoped_apps, visible_apps
from contacts.models import App
from transfers.export_formats import ExportFormat, export_response
from transfers.selectors.exports import (
    contact_export_rows,
    event_export_rows,
    event_type_named,
    segment_among,
    segment_member_export_rows,
)

TEMPLATE = "admin/transfers/export.html"
DEFAULT_EVENT_DAYS = 7
FORMAT_CHOICES = [
    (ExportFormat.CSV.value, "CSV (a spreadsheet; nested values as JSON in one column)"),
    (ExportFormat.JSONL.value, "JSON Lines (one JSON object per line)"),
]


class ExportForm(forms.Form):
    format = forms.ChoiceField(
        choices=FORMAT_CHOICES, initial=ExportFormat.CSV.value, widget=forms.RadioSelect
    )


class AppExportForm(ExportForm):
    app = forms.ModelChoiceField(queryset=App.objects.none(), empty_label=None)
    field_order = ["app", "format"]

    def __init__(self, *args, apps, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["app"].queryset = apps.order_by("name")


class EventExportForm(AppExportForm):
    start = forms.DateField(label="From", widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(
        label="To (included)",
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Days in the app's timezone",
    )
    event_name = forms.CharField(
        required=False, max_length=255, help_text="Only events of this name (all if empty)"
    )
    field_order = ["app", "start", "end", "event_name", "format"]

    def clean(self) -> dict:
        data = super().clean()
        app, start, end = data.get("app"), data.get("start"), data.get("end")
        if start and end and end < start:
            self.add_error("end", "must be the same day as From or later")
        elif app and start and end:
            try:  # the days in the app's timezone, as UTC instants (the last day included)
                zone = ZoneInfo(app.timezone)
                data["period"] = (
                    _day_start(start, zone),
                    _day_start(end + timedelta(days=1), zone),
                )
            except OverflowError:
                self.add_error("end", "must be between years 1 and 9999 in UTC")
        if app and data.get("event_name"):
            data["event_type"] = event_type_named(app=app, name=data["event_name"])
            if data["event_type"] is None:
                self.add_error("event_name", f"no event of this name in {app.name}")
        return data


def export_urls(site: admin.AdminSite) -> list:
    return [
        path(
            "exports/contacts/",
            site.admin_view(contact_export_view),
            name="transfers_export_contacts",
        ),
        path(
            "exports/segments/<int:segment_id>/",
            site.admin_view(segment_export_view),
            name="transfers_export_segment",
        ),
        path("exports/events/", site.admin_view(event_export_view), name="transfers_export_events"),
    ]


def contact_export_view(request: HttpRequest) -> HttpResponseBase:
    _require(request, "contacts.view_contact")
    form = AppExportForm(
        _submitted(request), apps=scoped_apps(request), initial={"app": current_app(request)}
    )
    if form.is_valid():
        rows = contact_export_rows(app=form.cleaned_data["app"])
        return export_response(rows=rows, file_format=ExportFormat(form.cleaned_data["format"]))
    back = reverse("admin:contacts_contact_changelist")
    return _page(request, form, title="Export contacts", back=back)


def segment_export_view(request: HttpRequest, segment_id: int) -> HttpResponseBase:
    _require(request, "contacts.view_contact", "segments.view_segment")
    segment = segment_among(apps=visible_apps(request), segment_id=segment_id)
    if segment is None:
        raise Http404("No such segment among yours.")
    form = ExportForm(_submitted(request))
    if form.is_valid():
        rows = segment_member_export_rows(segment=segment)
        return export_response(rows=rows, file_format=ExportFormat(form.cleaned_data["format"]))
    title = f"Export the members of {segment.name}"
    back = reverse("admin:segments_segment_page", args=[segment.pk])
    return _page(request, form, title=title, back=back)


def event_export_view(request: HttpRequest) -> HttpResponseBase:
    _require(request, "contacts.view_contact", "events.view_event")
    today = datetime.now(UTC).date()
    initial = {
        "app": current_app(request),
        "start": today - timedelta(days=DEFAULT_EVENT_DAYS - 1),
        "end": today,
    }
    form = EventExportForm(_submitted(request), apps=scoped_apps(request), initial=initial)
    if form.is_valid():
        data = form.cleaned_data
        start, end = data["period"]
        rows = event_export_rows(
            app=data["app"], start=start, end=end, event_type=data.get("event_type")
        )
        return export_response(rows=rows, file_format=ExportFormat(data["format"]))
    back = reverse("admin:events_event_changelist")
    return _page(request, form, title="Export events", back=back)


def _require(request: HttpRequest, *permissions: str) -> None:
    if not request.user.has_perms(permissions):
        raise PermissionDenied


def _submitted(request: HttpRequest) -> QueryDict | None:
    """The query once the form was sent (its `format` is always there), else an unbound form."""
    return request.GET if "format" in request.GET else None


def _day_start(day: date, zone: ZoneInfo) -> datetime:
    """Midnight of `day` in `zone`, in UTC; OverflowError past the calendar's ends."""
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)


def _page(request: HttpRequest, form: forms.Form, *, title: str, back: str) -> TemplateResponse:
    context = {**admin.site.each_context(request), "title": title, "form": form, "back": back}
    return TemplateResponse(request, TEMPLATE, context)


admin.site.register_urls(export_urls)
