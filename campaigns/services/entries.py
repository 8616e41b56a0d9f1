"""Segment entry campaigns: each contact that enters the campaign's segment after activation
(the segment's history, SegmentChange) is reached once per entry.

Each campaign keeps a cursor over its segment's history. Entries of one segment are written
under that segment's row lock (segments/services.py), so their ids commit in order and a cursor
never skips one that commits late.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from campaigns.models import Campaign
from campaigns.services.scheduling import Reach, ScheduleResult, deliveries_schedule
from segments.models import SegmentChange

BATCH = 1000


def segment_entries_match(*, now: datetime | None = None) -> ScheduleResult:
    now = now or timezone.now()
    total = ScheduleResult()
    active = Campaign.objects.filter(
        kind=Campaign.Kind.SEGMENT_ENTRY, status=Campaign.Status.ACTIVE
    ).values_list("pk", flat=True)
    for campaign_id in active:
        while (result := _match_one(campaign_id, now)) is not None:
            total.scheduled += result.scheduled
            total.due_now |= result.due_now
    return total


def _match_one(campaign_id: int, now: datetime) -> ScheduleResult | None:
    """One batch of entries for one campaign; None when there is nothing (more) to do."""
    with transaction.atomic():
        campaign = (
            Campaign.objects.select_for_update(skip_locked=True)
            .select_related("app")
            .filter(pk=campaign_id, status=Campaign.Status.ACTIVE)
            .first()
        )
        if campaign is None:
            return None
        changes = list(
            SegmentChange.objects.filter(
                segment_id=campaign.entry_segment_id,
                kind=SegmentChange.Kind.ENTERED,
                pk__gt=campaign.entry_cursor,
            ).order_by("pk")[:BATCH]
        )
        if not changes:
            return None
        reaches = [
            Reach(
                contact_id=change.contact_id,
                source=f"entry:{change.pk}",
                due_at=change.at + timedelta(seconds=campaign.delay_seconds),
            )
            for change in changes
        ]
        result = deliveries_schedule(campaign=campaign, reaches=reaches, now=now)
        campaign.entry_cursor = changes[-1].pk
        campaign.save(update_fields=["entry_cursor"])
    return result
