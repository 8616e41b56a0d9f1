"""Writing campaigns: create, update, duplicate, activate, pause, archive. Every change to what is
active re-syncs which event types ingest must mark for the trigger matcher."""

from __future__ import annotations

from datetime import time, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from campaigns.buttons import buttons_errors, buttons_event_names
from campaigns.models import Campaign, Delivery, TriggeringEventType
from campaigns.services.templates import EMAIL_TEMPLATE_FIELDS, TEMPLATE_FIELDS, template_errors
from campaigns.signals import campaign_activated
from contacts.models import App
from events.models import EventType
from segments.conditions.validation import where_validate
from segments.models import Segment, SegmentChange

MAX_DELAY = timedelta(days=30)
MAX_TTL_SECONDS = 28 * 86_400  # what push services keep at most (4 weeks)
EDITABLE_FIELDS = {
    "name",
    "kind",
    "channel",
    "title",
    "preheader",
    "html_body",
    "text_body",
    "track_opens",
    "track_clicks",
    "body",
    "url",
    "icon",
    "image",
    "buttons",
    "ttl_seconds",
    "urgency",
    "audience_segment_id",
    "send_at",
    "trigger_event",
    "trigger_where",
    "delay_seconds",
    "cancel_event",
    "cancel_match_param",
    "recheck_audience",
    "entry_segment_id",
    "reentry",
    "reentry_hours",
    "quiet_start",
    "quiet_end",
    "quiet_action",
}


def campaign_create(*, app: App, **fields) -> Campaign:
    campaign = Campaign(app=app, status=Campaign.Status.DRAFT)
    return _save(campaign, fields)


SENT_BROADCAST = "this broadcast has been sent; duplicate it to send again"


def campaign_update(*, campaign: Campaign, **fields) -> Campaign:
    if campaign.status == Campaign.Status.ARCHIVED:
        raise ValidationError({"status": ["an archived campaign can't be changed"]})
    if broadcast_was_sent(campaign=campaign):
        raise ValidationError({"status": [SENT_BROADCAST]})
    return _save(campaign, fields)


def broadcast_was_sent(*, campaign: Campaign) -> bool:
    """A broadcast that went out is the record of what its audience got: it is not edited."""
    return campaign.kind == Campaign.Kind.BROADCAST and campaign.fanned_out_at is not None


def campaign_duplicate(*, campaign: Campaign) -> Campaign:
    """A draft with the campaign's message, audience, trigger and rules, named "<name> (copy)".
    A broadcast's copy has no send time (the original's has passed): it goes out when
    activated, unless one is set."""
    fields = {name: getattr(campaign, name) for name in EDITABLE_FIELDS}
    name_length = Campaign._meta.get_field("name").max_length
    fields["name"] = f"{campaign.name[: name_length - len(' (copy)')]} (copy)"
    fields["send_at"] = None
    return campaign_create(app=campaign.app, **fields)


def _save(campaign: Campaign, fields: dict) -> Campaign:
    unknown = set(fields) - EDITABLE_FIELDS
    if unknown:
        raise ValidationError({name: ["is not a campaign field"] for name in sorted(unknown)})
    for name, value in fields.items():
        setattr(campaign, name, value)
    campaign_validate(campaign=campaign)
    with transaction.atomic():
        _register_event_types(campaign)
        campaign.save()
        _sync_trigger_types(campaign.app)
    return campaign


def campaign_activate(*, campaign: Campaign) -> Campaign:
    if campaign.status == Campaign.Status.ARCHIVED:
        raise ValidationError({"status": ["an archived campaign can't be activated"]})
    campaign_validate(campaign=campaign)
    with transaction.atomic():
        if campaign.kind == Campaign.Kind.SEGMENT_ENTRY and campaign.activated_at is None:
            # Contacts already in the segment did not "enter" it: start after today's history.
            last = SegmentChange.objects.filter(segment_id=campaign.entry_segment_id).aggregate(
                last=Max("pk")
            )["last"]
            campaign.entry_cursor = last or 0
        campaign.status = Campaign.Status.ACTIVE
        campaign.activated_at = campaign.activated_at or timezone.now()
        campaign.save(update_fields=["status", "activated_at", "entry_cursor", "updated_at"])
        _sync_trigger_types(campaign.app)
    transaction.on_commit(
        lambda: campaign_activated.send(sender=Campaign, campaign=campaign), robust=True
    )
    return campaign


def campaign_pause(*, campaign: Campaign) -> Campaign:
    """Paused: nothing new is scheduled and nothing is sent; scheduled rows wait for resume."""
    if campaign.status != Campaign.Status.ACTIVE:
        raise ValidationError(
            {"status": [f"only an active campaign can be paused (it is {campaign.status})"]}
        )
    return _set_status(campaign, Campaign.Status.PAUSED)


def campaign_archive(*, campaign: Campaign) -> Campaign:
    """Archived: what was still scheduled is cancelled."""
    with transaction.atomic():
        campaign.deliveries.filter(status=Delivery.Status.SCHEDULED).update(
            status=Delivery.Status.CANCELLED, reason="campaign archived"
        )
        return _set_status(campaign, Campaign.Status.ARCHIVED)


def campaign_delete(*, campaign: Campaign) -> None:
    """A draft that never ran is deleted; anything else is archived, so its log stays."""
    if campaign.status == Campaign.Status.DRAFT and not campaign.deliveries.exists():
        with transaction.atomic():
            campaign.delete()
            _sync_trigger_types(campaign.app)
        return
    if campaign.status != Campaign.Status.ARCHIVED:
        campaign_archive(campaign=campaign)


def _set_status(campaign: Campaign, status: str) -> Campaign:
    with transaction.atomic():
        campaign.status = status
        campaign.save(update_fields=["status", "updated_at"])
        _sync_trigger_types(campaign.app)
    return campaign


def campaign_validate(*, campaign: Campaign) -> None:
    """Raise ValidationError({field: [reasons]}) unless the campaign can be saved as it is."""
    errors: dict[str, list[str]] = {}
    if not (campaign.name or "").strip():
        errors["name"] = ["is required"]
    if campaign.kind not in Campaign.Kind.values:
        errors["kind"] = [f"must be one of {', '.join(Campaign.Kind.values)}"]
    if campaign.channel not in Campaign.Channel.values:
        errors["channel"] = [f"must be one of {', '.join(Campaign.Channel.values)}"]
    if not (campaign.title or "").strip():
        errors["title"] = ["is required" + (" (the subject)" if _is_email(campaign) else "")]
    errors.update(template_errors(**{f: getattr(campaign, f) for f in TEMPLATE_FIELDS}))
    if _is_email(campaign):
        errors.update(template_errors(**{f: getattr(campaign, f) for f in EMAIL_TEMPLATE_FIELDS}))
        if not (campaign.html_body or "").strip() and not (campaign.text_body or "").strip():
            errors["html_body"] = ["is required for an email (or give text_body)"]
    if button_reasons := buttons_errors(campaign.buttons):
        errors["buttons"] = button_reasons
    if not 0 <= (campaign.ttl_seconds or 0) <= MAX_TTL_SECONDS:
        errors["ttl_seconds"] = [f"must be between 0 and {MAX_TTL_SECONDS} (4 weeks)"]
    if campaign.urgency not in Campaign.Urgency.values:
        errors["urgency"] = [f"must be one of {', '.join(Campaign.Urgency.values)}"]
    for field in ("audience_segment_id", "entry_segment_id"):
        segment_id = getattr(campaign, field)
        if (
            segment_id is not None
            and not Segment.objects.filter(pk=segment_id, app_id=campaign.app_id).exists()
        ):
            errors[field] = [f"no segment {segment_id} in this app"]
    errors.update(_kind_errors(campaign))
    errors.update(_rule_errors(campaign))
    if errors:
        raise ValidationError(errors)


def _is_email(campaign: Campaign) -> bool:
    return campaign.channel == Campaign.Channel.EMAIL


def _kind_errors(campaign: Campaign) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if campaign.kind == Campaign.Kind.EVENT:
        if not (campaign.trigger_event or "").strip():
            errors["trigger_event"] = ["is required for an event-triggered campaign"]
        elif not isinstance(campaign.trigger_where, list):
            errors["trigger_where"] = ["must be a list of filters"]
        else:
            try:
                where_validate(
                    app=campaign.app,
                    event_name=campaign.trigger_event,
                    filters=campaign.trigger_where,
                    field="trigger_where",
                )
            except ValidationError as exc:
                errors.update(exc.message_dict)
        if campaign.delay_seconds > MAX_DELAY.total_seconds():
            errors["delay_seconds"] = ["must be at most 30 days (2592000 seconds)"]
        if campaign.cancel_match_param and not campaign.cancel_event:
            errors["cancel_match_param"] = ["needs a cancel_event"]
        if campaign.cancel_event and campaign.cancel_event == campaign.trigger_event:
            errors["cancel_event"] = ["must differ from the trigger event"]
    if campaign.kind == Campaign.Kind.SEGMENT_ENTRY and campaign.entry_segment_id is None:
        errors["entry_segment_id"] = ["is required for a segment entry campaign"]
    if campaign.kind == Campaign.Kind.BROADCAST and campaign.recheck_audience:
        errors["recheck_audience"] = ["applies to triggered campaigns only"]
    return errors


def _rule_errors(campaign: Campaign) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if campaign.reentry not in Campaign.Reentry.values:
        errors["reentry"] = [f"must be one of {', '.join(Campaign.Reentry.values)}"]
    if campaign.reentry == Campaign.Reentry.HOURS and not campaign.reentry_hours:
        errors["reentry_hours"] = ["is required (at least 1) with reentry 'hours'"]
    if (campaign.quiet_start is None) != (campaign.quiet_end is None):
        errors["quiet_end" if campaign.quiet_end is None else "quiet_start"] = [
            "quiet hours need both a start and an end"
        ]
    elif isinstance(campaign.quiet_start, time) and campaign.quiet_start == campaign.quiet_end:
        errors["quiet_end"] = ["must differ from quiet_start"]
    if campaign.quiet_action not in Campaign.QuietAction.values:
        errors["quiet_action"] = [f"must be one of {', '.join(Campaign.QuietAction.values)}"]
    return errors


def _register_event_types(campaign: Campaign) -> None:
    """A campaign may name an event no client has sent yet: register it, so that ingest can mark
    the first one (and segments and other campaigns can name a button's event before its first
    click)."""
    names = {campaign.trigger_event, campaign.cancel_event, *buttons_event_names(campaign.buttons)}
    for name in names - {""}:
        EventType.objects.get_or_create(
            app=campaign.app,
            name=name,
            defaults={"is_system": name.startswith("@")},
        )


def _sync_trigger_types(app: App) -> None:
    """Ingest marks exactly the events that an active campaign starts or cancels on."""
    active = Campaign.objects.filter(
        app=app, status=Campaign.Status.ACTIVE, kind=Campaign.Kind.EVENT
    )
    names = {n for pair in active.values_list("trigger_event", "cancel_event") for n in pair} - {""}
    wanted = set(EventType.objects.filter(app=app, name__in=names).values_list("pk", flat=True))
    current = TriggeringEventType.objects.filter(event_type__app=app)
    current.exclude(event_type_id__in=wanted).delete()
    TriggeringEventType.objects.bulk_create(
        [TriggeringEventType(event_type_id=pk) for pk in sorted(wanted)], ignore_conflicts=True
    )
