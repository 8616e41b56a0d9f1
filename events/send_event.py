"""Sending an event for a contact from the admin, one way for every page that offers it: the
contact page's "Send test event" (events/contact_page.py), and "Send event" on an event type's
page and an event-triggered campaign's (`SendEventAdminMixin`, the campaign's in
campaigns/admin/send_event.py).

Who may (`may_act_on_contacts`), the submission (`event_form_send`: the ingest path of
events/services/test_events.py, its errors put back on the form) and a page shown again around a
form in error (`read_as_get`) are shared; each page says only what differs.
"""

from __future__ import annotations

import copy

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponseNotAllowed, QueryDict
from django.shortcuts import redirect
from django.urls import path, reverse

from contacts.models import App, Contact
from events.forms import SendEventForm, SendTestEventForm
from events.models import EventType
from events.services.test_events import contact_event_send

SECTION_ID = "send-event"


def may_act_on_contacts(request: HttpRequest) -> bool:
    """Sending a test event or push to a contact, or resending one of its events, is acting on
    the contact: allowed to whoever may change contacts (the Marketer and Admin roles)."""
    return request.user.has_perm("contacts.change_contact")


def event_form_send(form: SendTestEventForm, *, contact: Contact) -> bool:
    """Record the valid form's event for `contact`, as a test event from the UI; False, with the
    pipeline's errors on the form's fields, if it was refused (nothing is stored then)."""
    result = contact_event_send(contact=contact, payload=form.payload(), source="ui")
    form.add_ingest_errors(result.errors or {})
    return not result.errors


def read_as_get(request: HttpRequest) -> HttpRequest:
    """The request read as a GET, to show its page again around a form in error: the page's own
    form is then shown, not saved."""
    reading = copy.copy(request)
    reading.method, reading.POST = "GET", QueryDict()
    return reading


def event_names(app_id: int):
    """The names a person may send for a contact of the app (built-in @ events are Beacon's)."""
    names = EventType.objects.filter(app_id=app_id).exclude(name__startswith="@").order_by("name")
    return names.values_list("name", flat=True)


class SendEventAdminMixin:
    """Adds "Send event" to a ModelAdmin's change page: a section under the page, for a contact
    of the object's app, the event name filled in; POSTed to <id>/send-event/, which reports the
    result as a message or shows the page again with the form's errors. The ModelAdmin's change
    form template includes admin/events/send_event.html with `send_event`."""

    def send_event_app(self, obj) -> App:
        return obj.app

    def send_event_name(self, obj) -> str:
        raise NotImplementedError

    def send_event_offered(self, obj) -> bool:
        """Whether the object's page has the section (whoever may act on contacts)."""
        return True

    def send_event_done(self, obj, contact: Contact, name: str) -> str:
        """The success message."""
        raise NotImplementedError

    def send_event_help(self, obj) -> str:
        return (
            "Recorded for the contact now, through the same pipeline as tracked events: "
            "segments and campaign triggers react to it."
        )

    def _send_event_url_name(self) -> str:
        return f"{self.opts.app_label}_{self.opts.model_name}_send_event"

    def get_urls(self):
        view = self.admin_site.admin_view(self.send_event_view)
        route = path("<int:object_id>/send-event/", view, name=self._send_event_url_name())
        return [route, *super().get_urls()]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = dict(extra_context or {})
        obj = self.get_object(request, object_id)  # None: the admin says so
        if obj is not None and self.send_event_offered(obj) and may_act_on_contacts(request):
            form = extra_context.pop("send_event_form", None) or self._send_event_form(obj)
            extra_context["send_event"] = self._send_event_section(obj, form)
        return super().change_view(request, object_id, form_url, extra_context)

    def render_change_form(self, request, context, *args, **kwargs):
        if "send_event" in context:  # the select2 search and the rows' script, in the head
            context["media"] = context["media"] + context["send_event"]["form"].media
        return super().render_change_form(request, context, *args, **kwargs)

    def _send_event_form(self, obj, data=None) -> SendEventForm:
        initial = {"event_name": self.send_event_name(obj)}
        return SendEventForm(data, app=self.send_event_app(obj), initial=initial)

    def _send_event_section(self, obj, form: SendEventForm) -> dict:
        url = reverse(f"admin:{self._send_event_url_name()}", args=[obj.pk])
        return {
            "id": SECTION_ID,
            "form": form,
            "action": f"{url}#{SECTION_ID}",  # a page shown again with errors goes to the form
            "help": self.send_event_help(obj),
            "event_names": event_names(self.send_event_app(obj).pk),
        }

    def send_event_view(self, request, object_id):
        """POST only (CSRF-checked by admin_view), on an object of the user's apps whose page
        offers the section, by whoever may act on contacts."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        obj = self.get_object(request, str(object_id))
        if obj is None or not self.send_event_offered(obj):
            raise Http404("no such page with Send event in your apps")
        if not (self.has_view_or_change_permission(request, obj) and may_act_on_contacts(request)):
            raise PermissionDenied
        form = self._send_event_form(obj, request.POST)
        if form.is_valid():
            contact = form.cleaned_data["contact"]
            if event_form_send(form, contact=contact):
                name = form.cleaned_data["event_name"]
                self.message_user(
                    request, self.send_event_done(obj, contact, name), messages.SUCCESS
                )
                return redirect(self._change_url(obj))
        self.message_user(request, "Not sent: see the form below.", messages.ERROR)
        return self.change_view(
            read_as_get(request), str(obj.pk), extra_context={"send_event_form": form}
        )

    def _change_url(self, obj) -> str:
        url = reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_change", args=[obj.pk])
        return f"{url}#{SECTION_ID}"
