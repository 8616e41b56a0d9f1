"""Event triggers: read the marks ingest left on trigger and cancel events, schedule what the
active event campaigns ask for, cancel what the cancel events cancel, and delete the marks, all
in one transaction (a crash redoes the whole batch; the delivery unique key makes that safe).

Marks are handled in id order, so a purchase and its cancel in the same batch schedule and then
cancel. While a contact has an unhandled mark, the dispatcher holds back its due deliveries:
a cancel that has arrived always wins over a send that has not started.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from campaigns.models import Campaign, Delivery, TriggerMark
from campaigns.services.scheduling import Reach, deliveries_schedule
from events.models import Event
from segments.conditions.compiled import segment_contacts
from segments.conditions.compiler import apply_where, segment_context

BATCH = 500


@dataclass
class TriggerBatch:
    marks: int = 0  # handled (the caller loops while > 0)
    scheduled: int = 0
    due_now: bool = False


def trigger_marks_process(*, limit: int = BATCH, now: datetime | None = None) -> TriggerBatch:
    """Handle up to `limit` marks, oldest first."""
    now = now or timezone.now()
    total = TriggerBatch()
    with transaction.atomic():
        marks = list(TriggerMark.objects.select_for_update(skip_locked=True).order_by("pk")[:limit])
        if not marks:
            return total
        events = Event.objects.select_related("event_type").in_bulk([m.event_id for m in marks])
        campaigns = _active_campaigns({m.app_id for m in marks})
        for app_id, app_marks in _by_app(marks).items():
            app_events = [events[m.event_id] for m in app_marks if m.event_id in events]
            _handle(app_events, campaigns.get(app_id, []), now, total)
        TriggerMark.objects.filter(pk__in=[m.pk for m in marks]).delete()
    total.marks = len(marks)
    return total


def _by_app(marks) -> dict[int, list[TriggerMark]]:
    grouped: dict[int, list[TriggerMark]] = defaultdict(list)
    for mark in marks:
        grouped[mark.app_id].append(mark)
    return grouped


def _active_campaigns(app_ids) -> dict[int, list[Campaign]]:
    grouped: dict[int, list[Campaign]] = defaultdict(list)
    active = Campaign.objects.filter(
        app_id__in=app_ids, status=Campaign.Status.ACTIVE, kind=Campaign.Kind.EVENT
    ).select_related("app", "audience_segment")
    for campaign in active.order_by("pk"):
        grouped[campaign.app_id].append(campaign)
    return grouped


def _handle(events: list[Event], campaigns: list[Campaign], now, total: TriggerBatch) -> None:
    """Walk the events in arrival order; each one cancels, then triggers."""
    events.sort(key=lambda e: e.pk)
    names = {e.pk: e.event_type.name for e in events}
    matching = {c.pk: _matching_event_ids(c, events, names, now) for c in campaigns}
    for event in events:
        for campaign in campaigns:
            if campaign.cancel_event == names[event.pk]:
                _cancel(campaign, event)
            if event.pk in matching[campaign.pk]:
                result = deliveries_schedule(
                    campaign=campaign, reaches=[_reach(campaign, event)], now=now
                )
                total.scheduled += result.scheduled
                total.due_now |= result.due_now


def _matching_event_ids(campaign: Campaign, events, names, now) -> set[int]:
    """Trigger events of `campaign` young enough to trigger, passing its filters and audience."""
    oldest = now - timedelta(hours=settings.TRIGGER_MAX_AGE_HOURS)
    candidates = [
        e for e in events if names[e.pk] == campaign.trigger_event and e.occurred_at >= oldest
    ]
    if not candidates:
        return set()
    ids = {e.pk for e in candidates}
    if campaign.trigger_where:
        tree = {"type": "event", "event": campaign.trigger_event}
        context = segment_context(campaign.app, tree, at=now)
        queryset = Event.objects.filter(pk__in=ids)
        filtered = apply_where(queryset, campaign.trigger_event, campaign.trigger_where, context)
        ids = set(filtered.values_list("pk", flat=True))
    if campaign.audience_segment is not None and ids:
        members = set(
            segment_contacts(
                app=campaign.app,
                conditions=campaign.audience_segment.conditions,
                now=now,
                contact_ids={e.contact_id for e in candidates if e.pk in ids},
            ).values_list("pk", flat=True)
        )
        ids = {e.pk for e in candidates if e.pk in ids and e.contact_id in members}
    return ids


def _reach(campaign: Campaign, event: Event) -> Reach:
    key = None
    if campaign.cancel_match_param:
        key = _key_value(event.params, campaign.cancel_match_param)
    return Reach(
        contact_id=event.contact_id,
        source=f"event:{event.pk}",
        due_at=event.occurred_at + timedelta(seconds=campaign.delay_seconds),
        event_id=event.pk,
        event_params=event.params,
        cancel_key=key,
    )


def _cancel(campaign: Campaign, event: Event) -> int:
    """Cancel the contact's scheduled deliveries of `campaign` (keyed: same param value only)."""
    scheduled = Delivery.objects.filter(
        campaign=campaign,
        contact_id=event.contact_id,
        status=Delivery.Status.SCHEDULED,
        is_test=False,
    )
    if campaign.cancel_match_param:
        value = _key_value(event.params, campaign.cancel_match_param)
        if value is None:
            return 0
        scheduled = scheduled.filter(cancel_key=value)
    return scheduled.update(
        status=Delivery.Status.CANCELLED,
        reason=f"cancelled by {campaign.cancel_event} (event {event.pk})",
    )


def _key_value(params: dict, name: str) -> str | None:
    """The match param as text, so that 1001 and "1001" match (clients differ in typing)."""
    value = (params or {}).get(name)
    if value is None or isinstance(value, dict | list):
        return None
    return str(value).lower() if isinstance(value, bool) else str(value)
