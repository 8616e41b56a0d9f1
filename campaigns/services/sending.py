"""Sending a claim of deliveries: the rules that apply at send time, the message, the push, and
what each answer means for the row, the device and the contact's timeline.

1. take the rows over under this task's own claim id (nothing if another task has them);
2. per row, the send-time rules: still in the audience (if asked), the app's daily cap, quiet
   hours in the contact's timezone (deliver later, or drop);
3. render the Liquid templates and send the pushes, several at a time (network-bound);
4. write the outcomes with conditional updates (only rows still under our claim), invalidate
   gone subscriptions, and record @NOTIFICATION_SENT / @NOTIFICATION_FAILED / @OPT_OUT.
"""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from campaigns.models import Campaign, Delivery, PushPolicy
from campaigns.providers import provider_for
from campaigns.providers.base import (
    MAX_ATTEMPTS,
    Outcome,
    PushMessage,
    SendOutcome,
    backoff_seconds,
)
from campaigns.services.dispatch import Claim, deliveries_take_over
from campaigns.services.quiet_hours import quiet_until
from campaigns.services.templates import templates_render
from contacts.models import Device
from events import catalog
from events.services.builtin import BuiltinEvent, events_record_builtin
from segments.models import SegmentMembership

OPEN_REPORT_PATH = "/api/v1/push/opened"


@dataclass
class SendReport:
    outcomes: Counter = field(default_factory=Counter)  # sent, failed, retry, skipped, later


def deliveries_send(*, claim: Claim, now: datetime | None = None) -> SendReport:
    now = now or timezone.now()
    own, ids = deliveries_take_over(claim=claim, now=now)
    report = SendReport()
    rows = list(
        Delivery.objects.filter(pk__in=ids)
        .select_related("campaign", "campaign__app", "contact", "device")
        .order_by("pk")
    )
    to_send = [row for row in rows if _passes_rules(row, own, now, report)]
    messages = {row.pk: _message(row) for row in to_send}
    with ThreadPoolExecutor(max_workers=settings.PUSH_SEND_CONCURRENCY) as pool:
        outcomes = list(pool.map(lambda row: _push(row, messages[row.pk]), to_send))
    _record(own, list(zip(to_send, outcomes, strict=True)), now, report)
    return report


def _push(row: Delivery, message: PushMessage) -> SendOutcome:
    provider = provider_for(row.device.platform)
    if provider is None:
        return SendOutcome(Outcome.FAILED, error=f"no provider for {row.device.platform} devices")
    return provider.send(row.device, message)


# 2. Send-time rules ---------------------------------------------------------------------------
def _passes_rules(row: Delivery, own: str, now: datetime, report: SendReport) -> bool:
    if row.is_test:
        return True
    campaign = row.campaign
    if campaign.recheck_audience and campaign.audience_segment_id is not None:
        member = SegmentMembership.objects.filter(
            segment_id=campaign.audience_segment_id, contact_id=row.contact_id
        ).exists()
        if not member:
            return _skip(row, own, "no longer in the audience segment", report)
    cap = PushPolicy.objects.filter(app_id=row.app_id).values_list("daily_cap", flat=True).first()
    if cap is not None and _sent_last_day(row.contact_id, now) >= cap:
        return _skip(row, own, f"daily cap of {cap} pushes reached", report)
    if campaign.quiet_start is not None:
        until = quiet_until(campaign, _timezone_of(row), now)
        if until is not None and campaign.quiet_action == Campaign.QuietAction.DROP:
            return _skip(row, own, "quiet hours", report)
        if until is not None:
            _update(row, own, status=Delivery.Status.SCHEDULED, claim=None, due_at=until)
            report.outcomes["later"] += 1
            return False
    return True


def _sent_last_day(contact_id: int, now: datetime) -> int:
    return Delivery.objects.filter(
        contact_id=contact_id,
        status=Delivery.Status.SENT,
        is_test=False,
        sent_at__gte=now - timedelta(days=1),
    ).count()


def _timezone_of(row: Delivery) -> str:
    return row.contact.timezone or row.device.timezone or row.campaign.app.timezone


def _skip(row: Delivery, own: str, reason: str, report: SendReport) -> bool:
    _update(row, own, status=Delivery.Status.SKIPPED, claim=None, reason=reason)
    report.outcomes["skipped"] += 1
    return False


# 3. The message ---------------------------------------------------------------------------
def _message(row: Delivery) -> PushMessage:
    campaign = row.campaign
    text = templates_render(
        {"title": campaign.title, "body": campaign.body, "url": campaign.url},
        contact=row.contact,
        event_params=row.event_params,
    )
    return PushMessage(
        title=text["title"],
        body=text["body"],
        url=text["url"],
        icon=campaign.icon,
        image=campaign.image,
        ttl=campaign.ttl_seconds,
        urgency=campaign.urgency,
        # One topic per delivery: a retry after a lost answer replaces the undelivered first
        # copy in the push service instead of showing the notification twice.
        topic=f"d{row.pk}",
        data={
            "open_url": settings.BEACON_PUBLIC_URL.rstrip("/") + OPEN_REPORT_PATH,
            "open_token": row.open_token,
            "campaign_id": campaign.pk,
        },
    )


# 4. Outcomes ------------------------------------------------------------------------------
def _record(own: str, results, now: datetime, report: SendReport) -> None:
    events: dict[int, list[BuiltinEvent]] = {}  # app id -> its events
    sent = [row for row, outcome in results if outcome.kind == Outcome.SENT]
    with transaction.atomic():
        Delivery.objects.filter(pk__in=[row.pk for row in sent], claim=own).update(
            status=Delivery.Status.SENT, claim=None, sent_at=now, last_error=""
        )
        report.outcomes["sent"] += len(sent)
        for row in sent:
            params = {"campaign_id": row.campaign_id, "delivery_id": row.pk}
            events.setdefault(row.app_id, []).append(
                _event(row, catalog.NOTIFICATION_SENT, params, now)
            )
        for row, outcome in results:
            if outcome.kind != Outcome.SENT:
                events.setdefault(row.app_id, []).extend(
                    _apply_failure(row, own, outcome, now, report)
                )
        for app_id, app_events in events.items():
            app = next(row.campaign.app for row, _ in results if row.app_id == app_id)
            events_record_builtin(app=app, events=app_events)


def _apply_failure(row, own, outcome: SendOutcome, now, report) -> list[BuiltinEvent]:
    """A retry (with backoff, bounded) or a permanent failure; a gone subscription also
    invalidates its device."""
    if outcome.kind == Outcome.RETRY and row.attempts < MAX_ATTEMPTS:
        due = now + timedelta(seconds=outcome.retry_after or backoff_seconds(row.attempts))
        _update(
            row,
            own,
            status=Delivery.Status.SCHEDULED,
            claim=None,
            due_at=due,
            last_error=outcome.error,
        )
        report.outcomes["retry"] += 1
        return []
    error = outcome.error
    if outcome.kind == Outcome.RETRY:
        error = f"gave up after {row.attempts} attempts: {error}"
    _update(row, own, status=Delivery.Status.FAILED, claim=None, last_error=error)
    report.outcomes["failed"] += 1
    params = {"campaign_id": row.campaign_id, "delivery_id": row.pk, "error": error[:200]}
    recorded = [_event(row, catalog.NOTIFICATION_FAILED, params, now)]
    if outcome.kind == Outcome.GONE:
        Device.objects.filter(pk=row.device_id, invalidated_at__isnull=True).update(
            invalidated_at=now, push_permission_granted=False
        )
        recorded.append(_event(row, catalog.OPT_OUT, {"subtype": "invalidated"}, now))
    return recorded


def _event(row: Delivery, name: str, params: dict, now: datetime) -> BuiltinEvent:
    return BuiltinEvent(
        contact_id=row.contact_id, name=name, params=params, occurred_at=now, key=f"{row.pk}:{name}"
    )


def _update(row: Delivery, own: str, **fields) -> bool:
    """Write only if the row is still ours (the lease may have expired meanwhile)."""
    return Delivery.objects.filter(pk=row.pk, claim=own).update(**fields) == 1
