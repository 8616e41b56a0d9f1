"""Turning "campaign C should reach contact X (because of Y)" into Delivery rows: one per
reachable device (a push) or one per contact with a subscribed address (an email), after the
campaign's re-entry rule. What is skipped is recorded with why."""

from __future__ import annotations

import secrets
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from campaigns.models import Campaign, Delivery
from contacts.selectors import contacts_email_reach, devices_reachable

ACTIVE_STATUSES = (Delivery.Status.SCHEDULED, Delivery.Status.SENDING, Delivery.Status.SENT)


@dataclass(frozen=True)
class Reach:
    """One reason to message one contact."""

    contact_id: int
    source: str  # "event:<id>", "broadcast:<campaign id>", "entry:<change id>", "test:<uuid>"
    due_at: datetime
    event_id: int | None = None
    event_params: dict = field(default_factory=dict)
    cancel_key: str | None = None


@dataclass
class ScheduleResult:
    scheduled: int = 0
    skipped: int = 0
    due_now: bool = False


def deliveries_schedule(
    *, campaign: Campaign, reaches: list[Reach], now: datetime, is_test: bool = False
) -> ScheduleResult:
    """Insert the deliveries for `reaches` (a replayed source inserts nothing twice)."""
    result = ScheduleResult()
    if not reaches:
        return result
    allowed, refused = (reaches, []) if is_test else _apply_reentry(campaign, reaches, now)
    rows = [_skipped(campaign, r, now, "re-entry rule: already messaged") for r in refused]
    if campaign.channel == Campaign.Channel.EMAIL:
        addresses, unreachable = contacts_email_reach(
            app_id=campaign.app_id, contact_ids={r.contact_id for r in allowed}
        )
        for reach in allowed:
            if reason := unreachable.get(reach.contact_id):
                rows.append(_skipped(campaign, reach, now, reason))
                continue
            row = _row(campaign, reach, now, device_id=None, is_test=is_test)
            row.address = addresses[reach.contact_id]
            rows.append(row)
            result.scheduled += 1
            result.due_now |= reach.due_at <= now
        return _insert(rows, result)
    devices = reachable_devices(campaign.app_id, {r.contact_id for r in allowed})
    for reach in allowed:
        targets = devices.get(reach.contact_id, [])
        if not targets:
            rows.append(_skipped(campaign, reach, now, "no push-permitted device"))
        for device_id in targets:
            rows.append(_row(campaign, reach, now, device_id=device_id, is_test=is_test))
            result.scheduled += 1
            result.due_now |= reach.due_at <= now
    return _insert(rows, result)


def _insert(rows: list[Delivery], result: ScheduleResult) -> ScheduleResult:
    result.skipped = len(rows) - result.scheduled
    Delivery.objects.bulk_create(rows, ignore_conflicts=True, batch_size=2000)
    return result


def reachable_devices(app_id: int, contact_ids) -> dict[int, list[int]]:
    """contact id -> ids of its devices that a push can reach now (browsers and mobile apps)."""
    devices = devices_reachable(app_id=app_id).filter(contact_id__in=list(contact_ids))
    devices = devices.order_by("pk")
    by_contact: dict[int, list[int]] = defaultdict(list)
    for device_id, contact_id in devices.values_list("pk", "contact_id"):
        by_contact[contact_id].append(device_id)
    return by_contact


def _apply_reentry(campaign: Campaign, reaches: list[Reach], now: datetime):
    """Split into (allowed, refused) by the re-entry rule, counting earlier deliveries and the
    earlier reaches of this same call."""
    if campaign.reentry == Campaign.Reentry.ALWAYS or campaign.kind == Campaign.Kind.BROADCAST:
        return reaches, []
    earlier = Delivery.objects.filter(
        campaign=campaign,
        contact_id__in={r.contact_id for r in reaches},
        status__in=ACTIVE_STATUSES,
        is_test=False,
    )
    if campaign.reentry == Campaign.Reentry.HOURS:
        earlier = earlier.filter(created_at__gte=now - timedelta(hours=campaign.reentry_hours))
    seen = set(earlier.values_list("contact_id", flat=True))
    allowed, refused = [], []
    for reach in reaches:
        (refused if reach.contact_id in seen else allowed).append(reach)
        seen.add(reach.contact_id)
    return allowed, refused


def _row(campaign, reach: Reach, now, *, device_id, is_test=False) -> Delivery:
    return Delivery(
        app_id=campaign.app_id,
        campaign=campaign,
        contact_id=reach.contact_id,
        channel=campaign.channel,
        device_id=device_id,
        source=reach.source,
        is_test=is_test,
        trigger_event_id=reach.event_id,
        event_params=reach.event_params,
        cancel_key=reach.cancel_key,
        due_at=max(reach.due_at, now) if not is_test else now,
        open_token=secrets.token_urlsafe(32),
        created_at=now,
    )


def _skipped(campaign, reach: Reach, now, reason: str) -> Delivery:
    row = _row(campaign, reach, now, device_id=None)
    row.status, row.reason = Delivery.Status.SKIPPED, reason
    return row
