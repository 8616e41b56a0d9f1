"""The editor's live preview: the message as typed (a push, or an email's parts), rendered for a
chosen contact and a sample trigger event by the same service as the API's preview endpoint
(campaign_preview). Contacts and events are looked up in the campaign's app only."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import HttpRequest, JsonResponse

from campaigns.admin.forms import ButtonRowsField
from campaigns.buttons import button_templates
from campaigns.models import Campaign
from campaigns.selectors import (
    campaign_preview_contact,
    campaign_sample_event,
    campaign_sample_events,
)
from campaigns.services.previews import campaign_preview
from campaigns.services.templates import EMAIL_TEMPLATE_FIELDS, TEMPLATE_FIELDS, template_errors
from contacts.models import App, Contact
from events.models import Event

MESSAGE_FIELDS = (*TEMPLATE_FIELDS, "icon", "image")
EMAIL_FIELDS = ("title", *EMAIL_TEMPLATE_FIELDS)


def preview_response(request: HttpRequest, *, app: App) -> JsonResponse:
    """200 {"preview", "contact", "samples"}, or 400 {"errors": {field: [reason]}, "samples"}.
    The fields are the editor's: channel; a push's title, body, url, icon, image and button rows
    (buttons-id, buttons-title, buttons-action, buttons-target), or an email's title (the
    subject), preheader, html_body and text_body; kind and trigger_event (which params an event
    is known to carry), and preview_contact ("#12", an external id or an email) and
    preview_event (an event id). The preview's "warnings" name the variables that render empty."""
    data = request.POST
    if data.get("channel") == Campaign.Channel.EMAIL:
        message = {field: data.get(field, "") for field in EMAIL_FIELDS}
        errors = template_errors(**message)
        message["channel"] = Campaign.Channel.EMAIL
    else:
        message, errors = _push_message(data)
    contact = _contact(app, data.get("preview_contact", ""), errors)
    event = _event(app, data.get("preview_event", ""), errors)
    samples = campaign_sample_events(
        app=app, event_name=data.get("trigger_event", ""), contact=contact
    )
    shown = {"contact": contact and _contact_label(contact), "samples": _samples(samples)}
    if errors:
        return JsonResponse({"errors": errors, **shown}, status=400)
    try:
        preview = campaign_preview(
            campaign=Campaign(
                app=app,
                kind=data.get("kind", ""),
                trigger_event=data.get("trigger_event", ""),
                **message,
            ),
            contact=contact,
            event_params=event.params if event else None,
        )
    except ValidationError as exc:  # well formed, but fails on these values (a filter's argument)
        return JsonResponse({"errors": _buttons_field(exc.message_dict), **shown}, status=400)
    return JsonResponse({"preview": preview, **shown})


def _push_message(data) -> tuple[dict, dict]:
    """The push's fields and their Liquid errors. Only the buttons' Liquid is checked here: a
    button half typed still previews."""
    message = {field: data.get(field, "") for field in MESSAGE_FIELDS}
    errors = template_errors(**{field: message[field] for field in TEMPLATE_FIELDS})
    buttons = ButtonRowsField()
    message["buttons"] = buttons.to_python(buttons.widget.value_from_datadict(data, {}, "buttons"))
    errors.update(_buttons_field(template_errors(**button_templates(message["buttons"]))))
    return message, errors


def _buttons_field(errors: dict) -> dict:
    """The buttons' errors under the editor's field: {"button 1 url": [why]} becomes
    {"buttons": ["button 1 url why"]}."""
    shown = {key: reasons for key, reasons in errors.items() if not key.startswith("button ")}
    buttons = [
        f"{key} {reason}"
        for key, reasons in errors.items()
        if key.startswith("button ")
        for reason in reasons
    ]
    return {**shown, "buttons": buttons} if buttons else shown


def _contact(app: App, query: str, errors: dict) -> Contact | None:
    contact = campaign_preview_contact(app=app, query=query)
    if query.strip() and contact is None:
        errors["preview_contact"] = [f"no contact {query.strip()!r} in this app"]
    return contact


def _event(app: App, value: str, errors: dict) -> Event | None:
    if not value:
        return None
    event = campaign_sample_event(app=app, event_id=int(value)) if value.isdigit() else None
    if event is None:
        errors["preview_event"] = ["is not an event of this app"]
    return event


def _contact_label(contact: Contact) -> str:
    return contact.external_id or contact.email or f"#{contact.pk}"


def sample_label(event: Event) -> str:
    """A sample event as the choosers list it: when, whose, and its params."""
    params = ", ".join(f"{k}={v}" for k, v in event.params.items())[:80] or "no params"
    return f"{event.occurred_at:%Y-%m-%d %H:%M} · {_contact_label(event.contact)} · {params}"


def _samples(events: list[Event]) -> list[dict]:
    return [{"id": event.pk, "label": sample_label(event)} for event in events]
