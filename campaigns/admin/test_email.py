"""The "Send test email" form of an email campaign's page: an address to send to (anyone's, not
necessarily a contact's), and the contact and the sample trigger event to render the message
for, picked as in the editor's preview. campaign_send_test_email checks the address and sends;
its errors are put back next to their fields."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from campaigns.admin.preview import sample_label
from campaigns.models import Campaign
from campaigns.selectors import (
    campaign_preview_contact,
    campaign_sample_event,
    campaign_sample_events,
)

SECTION_ID = "test-email"
# Where the service names a field differently from the form.
ERROR_FIELDS = {"address": "address", "contact_id": "contact"}


class TestEmailForm(forms.Form):
    address = forms.CharField(
        label="Send to",
        max_length=254,
        widget=forms.EmailInput(attrs={"placeholder": "you@example.com"}),
    )
    contact = forms.CharField(
        label="Rendered for contact",
        required=False,
        max_length=255,
        widget=forms.TextInput(attrs={"placeholder": "external id, email or #id"}),
        help_text="Empty: contact fields render empty.",
    )
    event = forms.CharField(label="Sample event", required=False, widget=forms.Select)

    def __init__(self, data=None, *, campaign: Campaign):
        super().__init__(data)
        self.campaign = campaign
        if campaign.kind != Campaign.Kind.EVENT:  # only a trigger's event fills `event`
            del self.fields["event"]
            return
        samples = campaign_sample_events(app=campaign.app, event_name=campaign.trigger_event)
        self.fields["event"].widget.choices = [
            ("", "None (event fields render empty)"),
            *((event.pk, sample_label(event)) for event in samples),
        ]

    def clean_contact(self):
        query = self.cleaned_data["contact"].strip()
        contact = campaign_preview_contact(app=self.campaign.app, query=query)
        if query and contact is None:
            raise ValidationError(f"No contact “{query}” in this app.")
        return contact

    def clean_event(self):
        value = self.cleaned_data["event"]
        if not value:
            return None
        event = (
            campaign_sample_event(app=self.campaign.app, event_id=int(value))
            if value.isdigit()
            else None
        )
        if event is None:
            raise ValidationError("Not an event of this app.")
        return event

    def service_arguments(self) -> dict:
        event = self.cleaned_data.get("event")
        return {
            "address": self.cleaned_data["address"],
            "contact": self.cleaned_data["contact"],
            "event_params": event.params if event else None,
        }

    def add_service_errors(self, exc: ValidationError) -> None:
        if not hasattr(exc, "error_dict"):
            self.add_error(None, exc)
            return
        for key, reasons in exc.message_dict.items():
            field = ERROR_FIELDS.get(key)
            self.add_error(field, reasons if field else [f"{key}: {r}" for r in reasons])
