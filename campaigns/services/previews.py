"""Trying a campaign out: render its message for a contact and an event, or send it to one
contact now (whatever the campaign's status and rules: that is what a test is for)."""

from __future__ import annotations

import uuid

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from campaigns.buttons import button_templates, buttons_rendered
from campaigns.models import Campaign
from campaigns.selectors import campaign_attribute_types
from campaigns.services.scheduling import Reach, ScheduleResult, deliveries_schedule
from campaigns.services.templates import templates_render, templates_unknown_variables
from campaigns.signals import test_push_scheduled
from contacts.models import Contact


def campaign_preview(
    *, campaign: Campaign, contact: Contact | None, event_params: dict | None
) -> dict:
    """The message as the contact would get it: title, body, url, icon, image, and buttons
    (each {"id", "title", "action", "url"?}, as the mobile payloads carry them); and a warning
    for each variable the templates read that these values don't have (it renders empty)."""
    message = {"title": campaign.title, "body": campaign.body, "url": campaign.url}
    templates = {**message, **button_templates(campaign.buttons)}
    text = templates_render(templates, contact=contact, event_params=event_params)
    buttons = [button.as_data() for button in buttons_rendered(campaign.buttons, text)]
    unknown = templates_unknown_variables(
        templates,
        contact=contact,
        event_params=event_params,
        event_attributes=_trigger_attributes(campaign),
    )
    return {
        **{field: text[field] for field in message},
        "icon": campaign.icon,
        "image": campaign.image,
        "buttons": buttons,
        "warnings": [f"{path} is not known: it will render empty" for path in unknown],
    }


def _trigger_attributes(campaign: Campaign) -> list[str]:
    """The params the trigger's events are known to carry; only an event-triggered campaign's
    messages see an event."""
    if campaign.kind != Campaign.Kind.EVENT or not campaign.trigger_event:
        return []
    return list(campaign_attribute_types(app=campaign.app, event_name=campaign.trigger_event))


def campaign_send_test(
    *, campaign: Campaign, contact: Contact, event_params: dict | None = None
) -> ScheduleResult:
    if contact.app_id != campaign.app_id:
        raise ValidationError({"contact_id": ["is not a contact of this app"]})
    now = timezone.now()
    reach = Reach(
        contact_id=contact.pk,
        source=f"test:{uuid.uuid4()}",
        due_at=now,
        event_params=event_params or {},
    )
    result = deliveries_schedule(campaign=campaign, reaches=[reach], now=now, is_test=True)
    if not result.scheduled:
        missing = (
            "subscribed email address"
            if campaign.channel == Campaign.Channel.EMAIL
            else "push-permitted device"
        )
        raise ValidationError({"contact_id": [f"this contact has no {missing}"]})
    transaction.on_commit(
        lambda: test_push_scheduled.send(sender=Campaign, campaign=campaign, result=result),
        robust=True,
    )
    return result
