"""Broadcasts: at their time (now, or send_at), one delivery per reachable device (or subscribed
email address) of the audience's members at that moment. The fan-out happens once per campaign
(the row is locked and stamped in the same transaction)."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from campaigns.models import Campaign
from campaigns.services.scheduling import Reach, ScheduleResult, deliveries_schedule
from contacts.selectors import contacts_emailable, devices_reachable
from segments.models import SegmentMembership

CHUNK = 5000


def broadcasts_start_due(*, now: datetime | None = None) -> list[ScheduleResult]:
    """Fan out every active broadcast whose time has come."""
    now = now or timezone.now()
    due = Campaign.objects.filter(
        Q(send_at__isnull=True) | Q(send_at__lte=now),
        kind=Campaign.Kind.BROADCAST,
        status=Campaign.Status.ACTIVE,
        fanned_out_at__isnull=True,
    )
    return [broadcast_fan_out(campaign_id=pk, now=now) for pk in due.values_list("pk", flat=True)]


def broadcast_fan_out(*, campaign_id: int, now: datetime) -> ScheduleResult:
    total = ScheduleResult()
    with transaction.atomic():
        campaign = (
            Campaign.objects.select_for_update(skip_locked=True)
            .filter(pk=campaign_id, fanned_out_at__isnull=True, status=Campaign.Status.ACTIVE)
            .first()
        )
        if campaign is None:  # another worker has it, or it was paused meanwhile
            return total
        contact_ids = sorted(set(_audience_reachable(campaign)))
        for start in range(0, len(contact_ids), CHUNK):
            reaches = [
                Reach(contact_id=c, source=f"broadcast:{campaign.pk}", due_at=now)
                for c in contact_ids[start : start + CHUNK]
            ]
            result = deliveries_schedule(campaign=campaign, reaches=reaches, now=now)
            total.scheduled += result.scheduled
            total.due_now |= result.due_now
        campaign.fanned_out_at = now
        campaign.save(update_fields=["fanned_out_at", "updated_at"])
    return total


def _audience_reachable(campaign: Campaign):
    """Contacts of the audience the channel can reach: with at least one device a push can
    reach, or with a subscribed email address (the others would only be 'no device' rows: a
    broadcast reports its reach, not its misses)."""
    if campaign.channel == Campaign.Channel.EMAIL:
        reachable = contacts_emailable(app_id=campaign.app_id).values_list("pk", flat=True)
        column = "pk"
    else:
        reachable = devices_reachable(app_id=campaign.app_id).values_list("contact_id", flat=True)
        column = "contact_id"
    if campaign.audience_segment_id is not None:
        members = SegmentMembership.objects.filter(segment_id=campaign.audience_segment_id)
        reachable = reachable.filter(**{f"{column}__in": members.values("contact_id")})
    return reachable.iterator(chunk_size=CHUNK)
