"""The "Send event" section of an event-triggered campaign's page: an event for a chosen contact,
its trigger's name filled in, through the same path as the contact page's test event
(events/send_event.py). The campaign's trigger then evaluates it as it does a tracked event; the
message says what to expect from this campaign."""

from __future__ import annotations

from campaigns.models import Campaign
from contacts.models import Contact
from events.send_event import SendEventAdminMixin


class CampaignSendEventMixin(SendEventAdminMixin):
    def send_event_name(self, campaign: Campaign) -> str:
        return campaign.trigger_event

    def send_event_offered(self, campaign: Campaign) -> bool:
        return campaign.kind == Campaign.Kind.EVENT

    def send_event_help(self, campaign: Campaign) -> str:
        return (
            "Recorded for the contact now, through the same pipeline as tracked events: this "
            "campaign's trigger evaluates it as it would the app's own event (filters, audience, "
            "re-entry, delay)."
        )

    def send_event_done(self, campaign: Campaign, contact: Contact, name: str) -> str:
        recorded = f"Event “{name}” recorded for {contact}"
        if name not in (campaign.trigger_event, campaign.cancel_event):
            return f"{recorded}. It is not this campaign's trigger ({campaign.trigger_event})."
        if campaign.status != Campaign.Status.ACTIVE:
            return (
                f"{recorded}. The campaign is {campaign.get_status_display().lower()}: its "
                "trigger evaluates events only while it is active."
            )
        if name == campaign.trigger_event:
            return (
                f"{recorded}: the campaign's trigger evaluates it now; a push it schedules shows "
                "in the delivery log."
            )
        return f"{recorded}: the campaign cancels the contact's scheduled pushes it matches."
