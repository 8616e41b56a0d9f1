"""Trying a campaign out: render its message for a contact and an event, send it to one
contact now (whatever the campaign's status and rules: that is what a test is for), or send an
email campaign's message to any address as a test email."""

from __future__ import annotations

import uuid

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from campaigns.buttons import button_templates, buttons_rendered
from campaigns.models import Campaign, EmailSettings
from campaigns.providers.base import SendOutcome
from campaigns.providers.email import EmailTransport
from campaigns.selectors import campaign_attribute_types
from campaigns.services.email_messages import (
    NO_UNSUBSCRIBE,
    UNSUBSCRIBE_PLACEHOLDER,
    email_parts_render,
    email_test_message_build,
)
from campaigns.services.scheduling import Reach, ScheduleResult, deliveries_schedule
from campaigns.services.templates import (
    EMAIL_TEMPLATE_FIELDS,
    templates_render,
    templates_unknown_variables,
)
from campaigns.signals import test_push_scheduled
from contacts.models import Contact

NO_EMAIL_SETTINGS = (
    "the app has no email settings: set its From address (Settings > Email settings)"
)


def campaign_preview(
    *, campaign: Campaign, contact: Contact | None, event_params: dict | None
) -> dict:
    """The message as the contact would get it: a push's title, body, url, icon, image, and
    buttons (each {"id", "title", "action", "url"?}, as the mobile payloads carry them), or an
    email's subject, preheader, html and text (before tracking; the unsubscribe link a send
    fills in is "#unsubscribe"); and a warning for each variable the templates read that these
    values don't have (it renders empty)."""
    if campaign.channel == Campaign.Channel.EMAIL:
        return _email_preview(campaign, contact, event_params)
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
        "warnings": _warnings(unknown),
    }


def _email_preview(campaign: Campaign, contact: Contact | None, event_params: dict | None) -> dict:
    parts = email_parts_render(campaign=campaign, contact=contact, event_params=event_params)
    templates = {field: getattr(campaign, field) for field in ("title", *EMAIL_TEMPLATE_FIELDS)}
    unknown = templates_unknown_variables(
        templates,
        contact=contact,
        event_params=event_params,
        event_attributes=_trigger_attributes(campaign),
        extra={"unsubscribe_url": NO_UNSUBSCRIBE},
    )
    return {
        "subject": parts.subject,
        "preheader": parts.preheader,
        "html": parts.html.replace(UNSUBSCRIBE_PLACEHOLDER, NO_UNSUBSCRIBE),
        "text": parts.text.replace(UNSUBSCRIBE_PLACEHOLDER, NO_UNSUBSCRIBE),
        "warnings": _warnings(unknown),
    }


def _warnings(unknown: list[str]) -> list[str]:
    return [f"{path} is not known: it will render empty" for path in unknown]


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


def campaign_send_test_email(
    *,
    campaign: Campaign,
    address: str,
    contact: Contact | None = None,
    event_params: dict | None = None,
) -> SendOutcome:
    """Send the email campaign's message, rendered for the contact and the event, to `address`
    (anyone's: the marketer's own inbox, a colleague's) right away through the configured
    backend, as a test (email_test_message_build: "[Test] " subject, nothing tracked). Bad input
    raises ValidationError by field before anything is sent; the mail server's answer is
    returned as it is, for the page to show (an address it refuses is not marked anywhere)."""
    address = address.strip()
    try:
        validate_email(address)
    except ValidationError as exc:
        raise ValidationError({"address": exc.messages}) from exc
    if campaign.channel != Campaign.Channel.EMAIL:
        raise ValidationError({"channel": ["a test email is for an email campaign"]})
    if contact is not None and contact.app_id != campaign.app_id:
        raise ValidationError({"contact_id": ["is not a contact of this app"]})
    email_settings = EmailSettings.objects.filter(app_id=campaign.app_id).first()
    if email_settings is None:
        raise ValidationError(NO_EMAIL_SETTINGS)
    message = email_test_message_build(
        campaign=campaign,
        contact=contact,
        event_params=event_params,
        email_settings=email_settings,
        address=address,
    )
    with EmailTransport() as transport:
        return transport.send(message)
