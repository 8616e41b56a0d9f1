"""The contact page's events: per-event statistics, the timeline (newest first, by pages, by
event name) with "Resend" on each event, and the "Send test event" form. Here because contacts
never imports events; dashboard/contact_page.py adds what later apps know (segments, test push).

The page is Django's change form for the contact, followed by sections (`contact_sections`):
each is a dict naming its template, rendered in order by the contact's change_form.html.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils.http import urlencode

from common.admin import ReadOnlyInline
from contacts.admin import ContactAdmin
from contacts.models import Contact
from events.built_in_toggle import shows_built_in
from events.display import param_items
from events.forms import SendTestEventForm
from events.models import ContactEventStats
from events.selectors import contact_timeline_page
from events.send_event import event_form_send, event_names, may_act_on_contacts, read_as_get

TIMELINE_PAGE_SIZE = 25


class ContactEventStatsInline(ReadOnlyInline):
    model = ContactEventStats
    fields = ["event_type", "count", "first_at", "last_at"]
    readonly_fields = fields
    ordering = ["-last_at"]
    verbose_name_plural = "event statistics (kept past retention)"
    classes = ["collapse"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("event_type")


class ContactWithEventsAdmin(ContactAdmin):
    inlines = [*ContactAdmin.inlines, ContactEventStatsInline]

    class Media:
        css = {"all": ["events/contact-page.css", "events/send-event.css"]}

    def get_urls(self):
        send = self.admin_site.admin_view(self.send_test_event_view)
        return [
            path("<int:object_id>/test-event/", send, name="contacts_contact_test_event"),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = extra_context or {}
        contact = self.get_object(request, unquote(object_id))  # None: the admin says so
        if contact is not None:
            forms = extra_context.get("contact_forms", {})
            extra_context["contact_sections"] = self.contact_sections(request, contact, forms)
        return super().change_view(request, object_id, form_url, extra_context)

    def contact_sections(self, request, contact: Contact, forms: dict) -> list[dict]:
        """The sections under the contact's form; `forms` holds a submitted form with errors."""
        sections = []
        if may_act_on_contacts(request):
            sections.append(self._test_event_section(contact, forms.get("test_event")))
        sections.append(self._timeline_section(request, contact))
        return sections

    def _test_event_section(self, contact: Contact, form: SendTestEventForm | None) -> dict:
        return {
            "id": "test-event",
            "template": "admin/events/contact_test_event.html",
            "form": form or SendTestEventForm(),
            # The fragment brings a page shown again with errors to the form.
            "action": reverse("admin:contacts_contact_test_event", args=[contact.pk])
            + "#test-event",
            "event_names": event_names(contact.app_id),
        }

    def _timeline_section(self, request, contact: Contact) -> dict:
        event_name = request.GET.get("event", "")
        built_in = shows_built_in(request, default=True)
        # What the pages' links keep: the event chosen, and the built-ins if hidden.
        filters = {"event": event_name, "builtin": "" if built_in else "0"}
        page = contact_timeline_page(
            contact=contact,
            event_name=event_name,
            before=request.GET.get("before", ""),
            after=request.GET.get("after", ""),
            size=TIMELINE_PAGE_SIZE,
            built_in=built_in,
        )
        done = ContactEventStats.objects.filter(contact=contact).order_by("event_type__name")
        # Built-in @ events are Beacon's to record: no Resend for them.
        may_resend = may_act_on_contacts(request)
        rows = [
            (event, param_items(event.params), may_resend and event.event_type.name[0] != "@")
            for event in page.events
        ]
        # Links and forms aim at the contact's page, also when it is shown from an action's URL.
        here = reverse("admin:contacts_contact_change", args=[contact.pk])
        query = request.GET.urlencode() if request.method == "GET" else ""
        return {
            "id": "timeline",
            "template": "admin/events/contact_timeline.html",
            "rows": rows,
            "newest_url": _timeline_url(here, filters) if page.newer else None,
            "newer_url": _timeline_url(here, filters, after=page.newer),
            "older_url": _timeline_url(here, filters, before=page.older),
            "event_name": event_name,
            "built_in": built_in,
            "event_names": done.values_list("event_type__name", flat=True),
            "here": here,
            "back": f"{here}?{query}#timeline" if query else f"{here}#timeline",
            "activity_url": reverse("admin:events_event_changelist") + f"?contact={contact.pk}",
        }

    # Actions: POST only (CSRF-checked by admin_view), on a contact of the user's apps ---------
    def contact_to_act_on(self, request, object_id) -> Contact:
        """The contact, if the user's pages show it and they may act on it; else 404 or 403."""
        contact = self.get_object(request, str(object_id))
        if contact is None:
            raise Http404("no such contact in your apps")
        if not may_act_on_contacts(request):
            raise PermissionDenied
        return contact

    def contact_page_with(self, request, contact: Contact, forms: dict):
        """The contact page again, around a submitted form with its errors: the request read as
        a GET, so that the contact's own form is shown, not saved."""
        self.message_user(request, "Not sent: see the form below.", messages.ERROR)
        return self.change_view(
            read_as_get(request), str(contact.pk), extra_context={"contact_forms": forms}
        )

    def send_test_event_view(self, request, object_id):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        contact = self.contact_to_act_on(request, object_id)
        form = SendTestEventForm(request.POST)
        if form.is_valid() and event_form_send(form, contact=contact):
            name = form.cleaned_data["event_name"]
            self.message_user(
                request, f"Test event “{name}” recorded for {contact}.", messages.SUCCESS
            )
            url = reverse("admin:contacts_contact_change", args=[contact.pk])
            return redirect(f"{url}#timeline")
        return self.contact_page_with(request, contact, {"test_event": form})


def _timeline_url(here: str, filters: dict[str, str], **cursor: str | None) -> str | None:
    """A page of the timeline: None for a cursor that is None (no such page)."""
    if any(value is None for value in cursor.values()):
        return None
    query = urlencode({key: value for key, value in {**filters, **cursor}.items() if value})
    return f"{here}?{query}#timeline" if query else f"{here}#timeline"
