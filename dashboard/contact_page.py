"""The contact page, completed with what the apps to the right of events know: the segments the
contact is in (segments) and "Send test push" (campaigns). The dashboard reads from every app, so
the page is put together here (registered by dashboard/admin.py); events/contact_page.py has the
profile's sections up to the timeline."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponseNotAllowed
from django.shortcuts import redirect
from django.urls import path, reverse

from campaigns.services.scheduling import reachable_devices
from campaigns.services.test_push import contact_push_test
from contacts.models import Contact
from events.contact_page import ContactWithEventsAdmin, may_act_on_contacts
from segments.selectors import contact_segment_list


class SendTestPushForm(forms.Form):
    title = forms.CharField(max_length=500)
    body = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))


class ContactPageAdmin(ContactWithEventsAdmin):
    def get_urls(self):
        send = self.admin_site.admin_view(self.send_test_push_view)
        return [
            path("<int:object_id>/test-push/", send, name="contacts_contact_test_push"),
            *super().get_urls(),
        ]

    def contact_sections(self, request, contact: Contact, forms: dict) -> list[dict]:
        """Segments first; the test push next to the test event (or alone, before the
        timeline)."""
        sections = super().contact_sections(request, contact, forms)
        if may_act_on_contacts(request):
            after = next((n + 1 for n, s in enumerate(sections) if s["id"] == "test-event"), 0)
            sections.insert(after, self._test_push_section(contact, forms.get("test_push")))
        return [self._segments_section(request, contact), *sections]

    def _segments_section(self, request, contact: Contact) -> dict:
        may_open = request.user.has_perm("segments.view_segment")
        return {
            "id": "segments",
            "template": "admin/dashboard/contact_segments.html",
            "memberships": contact_segment_list(contact=contact),
            "link_segments": may_open,
        }

    def _test_push_section(self, contact: Contact, form: SendTestPushForm | None) -> dict:
        devices = reachable_devices(contact.app_id, [contact.pk]).get(contact.pk, [])
        return {
            "id": "test-push",
            "template": "admin/dashboard/contact_test_push.html",
            "form": form or SendTestPushForm(),
            "action": reverse("admin:contacts_contact_test_push", args=[contact.pk]) + "#test-push",
            "reachable": len(devices),
        }

    def send_test_push_view(self, request, object_id):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        contact = self.contact_to_act_on(request, object_id)
        form = SendTestPushForm(request.POST)
        if form.is_valid():
            try:
                result = contact_push_test(contact=contact, **form.cleaned_data)
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                self._report(request, result)
                url = reverse("admin:contacts_contact_change", args=[contact.pk])
                return redirect(f"{url}#test-push")
        return self.contact_page_with(request, contact, {"test_push": form})

    def _report(self, request, result) -> None:
        for answer in result.answers:  # the service's own words, for whoever debugs the app
            self.message_user(request, f"Test push sent to {answer}")
        for failure in result.failures:
            self.message_user(request, f"Test push not delivered to {failure}", messages.ERROR)
